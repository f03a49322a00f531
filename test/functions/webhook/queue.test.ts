/**
 * The webhook in queue mode (QUEUE_URL set), over the wire: signed example deliveries, the real SQS
 * client against the AWS double's FIFO queue. A wanted delivery becomes exactly one message (one
 * group per pull request, deduplicated by GitHub's delivery id) and is answered 202 `queued`; what
 * no service wants is answered without queueing; a delivery SQS did not store is answered 503.
 */
import { expect } from "chai";
import { parsePullRequestEvent } from "../../../functions/core/classify.js";
import { bodyDigest, decodeDelivery } from "../../../functions/core/delivery.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler, type WebhookEvent } from "../../../functions/webhook/handler.js";
import { createDeliveryQueues, DELIVERY_QUEUE } from "../../helpers/delivery-queues.js";
import { header } from "../../../functions/core/request.js";
import {
  examplePayload,
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import { seedServices, type TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
const NOW = Date.parse("2026-03-04T05:06:07.089Z");

describe("webhook: queue mode, the ingest (wire level)", function () {
  const wire = useWireDoubles({ github: false, repository: "hello-world" });
  let queueUrl: string;

  beforeEach(async () => {
    ({ queueUrl } = await createDeliveryQueues(wire.aws));
  });

  const baseEnv = () => ({
    SOURCE_PIPELINE_NAME: "hello-world",
    ECR_REPOSITORY_NAME: "hello-world",
    WEBHOOK_SECRET: SECRET,
    QUEUE_URL: queueUrl,
  });

  function ingest(env: Record<string, string | undefined> = {}) {
    return createHandler(
      defaultWebhookDeps({ ...baseEnv(), ...env }, { logger: wire.logger, now: () => NOW }),
    );
  }

  async function deliver(event: WebhookEvent, env: Record<string, string | undefined> = {}) {
    const response = await ingest(env)(event);
    return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
  }

  const signed = (variant: PullRequestVariant = {}) =>
    signedEvent(pullRequestPayload(variant), { secret: SECRET });
  const operations = () => wire.aws.calls.map((call) => call.operation);
  const messages = () => wire.aws.queueMessages(DELIVERY_QUEUE);

  it("queues a wanted delivery as one FIFO message, with no AWS call but SendMessage", async () => {
    const payload = pullRequestPayload({ number: 7 });
    const event = signedEvent(payload, { secret: SECRET });
    const deliveryId = header(event.headers ?? {}, "x-github-delivery") ?? "";

    expect(await deliver(event)).to.deep.equal({ status: 202, body: { outcome: "queued" } });

    expect(operations()).to.deep.equal(["SendMessage"]);
    expect(wire.aws.calls[0]?.input).to.deep.include({
      QueueUrl: queueUrl,
      MessageGroupId: "codertocat/hello-world#7",
      MessageDeduplicationId: deliveryId,
    });
    const [message, ...more] = messages();
    expect(more).to.deep.equal([]);
    expect(message?.groupId).to.equal("codertocat/hello-world#7");
    expect(message?.deduplicationId).to.equal(deliveryId);
    expect(decodeDelivery(message?.body ?? "")).to.deep.equal({
      version: 1,
      deliveryId,
      event: "pull_request",
      receivedAt: "2026-03-04T05:06:07.089Z",
      pullRequestEvent: parsePullRequestEvent(payload),
    });
  });

  it("with the secret in Secrets Manager: GetSecretValue once, then SendMessage only", async () => {
    const arn = wire.aws.seedSecret("branchline/webhook", SECRET);
    const handler = ingest({ WEBHOOK_SECRET: undefined, WEBHOOK_SECRET_ARN: arn });
    for (const number of [1, 2]) {
      const response = await handler(signed({ number }));
      expect(response.statusCode).to.equal(202);
    }
    expect(operations()).to.deep.equal(["GetSecretValue", "SendMessage", "SendMessage"]);
  });

  it("queues a redelivery (same delivery id) inside the window once", async () => {
    const event = signed();
    const handler = ingest();
    for (let i = 0; i < 3; i++) expect((await handler(event)).statusCode).to.equal(202);
    wire.aws.advanceTime(60_000);
    expect((await handler(event)).statusCode).to.equal(202);
    expect(operations()).to.deep.equal(Array(4).fill("SendMessage"));
    expect(messages()).to.have.length(1);
  });

  it("without X-GitHub-Delivery, deduplicates by a SHA-256 of the signed body", async () => {
    const event = signed();
    const headers = { ...event.headers };
    delete headers["X-GitHub-Delivery"];
    const anonymous = { ...event, headers };
    const handler = ingest();
    expect((await handler(anonymous)).statusCode).to.equal(202);
    expect((await handler(anonymous)).statusCode).to.equal(202);
    const [message, ...more] = messages();
    expect(more).to.deep.equal([]);
    expect(message?.deduplicationId).to.equal(bodyDigest(event.body ?? ""));
    expect(decodeDelivery(message?.body ?? "").deliveryId).to.equal(bodyDigest(event.body ?? ""));
  });

  it("keeps one pull request's events in one group, in the order received", async () => {
    const handler = ingest();
    for (const action of ["opened", "synchronize", "closed"]) {
      await handler(signed({ action, ...(action === "closed" ? { state: "closed" } : {}) }));
    }
    await handler(signed({ number: 3 }));
    expect(
      messages().map((m) => [m.groupId, decodeDelivery(m.body).pullRequestEvent.action]),
    ).to.deep.equal([
      ["codertocat/hello-world#2", "opened"],
      ["codertocat/hello-world#2", "synchronize"],
      ["codertocat/hello-world#2", "closed"],
      ["codertocat/hello-world#3", "opened"],
    ]);
  });

  describe("answers without queueing", () => {
    it("a ping", async () => {
      const ping = signedEvent(examplePayload("ping"), { secret: SECRET, event: "ping" });
      expect(await deliver(ping)).to.deep.equal({ status: 200, body: { outcome: "pong" } });
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("an event branchline does not handle, and an action that changes no clone", async () => {
      const issue = signedEvent(examplePayload("issues"), { secret: SECRET, event: "issues" });
      expect((await deliver(issue)).body).to.deep.equal({
        outcome: "ignored",
        reason: "event issues is not handled",
      });
      expect((await deliver(signed({ action: "assigned" }))).body).to.deep.equal({
        outcome: "ignored",
        reason: "action assigned is not handled",
      });
      // A label changes nothing for a service without label rules: not queued either.
      expect((await deliver(signed({ action: "labeled" }))).body).to.deep.equal({
        outcome: "ignored",
        reason: `action labeled: no service of ${REPO}:master has label rules`,
      });
      expect(wire.aws.calls).to.deep.equal([]);
      expect(messages()).to.deep.equal([]);
    });

    it("with a routing table: another repository or base branch", async () => {
      const api: TestService = { name: "api", repository: REPO, branch: "main" };
      const table = seedServices(wire.aws, [api]);
      wire.aws.calls.length = 0;
      const env = {
        BRANCHLINE_SERVICES: table,
        SOURCE_PIPELINE_NAME: undefined,
        ECR_REPOSITORY_NAME: undefined,
      };
      expect(await deliver(signed(), env)).to.deep.equal({
        status: 202,
        body: { outcome: "ignored", reason: `no service builds ${REPO}:master` },
      });
      const other = pullRequestPayload({ baseRef: "main" });
      ((other["pull_request"] as Record<string, Record<string, Record<string, unknown>>>)["base"] ??
        {})["repo"] = { full_name: "acme/other", id: 1 };
      expect((await deliver(signedEvent(other, { secret: SECRET }), env)).body).to.deep.include({
        outcome: "ignored",
        reason: "no service builds acme/other:main",
      });
      expect(wire.aws.calls).to.deep.equal([]);
      // The service's own repository and branch are queued.
      expect((await deliver(signed({ baseRef: "main" }), env)).status).to.equal(202);
      expect(operations()).to.deep.equal(["SendMessage"]);
    });

    it("a bad signature: 401, nothing queued, no AWS call", async () => {
      const forged = signedEvent(pullRequestPayload(), {
        secret: SECRET,
        signature: `sha256=${"0".repeat(64)}`,
      });
      expect((await deliver(forged)).status).to.equal(401);
      expect(wire.aws.calls).to.deep.equal([]);
      expect(messages()).to.deep.equal([]);
    });
  });

  it("without a routing table, queues another branch's delivery: the worker decides", async () => {
    // The one service's branch is its source pipeline's, which only an AWS call reads.
    expect((await deliver(signed({ baseRef: "develop" }))).status).to.equal(202);
    expect(operations()).to.deep.equal(["SendMessage"]);
  });

  describe("a 2xx means durably queued", () => {
    it("answers 503 when SendMessage keeps failing, and queues nothing", async () => {
      wire.aws.inject({ operation: "SendMessage", error: "InternalFailure", times: 100 });
      expect(await deliver(signed())).to.deep.equal({
        status: 503,
        body: {
          outcome: "failed",
          message:
            "the delivery could not be queued for now; redeliver it, or the reconciler will finish the job",
        },
      });
      expect(operations().every((op) => op === "SendMessage")).to.equal(true);
      expect(messages()).to.deep.equal([]);
      const line = wire.logger.lines.find((l) => l.message === "delivery not queued");
      expect(line?.level).to.equal("error");
      expect(line?.fields).to.deep.include({ errorKind: "transient", error: "InternalFailure" });
    });

    it("answers 503 when the queue does not exist (a misconfiguration), naming nothing", async () => {
      const answer = await deliver(signed(), {
        QUEUE_URL: wire.aws.queueUrl("no-such-queue.fifo"),
      });
      expect(answer.status).to.equal(503);
      expect(JSON.stringify(answer.body)).not.to.include("no-such-queue");
      expect(JSON.stringify(answer.body)).not.to.include(wire.aws.accountId);
    });

    it("retries a throttled SendMessage within the budget, and queues once", async () => {
      wire.aws.inject({ operation: "SendMessage", error: "ThrottlingException", times: 3 });
      expect((await deliver(signed())).status).to.equal(202);
      expect(operations()).to.deep.equal(Array(4).fill("SendMessage"));
      expect(messages()).to.have.length(1);
    });

    it("a lost answer after SQS stored the message: the retry is deduplicated", async () => {
      wire.aws.inject({ operation: "SendMessage", error: "InternalFailure", after: "apply" });
      expect((await deliver(signed())).status).to.equal(202);
      expect(operations()).to.deep.equal(["SendMessage", "SendMessage"]);
      expect(messages()).to.have.length(1);
    });
  });
});
