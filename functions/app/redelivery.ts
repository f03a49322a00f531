/**
 * Before each sweep the reconciler asks GitHub to redeliver the webhook's failed deliveries, so that
 * a lost delivery is healed by the webhook (with its feedback) minutes after it failed rather than
 * by the sweep's own comparison. Per repository the stack serves (with a GitHub App: once, for the
 * App's own webhook, {@link APP_WEBHOOK}, which serves every installed repository):
 *
 * 1. the webhook is found by its URL (`WEBHOOK_URL`) among the repository's hooks, once per
 *    container (its id is kept); a token that cannot read the hooks, or no hook with that URL, is
 *    logged once and the repository skipped (checked again after {@link HOOK_RECHECK_MS});
 * 2. its deliveries of the last {@link REDELIVERY_LOOK_BACK_MS} are listed, newest first, one page
 *    of {@link DELIVERIES_PER_PAGE} after another while they are that recent;
 * 3. each `pull_request` event none of whose deliveries succeeded, and that was not redelivered yet,
 *    is redelivered once (functions/core/redelivery.ts): stateless, GitHub's list is the record.
 *
 * Nothing here fails the sweep: every failure is logged and counted in the summary.
 */
import { sourceRefOf } from "../core/clone.js";
import { deliveriesToRedeliver } from "../core/redelivery.js";
import type { ServiceEntry } from "../core/services.js";
import {
  GitHubRateLimitError,
  HookAccessError,
  type Logger,
  type PipelineStore,
  type StoredPipeline,
  type WebhookDeliveries,
} from "./ports.js";

/**
 * How far back the deliveries are read: a day. GitHub keeps deliveries for 3 days (and can
 * redeliver only those), and the reconciler runs every `reconcileSchedule` (15 minutes by default),
 * so a failed delivery is seen by many sweeps within a day; an older one was healed by the sweeps
 * meanwhile, and redelivering it would replay a stale event. Must stay below GitHub's 3-day
 * retention. A redelivery is always newer than its original, so reading back to an original reads
 * its redeliveries too.
 */
export const REDELIVERY_LOOK_BACK_MS = 24 * 60 * 60 * 1000;

/** Deliveries per page (GitHub's most). */
export const DELIVERIES_PER_PAGE = 100;

/**
 * The most delivery pages read per repository and sweep: a hook that received more than this many
 * deliveries in the look-back window is read only that far back (the newest first).
 */
export const MAX_DELIVERY_PAGES = 10;

/**
 * The most redeliveries asked per repository and sweep. After an outage the webhook would otherwise
 * receive every lost event at once; the rest are still failed and not redelivered, so the next sweep
 * asks for them.
 */
export const MAX_REDELIVERIES_PER_REPOSITORY = 50;

/**
 * What the redelivery works through with a GitHub App, in place of the repositories: the App's one
 * webhook, which delivers every installed repository's events (its name in the summary and logs).
 */
export const APP_WEBHOOK = "the GitHub App's webhook";

/** How long a repository whose hook could not be used is skipped before GitHub is asked again. */
export const HOOK_RECHECK_MS = 60 * 60 * 1000;

export interface RedeliverySummary {
  /** Deliveries GitHub accepted to redeliver (202), one per event. */
  redelivered: number;
  /** Repositories skipped, each with the reason (no hook with the URL, or a token without access). */
  skipped: string[];
  /** Calls that failed; the next sweep tries again. */
  errors: string[];
}

type HookState =
  { kind: "found"; id: number } | { kind: "unusable"; reason: string; checkedAt: number };

/**
 * What the redelivery remembers for the container's life: per repository, its hook's id, or why it
 * cannot be used (and since when).
 */
export class HookCache {
  private readonly states = new Map<string, HookState>();

  get(repository: string): HookState | undefined {
    return this.states.get(repository.toLowerCase());
  }

  set(repository: string, state: HookState): void {
    this.states.set(repository.toLowerCase(), state);
  }

  forget(repository: string): void {
    this.states.delete(repository.toLowerCase());
  }
}

export interface RedeliveryPorts {
  deliveries: WebhookDeliveries;
  logger: Logger;
}

export interface RedeliveryOptions {
  /** The webhook's URL, as its hook's `config.url`. */
  webhookUrl: string;
  /** Kept by the caller for the container's life. */
  hooks: HookCache;
  /** Milliseconds (default `Date.now`). */
  now?: () => number;
  /** Default {@link REDELIVERY_LOOK_BACK_MS}. */
  lookBackMs?: number;
  /** Aborted when the sweep's time is up: no further call is made. */
  signal?: AbortSignal;
}

/** Redelivers the failed deliveries of the webhook of each of `repositories` (see the module). */
export async function redeliverFailed(
  ports: RedeliveryPorts,
  repositories: readonly string[],
  options: RedeliveryOptions,
): Promise<RedeliverySummary> {
  const summary: RedeliverySummary = { redelivered: 0, skipped: [], errors: [] };
  const seen = new Set<string>();
  for (const repository of repositories) {
    if (seen.has(repository.toLowerCase())) continue;
    seen.add(repository.toLowerCase());
    if (options.signal?.aborted) break;
    try {
      await redeliverRepository(ports, repository, options, summary);
    } catch (error) {
      const text = `${repository}: ${message(error)}`;
      summary.errors.push(text);
      ports.logger.warn("webhook deliveries not redelivered", {
        repository,
        error: message(error),
      });
      if (error instanceof GitHubRateLimitError) break;
    }
  }
  return summary;
}

async function redeliverRepository(
  ports: RedeliveryPorts,
  repository: string,
  options: RedeliveryOptions,
  summary: RedeliverySummary,
): Promise<void> {
  const now = options.now ?? Date.now;
  const hookId = await hookOf(ports, repository, options, summary);
  if (hookId === undefined) return;
  const since = now() - (options.lookBackMs ?? REDELIVERY_LOOK_BACK_MS);
  let listed;
  try {
    listed = await ports.deliveries.recentDeliveries(repository, hookId, since, {
      perPage: DELIVERIES_PER_PAGE,
      maxPages: MAX_DELIVERY_PAGES,
    });
  } catch (error) {
    // The hook was deleted (or recreated with another id) since it was found: find it again.
    if (error instanceof HookAccessError) options.hooks.forget(repository);
    throw error;
  }
  const wanted = deliveriesToRedeliver(listed.deliveries, since);
  for (const delivery of wanted.slice(0, MAX_REDELIVERIES_PER_REPOSITORY)) {
    if (options.signal?.aborted) return;
    try {
      await ports.deliveries.redeliver(repository, hookId, delivery.id);
    } catch (error) {
      if (error instanceof HookAccessError && error.status === 403) {
        const reason = `the GitHub token can read the webhook's deliveries but not redeliver them (${message(error)})`;
        unusable(ports, repository, reason, now(), options.hooks, summary);
        return;
      }
      if (error instanceof GitHubRateLimitError) throw error;
      summary.errors.push(`${repository}: delivery ${delivery.id}: ${message(error)}`);
      ports.logger.warn("delivery not redelivered", {
        repository,
        deliveryId: delivery.id,
        guid: delivery.guid,
        error: message(error),
      });
      continue;
    }
    summary.redelivered++;
    ports.logger.info("failed delivery redelivered", {
      repository,
      deliveryId: delivery.id,
      guid: delivery.guid,
      action: delivery.action,
      statusCode: delivery.statusCode,
      deliveredAt: delivery.deliveredAt,
    });
  }
  if (wanted.length > MAX_REDELIVERIES_PER_REPOSITORY) {
    ports.logger.info("more failed deliveries than one sweep redelivers: the next sweep goes on", {
      repository,
      failed: wanted.length,
      redelivered: MAX_REDELIVERIES_PER_REPOSITORY,
    });
  }
}

/** The hook's id (kept per container), or `undefined` when the repository is skipped. */
async function hookOf(
  ports: RedeliveryPorts,
  repository: string,
  options: RedeliveryOptions,
  summary: RedeliverySummary,
): Promise<number | undefined> {
  const now = (options.now ?? Date.now)();
  const known = options.hooks.get(repository);
  if (known?.kind === "found") return known.id;
  if (known?.kind === "unusable" && now - known.checkedAt < HOOK_RECHECK_MS) {
    summary.skipped.push(`${repository}: ${known.reason}`);
    return undefined;
  }
  let id: number | undefined;
  try {
    id = await ports.deliveries.findHook(repository, options.webhookUrl);
  } catch (error) {
    if (!(error instanceof HookAccessError)) throw error;
    const reason = ports.deliveries.appWide
      ? `the GitHub App's webhook cannot be read (${message(error)})`
      : `the GitHub token cannot read the repository's webhooks (${message(error)}); a token with read access to webhooks lets the reconciler redeliver failed deliveries`;
    unusable(ports, repository, reason, now, options.hooks, summary);
    return undefined;
  }
  if (id === undefined) {
    const reason = ports.deliveries.appWide
      ? `the GitHub App's webhook URL is not ${options.webhookUrl}: set it in the App's settings`
      : `no webhook of the repository has the URL ${options.webhookUrl}`;
    unusable(ports, repository, reason, now, options.hooks, summary);
    return undefined;
  }
  options.hooks.set(repository, { kind: "found", id });
  return id;
}

/** Records why the repository is skipped, and logs it when it is new. */
function unusable(
  ports: RedeliveryPorts,
  repository: string,
  reason: string,
  now: number,
  hooks: HookCache,
  summary: RedeliverySummary,
): void {
  const before = hooks.get(repository);
  hooks.set(repository, { kind: "unusable", reason, checkedAt: now });
  summary.skipped.push(`${repository}: ${reason}`);
  if (before?.kind === "unusable" && before.reason === reason) return;
  ports.logger.warn("failed webhook deliveries are not redelivered for this repository", {
    repository,
    reason,
  });
}

/**
 * The repositories of the services: the routing table names them; the one service of the
 * single-service variables builds its source pipeline's, read with `pipelines`.
 */
export async function servedRepositories(
  services: readonly ServiceEntry[],
  pipelines: Pick<PipelineStore, "get">,
): Promise<string[]> {
  const repositories: string[] = [];
  for (const service of services) {
    if (service.ref) {
      repositories.push(service.ref.repository);
      continue;
    }
    const stored = await pipelines.get(service.sourcePipelineName);
    // A missing source pipeline is the sweep's to report: it reads the same pipeline.
    if (stored) repositories.push(sourceRefOf(stored.declaration).repository);
  }
  return repositories;
}

/**
 * The store with `get` of the named pipelines answered once (for one invocation): the redelivery
 * and the sweep read the source pipeline once between them.
 */
export function readOnce(pipelines: PipelineStore, names: readonly string[]): PipelineStore {
  const reads = new Map<string, Promise<StoredPipeline | undefined>>();
  const shared = new Set(names);
  return {
    get: (name) => {
      if (!shared.has(name)) return pipelines.get(name);
      let read = reads.get(name);
      if (read === undefined) {
        read = pipelines.get(name);
        reads.set(name, read);
      }
      return read;
    },
    create: (declaration, tags) => pipelines.create(declaration, tags),
    update: (declaration) => pipelines.update(declaration),
    delete: (name) => pipelines.delete(name),
    tags: (arn) => pipelines.tags(arn),
    list: () => pipelines.list(),
    inProgressExecutions: (name) => pipelines.inProgressExecutions(name),
    stopExecution: (name, id, reason) => pipelines.stopExecution(name, id, reason),
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
