/**
 * The durable delivery queues in the AWS double, as the stack makes them: a FIFO delivery queue
 * whose redrive policy moves a message received `maxReceiveCount` times to a FIFO dead-letter queue.
 */
import type { AwsDouble } from "./aws-double/index.js";
import { sqsCall } from "./sqs-wire.js";

export const DELIVERY_QUEUE = "branchline-deliveries.fifo";
export const DEAD_LETTER_QUEUE = "branchline-deliveries-dlq.fifo";

export interface DeliveryQueues {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

export async function createDeliveryQueues(
  aws: AwsDouble,
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<DeliveryQueues> {
  const dlq = await sqsCall(aws.url, "CreateQueue", {
    QueueName: DEAD_LETTER_QUEUE,
    Attributes: { FifoQueue: "true" },
  });
  const queue = await sqsCall(aws.url, "CreateQueue", {
    QueueName: DELIVERY_QUEUE,
    Attributes: {
      FifoQueue: "true",
      VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 360),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:${aws.region}:${aws.accountId}:${DEAD_LETTER_QUEUE}`,
        maxReceiveCount: options.maxReceiveCount ?? 3,
      }),
    },
  });
  // The queues' set-up is not the code under test's: its calls are forgotten.
  aws.calls.length = 0;
  return { queueUrl: queue.QueueUrl as string, deadLetterQueueUrl: dlq.QueueUrl as string };
}
