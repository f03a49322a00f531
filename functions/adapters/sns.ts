/** Notifications over the AWS SDK v3 SNS client. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Notifications } from "../app/feedback.js";
import type { NotificationMessage } from "../core/feedback.js";
import { callOptions } from "./aws-config.js";

export class SnsNotifications implements Notifications {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    private readonly signal?: AbortSignal,
  ) {}

  async publish(message: NotificationMessage): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: message.subject,
        Message: message.message,
      }),
      callOptions(this.signal),
    );
  }
}
