/**
 * SQS state (standard and FIFO queues, their messages) and the queue, worker and dead-letter
 * operations of the AWS test double (JSON 1.0). FIFO: MessageGroupId required, deduplication by
 * MessageDeduplicationId or content (5-minute window), and a group's next message is not delivered
 * while one of it is in flight. Visibility timeouts, receive counts and the redrive policy
 * (maxReceiveCount → dead-letter queue) follow the injectable clock, so tests need not sleep.
 */
import { createHash, randomUUID } from "node:crypto";
import { AwsError } from "./errors.js";

type Input = Record<string, unknown>;

/** SQS error type names on the wire carry the model's namespace. */
export const SQS_ERROR_NAMESPACE = "com.amazonaws.sqs";

const DEDUP_WINDOW_MS = 5 * 60 * 1000;

export interface SqsMessage {
  messageId: string;
  body: string;
  md5: string;
  groupId?: string;
  deduplicationId?: string;
  sequenceNumber: string;
  sentAt: number;
  firstReceivedAt?: number;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
  deadLetterSourceArn?: string;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  fifo: boolean;
  attributes: Record<string, string>;
  messages: SqsMessage[];
  /** FIFO deduplication ids → when they stop counting, and the message id first sent. */
  deduplication: Map<string, { expiresAt: number; messageId: string }>;
  createdAt: number;
}

interface MoveTask {
  taskHandle: string;
  sourceArn: string;
  destinationArn?: string;
  moved: number;
  startedAt: number;
  /** ListMessageMoveTasks answers still to report it RUNNING (0: COMPLETED), of `listings`. */
  runningListings: number;
  listings: number;
}

const md5 = (text: string): string => createHash("md5").update(text, "utf8").digest("hex");

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export class SqsState {
  readonly queues = new Map<string, Queue>();
  private readonly tasks: MoveTask[] = [];
  private sequence = 0n;
  /**
   * How many ListMessageMoveTasks answers report a new move task RUNNING (its moved count growing)
   * before COMPLETED. The messages move at once either way; 0 (the default) completes at once.
   */
  moveTaskRunningListings = 0;

  constructor(
    private readonly region: string,
    private readonly accountId: string,
    private readonly now: () => number,
  ) {}

  reset(): void {
    this.queues.clear();
    this.tasks.length = 0;
    this.moveTaskRunningListings = 0;
  }

  queueUrl(name: string): string {
    return `https://sqs.${this.region}.amazonaws.com/${this.accountId}/${name}`;
  }

  /** The queue's messages (in flight or not), oldest first; [] for an unknown queue. */
  messages(name: string): SqsMessage[] {
    return structuredClone(this.queues.get(name)?.messages ?? []);
  }

  handle(operation: string, input: Input): unknown {
    switch (operation) {
      case "CreateQueue":
        return this.createQueue(input);
      case "GetQueueUrl":
        return { QueueUrl: this.byName(str(input.QueueName) ?? "").url };
      case "GetQueueAttributes":
        return this.getQueueAttributes(input);
      case "SendMessage":
        return this.sendMessage(input);
      case "ReceiveMessage":
        return this.receiveMessage(input);
      case "DeleteMessage":
        return this.deleteMessage(input);
      case "ChangeMessageVisibility":
        return this.changeMessageVisibility(input);
      case "ChangeMessageVisibilityBatch":
        return this.changeMessageVisibilityBatch(input);
      case "PurgeQueue":
        this.byUrl(input.QueueUrl).messages = [];
        return {};
      case "ListDeadLetterSourceQueues":
        return this.listDeadLetterSourceQueues(input);
      case "StartMessageMoveTask":
        return this.startMessageMoveTask(input);
      case "ListMessageMoveTasks":
        return this.listMessageMoveTasks(input);
      default:
        throw new AwsError("UnsupportedOperation", `Unknown operation ${operation}`);
    }
  }

  private byName(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new AwsError("QueueDoesNotExist", "The specified queue does not exist.");
    return queue;
  }

  private byUrl(url: unknown): Queue {
    const name = String(url).split("/").pop() ?? "";
    return this.byName(name);
  }

  private byArn(arn: string): Queue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn);
  }

  private createQueue(input: Input): unknown {
    const name = str(input.QueueName) ?? "";
    const attributes = { ...((input.Attributes as Record<string, string> | undefined) ?? {}) };
    const fifo = attributes.FifoQueue === "true";
    if (!/^[A-Za-z0-9_-]{1,75}(\.fifo)?$/.test(name) || fifo !== name.endsWith(".fifo")) {
      throw new AwsError(
        "InvalidAttributeValue",
        fifo
          ? "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix."
          : "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
      );
    }
    if (!fifo && attributes.ContentBasedDeduplication !== undefined) {
      throw new AwsError("InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication.");
    }
    if (attributes.RedrivePolicy !== undefined) {
      const policy = this.parseRedrive(attributes.RedrivePolicy);
      const dlq = this.byArn(policy.deadLetterTargetArn);
      if (!dlq || dlq.fifo !== fifo) {
        throw new AwsError(
          "InvalidAttributeValue",
          "Value for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist or is not of the same queue type.",
        );
      }
    }
    const existing = this.queues.get(name);
    if (existing) {
      const same = Object.entries(attributes).every(([k, v]) => existing.attributes[k] === v);
      if (!same) {
        throw new AwsError(
          "QueueNameExists",
          "A queue already exists with the same name and a different value for attribute(s).",
        );
      }
      return { QueueUrl: existing.url };
    }
    this.queues.set(name, {
      name,
      url: this.queueUrl(name),
      arn: `arn:aws:sqs:${this.region}:${this.accountId}:${name}`,
      fifo,
      attributes,
      messages: [],
      deduplication: new Map(),
      createdAt: this.now(),
    });
    return { QueueUrl: this.queueUrl(name) };
  }

  private parseRedrive(text: string): { deadLetterTargetArn: string; maxReceiveCount: number } {
    try {
      const parsed = JSON.parse(text) as {
        deadLetterTargetArn?: unknown;
        maxReceiveCount?: unknown;
      };
      const max = Number(parsed.maxReceiveCount);
      if (
        typeof parsed.deadLetterTargetArn === "string" &&
        Number.isInteger(max) &&
        max >= 1 &&
        max <= 1000
      ) {
        return { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount: max };
      }
    } catch {
      // fall through
    }
    throw new AwsError(
      "InvalidAttributeValue",
      "Value for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.",
    );
  }

  private visibilityTimeout(queue: Queue): number {
    return Number(queue.attributes.VisibilityTimeout ?? "30");
  }

  private getQueueAttributes(input: Input): unknown {
    const queue = this.byUrl(input.QueueUrl);
    const now = this.now();
    const all: Record<string, string> = {
      QueueArn: queue.arn,
      VisibilityTimeout: String(this.visibilityTimeout(queue)),
      DelaySeconds: queue.attributes.DelaySeconds ?? "0",
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(
        queue.messages.filter((m) => m.visibleAt > now && m.receiptHandle).length,
      ),
      ApproximateNumberOfMessagesDelayed: String(
        queue.messages.filter((m) => m.visibleAt > now && !m.receiptHandle).length,
      ),
      ...queue.attributes,
    };
    if (queue.fifo)
      all.ContentBasedDeduplication = queue.attributes.ContentBasedDeduplication ?? "false";
    const names = (input.AttributeNames as string[] | undefined) ?? [];
    if (names.includes("All")) return { Attributes: all };
    const picked: Record<string, string> = {};
    for (const name of names) {
      if (all[name] !== undefined) picked[name] = all[name];
    }
    return { Attributes: picked };
  }

  private sendMessage(input: Input): unknown {
    const queue = this.byUrl(input.QueueUrl);
    const body = str(input.MessageBody) ?? "";
    if (body.length === 0 || Buffer.byteLength(body) > 262144) {
      throw new AwsError("InvalidMessageContents", "The message body must be 1 byte to 256 KiB.");
    }
    const now = this.now();
    const message: SqsMessage = {
      messageId: randomUUID(),
      body,
      md5: md5(body),
      sequenceNumber: "",
      sentAt: now,
      receiveCount: 0,
      visibleAt: now,
    };
    if (queue.fifo) {
      const groupId = str(input.MessageGroupId);
      if (!groupId) {
        throw new AwsError(
          "ValidationException",
          "The request must contain the parameter MessageGroupId.",
        );
      }
      if (input.DelaySeconds !== undefined && input.DelaySeconds !== 0) {
        throw new AwsError(
          "ValidationException",
          "Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
        );
      }
      let deduplicationId = str(input.MessageDeduplicationId);
      if (!deduplicationId) {
        if (queue.attributes.ContentBasedDeduplication !== "true") {
          throw new AwsError(
            "ValidationException",
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
          );
        }
        deduplicationId = createHash("sha256").update(body, "utf8").digest("hex");
      }
      for (const [id, entry] of queue.deduplication) {
        if (entry.expiresAt <= now) queue.deduplication.delete(id);
      }
      this.sequence += 1n;
      const sequenceNumber = String(this.sequence).padStart(20, "1");
      const seen = queue.deduplication.get(deduplicationId);
      if (seen) {
        return {
          MessageId: seen.messageId,
          MD5OfMessageBody: message.md5,
          SequenceNumber: sequenceNumber,
        };
      }
      queue.deduplication.set(deduplicationId, {
        expiresAt: now + DEDUP_WINDOW_MS,
        messageId: message.messageId,
      });
      message.groupId = groupId;
      message.deduplicationId = deduplicationId;
      message.sequenceNumber = sequenceNumber;
      queue.messages.push(message);
      return {
        MessageId: message.messageId,
        MD5OfMessageBody: message.md5,
        SequenceNumber: sequenceNumber,
      };
    }
    if (input.MessageGroupId !== undefined || input.MessageDeduplicationId !== undefined) {
      throw new AwsError(
        "ValidationException",
        "The request include parameter that is not valid for this queue type.",
      );
    }
    const delay =
      typeof input.DelaySeconds === "number"
        ? input.DelaySeconds
        : Number(queue.attributes.DelaySeconds ?? 0);
    message.visibleAt = now + delay * 1000;
    queue.messages.push(message);
    return { MessageId: message.messageId, MD5OfMessageBody: message.md5 };
  }

  private receiveMessage(input: Input): unknown {
    const queue = this.byUrl(input.QueueUrl);
    const max = typeof input.MaxNumberOfMessages === "number" ? input.MaxNumberOfMessages : 1;
    if (max < 1 || max > 10) {
      throw new AwsError(
        "ValidationException",
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const timeout =
      typeof input.VisibilityTimeout === "number"
        ? input.VisibilityTimeout
        : this.visibilityTimeout(queue);
    const now = this.now();
    const redrive =
      queue.attributes.RedrivePolicy === undefined
        ? undefined
        : this.parseRedrive(queue.attributes.RedrivePolicy);
    const dlq = redrive ? this.byArn(redrive.deadLetterTargetArn) : undefined;
    // FIFO: a group with a message in flight (or not yet visible) delivers nothing more.
    // A batch takes as many messages of one group as it can before the next group (as SQS does).
    const blocked = new Set<string>();
    const eligible = new Map<string, SqsMessage[]>();
    for (const message of queue.messages) {
      const group = message.groupId ?? message.messageId;
      if (blocked.has(group)) continue;
      if (message.visibleAt > now) {
        blocked.add(group);
        continue;
      }
      eligible.set(group, [...(eligible.get(group) ?? []), message]);
    }
    const taken: SqsMessage[] = [];
    for (const message of [...eligible.values()].flat()) {
      if (taken.length >= max) break;
      if (redrive && dlq && message.receiveCount >= redrive.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(message), 1);
        message.receiptHandle = undefined;
        message.visibleAt = now;
        message.deadLetterSourceArn = queue.arn;
        dlq.messages.push(message);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + timeout * 1000;
      message.receiptHandle = Buffer.from(
        `${queue.name} ${message.messageId} ${randomUUID()}`,
      ).toString("base64");
      taken.push(message);
    }
    const requested = [
      ...((input.MessageSystemAttributeNames as string[] | undefined) ?? []),
      ...((input.AttributeNames as string[] | undefined) ?? []),
    ];
    return { Messages: taken.map((m) => this.wireMessage(m, requested)) };
  }

  private wireMessage(message: SqsMessage, requested: string[]): unknown {
    const all: Record<string, string> = {
      SenderId: "AIDAIENQZJOLO23YVJ4VO",
      SentTimestamp: String(message.sentAt),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    };
    if (message.groupId !== undefined) {
      all.MessageGroupId = message.groupId;
      all.MessageDeduplicationId = message.deduplicationId ?? "";
      all.SequenceNumber = message.sequenceNumber;
    }
    if (message.deadLetterSourceArn) all.DeadLetterQueueSourceArn = message.deadLetterSourceArn;
    const attributes = requested.includes("All")
      ? all
      : Object.fromEntries(Object.entries(all).filter(([name]) => requested.includes(name)));
    const wire: Record<string, unknown> = {
      MessageId: message.messageId,
      ReceiptHandle: message.receiptHandle,
      MD5OfBody: message.md5,
      Body: message.body,
    };
    if (Object.keys(attributes).length > 0) wire.Attributes = attributes;
    return wire;
  }

  private findByHandle(queue: Queue, handle: unknown): SqsMessage | undefined {
    const text = str(handle) ?? "";
    const decoded = Buffer.from(text, "base64").toString("utf8").split(" ");
    if (decoded.length !== 3 || decoded[0] !== queue.name) {
      throw new AwsError(
        "ReceiptHandleIsInvalid",
        `The input receipt handle "${text}" is not a valid receipt handle.`,
      );
    }
    return queue.messages.find((m) => m.messageId === decoded[1]);
  }

  private deleteMessage(input: Input): unknown {
    const queue = this.byUrl(input.QueueUrl);
    const message = this.findByHandle(queue, input.ReceiptHandle);
    if (!message) return {}; // already deleted: SQS answers success
    if (queue.fifo && message.receiptHandle !== input.ReceiptHandle) {
      throw new AwsError("ReceiptHandleIsInvalid", "The receipt handle has expired.");
    }
    queue.messages.splice(queue.messages.indexOf(message), 1);
    return {};
  }

  private changeMessageVisibility(input: Input): unknown {
    const queue = this.byUrl(input.QueueUrl);
    const message = this.findByHandle(queue, input.ReceiptHandle);
    const now = this.now();
    if (!message || message.receiptHandle !== input.ReceiptHandle || message.visibleAt <= now) {
      throw new AwsError("MessageNotInflight", "The message referred to isn't in flight.");
    }
    const timeout = Number(input.VisibilityTimeout);
    message.visibleAt = now + timeout * 1000;
    return {};
  }

  /** Each entry as ChangeMessageVisibility would; failures per entry, as SQS reports them. */
  private changeMessageVisibilityBatch(input: Input): unknown {
    this.byUrl(input.QueueUrl); // QueueDoesNotExist before any entry
    const entries = (input.Entries as Input[] | undefined) ?? [];
    if (entries.length === 0) {
      throw new AwsError(
        "EmptyBatchRequest",
        "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request.",
      );
    }
    if (entries.length > 10) {
      throw new AwsError(
        "TooManyEntriesInBatchRequest",
        `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
      );
    }
    const ids = entries.map((entry) => str(entry.Id) ?? "");
    if (new Set(ids).size !== ids.length) {
      throw new AwsError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id.");
    }
    const successful: { Id: string }[] = [];
    const failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of entries) {
      const id = str(entry.Id) ?? "";
      try {
        this.changeMessageVisibility({
          QueueUrl: input.QueueUrl,
          ReceiptHandle: entry.ReceiptHandle,
          VisibilityTimeout: entry.VisibilityTimeout ?? 0,
        });
        successful.push({ Id: id });
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        failed.push({ Id: id, SenderFault: true, Code: error.type, Message: error.message });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  private sourcesOf(dlq: Queue): Queue[] {
    return [...this.queues.values()].filter((q) => {
      const policy = q.attributes.RedrivePolicy;
      return policy !== undefined && this.parseRedrive(policy).deadLetterTargetArn === dlq.arn;
    });
  }

  private listDeadLetterSourceQueues(input: Input): unknown {
    const dlq = this.byUrl(input.QueueUrl);
    return { queueUrls: this.sourcesOf(dlq).map((q) => q.url) };
  }

  /** Moves every message of the dead-letter queue back at once (to its source, or the destination). */
  private startMessageMoveTask(input: Input): unknown {
    const sourceArn = str(input.SourceArn) ?? "";
    const dlq = this.byArn(sourceArn);
    if (!dlq)
      throw new AwsError(
        "ResourceNotFoundException",
        "The resource that you specified for the SourceArn parameter doesn't exist.",
      );
    const destinationArn = str(input.DestinationArn);
    const now = this.now();
    const task: MoveTask = {
      taskHandle: randomUUID(),
      sourceArn,
      destinationArn,
      moved: 0,
      startedAt: now,
      runningListings: this.moveTaskRunningListings,
      listings: this.moveTaskRunningListings,
    };
    for (const message of [...dlq.messages]) {
      const target = this.byArn(destinationArn ?? message.deadLetterSourceArn ?? "");
      if (!target) continue;
      dlq.messages.splice(dlq.messages.indexOf(message), 1);
      Object.assign(message, {
        receiveCount: 0,
        receiptHandle: undefined,
        visibleAt: now,
        deadLetterSourceArn: undefined,
      });
      target.messages.push(message);
      task.moved += 1;
    }
    this.tasks.push(task);
    return { TaskHandle: task.taskHandle };
  }

  private listMessageMoveTasks(input: Input): unknown {
    const sourceArn = str(input.SourceArn) ?? "";
    if (!this.byArn(sourceArn)) {
      throw new AwsError(
        "ResourceNotFoundException",
        "The resource that you specified for the SourceArn parameter doesn't exist.",
      );
    }
    const max = typeof input.MaxResults === "number" ? input.MaxResults : 1;
    const results = this.tasks
      .filter((t) => t.sourceArn === sourceArn)
      .reverse()
      .slice(0, max)
      .map((t) => {
        const running = t.runningListings > 0;
        // While it runs, the moved count grows with each listing (none moved at the first).
        const moved = running
          ? Math.floor((t.moved * (t.listings - t.runningListings)) / t.listings)
          : t.moved;
        return {
          TaskHandle: t.taskHandle,
          Status: running ? "RUNNING" : "COMPLETED",
          SourceArn: t.sourceArn,
          ...(t.destinationArn ? { DestinationArn: t.destinationArn } : {}),
          ApproximateNumberOfMessagesMoved: moved,
          ApproximateNumberOfMessagesToMove: t.moved,
          StartedTimestamp: t.startedAt,
        };
      });
    for (const task of this.tasks) {
      if (task.sourceArn === sourceArn && task.runningListings > 0) task.runningListings -= 1;
    }
    return { Results: results };
  }
}
