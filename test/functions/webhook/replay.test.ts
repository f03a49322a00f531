/**
 * Replayed and late deliveries over the wire (project issue 9): signed example payloads, the real
 * handler and default dependencies, the real SDK clients against the local AWS double with a state
 * table, and no GitHub token (GitHub's signature has no timestamp, so a captured delivery verifies
 * forever; only the payload's `updated_at` orders it).
 */
import { expect } from "chai";
import { createHandler, type WebhookEvent } from "../../../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { PR_TIER_ENV } from "../../helpers/tiers.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const TABLE = "branchline-state";
const CLONE = "hello-world-pr-2";
const KEY = "hello-world#2";

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A signed delivery of the example payload for `action`, with `updated_at` set. */
function delivery(action: "opened" | "reopened" | "closed", updatedAt: string): WebhookEvent {
  const payload = pullRequestPayload({
    action,
    ...(action === "closed" ? { state: "closed" as const } : {}),
  });
  (payload["pull_request"] as Record<string, unknown>)["updated_at"] = updatedAt;
  return signedEvent(payload, { secret: SECRET });
}

describe("webhook: replayed and late deliveries (wire level)", function () {
  const wire = useWireDoubles({ github: false, repository: REPOSITORY });

  beforeEach(() => wire.aws.createTable(TABLE));

  function handler(env: Record<string, string | undefined> = {}) {
    return createHandler(
      defaultWebhookDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          WEBHOOK_SECRET: SECRET,
          STATE_TABLE_NAME: TABLE,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
  }

  async function deliver(event: WebhookEvent): Promise<Answer> {
    const response = await handler()(event);
    return { status: response.statusCode, body: JSON.parse(response.body) as Answer["body"] };
  }

  const mark = () => wire.aws.item(TABLE, KEY)?.["updatedAt"];

  it("ignores a replayed closed after reopened: the clone is kept", async () => {
    const closed = delivery("closed", "2026-03-01T10:00:02Z");
    expect((await deliver(delivery("opened", "2026-03-01T10:00:01Z"))).body["outcome"]).to.equal(
      "created",
    );
    expect((await deliver(closed)).body["outcome"]).to.equal("deleted");
    expect((await deliver(delivery("reopened", "2026-03-01T10:00:03Z"))).body["outcome"]).to.equal(
      "created",
    );
    wire.aws.calls.length = 0;

    const replay = await deliver(closed);

    expect(replay).to.deep.equal({
      status: 202,
      body: {
        outcome: "ignored",
        reason:
          "a newer event for pull request #2 was processed already (this delivery's updated_at is 2026-03-01T10:00:02.000Z)",
      },
    });
    expect(wire.aws.pipelineNames()).to.include(CLONE);
    expect(mark()).to.deep.equal({ S: "2026-03-01T10:00:03.000Z" });
    // The source pipeline is read, the mark refuses the delivery, and nothing else is called.
    expect(wire.aws.calls.map((c) => [c.operation, c.status])).to.deep.equal([
      ["GetPipeline", 200],
      ["UpdateItem", 400],
    ]);
  });

  it("ignores a late opened after closed: no clone is recreated", async () => {
    expect((await deliver(delivery("closed", "2026-03-01T10:00:02Z"))).status).to.equal(200);
    const late = await deliver(delivery("opened", "2026-03-01T10:00:01Z"));
    expect(late.status).to.equal(202);
    expect(late.body["reason"]).to.match(/^a newer event for pull request #2 was processed/);
    expect(wire.aws.pipelineNames()).to.not.include(CLONE);
    expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
  });

  it("carries out a redelivery of the same delivery after it failed", async () => {
    const opened = delivery("opened", "2026-03-01T10:00:01Z");
    wire.aws.inject({ operation: "CreatePipeline", error: "InternalFailure", times: 4 });
    expect((await deliver(opened)).status).to.equal(503);
    expect(wire.aws.pipelineNames()).to.not.include(CLONE);

    const redelivered = await deliver(opened);

    expect(redelivered.status).to.equal(200);
    expect(redelivered.body["outcome"]).to.equal("created");
    expect(wire.aws.pipelineNames()).to.include(CLONE);
  });

  it("records the delivery id and an expiry of about 400 days with the mark", async () => {
    const opened = delivery("opened", "2026-03-01T10:00:01+02:00");
    const before = Math.floor(Date.now() / 1000);
    await deliver(opened);
    const item = wire.aws.item(TABLE, KEY);
    expect(item?.["updatedAt"]).to.deep.equal({ S: "2026-03-01T08:00:01.000Z" });
    expect(item?.["deliveryId"]).to.deep.equal({ S: opened.headers?.["X-GitHub-Delivery"] });
    const expiresAt = Number(item?.["expiresAt"]?.["N"]);
    expect(expiresAt - before).to.be.within(400 * 86400, 400 * 86400 + 60);
  });

  it("leaves the mark alone for deliveries that change nothing (another base branch)", async () => {
    const payload = pullRequestPayload({ action: "opened", baseRef: "develop" });
    const answer = await deliver(signedEvent(payload, { secret: SECRET }));
    expect(answer.status).to.equal(202);
    expect(answer.body["reason"]).to.equal("base develop is not master");
    expect(wire.aws.callCount("UpdateItem")).to.equal(0);
    expect(mark()).to.equal(undefined);
  });

  it("orders concurrent deliveries for one pull request by the conditional write", async () => {
    // The stale `closed` reaches DynamoDB last: its UpdateItem is held until the newer `reopened`
    // has been carried out in full.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    wire.aws.inject({ operation: "UpdateItem", until: gate });
    let settled = false;
    const stale = deliver(delivery("closed", "2026-03-01T10:00:02Z")).finally(() => {
      settled = true;
    });
    while (!settled && wire.aws.callCount("UpdateItem") === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    const newer = await deliver(delivery("reopened", "2026-03-01T10:00:03Z"));
    release();
    const late = await stale;

    expect(newer.body["outcome"]).to.equal("created");
    expect(late.status).to.equal(202);
    expect(late.body["outcome"]).to.equal("ignored");
    expect(wire.aws.pipelineNames()).to.include(CLONE);
    expect(wire.aws.callCount("DeletePipeline")).to.equal(0);
  });

  it("ignores every one of several concurrent replays of an old delivery", async () => {
    await deliver(delivery("reopened", "2026-03-01T10:00:03Z"));
    const closed = delivery("closed", "2026-03-01T10:00:02Z");
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => deliver(closed)));
    expect(answers.map((a) => a.status)).to.deep.equal([202, 202, 202, 202, 202]);
    expect(wire.aws.pipelineNames()).to.include(CLONE);
  });

  it("refuses a signed delivery without updated_at when it cannot be ordered", async () => {
    const payload = pullRequestPayload({ action: "closed", state: "closed" });
    delete (payload["pull_request"] as Record<string, unknown>)["updated_at"];
    const answer = await deliver(signedEvent(payload, { secret: SECRET }));
    expect(answer.status).to.equal(400);
    expect(answer.body["message"]).to.match(/pull_request.updated_at is missing/);
    expect(wire.aws.callCount("DeletePipeline")).to.equal(0);
  });

  it("without STATE_TABLE_NAME: no protection, and one warning per container", async () => {
    const unprotected = handler({ STATE_TABLE_NAME: undefined, ...PR_TIER_ENV });
    await unprotected(delivery("reopened", "2026-03-01T10:00:03Z"));
    const replay = await unprotected(delivery("closed", "2026-03-01T10:00:02Z"));
    expect(replay.statusCode).to.equal(200);
    expect(wire.aws.callCount("UpdateItem")).to.equal(0);
    const warnings = wire.logger.lines.filter((l) => l.level === "warn");
    expect(warnings.map((l) => l.message)).to.deep.equal([
      "STATE_TABLE_NAME is not set: no replay protection (a replayed or late delivery can undo a newer state)",
    ]);
  });
});

describe("webhook: replayed deliveries with a GitHub token (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  beforeEach(() => wire.aws.createTable(TABLE));

  it("ignores a replayed closed after reopened before asking GitHub", async () => {
    const handler = createHandler(
      defaultWebhookDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          WEBHOOK_SECRET: SECRET,
          STATE_TABLE_NAME: TABLE,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
        },
        { logger: wire.logger },
      ),
    );
    const repo = "Codertocat/Hello-World";
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: "a".repeat(40), repo },
      base: { ref: "master", repo },
      updatedAt: "2026-03-01T10:00:03Z",
    });
    const closed = delivery("closed", "2026-03-01T10:00:02Z");
    const reopened = await handler(delivery("reopened", "2026-03-01T10:00:03Z"));
    expect(JSON.parse(reopened.body)).to.include({ outcome: "created" });
    const asked = wire.github.requests.length;

    const replay = await handler(closed);

    expect(replay.statusCode).to.equal(202);
    expect(JSON.parse(replay.body)["reason"]).to.match(/^a newer event for pull request #2/);
    expect(wire.github.requests.length).to.equal(asked);
    expect(wire.aws.pipelineNames()).to.include(CLONE);
  });
});
