/**
 * The notify handler: an EventBridge "CodePipeline Pipeline Execution State Change" event in, a
 * commit status, the clone's pull request comment, its check run (with a GitHub App) and (on
 * success and failure) a notification out. A "CodePipeline Stage Execution State Change" or
 * "CodePipeline Action Execution State Change" event of a clone (sent with a GitHub App only)
 * edits the execution's check run and nothing else. Everything it touches comes in through
 * `NotifyDeps`.
 *
 * Lambda retries an asynchronous invocation that throws. The handler throws only when the use case
 * says a retry is safe and useful (see functions/app/feedback.ts): a malformed event, an event from
 * another partition, region or account than the function's own (read from the context's
 * `invokedFunctionArn`), an ignored pipeline or a failure after a published notification is logged
 * and not retried.
 */
import {
  reportExecution,
  reportStep,
  type FeedbackConfig,
  type FeedbackOutcome,
  type FeedbackPorts,
  type StepOutcome,
} from "../app/feedback.js";
import { noMetrics, withFields, type Logger, type Metrics } from "../app/ports.js";
import { countError } from "../app/responses.js";
import { DIMENSION, METRIC } from "../shared/metrics.js";
import { isStepEvent, parseStepEvent, type StepEvent } from "../core/checks.js";
import { BadRequestError } from "../core/errors.js";
import {
  foreignEventReason,
  locationOfArn,
  parseExecutionEvent,
  type AwsLocation,
  type ExecutionEvent,
} from "../core/feedback.js";

export interface NotifyDeps {
  /**
   * The configuration for the service `pipeline` belongs to (its source pipeline or one of its
   * clones), or `undefined` when it belongs to no service: the event is then ignored.
   */
  config: (pipeline: string) => FeedbackConfig | undefined;
  /** The ports for the service whose source pipeline is `sourcePipelineName`. */
  ports: (
    signal: AbortSignal,
    sourcePipelineName: string,
  ) => Promise<FeedbackPorts> | FeedbackPorts;
  logger: Logger;
  /**
   * Events by outcome, failed feedback steps, errors by kind (and, through the clients, throttles),
   * published once per event (default: none).
   */
  metrics?: Metrics;
  /** The most time one event may take (default 20 s). */
  budgetMs?: number;
}

export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
  /** The function's own ARN: its partition, region and account are the only ones it reports on. */
  invokedFunctionArn?: string;
}

/** Thrown so that Lambda retries the event; carries the outcome's errors. */
export class FeedbackIncompleteError extends Error {
  override readonly name = "FeedbackIncompleteError";
}

export type NotifyResult = FeedbackOutcome | StepOutcome | { outcome: "rejected"; reason: string };

const DEFAULT_BUDGET_MS = 20_000;

export function createHandler(deps: NotifyDeps) {
  const metrics = deps.metrics ?? noMetrics;
  const handle = createEventHandler(deps, metrics);
  return async function handler(
    event: unknown,
    context?: LambdaContextLike,
  ): Promise<NotifyResult> {
    let outcome = "failed";
    try {
      const result = await handle(event, context);
      outcome = result.outcome;
      return result;
    } catch (error) {
      // An incomplete feedback's failures are counted as FeedbackErrors already.
      if (!(error instanceof FeedbackIncompleteError)) countError(metrics, error);
      throw error;
    } finally {
      metrics.count(METRIC.events, 1, { [DIMENSION.outcome]: outcome });
      metrics.flush();
    }
  };
}

function createEventHandler(deps: NotifyDeps, metrics: Metrics) {
  return async function handle(
    event: unknown,
    context: LambdaContextLike | undefined,
  ): Promise<NotifyResult> {
    const started = Date.now();
    if (isStepEvent(event)) return handleStep(event, context, started);
    const admitted = admit(event, context, parseExecutionEvent);
    if ("outcome" in admitted) return admitted;
    const parsed = admitted.parsed;
    const logger = withFields(deps.logger, {
      eventId: (event as { id?: unknown }).id,
      pipeline: parsed.pipeline,
      executionId: parsed.executionId,
      state: parsed.state,
    });
    const budget = budgetOf(context);
    let outcome: FeedbackOutcome;
    try {
      const config = deps.config(parsed.pipeline);
      if (config === undefined) {
        const reason = `${parsed.pipeline} belongs to no service of this stack`;
        logger.info("event ignored", { reason });
        return ignored(parsed, reason);
      }
      const ports = await deps.ports(AbortSignal.timeout(budget), config.sourcePipelineName);
      outcome = await reportExecution(parsed, ports, config, logger);
    } catch (error) {
      // Nothing was published before these steps (tags, source pipeline, execution look-up).
      logger.error("event failed before any feedback was given", {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw error;
    }
    logger.info("event handled", {
      outcome: outcome.outcome,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      pullRequest: outcome.pullRequest,
      commit: outcome.commit,
      status: outcome.status,
      comment: outcome.comment,
      ...(outcome.check !== undefined ? { check: outcome.check } : {}),
      notification: outcome.notification,
      errors: outcome.errors.length,
      durationMs: Date.now() - started,
    });
    if (outcome.errors.length > 0) metrics.count(METRIC.feedbackErrors, outcome.errors.length);
    if (outcome.retry) {
      throw new FeedbackIncompleteError(
        `feedback for ${parsed.pipeline} execution ${parsed.executionId} is incomplete: ${outcome.errors.join("; ")}`,
      );
    }
    return outcome;
  };

  /**
   * The event parsed, when it is well formed and from this function's own partition, region and
   * account; otherwise the answer that rejects it (logged, never retried).
   */
  function admit<T extends AwsLocation & { pipeline: string }>(
    event: unknown,
    context: LambdaContextLike | undefined,
    parse: (event: unknown) => T,
  ): { parsed: T } | { outcome: "rejected"; reason: string } {
    let parsed: T;
    try {
      parsed = parse(event);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      deps.logger.warn("event rejected", { reason: error.message });
      return { outcome: "rejected", reason: error.message };
    }
    const self = locationOfArn(context?.invokedFunctionArn);
    if (!self) {
      // Lambda always passes its ARN; without it no event can be proven to be ours.
      const reason = "the function's own ARN (context.invokedFunctionArn) is missing or malformed";
      deps.logger.error("event rejected", { reason, pipeline: parsed.pipeline });
      return { outcome: "rejected", reason };
    }
    const foreign = foreignEventReason(parsed, self);
    if (foreign) {
      deps.logger.warn("event rejected", { reason: foreign, pipeline: parsed.pipeline });
      return { outcome: "rejected", reason: foreign };
    }
    return { parsed };
  }

  /** The event's time: the configured budget, within what Lambda leaves (less half a second). */
  function budgetOf(context: LambdaContextLike | undefined): number {
    const remaining = context?.getRemainingTimeInMillis?.() ?? Infinity;
    return Math.max(0, Math.min(deps.budgetMs ?? DEFAULT_BUDGET_MS, remaining - 500));
  }

  /** A stage or action state change: the clone execution's check run only. */
  async function handleStep(
    event: unknown,
    context: LambdaContextLike | undefined,
    started: number,
  ): Promise<NotifyResult> {
    const admitted = admit(event, context, parseStepEvent);
    if ("outcome" in admitted) return admitted;
    const parsed: StepEvent = admitted.parsed;
    const logger = withFields(deps.logger, {
      eventId: (event as { id?: unknown }).id,
      pipeline: parsed.pipeline,
      executionId: parsed.executionId,
      step: parsed.kind,
      stage: parsed.stage,
      ...(parsed.action !== undefined ? { action: parsed.action } : {}),
      state: parsed.state,
    });
    const budget = budgetOf(context);
    let outcome: StepOutcome;
    try {
      const config = deps.config(parsed.pipeline);
      if (config === undefined) {
        const reason = `${parsed.pipeline} belongs to no service of this stack`;
        logger.info("event ignored", { reason });
        return {
          outcome: "ignored",
          reason,
          pipeline: parsed.pipeline,
          step: parsed.kind,
          state: parsed.state,
          check: "skipped",
          errors: [],
          retry: false,
        };
      }
      const ports = await deps.ports(AbortSignal.timeout(budget), config.sourcePipelineName);
      outcome = await reportStep(parsed, ports, config, logger);
    } catch (error) {
      logger.error("event failed before any feedback was given", {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw error;
    }
    logger.info("event handled", {
      outcome: outcome.outcome,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      pullRequest: outcome.pullRequest,
      commit: outcome.commit,
      check: outcome.check,
      errors: outcome.errors.length,
      durationMs: Date.now() - started,
    });
    if (outcome.errors.length > 0) metrics.count(METRIC.feedbackErrors, outcome.errors.length);
    if (outcome.retry) {
      throw new FeedbackIncompleteError(
        `check run for ${parsed.pipeline} execution ${parsed.executionId} is incomplete: ${outcome.errors.join("; ")}`,
      );
    }
    return outcome;
  }
}

function ignored(event: ExecutionEvent, reason: string): FeedbackOutcome {
  return {
    outcome: "ignored",
    reason,
    pipeline: event.pipeline,
    state: event.state,
    status: "skipped",
    comment: "skipped",
    notification: "skipped",
    errors: [],
    retry: false,
  };
}
