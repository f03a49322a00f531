/**
 * The notify function as esbuild bundles it for Lambda: the message templates are inlined into the
 * bundle (a JSON import), so the bundled handler runs with no file beside it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { bundleFunction, REPOSITORY_ROOT } from "../../../infra/bundle.js";
import { startAwsDouble, type AwsDouble } from "../../helpers/aws-double/index.js";
import { setEnv } from "../../helpers/env.js";
import { fixture, pipelineFixture } from "../../helpers/fixtures.js";

const NOTIFY_ENTRY = path.join(REPOSITORY_ROOT, "functions", "notify", "index.ts");
const TOPIC = "arn:aws:sns:us-east-1:123456789012:branchline-dev";

describe("notify bundle", function () {
  this.timeout(30000);
  let aws: AwsDouble;
  let directory: string;
  let restoreEnv: (() => void) | undefined;

  before(async () => {
    aws = await startAwsDouble();
    directory = mkdtempSync(path.join(tmpdir(), "branchline-notify-"));
  });

  after(async () => {
    restoreEnv?.();
    rmSync(directory, { recursive: true, force: true });
    await aws.close();
  });

  it("carries the templates and publishes a message from them", async () => {
    const bundle = bundleFunction(NOTIFY_ENTRY);
    expect(bundle).to.include("branchline keeps this comment up to date");
    const file = path.join(directory, "index.js");
    writeFileSync(file, bundle);

    aws.seedPipeline(pipelineFixture("v1-ecs"));
    const id = aws.seedExecution("hello-world", {
      status: "Failed",
      sourceRevisions: [{ actionName: "GitHub", revisionId: "2".repeat(40) }],
    });
    restoreEnv = setEnv({
      ...aws.env(),
      SOURCE_PIPELINE_NAME: "hello-world",
      NOTIFICATION_TOPIC_ARN: TOPIC,
      GITHUB_TOKEN: undefined,
      GITHUB_TOKEN_SECRET_ARN: undefined,
      POWERTOOLS_LOG_LEVEL: "CRITICAL",
    });
    const { handler } = createRequire(file)(file) as {
      handler: (
        event: unknown,
        context: { invokedFunctionArn: string },
      ) => Promise<{ notification: string }>;
    };
    const base = fixture<Record<string, unknown>>("events/pipeline-execution-failed.json");
    const result = await handler(
      {
        ...base,
        detail: { ...(base["detail"] as object), pipeline: "hello-world", "execution-id": id },
      },
      { invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:branchline-notify" },
    );
    expect(result.notification).to.equal("published");
    expect(aws.published()[0]?.subject).to.equal("branchline: hello-world failed");
    expect(aws.published()[0]?.message).to.match(
      /^Pipeline hello-world failed\.\n\nPull request: none/,
    );
  });
});
