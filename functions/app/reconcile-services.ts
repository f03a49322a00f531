/**
 * One sweep over every service of the routing table: each service is reconciled by `reconcile`
 * (functions/app/reconcile.ts) in turn, with
 *
 * - GitHub's open pull requests listed once per repository (not per service, not per branch) and
 *   filtered by each service's branch;
 * - the account's pipelines listed once per sweep;
 * - a summary per service and the totals: the pull request numbers of every service together, each
 *   error and misconfiguration prefixed with its service's name;
 * - the services in the order given (the caller rotates it): when the time is up, the services not
 *   reached are reported, and `resumeAt` names where the next sweep should start.
 *
 * The teardown covers every service the same way.
 */
import type { PullRequest } from "../core/classify.js";
import type { ServiceEntry } from "../core/services.js";
import type { OpenPullRequests, PipelineStore, PipelineSummary } from "./ports.js";
import { permissionsOnce } from "./approval.js";
import {
  OPTIONAL_LISTS,
  reconcile,
  type ReconcileOptions,
  type ReconcilePorts,
  type ReconcileSummary,
} from "./reconcile.js";
import { teardown, type TeardownPorts, type TeardownSummary } from "./teardown.js";
import { readEachPullRequestOnce } from "./read-once.js";

export interface ServicesSweepSummary extends ReconcileSummary {
  /** Each service's own summary, by service name. */
  services: Record<string, ReconcileSummary>;
  /** Services this sweep did not reach (out of time), in the order it would have. */
  notReached?: string[];
}

export interface ServicesSweepResult {
  summary: ServicesSweepSummary;
  /**
   * The service the next sweep should start with: the first one not reached, or the one being
   * reconciled when the time ran out; `undefined` when every service was swept.
   */
  resumeAt: string | undefined;
}

export type SweepOptions = Pick<ReconcileOptions, "concurrency" | "signal">;

/** Reconciles `services` in the order given, each with its own tier and settings. */
export async function reconcileServices(
  ports: ReconcilePorts,
  services: readonly ServiceEntry[],
  options: SweepOptions,
): Promise<ServicesSweepResult> {
  const shared: ReconcilePorts = {
    ...ports,
    pipelines: listedOnce(ports.pipelines),
    openPullRequests: ports.openPullRequests && openOncePerRepository(ports.openPullRequests),
    pullRequests: readEachPullRequestOnce(ports.pullRequests),
    commands: ports.commands && permissionsOnce(ports.commands),
  };
  const summaries: Record<string, ReconcileSummary> = {};
  const notReached: string[] = [];
  let resumeAt: string | undefined;
  for (const service of services) {
    if (options.signal?.aborted) {
      notReached.push(service.name);
      resumeAt ??= service.name;
      continue;
    }
    summaries[service.name] = await reconcile(shared, {
      sourcePipelineName: service.sourcePipelineName,
      repositoryNames: service.repositoryNames,
      cloneRoleArn: service.cloneRoleArn,
      prBuildProjects: service.prBuildProjects,
      prArtifactBucket: service.prArtifactBucket,
      allowForks: service.allowForks,
      buildDrafts: service.buildDrafts,
      selection: service.selection,
      name: service.name,
      maxClones: service.maxClones,
      idleDays: service.idleDays,
      requireApproval: service.requireApproval,
      preview: service.preview,
      ...options,
    });
    // The time ran out during this service: some of its pull requests may not have been reached.
    if (options.signal?.aborted) resumeAt ??= service.name;
  }
  const summary: ServicesSweepSummary = {
    ...totals(summaries),
    services: summaries,
  };
  if (notReached.length > 0) {
    summary.notReached = notReached;
    summary.errors.push(
      `the sweep ran out of time: ${notReached.length} service(s) were not reached: ${notReached.join(", ")}; the next sweep starts with ${resumeAt}`,
    );
  }
  return { summary, resumeAt };
}

/** Every pull request number of every service together; errors prefixed with their service. */
function totals(summaries: Record<string, ReconcileSummary>): ReconcileSummary {
  const total: ReconcileSummary = {
    created: [],
    updated: [],
    deleted: [],
    imagesDeleted: [],
    unchanged: [],
    errors: [],
  };
  for (const [name, summary] of Object.entries(summaries)) {
    for (const key of ["created", "updated", "deleted", "imagesDeleted", "unchanged"] as const) {
      total[key].push(...summary[key]);
    }
    total.errors.push(...summary.errors.map((error) => `${name}: ${error}`));
    if (summary.misconfigured) {
      (total.misconfigured ??= []).push(...summary.misconfigured.map((m) => `${name}: ${m}`));
    }
    for (const key of OPTIONAL_LISTS) {
      const numbers = summary[key];
      if (numbers !== undefined) (total[key] ??= []).push(...numbers);
    }
  }
  for (const key of ["waiting", "idle"] as const) {
    const numbers = total[key];
    if (numbers !== undefined) total[key] = [...new Set(numbers)].sort((a, b) => a - b);
  }
  for (const key of ["created", "updated", "deleted", "imagesDeleted", "unchanged"] as const) {
    total[key] = [...new Set(total[key])].sort((a, b) => a - b);
  }
  return total;
}

/** The store with `list` answered once per sweep (a failed listing is tried again). */
function listedOnce(pipelines: PipelineStore): PipelineStore {
  let listing: Promise<PipelineSummary[]> | undefined;
  return {
    get: (name) => pipelines.get(name),
    create: (declaration, tags) => pipelines.create(declaration, tags),
    update: (declaration) => pipelines.update(declaration),
    delete: (name) => pipelines.delete(name),
    tags: (arn) => pipelines.tags(arn),
    inProgressExecutions: (name) => pipelines.inProgressExecutions(name),
    stopExecution: (name, id, reason) => pipelines.stopExecution(name, id, reason),
    startExecution: (name, pins, token) => pipelines.startExecution(name, pins, token),
    tag: (arn, tags) => pipelines.tag(arn, tags),
    recentExecutions: (name, max) => pipelines.recentExecutions(name, max),
    list: () => {
      const current = (listing ??= pipelines.list());
      current.catch(() => {
        if (listing === current) listing = undefined;
      });
      return current;
    },
  };
}

/**
 * Open pull requests listed once per repository (GitHub's names are case-insensitive) into any
 * branch, each service then taking those into its own (a failed listing is tried again).
 */
function openOncePerRepository(github: OpenPullRequests): OpenPullRequests {
  const listings = new Map<string, Promise<PullRequest[]>>();
  return {
    listOpen: async (repository, baseBranch) => {
      const key = repository.toLowerCase();
      let listing = listings.get(key);
      if (listing === undefined) {
        const started = github.listOpen(repository);
        listing = started;
        listings.set(key, started);
        started.catch(() => {
          if (listings.get(key) === started) listings.delete(key);
        });
      }
      const all = await listing;
      return baseBranch === undefined ? all : all.filter((pr) => pr.baseBranch === baseBranch);
    },
  };
}

/** The teardown of every service; errors prefixed with their service. */
export async function teardownServices(
  ports: TeardownPorts,
  services: readonly ServiceEntry[],
  signal: AbortSignal | undefined,
): Promise<TeardownSummary & { services: Record<string, TeardownSummary> }> {
  const total: TeardownSummary = { deleted: [], imagesDeleted: [], leftAlone: [], errors: [] };
  const summaries: Record<string, TeardownSummary> = {};
  const shared = { ...ports, pipelines: listedOnce(ports.pipelines) };
  for (const service of services) {
    let summary: TeardownSummary;
    try {
      summary = await teardown(shared, {
        sourcePipelineName: service.sourcePipelineName,
        repositoryNames: service.repositoryNames,
        name: service.name,
        preview: service.preview,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      summary = {
        deleted: [],
        imagesDeleted: [],
        leftAlone: [],
        errors: [error instanceof Error ? error.message : String(error)],
      };
    }
    summaries[service.name] = summary;
    total.deleted.push(...summary.deleted);
    total.imagesDeleted.push(...summary.imagesDeleted);
    total.leftAlone.push(...summary.leftAlone);
    total.errors.push(...summary.errors.map((error) => `${service.name}: ${error}`));
  }
  total.deleted = [...new Set(total.deleted)].sort((a, b) => a - b);
  total.imagesDeleted = [...new Set(total.imagesDeleted)].sort((a, b) => a - b);
  return { ...total, services: summaries };
}
