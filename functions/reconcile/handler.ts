/**
 * The reconciler's handler: read the settings, build the invocation's services, run one sweep, log
 * and return its summary. Everything it touches comes in through `ReconcileDeps`, so tests drive the
 * real handler against local test doubles.
 *
 * It also answers the stack's teardown resource (an `aws.lambda.Invocation` with lifecycle scope
 * CRUD): an event with a {@link LIFECYCLE_KEY} member. On `delete` (`pulumi destroy`) it removes every
 * managed clone and pull request image (functions/app/teardown.ts) and throws when something is left,
 * so that the destroy stops with the reason; on `create` and `update` it does nothing.
 */
import type { PreviewClients } from "../app/preview-lifecycle.js";
import type { PreviewDeployments } from "../app/preview-deployments.js";
import type { ScheduledEvent } from "aws-lambda";
import {
  noMetrics,
  type GitHubPullRequests,
  type IdleMarkers,
  type ImageStore,
  type PipelineActivity,
  type Logger,
  type Metrics,
  type OpenPullRequests,
  type PipelineStore,
  type PullRequestMarks,
  type WebhookDeliveries,
} from "../app/ports.js";
import type { GitHubCommandPorts } from "../app/ports.js";
import type { CommitStatuses } from "../app/feedback.js";
import { countError } from "../app/responses.js";
import { CloneSlots, serially } from "../app/limits.js";
import { DIMENSION, METRIC, SWEEP_RESULTS } from "../shared/metrics.js";
import { reconcile, type ReconcileSummary } from "../app/reconcile.js";
import {
  APP_WEBHOOK,
  HookCache,
  readOnce,
  redeliverFailed,
  servedRepositories,
  type RedeliverySummary,
} from "../app/redelivery.js";
import {
  reconcileServices,
  teardownServices,
  type ServicesSweepSummary,
} from "../app/reconcile-services.js";
import type { Settings } from "../app/settings.js";
import { teardown, type TeardownSummary } from "../app/teardown.js";
import { classifyError } from "../core/errors.js";
import { rotate, sweepStart, type ServiceEntry } from "../core/services.js";

export interface ReconcileServices {
  pipelines: PipelineStore;
  images: ImageStore;
  pullRequests: GitHubPullRequests;
  /** Present only when a GitHub token is configured. */
  openPullRequests?: OpenPullRequests;
  /** Present only when a state table is configured. */
  marks?: PullRequestMarks;
  /**
   * The webhook's deliveries (each repository's webhook with a token, the App's own with an App);
   * present only when GitHub credentials are configured.
   */
  deliveries?: WebhookDeliveries;
  /**
   * Commit statuses (waiting, idle, waiting for approval); present only when GitHub credentials
   * are configured.
   */
  statuses?: CommitStatuses;
  /** Idle-expiry markers; present only with a state table and a service with `idleDays`. */
  idleMarkers?: IdleMarkers;
  /** The clones' last runs; present only when a service has `idleDays`. */
  activity?: PipelineActivity;
  /** Permissions (the approval rule); present only when GitHub credentials are configured. */
  commands?: GitHubCommandPorts;
  /** ECS and the load balancer for previews; present only when some service has previews. */
  previews?: PreviewClients;
  /** The previews' deployments; present only with GitHub credentials and previews. */
  deployments?: PreviewDeployments;
}

/** What the teardown needs: AWS only, never GitHub. */
export interface TeardownServices {
  pipelines: PipelineStore;
  images: ImageStore;
  /** ECS and the load balancer for previews; present only when some service has previews. */
  previews?: PreviewClients;
}

export interface ReconcileDeps {
  settings: () => Settings;
  services: (signal: AbortSignal) => Promise<ReconcileServices> | ReconcileServices;
  teardownServices: (signal: AbortSignal) => Promise<TeardownServices> | TeardownServices;
  logger: Logger;
  /**
   * Sweep duration and results, clones changed, errors by kind (and, through the clients,
   * throttles), published once per invocation (default: none).
   */
  metrics?: Metrics;
  /** The most time one sweep may take (default 10 minutes, less the Lambda's remaining time). */
  budgetMs?: number;
  /** Pull requests worked on at once (default 8). */
  concurrency?: number;
  /** The invocation time, from which the order of several services rotates (default `Date.now`). */
  now?: () => number;
}

export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
}

/**
 * A sweep's summary: with one service, that service's; with several, the totals plus `services`
 * (each service's own summary) and `notReached` (the services the time did not reach).
 */
export type SweepSummary = ReconcileSummary &
  Partial<Pick<ServicesSweepSummary, "services" | "notReached">> & {
    /**
     * The redelivery of the webhook's failed deliveries before the sweep: present only when it ran
     * (`WEBHOOK_URL` set and a GitHub token configured). Its failures never fail the sweep.
     */
    redelivery?: RedeliverySummary;
  };

/** A scheduled EventBridge event, or `{}` for a run on demand. */
export type ReconcileEvent = Partial<Pick<ScheduledEvent, "id" | "detail-type" | "source">>;

/**
 * The member the AWS provider's Lambda invocation resource adds to its input with lifecycle scope
 * CRUD (its `terraformKey`, default `tf`). infra/components/reconciler.ts sets the same key.
 */
export const LIFECYCLE_KEY = "tf";

/** What the invocation resource sends: its input plus the lifecycle member. */
export interface LifecycleEvent {
  [LIFECYCLE_KEY]: { action: string; prev_input?: unknown };
}

/** The answer to a lifecycle event. */
export type LifecycleAnswer =
  { action: "delete"; teardown: TeardownSummary } | { action: string; teardown: "nothing to do" };

/** Thrown on `delete` when the teardown left something: the destroy stops with this message. */
export class TeardownIncompleteError extends Error {
  override readonly name = "TeardownIncompleteError";
}

export interface ReconcileHandler {
  (event: LifecycleEvent, context?: LambdaContextLike): Promise<LifecycleAnswer>;
  (event?: ReconcileEvent, context?: LambdaContextLike): Promise<SweepSummary>;
}

const DEFAULT_BUDGET_MS = 10 * 60 * 1000;
/** Kept back from the Lambda's remaining time to log and answer. */
const MARGIN_MS = 5000;

export function createReconcileHandler(deps: ReconcileDeps): ReconcileHandler {
  const metrics = deps.metrics ?? noMetrics;
  const sweep = createSweep(deps, metrics);
  const lifecycle = createLifecycle(deps, metrics);
  async function handler(
    event: ReconcileEvent | LifecycleEvent = {},
    context?: LambdaContextLike,
  ): Promise<SweepSummary | LifecycleAnswer> {
    const action = lifecycleActionOf(event);
    try {
      // Without a lifecycle action the event is a schedule's or `{}`: only its id and detail-type are read.
      return action === undefined
        ? await sweep(event as ReconcileEvent, context)
        : await lifecycle(action, context);
    } finally {
      metrics.flush();
    }
  }
  return handler as ReconcileHandler;
}

/** The lifecycle action of a teardown resource's event, or `undefined` for any other event. */
export function lifecycleActionOf(event: unknown): string | undefined {
  if (typeof event !== "object" || event === null || !(LIFECYCLE_KEY in event)) return undefined;
  const member = (event as Record<string, unknown>)[LIFECYCLE_KEY];
  if (typeof member !== "object" || member === null) return undefined;
  const action = (member as Record<string, unknown>)["action"];
  return typeof action === "string" ? action : undefined;
}

function createLifecycle(deps: ReconcileDeps, metrics: Metrics) {
  return async function lifecycle(
    action: string,
    context: LambdaContextLike | undefined,
  ): Promise<LifecycleAnswer> {
    if (action !== "delete") {
      deps.logger.info("teardown resource: nothing to do", { action });
      return { action, teardown: "nothing to do" };
    }
    const started = Date.now();
    const settings = deps.settings();
    const signal = AbortSignal.timeout(budget(deps, context));
    const services = await deps.teardownServices(signal);
    const ports = {
      pipelines: services.pipelines,
      images: services.images,
      previews: services.previews,
      logger: deps.logger,
      metrics,
    };
    const summary =
      settings.services.length === 1
        ? await teardown(ports, {
            sourcePipelineName: settings.sourcePipelineName,
            repositoryNames: settings.repositoryNames,
            name: settings.services[0]?.name,
            preview: settings.services[0]?.preview,
            signal,
          })
        : await teardownServices(ports, settings.services, signal);
    for (const error of summary.errors) deps.logger.error("teardown error", { error });
    deps.logger.info("torn down", {
      deleted: summary.deleted.length,
      imagesDeleted: summary.imagesDeleted.length,
      leftAlone: summary.leftAlone,
      errors: summary.errors.length,
      durationMs: Date.now() - started,
    });
    if (summary.errors.length > 0) {
      throw new TeardownIncompleteError(
        `branchline could not remove everything it created for ${settings.services.map((service) => service.sourcePipelineName).join(", ")}; ` +
          `fix the cause and run \`pulumi destroy\` again: ${summary.errors.join("; ")}`,
      );
    }
    return { action, teardown: summary };
  };
}

function createSweep(deps: ReconcileDeps, metrics: Metrics) {
  /**
   * With several services: the one the last sweep of this container did not finish, where the next
   * starts. A cold container has none: then the order starts at a service derived from the time.
   */
  let resumeAt: string | undefined;
  /** Each repository's webhook id (or why it cannot be used), for the container's life. */
  const hooks = new HookCache();
  return async function sweep(
    event: ReconcileEvent,
    context?: LambdaContextLike,
  ): Promise<SweepSummary> {
    const started = Date.now();
    const trigger = {
      trigger: event["detail-type"] === "Scheduled Event" ? "schedule" : "on-demand",
      ...(event.id ? { eventId: event.id } : {}),
    };
    let summary: SweepSummary;
    let redelivery: RedeliverySummary | undefined;
    try {
      const settings = deps.settings();
      const signal = AbortSignal.timeout(budget(deps, context));
      const services = await deps.services(signal);
      let pipelines = services.pipelines;
      if (settings.webhookUrl !== undefined && services.deliveries) {
        // The one service's repository is its source pipeline's: read once for both.
        const unrouted = settings.services.filter((service) => service.ref === undefined);
        pipelines = readOnce(
          pipelines,
          unrouted.map((service) => service.sourcePipelineName),
        );
        redelivery = await redeliver(
          deps,
          settings.services,
          pipelines,
          services.deliveries,
          settings.webhookUrl,
          hooks,
          signal,
        );
      }
      const ports = {
        pipelines,
        images: services.images,
        pullRequests: services.pullRequests,
        openPullRequests: services.openPullRequests,
        marks: services.marks,
        commands: services.commands,
        statuses: services.statuses,
        previews: services.previews,
        deployments: services.deployments,
        logger: deps.logger,
        metrics,
        limits: {
          // The uncached store: each count sees the clones created since.
          slots: new CloneSlots(
            services.pipelines,
            settings.services.map((service) => service.sourcePipelineName),
            settings.maxClones,
          ),
          statuses: services.statuses,
          idleMarkers: services.idleMarkers,
          activity: services.activity,
          now: deps.now ?? Date.now,
          serial: serially(),
        },
      };
      if (settings.services.length > 1) {
        const order = sweepOrder(settings.services, resumeAt, (deps.now ?? Date.now)());
        const result = await reconcileServices(ports, order, {
          signal,
          ...(deps.concurrency !== undefined ? { concurrency: deps.concurrency } : {}),
        });
        resumeAt = result.resumeAt;
        summary = result.summary;
        for (const [service, own] of Object.entries(result.summary.services)) {
          deps.logger.info("service reconciled", { ...trigger, service, ...counts(own) });
        }
      } else
        summary = await reconcile(ports, {
          sourcePipelineName: settings.sourcePipelineName,
          repositoryNames: settings.repositoryNames,
          cloneRoleArn: settings.cloneRoleArn,
          prBuildProjects: settings.prBuildProjects,
          prArtifactBucket: settings.prArtifactBucket,
          allowForks: settings.allowForks,
          buildDrafts: settings.buildDrafts,
          selection: settings.services[0]?.selection,
          name: settings.services[0]?.name,
          maxClones: settings.services[0]?.maxClones,
          idleDays: settings.services[0]?.idleDays,
          requireApproval: settings.services[0]?.requireApproval,
          preview: settings.services[0]?.preview,
          signal,
          ...(deps.concurrency !== undefined ? { concurrency: deps.concurrency } : {}),
        });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const text = `sweep not started: ${message}`;
      const misconfigured = classifyError(error) === "configuration";
      countError(metrics, error);
      summary = {
        created: [],
        updated: [],
        deleted: [],
        imagesDeleted: [],
        unchanged: [],
        errors: misconfigured ? [] : [text],
        ...(misconfigured ? { misconfigured: [text] } : {}),
      };
    }
    if (redelivery) summary.redelivery = redelivery;
    for (const error of summary.errors) deps.logger.error("reconcile error", { ...trigger, error });
    for (const error of summary.misconfigured ?? [])
      deps.logger.error("reconcile misconfiguration", { ...trigger, error });
    const durationMs = Date.now() - started;
    metrics.duration(METRIC.sweepDuration, durationMs);
    const results: Record<(typeof SWEEP_RESULTS)[number], number> = {
      created: summary.created.length,
      updated: summary.updated.length,
      deleted: summary.deleted.length,
      imagesDeleted: summary.imagesDeleted.length,
      redelivered: redelivery?.redelivered ?? 0,
      errors: summary.errors.length,
      misconfigured: summary.misconfigured?.length ?? 0,
    };
    for (const result of SWEEP_RESULTS) {
      metrics.count(METRIC.sweepResults, results[result], { [DIMENSION.result]: result });
    }
    deps.logger.info("reconciled", {
      ...trigger,
      ...counts(summary),
      ...(summary.notReached ? { notReached: summary.notReached } : {}),
      ...(redelivery
        ? { redelivered: redelivery.redelivered, redeliveryErrors: redelivery.errors.length }
        : {}),
      durationMs,
    });
    return summary;
  };
}

/** The redelivery before a sweep; whatever fails is counted, never thrown. */
async function redeliver(
  deps: ReconcileDeps,
  services: readonly ServiceEntry[],
  pipelines: Pick<PipelineStore, "get">,
  deliveries: WebhookDeliveries,
  webhookUrl: string,
  hooks: HookCache,
  signal: AbortSignal,
): Promise<RedeliverySummary> {
  try {
    const repositories = deliveries.appWide
      ? [APP_WEBHOOK]
      : await servedRepositories(services, pipelines);
    return await redeliverFailed({ deliveries, logger: deps.logger }, repositories, {
      webhookUrl,
      hooks,
      signal,
      ...(deps.now ? { now: deps.now } : {}),
    });
  } catch (error) {
    const text = `the repositories to redeliver for could not be read: ${error instanceof Error ? error.message : String(error)}`;
    deps.logger.warn("webhook deliveries not redelivered", { error: text });
    return { redelivered: 0, skipped: [], errors: [text] };
  }
}

function counts(summary: ReconcileSummary): Record<string, number> {
  return {
    created: summary.created.length,
    updated: summary.updated.length,
    deleted: summary.deleted.length,
    imagesDeleted: summary.imagesDeleted.length,
    unchanged: summary.unchanged.length,
    errors: summary.errors.length,
    misconfigured: summary.misconfigured?.length ?? 0,
  };
}

/**
 * The order a sweep visits several services in: from the service this container's last sweep did
 * not finish when there is one (exact, but lost with the container), otherwise from a service
 * derived from the invocation time (stateless: a cold container does not always start with the
 * first service, so none is starved when every sweep runs out of time on a new container).
 */
export function sweepOrder(
  services: readonly ServiceEntry[],
  resumeAt: string | undefined,
  now: number,
): ServiceEntry[] {
  const index = services.findIndex((service) => service.name === resumeAt);
  return rotate(services, index >= 0 ? index : sweepStart(now, services.length));
}

function budget(deps: ReconcileDeps, context: LambdaContextLike | undefined): number {
  const configured = deps.budgetMs ?? DEFAULT_BUDGET_MS;
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined
    ? configured
    : Math.max(0, Math.min(configured, remaining - MARGIN_MS));
}
