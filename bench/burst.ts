/**
 * Figure 4: N pull requests opened at once while the double lets CreatePipeline through at `rate` a
 * second, with durable delivery as the stack deploys it: each delivery reaches its own webhook
 * container (Lambda scales out), which queues it in the SQS FIFO delivery queue and answers; the
 * worker drains the queue through the event source mapping (played by test/helpers/sqs-poller.ts)
 * at the mapping's maximum concurrency and batch size. No reconcile sweep runs during the burst:
 * one runs after the last clone, and the figure reports what it still had to create (target 0).
 *
 * Also the ingest's own cost: the webhook's answer time against a bare SQS SendMessage of the same
 * body with the same client (interleaved samples, one warm container each).
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { deliveryQueueClient } from "../functions/adapters/sqs-delivery-queue.js";
import { parsePullRequestEvent } from "../functions/core/classify.js";
import {
  deliveryDeduplicationId,
  deliveryGroupId,
  encodeDelivery,
} from "../functions/core/delivery.js";
import { defaultReconcileDeps } from "../functions/reconcile/deps.js";
import { createReconcileHandler } from "../functions/reconcile/handler.js";
import { cloneName } from "../functions/shared/names.js";
import { defaultWebhookDeps } from "../functions/webhook/deps.js";
import { createHandler } from "../functions/webhook/handler.js";
import { defaultWorkerDeps } from "../functions/worker/deps.js";
import { createWorkerHandler } from "../functions/worker/handler.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import type { GitHubApiDouble } from "../test/helpers/github-api.js";
import { pullRequestPayload, signedEvent } from "../test/helpers/github-events.js";
import { runPoller } from "../test/helpers/sqs-poller.js";
import { sqsCall } from "../test/helpers/sqs-wire.js";
import {
  discardLogger,
  elapsedMs,
  figure,
  functionEnv,
  headBranch,
  openPullRequest,
  percentile,
  seedWorld,
  SECRET,
  SOURCE,
  type Figure,
} from "./lib.js";

export interface BurstOptions {
  pullRequests: number;
  /** CreatePipeline calls the double lets through per second. */
  rate: number;
  /** The event source mapping's maximum concurrency and batch size (the stack's defaults). */
  maxConcurrency: number;
  batchSize: number;
  /** The worker's timeout (the stack's), which bounds each invocation's records. */
  workerTimeoutSeconds: number;
  /** Receives before the dead-letter queue (the stack's default). */
  maxReceiveCount: number;
  /** Interleaved samples of the ingest and of a bare SendMessage. */
  samples: number;
  /** Give up (and fail the run) after this long. */
  limitMs: number;
}

const QUEUE = "bench-deliveries.fifo";
const DEAD_LETTER_QUEUE = "bench-deliveries-dlq.fifo";
const SAMPLE_QUEUE = "bench-samples.fifo";

export async function measureBurst(
  aws: AwsDouble,
  github: GitHubApiDouble,
  options: BurstOptions,
): Promise<{ figures: Figure[]; detail: Record<string, unknown>; problems: string[] }> {
  seedWorld(aws);
  github.reset();
  const problems: string[] = [];
  const numbers = Array.from({ length: options.pullRequests }, (_, i) => i + 1);
  for (const n of numbers) github.addPullRequest(openPullRequest(n));
  const missing = () => numbers.filter((n) => aws.pipeline(cloneName(SOURCE, n)) === undefined);
  const queues = await createQueues(aws, options);
  const env = functionEnv({ QUEUE_URL: queues.queueUrl, DEAD_LETTER_QUEUE_URL: queues.dlqUrl });

  const events = numbers.map((n) =>
    signedEvent(pullRequestPayload({ action: "opened", number: n, headRef: headBranch(n) }), {
      secret: SECRET,
    }),
  );
  const ingests = numbers.map(() =>
    createHandler(defaultWebhookDeps(env, { logger: discardLogger() })),
  );
  const worker = createWorkerHandler(defaultWorkerDeps(env, { logger: discardLogger() }));
  aws.calls.length = 0;
  aws.throttle("CreatePipeline", { perSecond: options.rate });

  const start = process.hrtime.bigint();
  const answers = await Promise.all(
    events.map(async (event, i) => {
      const ingest = ingests[i];
      if (!ingest) throw new Error("burst: one webhook container per delivery");
      const sent = process.hrtime.bigint();
      const response = await ingest(event);
      return { status: response.statusCode, ms: elapsedMs(sent) };
    }),
  );
  const answerMs = answers.map((answer) => answer.ms);
  const notQueued = answers.filter((answer) => answer.status !== 202).length;
  if (notQueued > 0) problems.push(`burst: ${notQueued} webhook answer(s) were not 202 queued`);

  let invocations = 0;
  const report = await runPoller(aws, {
    queueName: QUEUE,
    batchSize: options.batchSize,
    maxConcurrency: options.maxConcurrency,
    maxRounds: 100_000,
    handler: (event) => {
      invocations += 1;
      const deadline = Date.now() + options.workerTimeoutSeconds * 1000;
      return worker(event, { getRemainingTimeInMillis: () => deadline - Date.now() });
    },
  });
  // Records handed back waited for the visibility timeout, which the driver skipped by moving the
  // double's clock: a real queue makes them wait, so that time counts.
  const totalMs = elapsedMs(start) + report.clockAdvancedMs;
  if (totalMs > options.limitMs) problems.push(`burst: the queue took ${totalMs} ms to drain`);
  const notCloned = missing();
  if (notCloned.length > 0) {
    problems.push(`burst: no clone for ${notCloned.join(", ")} once the queue was drained`);
  }
  const deadLetters = aws.queueMessages(DEAD_LETTER_QUEUE).length;
  if (deadLetters > 0)
    problems.push(`burst: ${deadLetters} delivery(ies) in the dead-letter queue`);
  const createCalls = aws.callCount("CreatePipeline");
  const throttled = aws.calls.filter(
    (call) => call.operation === "CreatePipeline" && call.status === 400,
  ).length;

  // What the schedule's next sweep still finds to do: the clones the queue did not make.
  const beforeSweep = aws.callCount("CreatePipeline");
  const reconcile = createReconcileHandler(
    defaultReconcileDeps(
      functionEnv({ GITHUB_TOKEN: "ghs_bench-token", GITHUB_API_URL: github.url }),
      { logger: discardLogger() },
    ),
  );
  const sweep = await reconcile({});
  const createdByReconciler = sweep.created.length;
  const sweepCreateCalls = aws.callCount("CreatePipeline") - beforeSweep;

  const latency = await measureIngestLatency(aws, options.samples);
  const boundMs = (options.pullRequests / options.rate) * 1000;
  const slowestAnswerMs = Math.max(...answerMs);
  const detail = {
    pullRequests: options.pullRequests,
    rate: options.rate,
    maxConcurrency: options.maxConcurrency,
    batchSize: options.batchSize,
    webhookAnswers: { p50Ms: percentile(answerMs, 50), p99Ms: percentile(answerMs, 99) },
    slowestAnswerMs,
    notQueued,
    workerInvocations: invocations,
    pollerRounds: report.rounds,
    recordsRetried: report.failed,
    visibilityWaitMs: report.clockAdvancedMs,
    deadLetters,
    createPipelineCalls: createCalls,
    createPipelineThrottled: throttled,
    createdByReconciler,
    sweepCreatePipelineCalls: sweepCreateCalls,
    totalMs,
    boundMs,
    ingestLatency: latency,
  };
  return {
    figures: [
      figure(
        `4 burst: ${options.pullRequests} opened, CreatePipeline ${options.rate}/s, queued`,
        totalMs / 1000,
        boundMs / 1000,
        "s",
        1.3,
        `to the last clone; reconciler made ${createdByReconciler}; ${report.failed} record(s) retried, ${deadLetters} dead-lettered; ${throttled} of ${createCalls} CreatePipeline calls throttled; ${invocations} worker invocations`,
      ),
      figure(
        "4 burst: slowest webhook answer",
        slowestAnswerMs,
        1000,
        "ms",
        1,
        `every answer 202 queued: ${notQueued === 0 ? "yes" : `no, ${notQueued} not`}; p50 ${percentile(answerMs, 50).toFixed(1)} ms, p99 ${percentile(answerMs, 99).toFixed(1)} ms, against GitHub's 10 s`,
      ),
      figure(
        "4 ingest answer p50 vs SendMessage of the body",
        latency.ingest.p50,
        latency.bareBody.p50,
        "ms",
        1.3,
        `${options.samples} interleaved samples each, one warm container and client; the body as GitHub sent it (${latency.bodyBytes} bytes)`,
      ),
      figure(
        "4 ingest answer p99 vs SendMessage of the body",
        latency.ingest.p99,
        latency.bareBody.p99,
        "ms",
        1.3,
        "the same samples' tail",
      ),
      figure(
        "4 ingest answer p50 vs SendMessage of its message",
        latency.ingest.p50,
        latency.bareMessage.p50,
        "ms",
        undefined,
        "the webhook's own ~450-byte message: what verifying, parsing and routing add",
      ),
    ],
    detail,
    problems,
  };
}

/** The delivery queue and its dead-letter queue as the stack makes them, plus the samples' queue. */
async function createQueues(
  aws: AwsDouble,
  options: BurstOptions,
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqsCall(aws.url, "CreateQueue", {
    QueueName: DEAD_LETTER_QUEUE,
    Attributes: { FifoQueue: "true" },
  });
  const queue = await sqsCall(aws.url, "CreateQueue", {
    QueueName: QUEUE,
    Attributes: {
      FifoQueue: "true",
      // The stack's: six times the worker's timeout.
      VisibilityTimeout: String(options.workerTimeoutSeconds * 6),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:${aws.region}:${aws.accountId}:${DEAD_LETTER_QUEUE}`,
        maxReceiveCount: options.maxReceiveCount,
      }),
    },
  });
  await sqsCall(aws.url, "CreateQueue", {
    QueueName: SAMPLE_QUEUE,
    Attributes: { FifoQueue: "true" },
  });
  return { queueUrl: queue.QueueUrl as string, dlqUrl: dlq.QueueUrl as string };
}

interface Quantiles {
  p50: number;
  p99: number;
}

/**
 * The webhook's answer time in queue mode (verify, parse, route, SendMessage of its ~450-byte
 * message) against a bare SendMessage of the same body, the delivery's body as GitHub sent it (what
 * storing the delivery takes at the least), and against a bare SendMessage of the webhook's own
 * message; one client for all, samples interleaved.
 */
async function measureIngestLatency(
  aws: AwsDouble,
  samples: number,
): Promise<{ ingest: Quantiles; bareBody: Quantiles; bareMessage: Quantiles; bodyBytes: number }> {
  const queueUrl = aws.queueUrl(SAMPLE_QUEUE);
  const ingest = createHandler(
    defaultWebhookDeps(functionEnv({ QUEUE_URL: queueUrl }), { logger: discardLogger() }),
  );
  const client = deliveryQueueClient();
  const ingestMs: number[] = [];
  const bodyMs: number[] = [];
  const messageMs: number[] = [];
  let bodyBytes = 0;
  const warmup = 20;
  const timed = async (send: () => Promise<unknown>): Promise<number> => {
    const sent = process.hrtime.bigint();
    await send();
    return elapsedMs(sent);
  };
  for (let i = 0; i < samples + warmup; i++) {
    const number = (i % 500) + 1;
    const payload = pullRequestPayload({ action: "opened", number, headRef: headBranch(number) });
    const event = signedEvent(payload, { secret: SECRET });
    const pullRequestEvent = parsePullRequestEvent(payload);
    const bare = (id: string, body: string) =>
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageGroupId: deliveryGroupId(pullRequestEvent),
        MessageDeduplicationId: deliveryDeduplicationId(id),
      });
    const asGitHubSent = bare(`body-${i}`, event.body ?? "");
    const asQueued = bare(
      `message-${i}`,
      encodeDelivery({
        version: 1,
        deliveryId: `message-${i}`,
        event: "pull_request",
        receivedAt: new Date().toISOString(),
        pullRequestEvent,
      }),
    );
    bodyBytes = Buffer.byteLength(event.body ?? "");
    let status = 0;
    const tookIngest = await timed(async () => {
      status = (await ingest(event)).statusCode;
    });
    if (status !== 202) throw new Error(`ingest latency: the webhook answered ${status}`);
    const tookBody = await timed(() => client.send(asGitHubSent));
    const tookMessage = await timed(() => client.send(asQueued));
    if (i >= warmup) {
      ingestMs.push(tookIngest);
      bodyMs.push(tookBody);
      messageMs.push(tookMessage);
    }
  }
  client.destroy();
  const quantiles = (values: number[]): Quantiles => ({
    p50: percentile(values, 50),
    p99: percentile(values, 99),
  });
  return {
    ingest: quantiles(ingestMs),
    bareBody: quantiles(bodyMs),
    bareMessage: quantiles(messageMs),
    bodyBytes,
  };
}
