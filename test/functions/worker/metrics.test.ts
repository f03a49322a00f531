/**
 * The worker's metrics, over the wire (the real clients against the AWS double), recorded: each
 * record's delivery outcome and result, its queue age (SentTimestamp to now), the clones changed and
 * the errors by kind, published by one flush per batch.
 */
import type { SQSRecord } from "aws-lambda";
import { expect } from "chai";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler } from "../../../functions/worker/handler.js";
import { createDeliveryQueues, type DeliveryQueues } from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { recordingMetrics, type RecordingMetrics } from "../../helpers/recording-metrics.js";
import { useWireDoubles } from "../../helpers/wire.js";

/** The SentTimestamp of every record of test/helpers/delivery-records.ts. */
const SENT = 1767225600000;

describe("delivery worker: metrics (wire level)", function () {
  const wire = useWireDoubles({ github: false, repository: "hello-world" });
  let queues: DeliveryQueues;

  beforeEach(async () => {
    queues = await createDeliveryQueues(wire.aws);
  });

  async function run(
    records: SQSRecord[],
    env: Record<string, string> = {},
  ): Promise<{ failed: string[]; metrics: RecordingMetrics }> {
    const metrics = recordingMetrics();
    const handler = createWorkerHandler(
      defaultWorkerDeps(
        {
          SOURCE_PIPELINE_NAME: "hello-world",
          ECR_REPOSITORY_NAME: "hello-world",
          DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
          ...env,
        },
        { logger: wire.logger, metrics, now: () => SENT + 1500 },
      ),
    );
    const answer = await handler({ Records: records });
    return { failed: answer.batchItemFailures.map((f) => f.itemIdentifier), metrics };
  }

  it("counts each record's outcome and result, its queue age and the clones, flushed once", async () => {
    const { failed, metrics } = await run([
      deliveryRecord(queuedDelivery({ number: 2 })),
      deliveryRecord(queuedDelivery({ number: 3 })),
      deliveryRecord("not a delivery", { messageId: "poison" }),
    ]);
    expect(failed).to.deep.equal(["poison"]);
    expect(metrics.by("Deliveries", "outcome")).to.deep.equal({ created: 2, unreadable: 1 });
    expect(metrics.by("DeliveryRecords", "result")).to.deep.equal({ deleted: 2, failed: 1 });
    expect(metrics.by("Clones", "action")).to.deep.equal({ created: 2 });
    expect(metrics.by("Errors", "kind")).to.deep.equal({ "bad-request": 1 });
    expect(metrics.durations("QueueAge")).to.deep.equal([1500, 1500, 1500]);
    expect(metrics.flushes).to.equal(1);
  });

  it("counts a failed record and the later records of its group it stops as skipped", async () => {
    wire.aws.inject({ operation: "CreatePipeline", error: "ServiceUnavailable", times: 100 });
    const { failed, metrics } = await run([
      deliveryRecord(queuedDelivery({ number: 2 })),
      deliveryRecord(queuedDelivery({ number: 2, action: "synchronize" })),
    ]);
    expect(failed).to.have.length(2);
    expect(metrics.by("DeliveryRecords", "result")).to.deep.equal({ failed: 1, skipped: 1 });
    expect(metrics.by("Deliveries", "outcome")).to.deep.equal({ failed: 1 });
    expect(metrics.by("Errors", "kind")).to.deep.equal({ transient: 1 });
    expect(metrics.durations("QueueAge")).to.deep.equal([1500]);
  });

  it("counts a misconfigured delivery moved to the dead-letter queue as configuration", async () => {
    const { failed, metrics } = await run([deliveryRecord(queuedDelivery())], {
      SOURCE_PIPELINE_NAME: "no-such-pipeline",
    });
    expect(failed).to.deep.equal([]);
    expect(metrics.by("Deliveries", "outcome")).to.deep.equal({ misconfigured: 1 });
    expect(metrics.by("DeliveryRecords", "result")).to.deep.equal({ deleted: 1 });
    expect(metrics.by("Errors", "kind")).to.deep.equal({ configuration: 1 });
  });
});
