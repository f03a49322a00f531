/**
 * Plays Lambda's SQS event source mapping against the AWS double: up to `maxConcurrency` pollers
 * each receive a batch (`batchSize`), hand it to the handler as an `SQSEvent`, delete the records
 * the `SQSBatchResponse` does not list in `batchItemFailures`, and leave the failed ones (the whole
 * batch when the handler throws) to come back after the visibility timeout. When a round receives
 * nothing while messages are in flight, the driver moves the double's clock past the visibility
 * timeout. It stops when the queue is drained or after `maxRounds` rounds.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { AwsDouble } from "./aws-double/index.js";
import { sqsCall } from "./sqs-wire.js";

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface PollerOptions {
  queueName: string;
  handler: SqsHandler;
  /** Records per invocation, 1 to 10 (default 10). */
  batchSize?: number;
  /** Invocations at once (default 2, Lambda's minimum for SQS). */
  maxConcurrency?: number;
  /** Rounds before giving up (default 100). */
  maxRounds?: number;
}

export interface PollerReport {
  rounds: number;
  /** Every event the handler received, in the order invoked. */
  events: SQSEvent[];
  deleted: number;
  /** Records left to come back (listed as failures, or in a batch whose invocation threw). */
  failed: number;
  /** True when the queue had nothing left, visible or in flight. */
  drained: boolean;
  /**
   * How far the driver moved the double's clock to bring failed records back (the visibility
   * timeouts a real queue would have made them wait): a measurement of elapsed time must add it.
   */
  clockAdvancedMs: number;
}

export async function runPoller(aws: AwsDouble, options: PollerOptions): Promise<PollerReport> {
  const batchSize = options.batchSize ?? 10;
  const maxConcurrency = options.maxConcurrency ?? 2;
  const maxRounds = options.maxRounds ?? 100;
  const endpoint = aws.url;
  const queueUrl = (await sqsCall(endpoint, "GetQueueUrl", { QueueName: options.queueName }))
    .QueueUrl as string;
  const attributes = (
    await sqsCall(endpoint, "GetQueueAttributes", {
      QueueUrl: queueUrl,
      AttributeNames: ["QueueArn", "VisibilityTimeout"],
    })
  ).Attributes as Record<string, string>;
  const report: PollerReport = {
    rounds: 0,
    events: [],
    deleted: 0,
    failed: 0,
    drained: false,
    clockAdvancedMs: 0,
  };

  const poll = async (): Promise<number> => {
    const answer = await sqsCall(endpoint, "ReceiveMessage", {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: batchSize,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    });
    const messages = (answer.Messages ?? []) as Record<string, unknown>[];
    if (messages.length === 0) return 0;
    const records: SQSRecord[] = messages.map((m) => ({
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body as string,
      attributes: m.Attributes as SQSRecord["attributes"],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody as string,
      eventSource: "aws:sqs",
      eventSourceARN: attributes.QueueArn ?? "",
      awsRegion: aws.region,
    }));
    const event: SQSEvent = { Records: records };
    report.events.push(event);
    let failedIds: Set<string>;
    try {
      const response = await options.handler(structuredClone(event));
      failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch {
      failedIds = new Set(records.map((r) => r.messageId));
    }
    for (const record of records) {
      if (failedIds.has(record.messageId)) {
        report.failed += 1;
        continue;
      }
      await sqsCall(endpoint, "DeleteMessage", {
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
      });
      report.deleted += 1;
    }
    return records.length;
  };

  while (report.rounds < maxRounds) {
    report.rounds += 1;
    const received = await Promise.all(Array.from({ length: maxConcurrency }, () => poll()));
    if (received.some((n) => n > 0)) continue;
    const counts = (
      await sqsCall(endpoint, "GetQueueAttributes", {
        QueueUrl: queueUrl,
        AttributeNames: ["All"],
      })
    ).Attributes as Record<string, string>;
    const left =
      Number(counts.ApproximateNumberOfMessages) +
      Number(counts.ApproximateNumberOfMessagesNotVisible) +
      Number(counts.ApproximateNumberOfMessagesDelayed);
    if (left === 0) {
      report.drained = true;
      break;
    }
    const visibilityMs = Number(attributes.VisibilityTimeout ?? "30") * 1000;
    aws.advanceTime(visibilityMs);
    report.clockAdvancedMs += visibilityMs;
  }
  return report;
}
