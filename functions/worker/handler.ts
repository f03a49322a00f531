/**
 * The delivery worker: Lambda's SQS event source hands it batches of the FIFO delivery queue the
 * webhook fills (functions/webhook/handler.ts), and it carries out each delivery with the same use
 * case the webhook runs inline (app/process-delivery.ts). It answers with a partial batch response:
 * the records listed in `batchItemFailures` come back after the visibility timeout (the backoff),
 * and the queue's redrive policy moves one that keeps failing to the dead-letter queue.
 *
 * | the delivery's answer (app/responses.ts)                       | status  | the record        |
 * | -------------------------------------------------------------- | ------- | ----------------- |
 * | done: acted on, or ignored                                     | 2xx     | deleted           |
 * | can never succeed: a bad request, a conflict                   | 400/409 | deleted, logged   |
 * | a configuration problem (ConfigurationError, AccessDenied...)  | 422     | to the DLQ, then  |
 * |                                                                |         | deleted (*)       |
 * | throttling, 5xx, timeouts, GitHub failing                      | 503     | failed: retried   |
 * | a bug                                                          | 500     | failed: retried   |
 * | a body that is no delivery (core/delivery.ts)                  | -       | failed (**)       |
 *
 * (*) Sent at once to the dead-letter queue (DEAD_LETTER_QUEUE_URL) with a `reason` (a body field
 * and a message attribute), same group, same deduplication id; without the variable, or when the
 * send fails, it is listed as failed. (**) It never succeeds: the redrive policy ends it in the
 * dead-letter queue after maxReceiveCount receives.
 *
 * FIFO: the records of one message group (one pull request) are carried out in order, one after
 * another, and different groups at once. After a group's first failure that record and every later
 * one of the group are listed as failures without being started, so that SQS delivers them again in
 * order. A record is not started when the invocation's remaining time is short: it is listed too.
 * Within a record, throttled AWS calls are retried until the record's deadline (the clients'
 * retry strategy, functions/adapters/sweep-retry.ts, as in the webhook), so a burst drains at the
 * rate AWS accepts; past it the record goes back to the queue.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import {
  noMetrics,
  withFields,
  type DeliveryQueue,
  type Logger,
  type Metrics,
} from "../app/ports.js";
import {
  deliveryTargets,
  noService,
  processDelivery,
  type Services,
} from "../app/process-delivery.js";
import {
  countError,
  errorResponse,
  failureLog,
  outcomeOf,
  type Response,
} from "../app/responses.js";
import type { Settings } from "../app/settings.js";
import {
  decodeMessage,
  encodeDelivery,
  messageGroupId,
  type QueuedMessage,
} from "../core/delivery.js";
import { processCommand } from "../app/commands.js";
import { DIMENSION, METRIC, type RECORD_RESULTS } from "../shared/metrics.js";

export interface WorkerDeps {
  settings: () => Settings;
  services: (signal: AbortSignal) => Promise<Services> | Services;
  /** The dead-letter queue (DEAD_LETTER_QUEUE_URL); `undefined` when unset. */
  deadLetters?: DeliveryQueue;
  logger: Logger;
  /**
   * Deliveries by outcome, records by result, queue age, clones changed, errors by kind (and,
   * through the clients, throttles), published once per batch (default: none).
   */
  metrics?: Metrics;
  /** The clock records' queue age is measured by (default `Date.now`). */
  now?: () => number;
  /** The most time one record may take (default 20 s). */
  recordBudgetMs?: number;
  /**
   * The invocation's time kept in reserve (default 5 s): a record is started only with more than
   * this (and a second) left, and its deadline comes this long before the invocation's.
   */
  marginMs?: number;
}

export interface WorkerContext {
  getRemainingTimeInMillis?: () => number;
}

const DEFAULT_RECORD_BUDGET_MS = 20_000;
const DEFAULT_MARGIN_MS = 5_000;
/** The least time a record is started with. */
const MIN_RECORD_MS = 1_000;

/** What became of a record: deleted (done, moved to the DLQ, dropped) or left to come back. */
type Fate = "deleted" | "failed";

export function createWorkerHandler(deps: WorkerDeps) {
  return async function handler(
    event: SQSEvent,
    context?: WorkerContext,
  ): Promise<SQSBatchResponse> {
    const groups = new Map<string, SQSRecord[]>();
    for (const record of event.Records) {
      const group = record.attributes?.MessageGroupId ?? record.messageId;
      groups.set(group, [...(groups.get(group) ?? []), record]);
    }
    const metrics = deps.metrics ?? noMetrics;
    const result = (value: (typeof RECORD_RESULTS)[number]) =>
      metrics.count(METRIC.deliveryRecords, 1, { [DIMENSION.result]: value });
    const failed = new Set<string>();
    try {
      await Promise.all(
        [...groups.values()].map(async (records) => {
          let stopped = false;
          for (const record of records) {
            let fate: Fate | "skipped" = "skipped";
            if (!stopped) {
              const budget = recordBudget(deps, context);
              if (budget === undefined) {
                deps.logger.warn("delivery record not started: the invocation's time is short", {
                  messageId: record.messageId,
                });
                stopped = true;
              } else {
                fate = await settle({ ...deps, metrics }, record, budget);
                if (fate === "failed") stopped = true;
              }
            }
            if (stopped) failed.add(record.messageId);
            result(fate);
          }
        }),
      );
    } finally {
      metrics.flush();
    }
    return {
      batchItemFailures: event.Records.filter((record) => failed.has(record.messageId)).map(
        (record) => ({ itemIdentifier: record.messageId }),
      ),
    };
  };
}

/** The time the next record may take, or `undefined` when too little is left to start one. */
function recordBudget(deps: WorkerDeps, context: WorkerContext | undefined): number | undefined {
  const configured = deps.recordBudgetMs ?? DEFAULT_RECORD_BUDGET_MS;
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining === undefined) return configured;
  const left = remaining - (deps.marginMs ?? DEFAULT_MARGIN_MS);
  return left < MIN_RECORD_MS ? undefined : Math.min(configured, left);
}

/** Carries out one record; never throws. */
async function settle(
  deps: WorkerDeps & { metrics: Metrics },
  record: SQSRecord,
  budgetMs: number,
): Promise<Fate> {
  const started = Date.now();
  const sent = Number(record.attributes?.SentTimestamp);
  if (Number.isFinite(sent) && sent > 0) {
    deps.metrics.duration(METRIC.queueAge, (deps.now ?? Date.now)() - sent);
  }
  const fields: Record<string, unknown> = {
    messageId: record.messageId,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 0) || undefined,
  };
  let delivery: QueuedMessage;
  try {
    delivery = decodeMessage(record.body);
  } catch (error) {
    // Never succeeds: left to the queue's redrive, which ends it in the dead-letter queue. A body
    // that is no delivery is bad input (a BadRequestError; the dead-letter queue's alarm tells of it).
    countError(deps.metrics, error);
    deps.metrics.count(METRIC.deliveries, 1, { [DIMENSION.outcome]: "unreadable" });
    deps.logger.error("delivery record cannot be read", {
      ...fields,
      ...failureLog(error).fields,
    });
    return "failed";
  }
  Object.assign(fields, { deliveryId: delivery.deliveryId, event: delivery.event });
  if ("commandEvent" in delivery) {
    Object.assign(fields, {
      command: delivery.commandEvent.command.kind,
      pullRequest: delivery.commandEvent.prNumber,
    });
  } else {
    Object.assign(fields, {
      action: delivery.pullRequestEvent.action,
      pullRequest: delivery.pullRequestEvent.pullRequest.number,
    });
  }
  const logger = withFields(deps.logger, fields);
  let response: Response;
  try {
    const settings = deps.settings();
    const signal = AbortSignal.timeout(budgetMs);
    if ("commandEvent" in delivery) {
      response = await processCommand(deps, settings, delivery.commandEvent, fields, signal);
    } else {
      const event = delivery.pullRequestEvent;
      const targets = deliveryTargets(settings, event);
      response =
        targets.length === 0
          ? noService(event)
          : await processDelivery(deps, settings, targets, event, fields, signal);
    }
  } catch (error) {
    response = errorResponse(error, { authenticated: true });
    countError(deps.metrics, error);
    if (response.statusCode >= 422) {
      const { level, fields: details } = failureLog(error);
      logger[level]("delivery failed", details);
    }
  }
  deps.metrics.count(METRIC.deliveries, 1, {
    [DIMENSION.outcome]: outcomeOf(response) ?? "unknown",
  });
  const fate = await fateOf(deps, record, delivery, response, logger);
  logger.info("delivery processed", {
    status: response.statusCode,
    outcome: outcomeOf(response),
    record: fate,
    durationMs: Date.now() - started,
  });
  return fate;
}

async function fateOf(
  deps: WorkerDeps,
  record: SQSRecord,
  delivery: QueuedMessage,
  response: Response,
  logger: Logger,
): Promise<Fate> {
  const status = response.statusCode;
  if (status < 400) return "deleted";
  if (status === 400 || status === 409) {
    logger.warn("delivery dropped: it can never succeed", { status, answer: response.body });
    return "deleted";
  }
  if (status !== 422) return "failed";
  const reason = configurationReason(response);
  if (!deps.deadLetters) {
    logger.error("delivery misconfigured; DEAD_LETTER_QUEUE_URL is not set, so it is retried", {
      reason,
    });
    return "failed";
  }
  try {
    await deps.deadLetters.send({
      body: encodeDelivery({ ...delivery, reason }),
      groupId: record.attributes?.MessageGroupId ?? messageGroupId(delivery),
      deduplicationId: record.attributes?.MessageDeduplicationId ?? record.messageId,
      attributes: { reason },
    });
  } catch (error) {
    countError(deps.metrics, error);
    logger.error("delivery misconfigured, and could not be moved to the dead-letter queue", {
      reason,
      ...failureLog(error).fields,
    });
    return "failed";
  }
  logger.error("delivery misconfigured: moved to the dead-letter queue", { reason });
  return "deleted";
}

/** The reason of a 422 answer: its message, or each misconfigured service's. */
function configurationReason(response: Response): string {
  const body = JSON.parse(response.body) as {
    message?: unknown;
    services?: { service?: unknown; outcome?: unknown; message?: unknown }[];
  };
  if (typeof body.message === "string") return body.message;
  const parts = (body.services ?? [])
    .filter((part) => part.outcome === "misconfigured")
    .map((part) => `${String(part.service)}: ${String(part.message)}`);
  return parts.length > 0 ? parts.join("; ") : "misconfigured";
}
