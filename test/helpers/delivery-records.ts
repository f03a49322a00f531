/**
 * SQS records of queued deliveries for the worker's tests, shaped as Lambda's SQS event source hands
 * them over (with the FIFO system attributes), built from GitHub's example payloads.
 */
import type { SQSRecord } from "aws-lambda";
import { parsePullRequestEvent } from "../../functions/core/classify.js";
import {
  deliveryGroupId,
  encodeDelivery,
  type QueuedDelivery,
} from "../../functions/core/delivery.js";
import { pullRequestPayload, type PullRequestVariant } from "./github-events.js";

/** A queued delivery of the example payload, changed as asked. */
export function queuedDelivery(
  variant: PullRequestVariant = {},
  deliveryId = `delivery-${variant.number ?? 2}-${variant.action ?? "opened"}`,
): QueuedDelivery {
  const closed = variant.action === "closed" ? { state: "closed" as const } : {};
  return {
    version: 1,
    deliveryId,
    event: "pull_request",
    receivedAt: "2026-01-01T00:00:00.000Z",
    pullRequestEvent: parsePullRequestEvent(pullRequestPayload({ ...closed, ...variant })),
  };
}

/** A record of the FIFO delivery queue carrying `body` (a delivery, or any text). */
export function deliveryRecord(
  body: QueuedDelivery | string,
  options: { messageId?: string; groupId?: string; receiveCount?: number } = {},
): SQSRecord {
  const delivery = typeof body === "string" ? undefined : body;
  const messageId = options.messageId ?? delivery?.deliveryId ?? "message";
  const groupId =
    options.groupId ?? (delivery ? deliveryGroupId(delivery.pullRequestEvent) : "group");
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: delivery ? encodeDelivery(delivery) : (body as string),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: "1767225600000",
      SenderId: "AIDAIENQZJOLO23YVJ4VO",
      ApproximateFirstReceiveTimestamp: "1767225600000",
      MessageGroupId: groupId,
      MessageDeduplicationId: delivery?.deliveryId ?? messageId,
      SequenceNumber: "18849496460467696128",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:branchline-deliveries.fifo",
    awsRegion: "us-east-1",
  };
}
