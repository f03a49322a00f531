/**
 * Durable delivery's queues: the webhook sends each wanted delivery to an SQS FIFO queue (one message
 * group per pull request keeps its deliveries in order; high throughput FIFO, so groups do not wait
 * on each other), which the worker function consumes (see `DeliveryWorker`). A delivery received
 * `maxReceiveCount` times without success moves to a FIFO dead-letter queue that accepts messages from
 * this queue only. Both are encrypted with SQS-managed keys (no customer key, so no KMS grants) and
 * deny any request made without TLS.
 *
 * The delivery queue keeps a message 4 days (GitHub keeps its deliveries 3 days, so nothing GitHub
 * could still redeliver has expired from the queue); the dead-letter queue 14 days, SQS's longest.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DELIVERY_QUEUE_RETENTION_SECONDS } from "../config";
import { queueTransportPolicy, redriveAllowPolicy, redrivePolicy } from "../policies";

/** SQS's longest retention: 14 days. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/**
 * AWS's guidance for a Lambda event source: the queue's visibility timeout at least 6 times the
 * function's timeout, so a message is not received again while a throttled or retried batch runs.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface DeliveryQueueArgs {
  /** The consuming function's timeout; the visibility timeout is {@link VISIBILITY_TIMEOUT_FACTOR} times it. */
  consumerTimeoutSeconds: number;
  /** Receives before a delivery moves to the dead-letter queue. */
  maxReceiveCount: number;
}

/** What both FIFO queues share: ordered per message group, deduplicated by the sender's id. */
const FIFO = {
  fifoQueue: true,
  contentBasedDeduplication: false,
  deduplicationScope: "messageGroup",
  fifoThroughputLimit: "perMessageGroupId",
  sqsManagedSseEnabled: true,
} as const;

export class DeliveryQueue extends pulumi.ComponentResource {
  public readonly queue: aws.sqs.Queue;
  public readonly deadLetterQueue: aws.sqs.Queue;
  public readonly queueUrl: pulumi.Output<string>;
  public readonly queueArn: pulumi.Output<string>;
  public readonly deadLetterQueueUrl: pulumi.Output<string>;
  public readonly deadLetterQueueArn: pulumi.Output<string>;

  constructor(name: string, args: DeliveryQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:delivery:DeliveryQueue", name, {}, opts);
    const parent = { parent: this };

    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dead-letter-queue`,
      { ...FIFO, messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS },
      parent,
    );

    this.queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        ...FIFO,
        messageRetentionSeconds: DELIVERY_QUEUE_RETENTION_SECONDS,
        visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_FACTOR * args.consumerTimeoutSeconds,
        redrivePolicy: this.deadLetterQueue.arn.apply((arn) =>
          JSON.stringify(redrivePolicy(arn, args.maxReceiveCount)),
        ),
      },
      parent,
    );

    // Its own resource, not an attribute of the dead-letter queue: the two queues would name each other.
    new aws.sqs.RedriveAllowPolicy(
      `${name}-dead-letter-redrive-allow`,
      {
        queueUrl: this.deadLetterQueue.url,
        redriveAllowPolicy: this.queue.arn.apply((arn) => JSON.stringify(redriveAllowPolicy(arn))),
      },
      parent,
    );

    for (const [suffix, queue] of [
      ["queue-policy", this.queue],
      ["dead-letter-queue-policy", this.deadLetterQueue],
    ] as const) {
      new aws.sqs.QueuePolicy(
        `${name}-${suffix}`,
        {
          queueUrl: queue.url,
          policy: queue.arn.apply((arn) => JSON.stringify(queueTransportPolicy(arn))),
        },
        parent,
      );
    }

    this.queueUrl = this.queue.url;
    this.queueArn = this.queue.arn;
    this.deadLetterQueueUrl = this.deadLetterQueue.url;
    this.deadLetterQueueArn = this.deadLetterQueue.arn;
    this.registerOutputs({
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
    });
  }
}
