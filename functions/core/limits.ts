/**
 * Clone limits and idle expiry, the pure part: which clones count against a service's and the
 * stack's `maxClones`, which of them keep their place when more exist than the limits allow, when a
 * clone has gone without a push for `idleDays`, and what the pull request is told.
 *
 * The order that decides who keeps a place is the clones' creation time (CodePipeline's `created`,
 * the same for every reader), then the source pipeline's name and the pull request number: a clone
 * that exists is never pushed out by one created after it (no preemption), and two deliveries that
 * created clones at the same moment agree on which one stays.
 */
import { cloneNumberOf } from "./reconcile.js";

/** The label that exempts a pull request's clones from idle expiry. */
export const KEEP_LABEL = "branchline:keep";

/** What limits one service's clones: its own `maxClones` and the stack's. */
export interface CloneLimits {
  /** The service's own limit; `undefined`: none. */
  service: number | undefined;
  /** The stack's total over every service; `undefined`: none. */
  stack: number | undefined;
}

/** A pipeline as listed (ListPipelines): its name and creation time. */
export interface ListedPipeline {
  name: string;
  created?: Date | undefined;
}

/** A clone found in a listing: its service's source pipeline and pull request. */
export interface CountedClone {
  sourcePipelineName: string;
  prNumber: number;
  /** Epoch milliseconds; a clone without a creation time sorts first (it is no newcomer). */
  created: number;
}

/** Whether any limit applies. */
export function limited(limits: CloneLimits): boolean {
  return limits.service !== undefined || limits.stack !== undefined;
}

/** The clones of `sources` among the listed pipelines, in the order that decides who stays. */
export function countedClones(
  pipelines: readonly ListedPipeline[],
  sources: readonly string[],
): CountedClone[] {
  const clones: CountedClone[] = [];
  for (const pipeline of pipelines) {
    for (const source of sources) {
      const prNumber = cloneNumberOf(pipeline.name, source);
      if (prNumber === undefined) continue;
      clones.push({
        sourcePipelineName: source,
        prNumber,
        created: pipeline.created?.getTime() ?? 0,
      });
      break;
    }
  }
  return clones.sort(byAge);
}

function byAge(a: CountedClone, b: CountedClone): number {
  if (a.created !== b.created) return a.created - b.created;
  if (a.sourcePipelineName !== b.sourcePipelineName) {
    return a.sourcePipelineName < b.sourcePipelineName ? -1 : 1;
  }
  return a.prNumber - b.prNumber;
}

/** A limit reached: which one, and how many clones use it. */
export interface LimitReached {
  scope: "service" | "stack";
  limit: number;
  inUse: number;
}

/**
 * Before creating a clone for a pull request without one: the limit that is full, or `undefined`
 * when there is room. `clones` are every counted clone of the stack (`countedClones` over every
 * service's source pipeline).
 */
export function fullLimit(
  clones: readonly CountedClone[],
  source: string,
  limits: CloneLimits,
): LimitReached | undefined {
  const own = clones.filter((clone) => clone.sourcePipelineName === source).length;
  if (limits.service !== undefined && own >= limits.service) {
    return { scope: "service", limit: limits.service, inUse: own };
  }
  if (limits.stack !== undefined && clones.length >= limits.stack) {
    return { scope: "stack", limit: limits.stack, inUse: clones.length };
  }
  return undefined;
}

/**
 * After creating a clone: whether it keeps its place, that is whether fewer than each limit of the
 * clones counted before it (in `countedClones`'s order) are of its scope. `undefined`: it keeps it;
 * otherwise the limit it is beyond (the clone then removes itself and its pull request waits).
 * A clone not in the listing (removed meanwhile) is beyond nothing.
 */
export function beyondLimit(
  clones: readonly CountedClone[],
  source: string,
  prNumber: number,
  limits: CloneLimits,
): LimitReached | undefined {
  const index = clones.findIndex(
    (clone) => clone.sourcePipelineName === source && clone.prNumber === prNumber,
  );
  if (index < 0) return undefined;
  const before = clones.slice(0, index);
  const own = before.filter((clone) => clone.sourcePipelineName === source).length;
  if (limits.service !== undefined && own >= limits.service) {
    return {
      scope: "service",
      limit: limits.service,
      inUse: clones.filter((c) => c.sourcePipelineName === source).length,
    };
  }
  if (limits.stack !== undefined && before.length >= limits.stack) {
    return { scope: "stack", limit: limits.stack, inUse: clones.length };
  }
  return undefined;
}

/** The pending status of a pull request waiting for a slot. */
export function waitingDescription(reached: LimitReached, service: string): string {
  const where = reached.scope === "service" ? service : "this stack";
  const inUse = Math.min(reached.inUse, reached.limit);
  return `Waiting: ${inUse} of ${reached.limit} clones in use for ${where}; builds when one frees`;
}

/** The status of a pull request whose draft is not built. */
export const DRAFT_DESCRIPTION = "Not built: draft; marked ready for review it builds";

/** The status of a pull request whose clone idle expiry removed. */
export function idleDescription(idleDays: number): string {
  return `Removed after ${idleDays} day${idleDays === 1 ? "" : "s"} without a push: push or reopen to bring it back`;
}

/** The status of a pull request built (again) after a status said it was not. */
export function builtDescription(clone: string): string {
  return `Built: ${clone}`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Whether a clone whose last push (its latest execution's start, or its creation when it never ran)
 * was at `lastPush` has been idle for `idleDays` at `now` (epoch milliseconds).
 */
export function isIdle(lastPush: number, now: number, idleDays: number): boolean {
  return now - lastPush >= idleDays * DAY_MS;
}

/**
 * Whether a clone created at `created` can be idle at all: one younger than `idleDays` cannot, so
 * its executions are not read.
 */
export function oldEnoughToIdle(
  created: number | undefined,
  now: number,
  idleDays: number,
): boolean {
  return created === undefined || isIdle(created, now, idleDays);
}

/** Whether the pull request's labels exempt it from idle expiry (GitHub's names: any case). */
export function keptFromIdle(labels: readonly string[] | undefined): boolean {
  return (labels ?? []).some((label) => label.toLowerCase() === KEEP_LABEL);
}
