/**
 * The reconciler's handler: read the settings, build the invocation's services, run one sweep, log
 * and return its summary. Everything it touches comes in through `ReconcileDeps`, so tests drive the
 * real handler against local test doubles.
 */
import type { ScheduledEvent } from "aws-lambda";
import type {
  GitHubPullRequests,
  ImageStore,
  Logger,
  OpenPullRequests,
  PipelineStore,
  PullRequestMarks,
} from "../app/ports.js";
import { reconcile, type ReconcileSummary } from "../app/reconcile.js";
import type { Settings } from "../app/settings.js";

export interface ReconcileServices {
  pipelines: PipelineStore;
  images: ImageStore;
  pullRequests: GitHubPullRequests;
  /** Present only when a GitHub token is configured. */
  openPullRequests?: OpenPullRequests;
  /** Present only when a state table is configured. */
  marks?: PullRequestMarks;
}

export interface ReconcileDeps {
  settings: () => Settings;
  services: (signal: AbortSignal) => Promise<ReconcileServices> | ReconcileServices;
  logger: Logger;
  /** The most time one sweep may take (default 10 minutes, less the Lambda's remaining time). */
  budgetMs?: number;
  /** Pull requests worked on at once (default 8). */
  concurrency?: number;
}

export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
}

/** A scheduled EventBridge event, or `{}` for a run on demand. */
export type ReconcileEvent = Partial<Pick<ScheduledEvent, "id" | "detail-type" | "source">>;

const DEFAULT_BUDGET_MS = 10 * 60 * 1000;
/** Kept back from the Lambda's remaining time to log and answer. */
const MARGIN_MS = 5000;

export function createReconcileHandler(deps: ReconcileDeps) {
  return async function handler(
    event: ReconcileEvent = {},
    context?: LambdaContextLike,
  ): Promise<ReconcileSummary> {
    const started = Date.now();
    const trigger = {
      trigger: event["detail-type"] === "Scheduled Event" ? "schedule" : "on-demand",
      ...(event.id ? { eventId: event.id } : {}),
    };
    let summary: ReconcileSummary;
    try {
      const settings = deps.settings();
      const signal = AbortSignal.timeout(budget(deps, context));
      const services = await deps.services(signal);
      summary = await reconcile(
        {
          pipelines: services.pipelines,
          images: services.images,
          pullRequests: services.pullRequests,
          openPullRequests: services.openPullRequests,
          marks: services.marks,
          logger: deps.logger,
        },
        {
          sourcePipelineName: settings.sourcePipelineName,
          repositoryName: settings.repositoryName,
          allowForks: settings.allowForks,
          buildDrafts: settings.buildDrafts,
          signal,
          ...(deps.concurrency !== undefined ? { concurrency: deps.concurrency } : {}),
        },
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      summary = {
        created: [],
        updated: [],
        deleted: [],
        imagesDeleted: [],
        unchanged: [],
        errors: [`sweep not started: ${message}`],
      };
    }
    for (const error of summary.errors) deps.logger.error("reconcile error", { ...trigger, error });
    deps.logger.info("reconciled", {
      ...trigger,
      created: summary.created.length,
      updated: summary.updated.length,
      deleted: summary.deleted.length,
      imagesDeleted: summary.imagesDeleted.length,
      unchanged: summary.unchanged.length,
      errors: summary.errors.length,
      durationMs: Date.now() - started,
    });
    return summary;
  };
}

function budget(deps: ReconcileDeps, context: LambdaContextLike | undefined): number {
  const configured = deps.budgetMs ?? DEFAULT_BUDGET_MS;
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined
    ? configured
    : Math.max(0, Math.min(configured, remaining - MARGIN_MS));
}
