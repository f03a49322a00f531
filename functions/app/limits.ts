/**
 * Clone limits (functions/core/limits.ts), the use case: the last gate before a clone is created.
 *
 * Optimistic: a pull request without a clone is refused at once when a limit is full (one
 * ListPipelines); otherwise its clone is created, the clones are counted again, and a clone beyond
 * a limit in the agreed order (creation time, then source, then number) removes itself and its pull
 * request waits with a pending status. Two deliveries for different pull requests may run at once
 * (the queue orders deliveries per pull request only); both count after creating, both see both
 * clones, and both agree which one stays: the limit is exceeded only for the moments between a
 * creation and its count. No counter is kept anywhere, so none can drift from what exists.
 *
 * A slot frees when a clone goes (closed, rules, idle, ...): the remover then builds the oldest
 * waiting pull requests of its service (lowest number first) through the same gate, and the
 * reconciler does the same on every sweep, which heals a lost event.
 */
import {
  beyondLimit,
  builtDescription,
  countedClones,
  fullLimit,
  limited,
  waitingDescription,
  type CloneLimits,
  type LimitReached,
} from "../core/limits.js";
import type { PullRequest } from "../core/classify.js";
import type { ServiceEntry } from "../core/services.js";
import { cloneName } from "../shared/names.js";
import { selectionContext, type CommitStatuses } from "./feedback.js";
import type { Logger, PipelineStore } from "./ports.js";
import type { EnsureOutcome } from "./pull-request-pipelines.js";

/** A service as the gate sees it. */
export type LimitedService = Pick<ServiceEntry, "name" | "sourcePipelineName" | "maxClones">;

/** Counts the clones of every service of the stack, with a fresh listing each time. */
export class CloneSlots {
  constructor(
    /** Not a cached listing: each count must see the clones created since. */
    private readonly pipelines: Pick<PipelineStore, "list">,
    /** Every service's source pipeline: the stack's limit counts their clones together. */
    private readonly sources: readonly string[],
    private readonly stackLimit: number | undefined,
  ) {}

  limits(service: LimitedService): CloneLimits {
    return { service: service.maxClones, stack: this.stackLimit };
  }

  /** Whether a limit applies to the service: without one, the gate makes no call. */
  applies(service: LimitedService): boolean {
    return limited(this.limits(service));
  }

  async count() {
    return countedClones(await this.pipelines.list(), this.sources);
  }
}

/** What the gate did. */
export type Gated =
  | { kind: "ensured"; outcome: EnsureOutcome }
  | { kind: "waiting"; reached: LimitReached; description: string };

export interface GateInput {
  slots: CloneSlots;
  service: LimitedService;
  pr: PullRequest;
  /** Creates or refreshes the clone (`PullRequestPipelines.ensure`). */
  ensure: () => Promise<EnsureOutcome>;
  /** Removes the clone just created, when it is beyond a limit. */
  remove: () => Promise<unknown>;
  statuses: CommitStatuses | undefined;
  logger: Logger;
}

/**
 * Ensures the pull request's clone within the limits. Without a limit it is `ensure` alone. A pull
 * request that has a clone already is never refused (no preemption, and a lowered limit takes
 * effect as clones go).
 */
export async function ensureWithinLimits(input: GateInput): Promise<Gated> {
  const { slots, service, pr } = input;
  if (!slots.applies(service)) return { kind: "ensured", outcome: await input.ensure() };
  const limits = slots.limits(service);
  const before = await slots.count();
  const has = before.some(
    (clone) =>
      clone.sourcePipelineName === service.sourcePipelineName && clone.prNumber === pr.number,
  );
  if (!has) {
    const full = fullLimit(before, service.sourcePipelineName, limits);
    if (full) return waiting(input, full);
  }
  const outcome = await input.ensure();
  if (outcome.result !== "created") return { kind: "ensured", outcome };
  const after = await slots.count();
  const beyond = beyondLimit(after, service.sourcePipelineName, pr.number, limits);
  if (beyond) {
    input.logger.info("clone beyond the clone limit removed again: the pull request waits", {
      pullRequest: pr.number,
      scope: beyond.scope,
      limit: beyond.limit,
    });
    await input.remove();
    return waiting(input, beyond);
  }
  // A pending status may say it waited: it yields.
  await postStatus(input, "success", builtDescription(outcome.pipeline));
  return { kind: "ensured", outcome };
}

/**
 * Says again that a pull request waits, without counting: for a sweep that found the limit full for
 * an older pull request of the same service moments before.
 */
export async function stillWaiting(
  input: Pick<GateInput, "statuses" | "logger" | "service" | "pr">,
  description: string,
): Promise<void> {
  await postStatus(input, "pending", description);
}

async function waiting(input: GateInput, reached: LimitReached): Promise<Gated> {
  const description = waitingDescription(reached, input.service.name);
  input.logger.info("pull request waits for a clone slot", {
    pullRequest: input.pr.number,
    scope: reached.scope,
    limit: reached.limit,
  });
  await postStatus(input, "pending", description);
  return { kind: "waiting", reached, description };
}

/** Best effort, like the selection status: a GitHub failure is logged. */
async function postStatus(
  input: Pick<GateInput, "statuses" | "logger" | "service" | "pr">,
  state: "pending" | "success",
  description: string,
): Promise<void> {
  if (!input.statuses) return;
  try {
    await input.statuses.post(input.pr.baseRepository, input.pr.headSha, {
      state,
      context: selectionContext(input.service.name),
      description,
    });
  } catch (error) {
    input.logger.warn("could not post the commit status of the clone limit", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** What building one waiting pull request came to. */
export type FillResult = "built" | "waiting" | "skipped";

/**
 * After a clone went: builds the service's waiting pull requests, oldest (lowest number) first,
 * until one has to wait again. `open` are the service's open pull requests, `build` tries one
 * through the gate (and says "skipped" for one not wanted: a draft, the rules, idle).
 */
export async function fillFreeSlots(
  slots: CloneSlots,
  service: LimitedService,
  open: readonly PullRequest[],
  build: (pr: PullRequest) => Promise<FillResult>,
): Promise<number[]> {
  const clones = await slots.count();
  const has = new Set(
    clones
      .filter((clone) => clone.sourcePipelineName === service.sourcePipelineName)
      .map((clone) => clone.prNumber),
  );
  const built: number[] = [];
  for (const pr of [...open].sort((a, b) => a.number - b.number)) {
    if (has.has(pr.number)) continue;
    const result = await build(pr);
    if (result === "waiting") break;
    if (result === "built") built.push(pr.number);
  }
  return built;
}

/** Runs `task`s one after another, in the order they were asked for. */
export function serially(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** The clone's name, for logs and answers. */
export function cloneOf(service: LimitedService, pr: PullRequest): string {
  return cloneName(service.sourcePipelineName, pr.number);
}
