/**
 * The webhook's metrics, over the wire (the real clients against the AWS double), recorded: one
 * delivery's outcome, the clone it changed, the throttles its calls met and the errors by kind, all
 * published by one flush per delivery.
 */
import { expect } from "chai";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { createDeliveryQueues } from "../../helpers/delivery-queues.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { pullRequestPayload, signedEvent, type SignOptions } from "../../helpers/github-events.js";
import { recordingMetrics, type RecordingMetrics } from "../../helpers/recording-metrics.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const BASE_ENV = {
  SOURCE_PIPELINE_NAME: "hello-world",
  ECR_REPOSITORY_NAME: "hello-world",
  WEBHOOK_SECRET: SECRET,
};

describe("webhook: metrics (wire level)", function () {
  const wire = useWireDoubles({ github: false, repository: "hello-world" });

  async function deliver(
    payload: Record<string, unknown>,
    env: Record<string, string | undefined> = {},
    sign: Partial<SignOptions> = {},
  ): Promise<{ status: number; metrics: RecordingMetrics }> {
    const metrics = recordingMetrics();
    const handler = createHandler(
      defaultWebhookDeps({ ...BASE_ENV, ...env }, { logger: wire.logger, metrics }),
    );
    const response = await handler(signedEvent(payload, { secret: SECRET, ...sign }));
    return { status: response.statusCode, metrics };
  }

  it("counts a created clone and the delivery's outcome, flushed once", async () => {
    const { status, metrics } = await deliver(pullRequestPayload());
    expect(status).to.equal(200);
    expect(metrics.recorded).to.deep.equal([
      { kind: "count", name: "Clones", value: 1, dimensions: { action: "created" } },
      { kind: "count", name: "Deliveries", value: 1, dimensions: { outcome: "created" } },
    ]);
    expect(metrics.flushes).to.equal(1);
  });

  it("counts an updated and a deleted clone", async () => {
    await deliver(pullRequestPayload());
    // The source changed since: the next delivery refreshes the clone.
    const source = pipelineFixture("v1-ecs");
    const build = source.stages[1]?.actions[0];
    if (build?.configuration) build.configuration["ProjectName"] = "hello-world-build-v2";
    wire.aws.seedPipeline(source);
    const updated = await deliver(pullRequestPayload({ action: "synchronize" }));
    expect(updated.metrics.by("Clones", "action")).to.deep.equal({ updated: 1 });
    const closed = await deliver(pullRequestPayload({ action: "closed", state: "closed" }));
    expect(closed.metrics.by("Clones", "action")).to.deep.equal({ deleted: 1 });
    expect(closed.metrics.by("Deliveries", "outcome")).to.deep.equal({ deleted: 1 });
  });

  it("counts each throttled AWS call, and the delivery still succeeds", async () => {
    wire.aws.inject({ operation: "CreatePipeline", error: "ThrottlingException", times: 2 });
    const { status, metrics } = await deliver(pullRequestPayload());
    expect(status).to.equal(200);
    expect(metrics.total("Throttles")).to.equal(2);
    expect(metrics.by("Clones", "action")).to.deep.equal({ created: 1 });
  });

  it("counts a failure by its kind with the delivery's outcome: transient, then unauthorized", async () => {
    wire.aws.inject({ operation: "CreatePipeline", error: "ServiceUnavailable", times: 10 });
    const failed = await deliver(pullRequestPayload());
    expect(failed.status).to.equal(503);
    expect(failed.metrics.by("Errors", "kind")).to.deep.equal({ transient: 1 });
    expect(failed.metrics.by("Deliveries", "outcome")).to.deep.equal({ failed: 1 });
    expect(failed.metrics.total("Clones", { action: "created" })).to.equal(0);

    const forged = await deliver(pullRequestPayload(), {}, { secret: "not the secret" });
    expect(forged.status).to.equal(401);
    expect(forged.metrics.by("Errors", "kind")).to.deep.equal({ unauthorized: 1 });
    expect(forged.metrics.by("Deliveries", "outcome")).to.deep.equal({ unauthorized: 1 });
  });

  it("a misconfiguration counts as configuration (an alarm's kind)", async () => {
    const { status, metrics } = await deliver(pullRequestPayload(), {
      SOURCE_PIPELINE_NAME: "no-such-pipeline",
    });
    expect(status).to.equal(422);
    expect(metrics.by("Errors", "kind")).to.deep.equal({ configuration: 1 });
    expect(metrics.by("Deliveries", "outcome")).to.deep.equal({ misconfigured: 1 });
  });

  it("queue mode: counts queued, and a SendMessage that failed", async () => {
    const { queueUrl } = await createDeliveryQueues(wire.aws);
    const queued = await deliver(pullRequestPayload(), { QUEUE_URL: queueUrl });
    expect(queued.status).to.equal(202);
    expect(queued.metrics.recorded).to.deep.equal([
      { kind: "count", name: "Deliveries", value: 1, dimensions: { outcome: "queued" } },
    ]);

    wire.aws.inject({ operation: "SendMessage", error: "InternalFailure", times: 100 });
    const failed = await deliver(pullRequestPayload({ number: 3 }), { QUEUE_URL: queueUrl });
    expect(failed.status).to.equal(503);
    expect(failed.metrics.by("Errors", "kind")).to.deep.equal({ transient: 1 });
    expect(failed.metrics.by("Deliveries", "outcome")).to.deep.equal({ failed: 1 });
    expect(failed.metrics.flushes).to.equal(1);
  });

  it("a ping: pong, and nothing else", async () => {
    const { status, metrics } = await deliver(
      { zen: "Keep it logically awesome.", hook_id: 1 },
      {},
      {
        event: "ping",
      },
    );
    expect(status).to.equal(200);
    expect(metrics.recorded).to.deep.equal([
      { kind: "count", name: "Deliveries", value: 1, dimensions: { outcome: "pong" } },
    ]);
  });
});
