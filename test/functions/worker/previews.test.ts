/**
 * Queue mode: the delivery worker carries out a queued delivery for a service with previews as the
 * inline webhook does, over the wire (SQS, CodePipeline, ECS, ELBv2 through the SDK against the AWS
 * double): the preview, then the clone aimed at it; a queued close removes both.
 */
import { expect } from "chai";
import type { SQSEvent } from "aws-lambda";
import type { QueuedDelivery } from "../../../functions/core/delivery.js";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler } from "../../../functions/worker/handler.js";
import { createDeliveryQueues, type DeliveryQueues } from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { seedPreviewStack, STACK_PREFIX, type PreviewStack } from "../../helpers/previews.js";
import type { TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const web: TestService = { name: "web", repository: "Codertocat/Hello-World", branch: "master" };

describe("delivery worker: preview environments (wire level)", function () {
  const wire = useWireDoubles({ github: false, seed: false });
  let queues: DeliveryQueues;
  let stack: PreviewStack;

  beforeEach(async () => {
    queues = await createDeliveryQueues(wire.aws);
    stack = await seedPreviewStack(wire.aws, web);
  });

  function worker() {
    return createWorkerHandler(
      defaultWorkerDeps(
        {
          BRANCHLINE_SERVICES: stack.table,
          BRANCHLINE_PREFIX: STACK_PREFIX,
          DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
        },
        { logger: wire.logger },
      ),
    );
  }
  const batch = (delivery: QueuedDelivery): SQSEvent => ({ Records: [deliveryRecord(delivery)] });

  it("a queued opened creates the preview and the clone deploying to it; a queued close removes both", async () => {
    const opened = await worker()(batch(queuedDelivery({ number: 7, headRef: "feature-7" })));
    expect(opened.batchItemFailures).to.deep.equal([]);
    expect(wire.aws.ecsService("previews", "shop-web-pr-7")).to.deep.include({
      status: "ACTIVE",
      desiredCount: 1,
    });
    const deploy = wire.aws
      .pipeline("shop-web-pr-7")
      ?.declaration.stages.flatMap((stage) => stage.actions)
      .find((action) => action.actionTypeId.provider === "ECS");
    expect(deploy?.configuration).to.deep.include({
      ClusterName: "previews",
      ServiceName: "shop-web-pr-7",
    });

    const closed = await worker()(
      batch(queuedDelivery({ number: 7, headRef: "feature-7", action: "closed" })),
    );
    expect(closed.batchItemFailures).to.deep.equal([]);
    expect(wire.aws.pipelineNames()).to.not.include("shop-web-pr-7");
    expect(wire.aws.ecsService("previews", "shop-web-pr-7")?.status).to.not.equal("ACTIVE");
    expect(wire.aws.targetGroups()).to.deep.equal([]);
  });
});
