/**
 * The delivery worker, one invocation at a time: SQS records as Lambda hands them over, the real
 * SDK clients against the AWS double, Octokit against the GitHub API double. Partial batch
 * responses follow FIFO rules (a failure stops the rest of its group only), records are not started
 * when the invocation's time runs low, and a misconfigured delivery is moved to the dead-letter
 * queue once, with its reason.
 */
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { expect } from "chai";
import { decodeDelivery } from "../../../functions/core/delivery.js";
import { cloneName } from "../../../functions/shared/names.js";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler, type WorkerContext } from "../../../functions/worker/handler.js";
import {
  createDeliveryQueues,
  DEAD_LETTER_QUEUE,
  type DeliveryQueues,
} from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const TOKEN = "ghs_test-token";

describe("delivery worker (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let queues: DeliveryQueues;
  let comments: GitHubComments;

  before(() => {
    comments = new GitHubComments(wire.github);
  });

  beforeEach(async () => {
    comments.reset();
    queues = await createDeliveryQueues(wire.aws);
  });

  const baseEnv = (): Record<string, string | undefined> => ({
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
  });

  function worker(
    env: Record<string, string | undefined> = {},
    overrides: { recordBudgetMs?: number; marginMs?: number } = {},
  ) {
    return createWorkerHandler(
      defaultWorkerDeps({ ...baseEnv(), ...env }, { logger: wire.logger, ...overrides }),
    );
  }

  const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
  const failures = (answer: { batchItemFailures: { itemIdentifier: string }[] }) =>
    answer.batchItemFailures.map((failure) => failure.itemIdentifier);
  const clone = (number: number) => wire.aws.pipeline(cloneName(SOURCE, number));
  const processed = () =>
    wire.logger.lines
      .filter((line) => line.message === "delivery processed")
      .map((line) => line.fields["messageId"]);

  function gitHubShowsOpen(...numbers: number[]): void {
    for (const number of numbers) {
      wire.github.addPullRequest({
        number,
        state: "open",
        head: { ref: "changes", sha: "a".repeat(40), repo: REPO },
        base: { ref: "master", repo: REPO },
      });
    }
  }

  it("carries out a delivery as the webhook does: clone, comment; deleted", async () => {
    gitHubShowsOpen(2);
    const handler = worker({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: wire.github.url });
    const answer = await handler(batch(deliveryRecord(queuedDelivery())));
    expect(answer).to.deep.equal({ batchItemFailures: [] });
    expect(clone(2)).not.to.equal(undefined);
    const [comment, ...more] = comments.comments.get(2) ?? [];
    expect(more).to.deep.equal([]);
    expect(comment?.body).to.include(`<!-- branchline:${cloneName(SOURCE, 2)} -->`);
    const line = wire.logger.lines.find((l) => l.message === "delivery processed");
    expect(line?.fields).to.deep.include({
      messageId: "delivery-2-opened",
      deliveryId: "delivery-2-opened",
      action: "opened",
      pullRequest: 2,
      status: 200,
      outcome: "created",
      record: "deleted",
    });
  });

  it("a failure stops the rest of its group only; other groups go on", async () => {
    // GitHub does not know pull request 1: reading it fails, a transient failure.
    gitHubShowsOpen(2, 3);
    const handler = worker({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: wire.github.url });
    const a1 = deliveryRecord(queuedDelivery({ number: 1 }));
    const a2 = deliveryRecord(queuedDelivery({ number: 1, action: "synchronize" }));
    const a3 = deliveryRecord(queuedDelivery({ number: 1, action: "closed" }));
    const b1 = deliveryRecord(queuedDelivery({ number: 2 }));
    const b2 = deliveryRecord(queuedDelivery({ number: 2, action: "synchronize" }));
    const c1 = deliveryRecord(queuedDelivery({ number: 3 }));
    const answer = await handler(batch(a1, b1, a2, b2, c1, a3));
    expect(failures(answer)).to.deep.equal([a1.messageId, a2.messageId, a3.messageId]);
    // a2 and a3 were not started: the closed would have acted on a pull request out of order.
    expect(processed()).to.have.members([a1.messageId, b1.messageId, b2.messageId, c1.messageId]);
    expect(clone(1)).to.equal(undefined);
    expect(clone(2)).not.to.equal(undefined);
    expect(clone(3)).not.to.equal(undefined);
  });

  it("does not start a record when the invocation's remaining time is low", async () => {
    const remaining = [60_000, 60_000, 5_900];
    const context: WorkerContext = { getRemainingTimeInMillis: () => remaining.shift() ?? 0 };
    const handler = worker({}, { marginMs: 5_000 });
    const a1 = deliveryRecord(queuedDelivery({ number: 1 }));
    const a2 = deliveryRecord(queuedDelivery({ number: 1, action: "synchronize" }));
    const a3 = deliveryRecord(queuedDelivery({ number: 1, action: "closed" }));
    const b1 = deliveryRecord(queuedDelivery({ number: 2 }));
    const answer = await handler(batch(a1, a2, a3, b1), context);
    // a1 and b1 start with a minute left; a2 finds 5.9 s, less than the margin and a second.
    expect(failures(answer)).to.deep.equal([a2.messageId, a3.messageId]);
    expect(processed()).to.have.members([a1.messageId, b1.messageId]);
    expect(
      wire.logger.lines.filter((l) => l.message.startsWith("delivery record not started")),
    ).to.have.length(1);
  });

  it("gives a record the invocation's time less the margin, at most its own budget", async () => {
    // Every CreatePipeline is throttled: the record's deadline (1.2 s), not the SDK's attempts
    // (100, a minute of backoff), ends it: timed out, it goes back to the queue.
    wire.aws.inject({ operation: "CreatePipeline", error: "ThrottlingException", times: 10_000 });
    const handler = worker({}, { marginMs: 5_000, recordBudgetMs: 20_000 });
    const record = deliveryRecord(queuedDelivery());
    const answer = await handler(batch(record), { getRemainingTimeInMillis: () => 5_000 + 1_200 });
    expect(failures(answer)).to.deep.equal([record.messageId]);
    const line = wire.logger.lines.find((l) => l.message === "delivery processed");
    expect(line?.fields).to.deep.include({ status: 503, outcome: "timed-out", record: "failed" });
    wire.aws.clearFaults();
  });

  it("retries throttling within a record, so the record is done", async () => {
    wire.aws.inject({ operation: "CreatePipeline", error: "ThrottlingException", times: 5 });
    const answer = await worker()(batch(deliveryRecord(queuedDelivery())));
    expect(answer).to.deep.equal({ batchItemFailures: [] });
    expect(wire.aws.callCount("CreatePipeline")).to.equal(6);
    expect(clone(2)).not.to.equal(undefined);
  });

  it("lists a 5xx that outlasts the SDK's retries, and a bug, as failures", async () => {
    wire.aws.inject({ operation: "CreatePipeline", error: "InternalFailure", times: 4 });
    const record = deliveryRecord(queuedDelivery());
    expect(failures(await worker()(batch(record)))).to.deep.equal([record.messageId]);
    const deps = defaultWorkerDeps(baseEnv(), { logger: wire.logger });
    const buggy = createWorkerHandler({
      ...deps,
      services: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'pipelines')");
      },
    });
    expect(failures(await buggy(batch(record)))).to.deep.equal([record.messageId]);
    const line = wire.logger.lines.find((l) => l.fields["errorKind"] === "bug");
    expect(line?.level).to.equal("error");
    expect(wire.aws.queueMessages(DEAD_LETTER_QUEUE)).to.deep.equal([]);
  });

  it("lists a body that is no delivery as a failure (the redrive ends it in the DLQ)", async () => {
    const record = deliveryRecord("{not json", { messageId: "m-poison", groupId: "g" });
    const answer = await worker()(batch(record));
    expect(failures(answer)).to.deep.equal(["m-poison"]);
    expect(wire.aws.calls).to.deep.equal([]);
    const line = wire.logger.lines.find((l) => l.message === "delivery record cannot be read");
    expect(line?.level).to.equal("error");
    expect(line?.fields).to.deep.include({
      messageId: "m-poison",
      error: "DeliveryFormatError",
      errorMessage: "the message body is not JSON",
    });
  });

  it("deletes a delivery that can never succeed (a bad request), logging why", async () => {
    wire.aws.createTable("branchline-state");
    const delivery = queuedDelivery();
    delete delivery.pullRequestEvent.pullRequest.updatedAt;
    const record = deliveryRecord(delivery);
    const answer = await worker({ STATE_TABLE_NAME: "branchline-state" })(batch(record));
    expect(answer).to.deep.equal({ batchItemFailures: [] });
    const line = wire.logger.lines.find((l) => l.message.startsWith("delivery dropped"));
    expect(line?.level).to.equal("warn");
    expect(line?.fields["status"]).to.equal(400);
    expect(clone(2)).to.equal(undefined);
    expect(wire.aws.queueMessages(DEAD_LETTER_QUEUE)).to.deep.equal([]);
  });

  describe("a configuration problem", () => {
    const misconfigured = { SOURCE_PIPELINE_NAME: "no-such-pipeline" };
    const reason = "source pipeline no-such-pipeline does not exist";

    it("is moved to the dead-letter queue once, with its reason, and deleted", async () => {
      const handler = worker(misconfigured);
      const record = deliveryRecord(queuedDelivery({ number: 5 }));
      expect(await handler(batch(record))).to.deep.equal({ batchItemFailures: [] });
      // Handed over again (its deletion failed, say): the dead-letter queue keeps one.
      expect(await handler(batch(record))).to.deep.equal({ batchItemFailures: [] });
      const [dead, ...more] = wire.aws.queueMessages(DEAD_LETTER_QUEUE);
      expect(more).to.deep.equal([]);
      expect(dead?.groupId).to.equal("codertocat/hello-world#5");
      expect(dead?.deduplicationId).to.equal(record.attributes.MessageDeduplicationId);
      expect(decodeDelivery(dead?.body ?? "")).to.deep.equal({
        ...queuedDelivery({ number: 5 }),
        reason,
      });
      const sends = wire.aws.calls.filter((c) => c.operation === "SendMessage");
      expect(sends[0]?.input).to.deep.include({
        QueueUrl: queues.deadLetterQueueUrl,
        MessageAttributes: { reason: { DataType: "String", StringValue: reason } },
      });
      const line = wire.logger.lines.find((l) => l.message.includes("dead-letter"));
      expect(line?.level).to.equal("error");
      expect(line?.fields).to.deep.include({ reason, pullRequest: 5 });
    });

    it("without DEAD_LETTER_QUEUE_URL: logged and listed as a failure", async () => {
      const handler = worker({ ...misconfigured, DEAD_LETTER_QUEUE_URL: undefined });
      const record = deliveryRecord(queuedDelivery());
      expect(failures(await handler(batch(record)))).to.deep.equal([record.messageId]);
      const line = wire.logger.lines.find((l) => l.message.includes("DEAD_LETTER_QUEUE_URL"));
      expect(line?.level).to.equal("error");
      expect(wire.aws.callCount("SendMessage")).to.equal(0);
    });

    it("when the dead-letter queue cannot be written: listed as a failure", async () => {
      wire.aws.inject({ operation: "SendMessage", error: "InternalFailure", times: 4 });
      const record = deliveryRecord(queuedDelivery());
      expect(failures(await worker(misconfigured)(batch(record)))).to.deep.equal([
        record.messageId,
      ]);
      expect(wire.aws.queueMessages(DEAD_LETTER_QUEUE)).to.deep.equal([]);
    });
  });
});
