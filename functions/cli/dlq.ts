/**
 * `branchline dlq list` and `branchline dlq redrive`: the delivery queue's dead-letter queue, where
 * the worker leaves the deliveries it could not handle.
 *
 * `list` receives up to `--max` messages with a short visibility timeout, prints them and makes them
 * visible again at once (ChangeMessageVisibilityBatch to 0), so that listing hides nothing for
 * long. `redrive` starts an SQS message move task from the dead-letter queue back to its source
 * queue (SQS redrives FIFO queues too) and, with `--wait`, follows it until it ends.
 *
 * A message's body is the JSON the webhook ingest wrote; it is shown as it is, with the fields the
 * operator looks for picked out when present (`deliveryId`, `event`, the pull request event's
 * action, number and base repository, `reason`). A body of another shape is shown, never an error.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { callOptions } from "../adapters/aws-config.js";
import { connectSqs } from "./aws.js";
import { parseFlags } from "./flags.js";
import {
  CliError,
  formatAge,
  line,
  printJson,
  sleeper,
  startProgress,
  table,
  UsageError,
  type CliIo,
} from "./io.js";
import { stackOutputs } from "./names.js";

/** Stack outputs (infra): absent when the stack runs in inline mode (no delivery queue). */
export const DLQ_OUTPUT = {
  deliveryQueueUrl: "deliveryQueueUrl",
  deadLetterQueueUrl: "deadLetterQueueUrl",
} as const;

/** How long `list` hides the messages it receives, should it stop before making them visible. */
export const LIST_VISIBILITY_SECONDS = 30;
/** The default of `--max`. */
export const DEFAULT_MAX = 100;
/** How often `redrive --wait` reads the move task's progress. */
export const WAIT_POLL_MS = 2000;
/** The longest body excerpt the table shows for a body that is not a JSON object. */
const EXCERPT = 60;

const QUEUE_HELP = `  --stack <name>                 the Pulumi stack whose output deadLetterQueueUrl names the queue
  --dead-letter-queue-url <url>  the dead-letter queue's URL (default: the stack output
                                 deadLetterQueueUrl)`;
const JSON_HELP = `  --json                         print JSON for scripts (no progress indicator)
  -h, --help                     show this help`;

export const DLQ_LIST_USAGE = `Usage: branchline dlq list [options]

Lists the messages in the delivery queue's dead-letter queue: for each, its age, receive count,
message group and, when its body has them, the delivery id, event, action, pull request, base
repository and reason. The messages are received with a ${LIST_VISIBILITY_SECONDS}-second visibility timeout and made
visible again as soon as they are printed: listing leaves them in the queue (it adds one to their
receive count). A FIFO queue hides a group's further messages while some of the group are in
flight, so a long group may show only its first messages.

Options:
${QUEUE_HELP}
  --max <n>                      list at most n messages (default ${DEFAULT_MAX}), received 10 at a time
${JSON_HELP}
`;

export const DLQ_REDRIVE_USAGE = `Usage: branchline dlq redrive [options]

Moves the messages of the dead-letter queue back to the delivery queue with an SQS message move
task, and prints the task's handle. The delivery queue is --delivery-queue-url, or the stack output
deliveryQueueUrl, or else the one queue whose redrive policy names the dead-letter queue; it is
named as the task's destination, so that the deliveries the worker put in the dead-letter queue
itself (misconfigured ones, with a reason) move too. Refuses while a move task is already running
on the queue.

Options:
${QUEUE_HELP}
  --delivery-queue-url <url>     the queue to move the messages to (default: the stack output
                                 deliveryQueueUrl, or the dead-letter queue's one source queue)
  --wait                         follow the task until it ends (progress on stderr); exit 1 if it
                                 fails or is cancelled
${JSON_HELP}
`;

export const DLQ_USAGE = `Usage: branchline dlq <list|redrive> [options]

The delivery queue's dead-letter queue: the webhook deliveries the worker could not handle. A stack
in inline mode has no delivery queue and no dead-letter queue.

Commands:
  list      show the messages in the dead-letter queue, leaving them there
  redrive   move them back to the delivery queue

Run \`branchline dlq <command> --help\` for a command's options.
`;

const QUEUE_FLAGS = {
  stack: { type: "string" },
  "dead-letter-queue-url": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function dlqCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    io.stdout.write(DLQ_USAGE);
    return 0;
  }
  if (sub === "list") return listDeadLetters(rest, io);
  if (sub === "redrive") return redrive(rest, io);
  throw new UsageError(
    sub === undefined
      ? "dlq needs a command: list or redrive"
      : `unknown dlq command ${JSON.stringify(sub)}: list or redrive`,
    "dlq",
  );
}

/** One dead-letter message as `list --json` prints it; `null` for what the message lacks. */
export interface DeadLetter {
  messageId: string;
  /** SentTimestamp, as an ISO date. */
  sentAt: string | null;
  /** ApproximateReceiveCount. */
  receiveCount: number | null;
  messageGroupId: string | null;
  deliveryId: string | null;
  event: string | null;
  /** pullRequestEvent.action */
  action: string | null;
  /** pullRequestEvent.pullRequest.number */
  pullRequest: number | null;
  /** pullRequestEvent.pullRequest.baseRepository */
  repository: string | null;
  /** The body's `reason`, or else the message attribute `reason`. */
  reason: string | null;
  /** The message attributes: string and number values as they are, binary ones described. */
  attributes: Record<string, string>;
  /** The body: parsed when it is JSON, else the text. */
  body: unknown;
}

async function listDeadLetters(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(argv, { ...QUEUE_FLAGS, max: { type: "string" } }, "dlq list");
  if (values.help) {
    io.stdout.write(DLQ_LIST_USAGE);
    return 0;
  }
  const max = Number(values.max ?? DEFAULT_MAX);
  if (!Number.isInteger(max) || max < 1) {
    throw new UsageError(`--max must be a whole number from 1, got ${values.max}`, "dlq list");
  }
  const json = values.json === true;
  const { queueUrl } = await queues(io, values);
  const sqs = await connectSqs(queueUrl);
  const options = callOptions(io.signal);
  const counts = await queueCounts(sqs, queueUrl, options);
  const progress = startProgress(io, json, `receiving from ${queueUrl}`);
  const received: Message[] = [];
  const handles: string[] = [];
  const seen = new Set<string>();
  let released: { failed: number };
  try {
    while (received.length < max) {
      const answer = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max - received.length),
          VisibilityTimeout: LIST_VISIBILITY_SECONDS,
          // Long polling asks every SQS server, so a small queue is not reported empty by chance.
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
        options,
      );
      const batch = answer.Messages ?? [];
      if (batch.length === 0) break;
      for (const message of batch) {
        if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
        const id = message.MessageId ?? "";
        if (seen.has(id)) continue;
        seen.add(id);
        received.push(message);
      }
      progress.update(`received ${received.length}/${Math.min(max, counts.visible)} messages`);
    }
  } finally {
    // Visible again at once, also after a failure or Ctrl-C (so without the run's signal).
    progress.update(`making ${handles.length} messages visible again`);
    released = await release(sqs, queueUrl, handles).finally(() => progress.stop());
  }

  const now = (io.now ?? (() => new Date()))();
  const letters = received
    .map(describe)
    .sort((a, b) => (a.sentAt ?? "").localeCompare(b.sentAt ?? ""));
  if (released.failed > 0) {
    line(
      io.stderr,
      `warning: ${released.failed} message(s) could not be made visible again: they reappear within ${LIST_VISIBILITY_SECONDS} seconds`,
    );
  }
  if (letters.length < counts.visible) {
    line(
      io.stderr,
      `note: ${letters.length} of about ${counts.visible} messages shown${
        letters.length >= max ? ` (raise --max to see more)` : ""
      }`,
    );
  }
  if (counts.inFlight > 0) {
    line(
      io.stderr,
      `note: about ${counts.inFlight} more message(s) were in flight (received by someone else) and not shown`,
    );
  }
  if (json) {
    printJson(io.stdout, letters);
    return 0;
  }
  if (letters.length === 0) {
    line(io.stdout, `the dead-letter queue ${queueUrl} is empty`);
    return 0;
  }
  io.stdout.write(
    table(
      ["AGE", "RECEIVES", "GROUP", "DELIVERY", "EVENT", "ACTION", "PR", "REPOSITORY", "DETAILS"],
      letters.map((letter) => [
        letter.sentAt === null ? "-" : formatAge(now.getTime() - Date.parse(letter.sentAt)),
        letter.receiveCount === null ? "-" : String(letter.receiveCount),
        letter.messageGroupId ?? "-",
        letter.deliveryId ?? "-",
        letter.event ?? "-",
        letter.action ?? "-",
        letter.pullRequest === null ? "-" : `#${letter.pullRequest}`,
        letter.repository ?? "-",
        details(letter),
      ]),
    ),
  );
  return 0;
}

async function redrive(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(
    argv,
    { ...QUEUE_FLAGS, "delivery-queue-url": { type: "string" }, wait: { type: "boolean" } },
    "dlq redrive",
  );
  if (values.help) {
    io.stdout.write(DLQ_REDRIVE_USAGE);
    return 0;
  }
  const json = values.json === true;
  const { queueUrl, deliveryQueueUrl } = await queues(io, values);
  const sqs = await connectSqs(queueUrl);
  const options = callOptions(io.signal);
  const counts = await queueCounts(sqs, queueUrl, options);
  const sourceArn = counts.arn;
  const running = (await moveTasks(sqs, sourceArn, options)).find(
    (task) => task.Status === "RUNNING" || task.Status === "CANCELLING",
  );
  if (running) {
    throw new CliError(
      `a message move task is already ${running.Status === "RUNNING" ? "running" : "being cancelled"} on ${queueUrl} (task ${running.TaskHandle}, ${moved(running)} moved): one at a time`,
      1,
      running.Status === "RUNNING"
        ? `wait for it, or cancel it: aws sqs cancel-message-move-task --task-handle ${running.TaskHandle}`
        : "wait for it to end",
    );
  }
  if (counts.visible === 0 && counts.inFlight === 0) {
    if (json) printJson(io.stdout, { queueUrl, sourceArn, taskHandle: null, messages: 0 });
    else line(io.stdout, `the dead-letter queue ${queueUrl} is empty: nothing to redrive`);
    return 0;
  }
  const destinationUrl = deliveryQueueUrl ?? (await onlySource(sqs, queueUrl, options));
  const destinationArn = (await queueCounts(sqs, destinationUrl, options, "delivery queue")).arn;
  const started = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }),
    options,
  );
  const handle = started.TaskHandle ?? "";
  if (!json) {
    line(
      io.stdout,
      `moving about ${counts.visible} message(s) from ${queueUrl} to ${destinationUrl}: task ${handle}`,
    );
  }
  if (values.wait !== true) {
    if (json)
      printJson(io.stdout, {
        queueUrl,
        sourceArn,
        destinationArn,
        taskHandle: handle,
        messages: counts.visible,
      });
    return 0;
  }

  const sleep = sleeper(io);
  const progress = startProgress(io, json, `moving messages (task ${handle})`);
  let task: ListMessageMoveTasksResultEntry | undefined;
  try {
    for (;;) {
      task = (await moveTasks(sqs, sourceArn, options)).find((t) => t.TaskHandle === handle);
      if (!task) {
        throw new CliError(`the move task ${handle} is no longer listed on ${queueUrl}`);
      }
      if (task.Status !== "RUNNING" && task.Status !== "CANCELLING") break;
      progress.update(`moving messages: ${moved(task)} moved`);
      if (io.signal?.aborted) throw Object.assign(new Error("interrupted"), { name: "AbortError" });
      await sleep(WAIT_POLL_MS);
    }
  } finally {
    progress.stop();
  }
  const result = {
    queueUrl,
    sourceArn,
    destinationArn,
    taskHandle: handle,
    status: task.Status ?? "UNKNOWN",
    moved: task.ApproximateNumberOfMessagesMoved ?? 0,
    ...(task.FailureReason ? { failureReason: task.FailureReason } : {}),
  };
  if (json) printJson(io.stdout, result);
  if (task.Status === "COMPLETED") {
    if (!json) line(io.stdout, `done: ${result.moved} message(s) moved back`);
    return 0;
  }
  throw new CliError(
    `the move task ${task.Status === "FAILED" ? "failed" : `ended ${task.Status ?? "UNKNOWN"}`} after moving ${result.moved} message(s)${task.FailureReason ? `: ${task.FailureReason}` : ""}`,
  );
}

/**
 * The dead-letter queue: `--dead-letter-queue-url`, or the stack output (a stack in inline mode has
 * none); and the delivery queue to redrive to: `--delivery-queue-url`, or the stack output when the
 * stack was read.
 */
async function queues(
  io: CliIo,
  values: {
    stack?: string | undefined;
    "dead-letter-queue-url"?: string | undefined;
    "delivery-queue-url"?: string | undefined;
  },
): Promise<{ queueUrl: string; deliveryQueueUrl: string | undefined }> {
  const given = values["dead-letter-queue-url"];
  if (given) return { queueUrl: given, deliveryQueueUrl: values["delivery-queue-url"] };
  const outputs = await stackOutputs(io, { stack: values.stack }, ["--dead-letter-queue-url"]);
  const url = outputs[DLQ_OUTPUT.deadLetterQueueUrl];
  const delivery = outputs[DLQ_OUTPUT.deliveryQueueUrl];
  if (typeof url === "string" && url !== "") {
    return {
      queueUrl: url,
      deliveryQueueUrl:
        values["delivery-queue-url"] ||
        (typeof delivery === "string" && delivery !== "" ? delivery : undefined),
    };
  }
  if (delivery === undefined) {
    throw new CliError(
      "the stack has no dead-letter queue: it runs in inline mode (the webhook handles each delivery itself, without the delivery queue), so no delivery is dead-lettered",
      1,
      "pass --dead-letter-queue-url to read another queue",
    );
  }
  throw new CliError(
    `the stack has a delivery queue but no output ${DLQ_OUTPUT.deadLetterQueueUrl}`,
    1,
    "pass --dead-letter-queue-url",
  );
}

/**
 * The one queue whose redrive policy names this dead-letter queue. The move task is given it as
 * its destination: a delivery the worker sent to the dead-letter queue itself (a misconfigured
 * one, with its `reason`) has no source queue SQS could move it back to.
 */
async function onlySource(
  sqs: SQSClient,
  queueUrl: string,
  options: { abortSignal?: AbortSignal },
): Promise<string> {
  const answer = await sqs.send(
    new ListDeadLetterSourceQueuesCommand({ QueueUrl: queueUrl }),
    options,
  );
  const sources = answer.queueUrls ?? [];
  const [only] = sources;
  if (sources.length === 1 && only !== undefined) return only;
  throw new CliError(
    sources.length === 0
      ? `no queue names ${queueUrl} as its dead-letter queue, so there is no queue to move its messages back to`
      : `${sources.length} queues name ${queueUrl} as their dead-letter queue (${sources.join(", ")})`,
    1,
    "pass --delivery-queue-url",
  );
}

interface QueueCounts {
  arn: string;
  /** ApproximateNumberOfMessages */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible */
  inFlight: number;
}

/** The queue's ARN and message counts; a queue that does not exist is one clear error. */
async function queueCounts(
  sqs: SQSClient,
  queueUrl: string,
  options: { abortSignal?: AbortSignal },
  what = "dead-letter queue",
): Promise<QueueCounts> {
  try {
    const { Attributes: attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          "QueueArn",
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
        ],
      }),
      options,
    );
    return {
      arn: attributes.QueueArn ?? "",
      visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  } catch (error) {
    if (error instanceof Error && error.name === "QueueDoesNotExist") {
      throw new CliError(
        `the ${what} ${queueUrl} does not exist in this account and region`,
        1,
        `check AWS_PROFILE, AWS_REGION or --${what === "delivery queue" ? "delivery-queue-url" : "dead-letter-queue-url"}`,
      );
    }
    throw error;
  }
}

async function moveTasks(
  sqs: SQSClient,
  sourceArn: string,
  options: { abortSignal?: AbortSignal },
): Promise<ListMessageMoveTasksResultEntry[]> {
  const answer = await sqs.send(
    new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }),
    options,
  );
  return answer.Results ?? [];
}

function moved(task: ListMessageMoveTasksResultEntry): string {
  const done = task.ApproximateNumberOfMessagesMoved ?? 0;
  const total = task.ApproximateNumberOfMessagesToMove;
  return total === undefined ? `${done}` : `${done}/${total}`;
}

/** ChangeMessageVisibilityBatch to 0, ten handles a request; counts the entries that failed. */
async function release(
  sqs: SQSClient,
  queueUrl: string,
  handles: string[],
): Promise<{ failed: number }> {
  let failed = 0;
  for (let start = 0; start < handles.length; start += 10) {
    const batch = handles.slice(start, start + 10);
    try {
      const answer = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((handle, i) => ({
            Id: String(start + i),
            ReceiptHandle: handle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      failed += answer.Failed?.length ?? 0;
    } catch {
      failed += batch.length;
    }
  }
  return { failed };
}

/** The fields the operator looks for, each only when present with a usable value. */
export function describe(message: Message): DeadLetter {
  const system = message.Attributes ?? {};
  const text = message.Body ?? "";
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  const pick = (...path: string[]): unknown =>
    path.reduce<unknown>(
      (value, key) =>
        typeof value === "object" && value !== null && !Array.isArray(value)
          ? (value as Record<string, unknown>)[key]
          : undefined,
      body,
    );
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] =
      value.StringValue ??
      (value.BinaryValue
        ? `(binary, ${value.BinaryValue.length} bytes)`
        : `(${value.DataType ?? "no value"})`);
  }
  const sent = Number(system.SentTimestamp);
  const receives = Number(system.ApproximateReceiveCount);
  const number = pick("pullRequestEvent", "pullRequest", "number");
  const asNumber = typeof number === "string" && /^\d+$/.test(number) ? Number(number) : number;
  return {
    messageId: message.MessageId ?? "",
    sentAt:
      system.SentTimestamp !== undefined && Number.isFinite(sent)
        ? new Date(sent).toISOString()
        : null,
    receiveCount:
      system.ApproximateReceiveCount !== undefined && Number.isFinite(receives) ? receives : null,
    messageGroupId: system.MessageGroupId ?? null,
    deliveryId: shown(pick("deliveryId")),
    event: shown(pick("event")),
    action: shown(pick("pullRequestEvent", "action")),
    pullRequest: typeof asNumber === "number" && Number.isInteger(asNumber) ? asNumber : null,
    repository: repositoryText(pick("pullRequestEvent", "pullRequest", "baseRepository")),
    reason: shown(pick("reason")) ?? attributes["reason"] ?? null,
    attributes,
    body,
  };
}

/** A string or number as text; anything else (absent, object, empty) as `null`. */
function shown(value: unknown): string | null {
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** `owner/name`, from a string or an object with `fullName`/`full_name` or `owner` and `name`. */
function repositoryText(value: unknown): string | null {
  const text = shown(value);
  if (text !== null) return text;
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  const full = shown(record["fullName"]) ?? shown(record["full_name"]);
  if (full !== null) return full;
  const owner = record["owner"];
  const ownerName =
    shown(owner) ??
    (typeof owner === "object" && owner !== null
      ? (shown((owner as Record<string, unknown>)["login"]) ??
        shown((owner as Record<string, unknown>)["name"]))
      : null);
  const name = shown(record["name"]);
  if (ownerName !== null && name !== null) return `${ownerName}/${name}`;
  return JSON.stringify(value);
}

/** The reason, the other message attributes, and an excerpt of a body that is not an object. */
function details(letter: DeadLetter): string {
  const parts: string[] = [];
  if (letter.reason !== null) parts.push(letter.reason);
  for (const [name, value] of Object.entries(letter.attributes)) {
    if (name !== "reason") parts.push(`${name}=${value}`);
  }
  const isObject =
    typeof letter.body === "object" && letter.body !== null && !Array.isArray(letter.body);
  if (!isObject) {
    const text = typeof letter.body === "string" ? letter.body : JSON.stringify(letter.body);
    const oneLine = text.replace(/\s+/g, " ");
    parts.push(`body: ${oneLine.length > EXCERPT ? `${oneLine.slice(0, EXCERPT)}...` : oneLine}`);
  }
  return parts.length === 0 ? "-" : parts.join("; ");
}
