/**
 * The webhook as esbuild bundles it for Lambda (infra/bundle.ts): `index.js` and, beside it, the
 * preview clients' bundle, written to a directory of their own as the deployment archive holds
 * them, loaded with `require` and driven over the wire (the AWS double, the GitHub API double). The
 * preview of a service with `preview` is created through the preview clients' bundle, which
 * `index.js` loads on the first delivery that needs it; the load balancer's answers PriorityInUse and
 * TooManyRules, turned into errors by that bundle's copy of the adapter, are recognised by the use
 * case in `index.js`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  BUNDLE_FILE,
  bundleFunction,
  bundlePreviews,
  PREVIEWS_FILE,
  WEBHOOK_ENTRY,
} from "../../../infra/bundle.js";
import { setEnv } from "../../helpers/env.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { seedPreviewStack, STACK_PREFIX, type PreviewStack } from "../../helpers/previews.js";
import type { TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
const web: TestService = { name: "web", repository: REPO, branch: "master" };

interface LambdaResponse {
  statusCode: number;
  body: string;
}
type Handler = (
  event: unknown,
  context: { getRemainingTimeInMillis: () => number },
) => Promise<LambdaResponse>;

describe("webhook bundle: preview environments through the preview clients' bundle", function () {
  this.timeout(30_000);
  const wire = useWireDoubles({ github: true, seed: false });
  let main: string;
  let previews: string;
  let directory: string;
  let restoreEnv: (() => void) | undefined;
  let stack: PreviewStack;

  before(() => {
    main = bundleFunction(WEBHOOK_ENTRY);
    previews = bundlePreviews();
    directory = mkdtempSync(path.join(tmpdir(), "branchline-webhook-"));
  });

  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  afterEach(() => {
    restoreEnv?.();
    restoreEnv = undefined;
  });

  /** A fresh container: the archive's files in a directory of their own, under the stack's env. */
  function container(
    name: string,
    files: { previews: boolean },
  ): { dir: string; handler: Handler } {
    const dir = path.join(directory, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, BUNDLE_FILE), main);
    if (files.previews) writeFileSync(path.join(dir, PREVIEWS_FILE), previews);
    restoreEnv = setEnv({
      BRANCHLINE_SERVICES: stack.table,
      BRANCHLINE_PREFIX: STACK_PREFIX,
      WEBHOOK_SECRET: SECRET,
      GITHUB_TOKEN: "ghs_test-token",
      GITHUB_API_URL: wire.github.url,
      SOURCE_PIPELINE_NAME: undefined,
      STATE_TABLE_NAME: undefined,
      QUEUE_URL: undefined,
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const file = path.join(dir, BUNDLE_FILE);
    const loaded = createRequire(file)(file) as { handler: Handler };
    expect(loaded.handler).to.be.a("function");
    return { dir, handler: loaded.handler };
  }

  /** Whether the preview clients' bundle of that directory was loaded in this process. */
  function loaded(dir: string): boolean {
    return path.join(dir, PREVIEWS_FILE) in createRequire(__filename).cache;
  }

  async function deliver(handler: Handler, n: number) {
    wire.github.addPullRequest({
      number: n,
      state: "open",
      draft: false,
      head: { ref: `feature-${n}`, sha: n.toString(16).padStart(40, "0"), repo: REPO },
      base: { ref: "master", repo: REPO },
    });
    const payload = pullRequestPayload({ number: n, headRef: `feature-${n}` });
    const response = await handler(signedEvent(payload, { secret: SECRET }), {
      getRemainingTimeInMillis: () => 30_000,
    });
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  }

  const rulesFor = (n: number) =>
    (wire.aws.listener(stack.listenerArn)?.rules ?? []).filter((rule) =>
      JSON.stringify(rule.conditions).includes(`pr-${n}.web.preview.example.com`),
    );

  it("opened: the preview is created through the preview clients' bundle, loaded on first use", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    const { dir, handler } = container("opened", { previews: true });
    expect(loaded(dir)).to.equal(false);

    const answer = await deliver(handler, 7);
    expect(answer.status).to.equal(200);
    expect(answer.body).to.deep.include({
      outcome: "created",
      pipeline: "shop-web-pr-7",
      preview: {
        url: "https://pr-7.web.preview.example.com",
        changed: ["task-definition", "target-group", "rule", "service"],
      },
    });
    expect(loaded(dir)).to.equal(true);
    expect(wire.aws.ecsService("previews", "shop-web-pr-7")).to.deep.include({
      status: "ACTIVE",
      desiredCount: 1,
    });
    expect(rulesFor(7)).to.have.length(1);
    expect(wire.aws.targetGroups().map((g) => g.name)).to.deep.equal(["shop-web-7"]);
  });

  it("without the preview clients' bundle beside it, index.js cannot reach ECS or the load balancer", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    const { handler } = container("without-previews", { previews: false });
    const from = wire.aws.calls.length;
    const answer = await deliver(handler, 7);
    expect(answer.status).to.be.greaterThanOrEqual(500);
    const services = wire.aws.calls.slice(from).map((call) => call.service);
    expect(services).to.not.include("ecs");
    expect(services).to.not.include("elbv2");
    expect(wire.aws.pipelineNames()).to.not.include("shop-web-pr-7");
  });

  it("PriorityInUse, answered to the bundle's adapter: the use case re-reads the rules and takes another priority", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    wire.aws.inject({
      operation: "CreateRule",
      error: { status: 400, type: "PriorityInUse", message: "Priority '1' is currently in use" },
    });
    const { handler } = container("priority-in-use", { previews: true });
    const answer = await deliver(handler, 7);
    expect(answer.status).to.equal(200);
    expect(answer.body).to.have.nested.property(
      "preview.url",
      "https://pr-7.web.preview.example.com",
    );
    expect(wire.aws.callCount("CreateRule")).to.equal(2);
    expect(rulesFor(7)).to.have.length(1);
    expect(wire.aws.ecsService("previews", "shop-web-pr-7")).to.deep.include({ status: "ACTIVE" });
  });

  it("TooManyRules, answered to the bundle's adapter: the preview waits and the clone is built without it", async () => {
    stack = await seedPreviewStack(wire.aws, web, { ruleLimit: 0 });
    const { handler } = container("too-many-rules", { previews: true });
    const answer = await deliver(handler, 7);
    expect(answer.status).to.equal(200);
    expect(answer.body).to.deep.include({ outcome: "created", pipeline: "shop-web-pr-7" });
    const waiting = (answer.body["preview"] as { waiting?: string } | undefined)?.waiting;
    expect(waiting).to.include(`listener ${stack.listenerArn} is full`);
    expect(wire.aws.callCount("CreateRule")).to.equal(1);
    expect(rulesFor(7)).to.deep.equal([]);
  });
});
