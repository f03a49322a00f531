/**
 * Durable delivery end to end over the wire: signed deliveries through the webhook in queue mode,
 * the FIFO queue and its dead-letter queue in the AWS double, and the worker driven by a stand-in
 * for Lambda's SQS poller (test/helpers/sqs-poller.ts). One pull request's events are carried out in
 * order, different pull requests in parallel; under injected faults nothing is lost, and only
 * poison ends in the dead-letter queue.
 */
import { expect } from "chai";
import { cloneName } from "../../../functions/shared/names.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler } from "../../../functions/worker/handler.js";
import {
  createDeliveryQueues,
  DEAD_LETTER_QUEUE,
  DELIVERY_QUEUE,
  type DeliveryQueues,
} from "../../helpers/delivery-queues.js";
import { decodeDelivery } from "../../../functions/core/delivery.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import { seedServices, sourceOf, tableEntry, type TestService } from "../../helpers/services.js";
import { runPoller } from "../../helpers/sqs-poller.js";
import { sqsCall } from "../../helpers/sqs-wire.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("durable delivery: ingest, queue, worker (wire level)", function () {
  this.timeout(60_000);
  const wire = useWireDoubles({ github: false, repository: REPOSITORY });
  let queues: DeliveryQueues;

  const env = (): Record<string, string | undefined> => ({
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    WEBHOOK_SECRET: SECRET,
    QUEUE_URL: queues.queueUrl,
    DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
  });

  function pr(variant: PullRequestVariant): Record<string, unknown> {
    const number = variant.number ?? 2;
    return pullRequestPayload({
      headRef: `feature-${number}`,
      ...(variant.action === "closed" ? { state: "closed" as const } : {}),
      ...variant,
    });
  }

  /** Delivers through the ingest; returns the status codes. */
  async function ingest(
    payloads: Record<string, unknown>[],
    environment = env(),
  ): Promise<number[]> {
    const handler = createHandler(defaultWebhookDeps(environment, { logger: wire.logger }));
    const statuses: number[] = [];
    for (const payload of payloads) {
      statuses.push((await handler(signedEvent(payload, { secret: SECRET }))).statusCode);
    }
    return statuses;
  }

  function drain(
    options: {
      environment?: Record<string, string | undefined>;
      batchSize?: number;
      maxConcurrency?: number;
      recordBudgetMs?: number;
    } = {},
  ) {
    const handler = createWorkerHandler(
      defaultWorkerDeps(options.environment ?? env(), {
        logger: wire.logger,
        ...(options.recordBudgetMs !== undefined ? { recordBudgetMs: options.recordBudgetMs } : {}),
      }),
    );
    return runPoller(wire.aws, {
      queueName: DELIVERY_QUEUE,
      handler: (event) => handler(event, { getRemainingTimeInMillis: () => 60_000 }),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
      maxRounds: 200,
    });
  }

  const clone = (number: number, source = SOURCE) => wire.aws.pipeline(cloneName(source, number));

  describe("order", () => {
    beforeEach(async () => {
      queues = await createDeliveryQueues(wire.aws);
    });

    it("opened, synchronize and closed of one pull request in a burst end with no clone", async () => {
      const statuses = await ingest([
        pr({ action: "opened" }),
        pr({ action: "synchronize" }),
        pr({ action: "closed" }),
      ]);
      expect(statuses).to.deep.equal([202, 202, 202]);
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
      const report = await drain({ batchSize: 10, maxConcurrency: 2 });
      expect(report.drained).to.equal(true);
      expect(report.failed).to.equal(0);
      expect(report.deleted).to.equal(3);
      expect(clone(2)).to.equal(undefined);
      // Carried out in order: created, updated (nothing to change), then removed.
      const outcomes = wire.logger.lines
        .filter((line) => line.message === "delivery processed")
        .map((line) => [line.fields["action"], line.fields["outcome"]]);
      expect(outcomes).to.deep.equal([
        ["opened", "created"],
        ["synchronize", "unchanged"],
        ["closed", "deleted"],
      ]);
      expect(wire.aws.queueMessages(DEAD_LETTER_QUEUE)).to.deep.equal([]);
    });

    it("records of two pull requests in one batch are carried out at once", async () => {
      await ingest([pr({ number: 2 }), pr({ number: 3 })]);
      // The first CreatePipeline is held until the second arrives: the two groups overlap, or the
      // second never comes and the first is let go after a while, which the test sees.
      let overlapped = false;
      const release = (async () => {
        for (let waited = 0; waited < 3_000; waited += 10) {
          if (wire.aws.callCount("CreatePipeline") >= 2) {
            overlapped = true;
            return;
          }
          await sleep(10);
        }
      })();
      wire.aws.inject({ operation: "CreatePipeline", until: release });
      const report = await drain({ batchSize: 10, maxConcurrency: 1 });
      expect(report.events.map((event) => event.Records.length)).to.deep.equal([2]);
      expect(overlapped).to.equal(true);
      expect(clone(2)).not.to.equal(undefined);
      expect(clone(3)).not.to.equal(undefined);
    });
  });

  describe("nothing lost under faults", () => {
    const api: TestService = { name: "api", repository: REPO, branch: "master" };
    /** In the table, but its source pipeline was never made: every delivery is misconfigured. */
    const broken: TestService = { name: "broken", repository: "acme/broken", branch: "main" };

    it("200 deliveries of 100 pull requests: clone iff open; only poison in the DLQ", async () => {
      queues = await createDeliveryQueues(wire.aws, { maxReceiveCount: 5 });
      seedServices(wire.aws, [api]);
      const table = JSON.stringify([tableEntry(api), tableEntry(broken)]);
      const routed = {
        ...env(),
        SOURCE_PIPELINE_NAME: undefined,
        ECR_REPOSITORY_NAME: undefined,
        BRANCHLINE_SERVICES: table,
      };
      const numbers = Array.from({ length: 100 }, (_, i) => i + 1);
      const closed = new Set(numbers.filter((n) => n % 5 === 0 || n % 7 === 0));
      const payloads = [
        ...numbers.map((number) => pr({ number })),
        ...numbers.map((number) =>
          closed.has(number)
            ? pr({ number, action: "closed" })
            : pr({ number, action: "synchronize" }),
        ),
      ];
      // The ingest is throttled now and then: retried within its budget, queued once.
      wire.aws.inject({ operation: "SendMessage", error: "ThrottlingException", times: 5 });
      const statuses = await ingest(payloads, routed);
      expect(statuses.filter((s) => s !== 202)).to.deep.equal([]);

      // Poison: a delivery for the misconfigured service, and a body that is no delivery.
      const misrouted = pr({ number: 7, baseRef: "main" });
      ((misrouted["pull_request"] as Record<string, Record<string, unknown>>)["base"] ?? {})[
        "repo"
      ] = { full_name: broken.repository, id: 99 };
      expect(await ingest([misrouted], routed)).to.deep.equal([202]);
      await sqsCall(wire.aws.url, "SendMessage", {
        QueueUrl: queues.queueUrl,
        MessageBody: "this is not a delivery",
        MessageGroupId: "poison",
        MessageDeduplicationId: "poison-1",
      });
      expect(wire.aws.queueMessages(DELIVERY_QUEUE)).to.have.length(202);

      // Faults while the worker drains the queue: throttling, 5xx past the SDK's retries, slow
      // answers past a record's deadline, and answers lost after the change was made.
      wire.aws.inject({ operation: "CreatePipeline", error: "ThrottlingException", times: 40 });
      wire.aws.inject({ operation: "GetPipeline", error: "InternalFailure", times: 12 });
      wire.aws.inject({ operation: "DeletePipeline", error: "ServiceUnavailable", times: 8 });
      wire.aws.inject({
        operation: "CreatePipeline",
        error: "InternalFailure",
        after: "apply",
        times: 3,
      });
      wire.aws.inject({
        operation: "DeletePipeline",
        error: "InternalFailure",
        after: "apply",
        times: 3,
      });
      wire.aws.inject({ operation: "ListImages", delayMs: 1_500, times: 2 });
      const report = await drain({ environment: routed, recordBudgetMs: 1_000, maxConcurrency: 4 });
      expect(report.drained).to.equal(true);

      const source = sourceOf(api);
      for (const number of numbers) {
        expect(clone(number, source) !== undefined, `clone of #${number}`).to.equal(
          !closed.has(number),
        );
      }
      const clones = wire.aws.pipelineNames().filter((name) => name.startsWith(`${source}-pr-`));
      expect(clones).to.have.length(numbers.length - closed.size);
      const dead = wire.aws.queueMessages(DEAD_LETTER_QUEUE);
      expect(dead.map((m) => m.body).sort()).to.have.length(2);
      const misconfigured = dead.find((m) => m.groupId !== "poison");
      expect(misconfigured?.groupId).to.equal("acme/broken#7");
      expect(decodeDelivery(misconfigured?.body ?? "").reason).to.equal(
        `broken: source pipeline ${sourceOf(broken)} does not exist`,
      );
      const poison = dead.find((m) => m.groupId === "poison");
      expect(poison?.body).to.equal("this is not a delivery");
      expect(report.failed).to.be.above(0);
    });
  });
});
