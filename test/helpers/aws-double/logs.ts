/** CloudWatch Logs (GetLogEvents) state of the AWS test double: log streams a test seeds. */
import { AwsError } from "./errors.js";

export interface SeedLogEvent {
  message: string;
  /** Epoch milliseconds (default: in order, one millisecond apart). */
  timestamp?: number;
}

type Input = Record<string, unknown>;

/** GetLogEvents answers at most this many events, and this many bytes (1 MB). */
const MAX_EVENTS = 10_000;

export class LogsState {
  /** Events by `<group>\n<stream>`, oldest first. */
  readonly streams = new Map<string, { message: string; timestamp: number }[]>();

  reset(): void {
    this.streams.clear();
  }

  seedLogEvents(group: string, stream: string, events: (string | SeedLogEvent)[]): void {
    const list = this.streams.get(key(group, stream)) ?? [];
    const base = Date.UTC(2026, 0, 1);
    for (const event of events) {
      const seeded = typeof event === "string" ? { message: event } : event;
      list.push({ message: seeded.message, timestamp: seeded.timestamp ?? base + list.length });
    }
    this.streams.set(key(group, stream), list);
  }

  handle(operation: string, input: Input): unknown {
    if (operation !== "GetLogEvents") {
      throw new AwsError("UnknownOperationException", `Unknown operation ${operation}`);
    }
    const group = input["logGroupName"] as string | undefined;
    if (group === undefined) {
      throw new AwsError(
        "InvalidParameterException",
        "logGroupName or logGroupIdentifier is required",
      );
    }
    const stream = String(input["logStreamName"]);
    const events = this.streams.get(key(group, stream));
    if (!events) {
      throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
    }
    const limit = Math.min(MAX_EVENTS, Number(input["limit"] ?? MAX_EVENTS));
    // Without a token, startFromHead false (the default) reads the newest events, oldest first.
    const fromHead = input["startFromHead"] === true;
    const chosen = fromHead ? events.slice(0, limit) : events.slice(-limit);
    return {
      events: chosen.map((e) => ({
        timestamp: e.timestamp,
        message: e.message,
        ingestionTime: e.timestamp + 1,
      })),
      nextForwardToken: `f/${events.length}`,
      nextBackwardToken: `b/${Math.max(0, events.length - chosen.length)}`,
    };
  }
}

function key(group: string, stream: string): string {
  return `${group}\n${stream}`;
}
