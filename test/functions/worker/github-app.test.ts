/**
 * The functions as a GitHub App, end to end over the wire: the worker (queue mode) and the webhook
 * (inline mode) carry out a delivery and write their comment as the App's installation, the private
 * key read from Secrets Manager (the AWS double) and never logged; the notify function edits that
 * comment, and only the comment of its own App's bot.
 */
import type { SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import { createHandler as createNotifyHandler } from "../../../functions/notify/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler } from "../../../functions/worker/handler.js";
import { createDeliveryQueues, type DeliveryQueues } from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { fixture } from "../../helpers/fixtures.js";
import { GitHubChecks } from "../../helpers/github-checks.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { installApp, type TestApp } from "../../helpers/github-app.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const SECRET = "It's a Secret to Everybody";
const CLONE = cloneName(SOURCE, 2);
const MARKER = `<!-- branchline:${CLONE} -->`;

describe("the functions as a GitHub App (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let comments: GitHubComments;
  let checks: GitHubChecks;
  let queues: DeliveryQueues;
  let app: TestApp;
  let keyArn: string;

  before(() => {
    comments = new GitHubComments(wire.github);
    checks = new GitHubChecks(wire.github);
  });

  beforeEach(async () => {
    comments.reset();
    checks.reset();
    queues = await createDeliveryQueues(wire.aws);
    app = installApp(wire.github);
    keyArn = wire.aws.seedSecret("branchline/github-app-private-key", app.privateKey);
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", repo: REPO },
      base: { ref: "master", repo: REPO },
    });
  });

  const appEnv = () => ({
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    GITHUB_APP_ID: String(app.id),
    GITHUB_APP_PRIVATE_KEY_SECRET_ARN: keyArn,
    GITHUB_API_URL: wire.github.url,
  });

  /** Every request but the App's own routes carried an installation token the double issued. */
  function expectInstallationTokens(): void {
    const tokens = [...wire.github.installationTokens.keys()].map((token) => `token ${token}`);
    expect(tokens).to.have.length(1);
    const own = wire.github.requests.filter(
      (r) => !r.path.startsWith("/app") && !r.path.endsWith("/installation"),
    );
    expect(own.length).to.be.greaterThan(0);
    expect(own.map((r) => r.authorization)).to.deep.equal(own.map(() => tokens[0]));
    const jwtRoutes = wire.github.requests.filter(
      (r) => r.path.startsWith("/app") || r.path.endsWith("/installation"),
    );
    expect(jwtRoutes.every((r) => r.authorization?.startsWith("bearer "))).to.equal(true);
  }

  function expectKeyNeverLogged(): void {
    const logged = JSON.stringify(wire.logger.lines);
    expect(logged).not.to.include("PRIVATE KEY");
    expect(logged).not.to.include(app.privateKey.split("\n")[1]);
  }

  it("the worker carries out a delivery and comments as the App's installation", async () => {
    const handler = createWorkerHandler(
      defaultWorkerDeps(
        { ...appEnv(), DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl },
        { logger: wire.logger },
      ),
    );
    const event: SQSEvent = { Records: [deliveryRecord(queuedDelivery())] };
    expect(await handler(event)).to.deep.equal({ batchItemFailures: [] });
    expect(wire.aws.pipeline(CLONE)).not.to.equal(undefined);
    const [comment, ...more] = comments.comments.get(2) ?? [];
    expect(more).to.deep.equal([]);
    expect(comment?.body).to.include(MARKER);
    expect(comment?.user).to.deep.equal({ login: `${app.slug}[bot]`, type: "Bot" });
    expect(comment?.performed_via_github_app).to.deep.equal({ slug: app.slug });
    expect(wire.github.requestsTo(`/repos/${REPO}/installation`)).to.have.length(1);
    expect(wire.aws.callCount("GetSecretValue")).to.equal(1);
    expectInstallationTokens();
    expectKeyNeverLogged();
  });

  it("the webhook (inline) announces as the App; notify edits that comment, not another App's", async () => {
    const webhook = createHandler(
      defaultWebhookDeps({ ...appEnv(), WEBHOOK_SECRET: SECRET }, { logger: wire.logger }),
    );
    const response = await webhook(
      signedEvent(pullRequestPayload({ action: "opened" }), { secret: SECRET }),
    );
    expect(response.statusCode).to.equal(200);
    expect(JSON.parse(response.body)).to.deep.include({ outcome: "created" });
    expectInstallationTokens();

    // Another App's bot pasted the marker: not ours, though it is a bot's.
    const own = comments.comments.get(2) ?? [];
    comments.comments.set(2, [
      {
        id: 1,
        body: `${MARKER}\nnot branchline`,
        user: { login: "other-app[bot]", type: "Bot" },
        performed_via_github_app: { slug: "other-app" },
      },
      ...own,
    ]);
    const id = wire.aws.seedExecution(CLONE, {
      status: "InProgress",
      sourceRevisions: [
        { actionName: "GitHub", revisionId: "ec26c3e57ca3a959ca5aad62de7213c562f8c821" },
      ],
    });
    const base = fixture<Record<string, unknown>>("events/pipeline-execution-started.json");
    const notify = createNotifyHandler(defaultNotifyDeps(appEnv(), { logger: wire.logger }));
    const result = await notify(
      { ...base, detail: { ...(base["detail"] as object), pipeline: CLONE, "execution-id": id } },
      { invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:notify" },
    );
    // As the App, the execution gets its check run too.
    expect(result).to.deep.include({ comment: "updated", check: "created" });
    expect(checks.runs.map((r) => [r.name, r.app])).to.deep.equal([
      ["branchline / hello-world", app.slug],
    ]);
    const after = comments.comments.get(2) ?? [];
    expect(after.map((c) => [c.id, c.user?.login])).to.deep.equal([
      [1, "other-app[bot]"],
      [own[0]?.id, `${app.slug}[bot]`],
    ]);
    expect(after[0]?.body).to.equal(`${MARKER}\nnot branchline`);
    expect(after[1]?.body).to.include("[Started]");
    // The notify function asked GitHub for the App's slug with the JWT.
    expect(wire.github.requestsTo("/app").map((r) => r.authorization?.split(" ")[0])).to.include(
      "bearer",
    );
    expectKeyNeverLogged();
  });
});
