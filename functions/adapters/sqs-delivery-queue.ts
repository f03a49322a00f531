/** A FIFO delivery queue over the AWS SDK v3 SQS client (SendMessage only). */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryQueue, QueueMessage } from "../app/ports.js";
import { awsClientConfig, callOptions, type AwsClientOptions } from "./aws-config.js";

/**
 * The SQS client of the delivery queues: requests go to the endpoint the SDK resolves (the region's,
 * or AWS_ENDPOINT_URL), not to the queue URL's host, which is the same in AWS and a test double's
 * made-up one locally.
 */
export function deliveryQueueClient(options: AwsClientOptions = {}): SQSClient {
  return new SQSClient({ ...awsClientConfig(options), useQueueUrlAsEndpoint: false });
}

export class SqsDeliveryQueue implements DeliveryQueue {
  /** `client` is asked for on the first message (built once per container by the caller). */
  constructor(
    private readonly client: () => SQSClient,
    readonly queueUrl: string,
  ) {}

  async send(message: QueueMessage, signal?: AbortSignal): Promise<void> {
    const attributes = Object.entries(message.attributes ?? {});
    await this.client().send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: message.body,
        MessageGroupId: message.groupId,
        MessageDeduplicationId: message.deduplicationId,
        ...(attributes.length > 0
          ? {
              MessageAttributes: Object.fromEntries(
                attributes.map(([name, value]) => [
                  name,
                  { DataType: "String", StringValue: value },
                ]),
              ),
            }
          : {}),
      }),
      callOptions(signal),
    );
  }
}
