/**
 * The worker as esbuild bundles it for Lambda (infra/bundle.ts), loaded with `require` from a
 * directory of its own and driven over the wire: it makes a clone from a queued delivery and moves
 * a misconfigured one to the dead-letter queue with the bundled SQS client; as a GitHub App, the
 * bundled @octokit/auth-app signs the App's JWT and the comment is written as its installation.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { bundleFunction, WORKER_ENTRY } from "../../../infra/bundle.js";
import { startAwsDouble, type AwsDouble } from "../../helpers/aws-double/index.js";
import { createDeliveryQueues, DEAD_LETTER_QUEUE } from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { setEnv } from "../../helpers/env.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { GitHubApiDouble } from "../../helpers/github-api.js";
import { installApp } from "../../helpers/github-app.js";
import { GitHubComments } from "../../helpers/github-comments.js";

type WorkerHandler = (
  event: SQSEvent,
  context: { getRemainingTimeInMillis: () => number },
) => Promise<SQSBatchResponse>;

describe("worker bundle", function () {
  this.timeout(30_000);
  let aws: AwsDouble;
  let directory: string;
  let restoreEnv: (() => void) | undefined;

  before(async () => {
    aws = await startAwsDouble();
    directory = mkdtempSync(path.join(tmpdir(), "branchline-worker-"));
  });

  after(async () => {
    restoreEnv?.();
    rmSync(directory, { recursive: true, force: true });
    await aws.close();
  });

  function load(file: string): WorkerHandler {
    return (createRequire(file)(file) as { handler: WorkerHandler }).handler;
  }

  it("carries out a queued delivery, and dead-letters a misconfigured one", async () => {
    const bundle = bundleFunction(WORKER_ENTRY);
    aws.seedPipeline(pipelineFixture("v1-ecs"));
    aws.createRepository("hello-world");
    const queues = await createDeliveryQueues(aws);
    const context = { getRemainingTimeInMillis: () => 60_000 };

    // Two copies, two containers: each reads its environment on its first record.
    const good = path.join(directory, "good", "index.js");
    const misconfigured = path.join(directory, "misconfigured", "index.js");
    for (const file of [good, misconfigured]) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, bundle);
    }
    restoreEnv = setEnv({
      ...aws.env(),
      SOURCE_PIPELINE_NAME: "hello-world",
      ECR_REPOSITORY_NAME: "hello-world",
      DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
      GITHUB_TOKEN: undefined,
      GITHUB_TOKEN_SECRET_ARN: undefined,
      STATE_TABLE_NAME: undefined,
      POWERTOOLS_LOG_LEVEL: "CRITICAL",
    });
    const answer = await load(good)({ Records: [deliveryRecord(queuedDelivery())] }, context);
    expect(answer).to.deep.equal({ batchItemFailures: [] });
    expect(aws.pipeline("hello-world-pr-2")).not.to.equal(undefined);

    process.env["SOURCE_PIPELINE_NAME"] = "no-such-pipeline";
    const record = deliveryRecord(queuedDelivery({ number: 3 }));
    expect(await load(misconfigured)({ Records: [record] }, context)).to.deep.equal({
      batchItemFailures: [],
    });
    expect(aws.queueMessages(DEAD_LETTER_QUEUE).map((m) => m.groupId)).to.deep.equal([
      "codertocat/hello-world#3",
    ]);
  });

  it("as a GitHub App: signs the JWT and comments as the installation", async () => {
    const github = new GitHubApiDouble();
    await github.start();
    try {
      const comments = new GitHubComments(github);
      const app = installApp(github);
      github.addPullRequest({
        number: 4,
        state: "open",
        head: { ref: "changes", sha: "a".repeat(40), repo: "Codertocat/Hello-World" },
        base: { ref: "master", repo: "Codertocat/Hello-World" },
      });
      const keyArn = aws.seedSecret("branchline/github-app-private-key", app.privateKey);
      const queues = await createDeliveryQueues(aws);
      const file = path.join(directory, "app", "index.js");
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, bundleFunction(WORKER_ENTRY));
      process.env["SOURCE_PIPELINE_NAME"] = "hello-world";
      process.env["DEAD_LETTER_QUEUE_URL"] = queues.deadLetterQueueUrl;
      process.env["GITHUB_APP_ID"] = String(app.id);
      process.env["GITHUB_APP_PRIVATE_KEY_SECRET_ARN"] = keyArn;
      process.env["GITHUB_API_URL"] = github.url;
      const record = deliveryRecord(queuedDelivery({ number: 4 }));
      const answer = await load(file)(
        { Records: [record] },
        { getRemainingTimeInMillis: () => 60_000 },
      );
      expect(answer).to.deep.equal({ batchItemFailures: [] });
      expect(comments.comments.get(4)?.map((c) => c.user?.login)).to.deep.equal([
        `${app.slug}[bot]`,
      ]);
      expect(github.requestsTo("/app/installations/7/access_tokens")).to.have.length(1);
    } finally {
      for (const name of ["GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY_SECRET_ARN", "GITHUB_API_URL"]) {
        Reflect.deleteProperty(process.env, name);
      }
      await github.close();
    }
  });
});
