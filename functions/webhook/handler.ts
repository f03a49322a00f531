/**
 * The webhook handler: verify, parse, decide, then act (inline) or queue (durable delivery), and
 * answer. Everything it touches comes in through `WebhookDeps`, so tests drive the real handler
 * against local test doubles.
 *
 * Pings, other events and deliveries no service wants are answered without an AWS call (routing by
 * the table, functions/core/services.ts). A wanted delivery is then:
 * - queued (`WebhookDeps.queue`, QUEUE_URL set): sent to the SQS FIFO delivery queue, one message
 *   group per pull request, deduplicated by GitHub's delivery id, and answered 202 `queued`; the
 *   worker (functions/worker) carries it out. A 2xx means the delivery is durably queued: when
 *   SendMessage fails the answer is 503, so that GitHub's redelivery or the reconciler heals it.
 * - carried out here (inline, QUEUE_URL unset) by the shared use case (app/process-delivery.ts),
 *   within a time budget GitHub's 10 seconds allow.
 */
import type { APIGatewayProxyEventV2 } from "aws-lambda";
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
import type { Settings } from "../app/settings.js";
import { preclassify, type PullRequestEvent } from "../core/classify.js";
import type { CommandEvent } from "../core/commands.js";
import { commandTargets, processCommand } from "../app/commands.js";
import { worstStatus } from "../app/process-delivery.js";
import {
  bodyDigest,
  commandGroupId,
  deliveryDeduplicationId,
  deliveryGroupId,
  encodeDelivery,
} from "../core/delivery.js";
import { UnauthorizedError } from "../core/errors.js";
import { header, parsePayload, rawBody, type RawRequest } from "../core/request.js";
import { DIMENSION, METRIC } from "../shared/metrics.js";
import {
  countError,
  errorResponse,
  failureLog,
  MESSAGES,
  outcomeOf,
  respond,
  type Response,
} from "../app/responses.js";

export type { Services } from "../app/process-delivery.js";
export { worstStatus } from "../app/process-delivery.js";

export interface WebhookDeps {
  settings: () => Settings;
  webhookSecret: () => Promise<string>;
  /**
   * Reads the webhook secret again after a signature mismatch (it may have rotated); resolves to
   * the new value, or `undefined` when there is none or the last read is too recent.
   */
  refreshWebhookSecret?: () => Promise<string | undefined>;
  services: (signal: AbortSignal) => Promise<Services> | Services;
  verify: (secret: string, body: string, signature: string) => Promise<boolean>;
  logger: Logger;
  /**
   * Deliveries by outcome, clones changed, errors by kind (and, through the clients, throttles),
   * published once per delivery (default: none).
   */
  metrics?: Metrics;
  /** The most time one delivery may take; GitHub gives up after 10 s. */
  budgetMs?: number;
  /**
   * The delivery queue (QUEUE_URL): when set, a wanted delivery is queued for the worker instead of
   * carried out here, and `services` is never called.
   */
  queue?: DeliveryQueue;
  /** The clock of a queued delivery's `receivedAt` (default `Date.now`). */
  now?: () => number;
}

export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
}

export type WebhookEvent = Pick<APIGatewayProxyEventV2, "headers" | "body" | "isBase64Encoded">;

const DEFAULT_BUDGET_MS = 8000;

export function createHandler(deps: WebhookDeps) {
  return async function handler(
    event: WebhookEvent,
    context?: LambdaContextLike,
  ): Promise<Response> {
    const started = Date.now();
    const request: RawRequest = {
      headers: event.headers ?? {},
      body: event.body ?? null,
      isBase64Encoded: event.isBase64Encoded === true,
    };
    const fields: Record<string, unknown> = {
      deliveryId: header(request.headers, "x-github-delivery"),
      event: header(request.headers, "x-github-event"),
    };
    const logger = withFields(deps.logger, fields);
    const state = { authenticated: false };
    const metrics = deps.metrics ?? noMetrics;
    let response: Response;
    try {
      try {
        response = await handle(deps, request, fields, budget(deps, context), state);
      } catch (error) {
        response = errorResponse(error, state);
        countError(metrics, error);
        if (response.statusCode >= 422) {
          const { level, fields: details } = failureLog(error);
          logger[level]("delivery failed", details);
        }
      }
      const outcome = outcomeOf(response);
      metrics.count(METRIC.deliveries, 1, { [DIMENSION.outcome]: outcome ?? "unknown" });
      logger.info("delivery handled", {
        status: response.statusCode,
        outcome,
        durationMs: Date.now() - started,
      });
    } finally {
      metrics.flush();
    }
    return response;
  };
}

function budget(deps: WebhookDeps, context: LambdaContextLike | undefined): number {
  const configured = deps.budgetMs ?? DEFAULT_BUDGET_MS;
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined ? configured : Math.max(0, Math.min(configured, remaining - 500));
}

async function handle(
  deps: WebhookDeps,
  request: RawRequest,
  fields: Record<string, unknown>,
  budgetMs: number,
  state: { authenticated: boolean },
): Promise<Response> {
  const body = rawBody(request);
  await authenticate(deps, request, body);
  state.authenticated = true;

  const payload = parsePayload(body);
  const eventName = header(request.headers, "x-github-event");
  const first = preclassify(eventName, payload);
  if (first.kind === "ping") return respond(200, { outcome: "pong" });
  if (first.kind === "ignore") return respond(202, { outcome: "ignored", reason: first.reason });
  if (first.kind === "commands") {
    return commands(deps, first.events, { eventName: eventName ?? "", body, fields }, budgetMs);
  }

  const event = first.event;
  Object.assign(fields, { action: event.action, pullRequest: event.pullRequest.number });
  const settings = deps.settings();
  // Routed by the table alone, before any AWS call. Without a routing table (one service) the
  // service's repository and branch are its source pipeline's, which only an AWS call reads: then
  // every pull_request event `preclassify` accepts is for the one service, and in queue mode the
  // worker decides (`classify` ignores another repository's or branch's delivery there).
  const targets = deliveryTargets(settings, event);
  if (targets.length === 0) return noService(event);
  if (deps.queue) {
    return enqueue(deps, deps.queue, { eventName: eventName ?? "", event, body, fields }, budgetMs);
  }
  return processDelivery(deps, settings, targets, event, fields, AbortSignal.timeout(budgetMs));
}

/**
 * Commands (a `/branchline` comment, a check suite's re-run): routed by repository alone (a comment
 * carries no base branch), then queued, one message per pull request in its pull request's group,
 * or carried out here (app/commands.ts).
 */
async function commands(
  deps: WebhookDeps,
  events: CommandEvent[],
  delivery: { eventName: string; body: string; fields: Record<string, unknown> },
  budgetMs: number,
): Promise<Response> {
  const first = events[0];
  Object.assign(delivery.fields, {
    command: first?.command.kind,
    pullRequest: events.length === 1 ? first?.prNumber : events.map((event) => event.prNumber),
  });
  const settings = deps.settings();
  if (first === undefined || !commandTargets(settings, first.repository)) {
    return respond(202, {
      outcome: "ignored",
      reason: `no service builds ${first?.repository ?? "this repository"}`,
    });
  }
  const queue = deps.queue;
  if (queue) {
    const given = delivery.fields["deliveryId"];
    const deliveryId =
      typeof given === "string" && given !== "" ? given : bodyDigest(delivery.body);
    const now = deps.now ?? Date.now;
    try {
      for (const event of events) {
        const id = events.length === 1 ? deliveryId : `${deliveryId}#${event.prNumber}`;
        await queue.send(
          {
            body: encodeDelivery({
              version: 1,
              kind: "command",
              deliveryId: id,
              event: delivery.eventName,
              receivedAt: new Date(now()).toISOString(),
              commandEvent: event,
            }),
            groupId: commandGroupId(event),
            deduplicationId: deliveryDeduplicationId(id),
          },
          AbortSignal.timeout(budgetMs),
        );
      }
    } catch (error) {
      countError(deps.metrics, error);
      withFields(deps.logger, delivery.fields).error(
        "delivery not queued",
        failureLog(error).fields,
      );
      return respond(503, { outcome: "failed", message: MESSAGES.notQueued });
    }
    return respond(202, { outcome: "queued" });
  }
  const signal = AbortSignal.timeout(budgetMs);
  const answers: Response[] = [];
  for (const event of events) {
    answers.push(await processCommand(deps, settings, event, delivery.fields, signal));
  }
  const only = answers[0];
  if (answers.length === 1 && only !== undefined) return only;
  return respond(worstStatus(answers.map((answer) => answer.statusCode)), {
    outcome: "handled",
    pullRequests: answers.map((answer) => JSON.parse(answer.body) as unknown),
  });
}

/**
 * Sends the delivery to the FIFO queue: one message group per pull request (its events in order,
 * different pull requests in parallel), deduplicated by GitHub's delivery id (a redelivery within
 * SQS's five-minute window is not queued twice). Answers 202 `queued` once SQS stored it, 503 when
 * it could not (nothing else was done: GitHub's redelivery, or the reconciler, finishes the job).
 */
async function enqueue(
  deps: WebhookDeps,
  queue: DeliveryQueue,
  delivery: {
    eventName: string;
    event: PullRequestEvent;
    body: string;
    fields: Record<string, unknown>;
  },
  budgetMs: number,
): Promise<Response> {
  const given = delivery.fields["deliveryId"];
  const deliveryId = typeof given === "string" && given !== "" ? given : bodyDigest(delivery.body);
  const now = deps.now ?? Date.now;
  const message = {
    body: encodeDelivery({
      version: 1,
      deliveryId,
      event: delivery.eventName,
      receivedAt: new Date(now()).toISOString(),
      pullRequestEvent: delivery.event,
    }),
    groupId: deliveryGroupId(delivery.event),
    deduplicationId: deliveryDeduplicationId(deliveryId),
  };
  try {
    await queue.send(message, AbortSignal.timeout(budgetMs));
  } catch (error) {
    countError(deps.metrics, error);
    const { fields: details } = failureLog(error);
    withFields(deps.logger, delivery.fields).error("delivery not queued", details);
    return respond(503, { outcome: "failed", message: MESSAGES.notQueued });
  }
  return respond(202, { outcome: "queued" });
}

async function authenticate(deps: WebhookDeps, request: RawRequest, body: string): Promise<void> {
  const signature = header(request.headers, "x-hub-signature-256");
  if (signature === undefined) {
    throw new UnauthorizedError(
      header(request.headers, "x-hub-signature") !== undefined
        ? "only SHA-256 signatures (X-Hub-Signature-256) are accepted"
        : "missing X-Hub-Signature-256 header",
    );
  }
  const secret = await deps.webhookSecret();
  if (await deps.verify(secret, body, signature)) return;
  if (await verifyWithRotatedSecret(deps, body, signature)) return;
  throw new UnauthorizedError("signature does not match the payload");
}

/**
 * After a mismatch, the secret may have rotated since this container read it: read it once more
 * (at most once a minute: see functions/adapters/secrets.ts) and check again. A failed read leaves
 * the answer a 401.
 */
async function verifyWithRotatedSecret(
  deps: WebhookDeps,
  body: string,
  signature: string,
): Promise<boolean> {
  if (!deps.refreshWebhookSecret) return false;
  let fresh: string | undefined;
  try {
    fresh = await deps.refreshWebhookSecret();
  } catch (error) {
    deps.logger.warn("could not read the webhook secret again", failureLog(error).fields);
    return false;
  }
  return fresh !== undefined && (await deps.verify(fresh, body, signature));
}
