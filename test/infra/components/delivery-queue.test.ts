/**
 * The delivery queue and its dead-letter queue as the whole stack declares them, under Pulumi mocks:
 * both queues' inputs exactly (FIFO, high throughput, SQS-managed encryption, retentions, the
 * visibility timeout from the worker's timeout, the redrive policy), the dead-letter queue's redrive
 * allow policy and both queue policies, in the one-service and the many-service form, with the
 * configured `branchline:delivery`. Mocks cannot prove that SQS accepts these attributes; the
 * policies' effect is simulated in test/infra/iam-simulation.test.ts.
 */
import { expect } from "chai";
import { loadConfig } from "../../../infra/config.js";
import {
  DEAD_LETTER_RETENTION_SECONDS,
  VISIBILITY_TIMEOUT_FACTOR,
} from "../../../infra/components/delivery-queue.js";
import { WORKER_TIMEOUT_SECONDS } from "../../../infra/components/worker.js";
import { createBranchline } from "../../../infra/program.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
} from "../../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const queueUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/${MOCK_ACCOUNT}/${name}`;

async function synth(config: Record<string, string | object>): Promise<void> {
  await runWithConfig(config, () => createBranchline(loadConfig(), stubArchives()), [
    "webhookSecret",
  ]);
}

const fifo = {
  fifoQueue: true,
  contentBasedDeduplication: false,
  deduplicationScope: "messageGroup",
  fifoThroughputLimit: "perMessageGroupId",
  sqsManagedSseEnabled: true,
};

function denyInsecureTransport(queueArn: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "sqs:*",
        Resource: queueArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

describe("infra/components/delivery-queue (the stack under Pulumi mocks)", () => {
  describe("a default stack (queue mode, the defaults)", () => {
    const queue = "delivery-queue-0000000.fifo";
    const deadLetters = "delivery-dead-letter-queue-0000000.fifo";
    before(async () => {
      await synth(minimal);
    });

    it("declares a high-throughput FIFO queue: 4 days, 6 x the worker's timeout, 5 receives", () => {
      expect(resourceNamed("delivery-queue").inputs).to.deep.equal({
        ...fifo,
        messageRetentionSeconds: 4 * 24 * 3600,
        visibilityTimeoutSeconds: 360,
        redrivePolicy: JSON.stringify({
          deadLetterTargetArn: `arn:aws:sqs:${at}:${deadLetters}`,
          maxReceiveCount: 5,
        }),
      });
      expect(VISIBILITY_TIMEOUT_FACTOR * WORKER_TIMEOUT_SECONDS).to.equal(360);
    });

    it("declares a FIFO dead-letter queue keeping 14 days, encrypted alike", () => {
      expect(resourceNamed("delivery-dead-letter-queue").inputs).to.deep.equal({
        ...fifo,
        messageRetentionSeconds: 14 * 24 * 3600,
      });
      expect(DEAD_LETTER_RETENTION_SECONDS).to.equal(1209600);
    });

    it("lets only the delivery queue redrive to the dead-letter queue", () => {
      expect(resourceNamed("delivery-dead-letter-redrive-allow").inputs).to.deep.equal({
        queueUrl: queueUrl(deadLetters),
        redriveAllowPolicy: JSON.stringify({
          redrivePermission: "byQueue",
          sourceQueueArns: [`arn:aws:sqs:${at}:${queue}`],
        }),
      });
    });

    it("denies any request without TLS on both queues", () => {
      expect(resourceNamed("delivery-queue-policy").inputs).to.deep.equal({
        queueUrl: queueUrl(queue),
        policy: JSON.stringify(denyInsecureTransport(`arn:aws:sqs:${at}:${queue}`)),
      });
      expect(resourceNamed("delivery-dead-letter-queue-policy").inputs).to.deep.equal({
        queueUrl: queueUrl(deadLetters),
        policy: JSON.stringify(denyInsecureTransport(`arn:aws:sqs:${at}:${deadLetters}`)),
      });
      expect(resourcesOfType("aws:sqs/queuePolicy:QueuePolicy")).to.have.length(2);
    });
  });

  describe("with maxReceiveCount 3 in a many-service stack", () => {
    before(async () => {
      await synth({
        prefix: "acme",
        webhookSecret: "s3cret",
        services: [
          { name: "shop", repository: "octo/shop" },
          { name: "cart", repository: "octo/cart" },
        ],
        delivery: { maxReceiveCount: 3 },
      });
    });

    it("declares one pair of queues for the stack, under its prefix", () => {
      expect(resourcesOfType("aws:sqs/queue:Queue").map((q) => q.name)).to.deep.equal([
        "acme-delivery-dead-letter-queue",
        "acme-delivery-queue",
      ]);
      expect(resourceNamed("acme-delivery-queue").inputs["redrivePolicy"]).to.equal(
        JSON.stringify({
          deadLetterTargetArn: `arn:aws:sqs:${at}:acme-delivery-dead-letter-queue-0000000.fifo`,
          maxReceiveCount: 3,
        }),
      );
    });
  });

  describe("inline mode", () => {
    before(async () => {
      await synth({ ...minimal, delivery: { mode: "inline" } });
    });

    it("declares no queue", () => {
      expect(resourcesOfType("aws:sqs/queue:Queue")).to.have.length(0);
      expect(resourcesOfType("branchline:delivery:DeliveryQueue")).to.have.length(0);
    });
  });
});
