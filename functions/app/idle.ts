/**
 * Idle expiry (functions/core/limits.ts), the use case. A clone whose pull request saw no push for
 * the service's `idleDays` is removed by the reconciler, unless the pull request has the label
 * `branchline:keep`; the pull request's head commit is then recorded as its idle marker (state
 * table), and a status says what happened.
 *
 * "Last push" is the clone's newest execution's start (a push starts one; creation starts the
 * first), read with one ListPipelineExecutions call, and only for clones created at least
 * `idleDays` ago (a younger one cannot be idle): a sweep reads few. A clone that never ran counts
 * from its creation.
 *
 * The marker keeps the sweep from bringing the clone back while the head commit is the same. A push
 * (a new head commit: `synchronize`, or a lost one seen by the sweep) or a reopen clears it and the
 * clone is built again; any other delivery (a label, an edit) leaves the pull request without one.
 */
import {
  builtDescription,
  idleDescription,
  isIdle,
  keptFromIdle,
  oldEnoughToIdle,
} from "../core/limits.js";
import type { PullRequest } from "../core/classify.js";
import type { ServiceEntry } from "../core/services.js";
import { cloneName, idleMarkerKey } from "../shared/names.js";
import { selectionContext, type CommitStatuses } from "./feedback.js";
import type { IdleMarkers, Logger, PipelineActivity } from "./ports.js";

export type IdleService = Pick<ServiceEntry, "name" | "sourcePipelineName" | "idleDays">;

/** What the marker says about building a pull request without a clone. */
export type MarkerCheck =
  /** Removed for idleness at this very head: not built. */
  | { kind: "expired"; description: string }
  /** A marker was there and is cleared (a push or a reopen): built, and the status yields. */
  | { kind: "cleared" }
  /** No marker (or no idle expiry): built as always. */
  | { kind: "none" };

/**
 * Before building: whether the pull request's clone was removed for idleness and stays so. Makes
 * one GetItem when the service has `idleDays` and a state table is configured, none otherwise.
 */
export async function checkIdleMarker(
  markers: IdleMarkers | undefined,
  service: IdleService,
  pr: PullRequest,
  reopened: boolean,
): Promise<MarkerCheck> {
  if (!markers || service.idleDays === undefined) return { kind: "none" };
  const key = idleMarkerKey(service.sourcePipelineName, pr.number);
  const sha = await markers.get(key);
  if (sha === undefined) return { kind: "none" };
  if (sha === pr.headSha && !reopened) {
    return { kind: "expired", description: idleDescription(service.idleDays) };
  }
  await markers.clear(key);
  return { kind: "cleared" };
}

export interface IdleCheck {
  activity: PipelineActivity;
  now: () => number;
}

/**
 * Whether the clone (created at `created`) has gone `idleDays` without a push. A pull request
 * labelled `branchline:keep` never has; neither has a clone younger than `idleDays` (no call).
 */
export async function idleClone(
  check: IdleCheck,
  service: IdleService,
  pr: PullRequest,
  created: Date | undefined,
): Promise<boolean> {
  const days = service.idleDays;
  if (days === undefined || keptFromIdle(pr.labels)) return false;
  const now = check.now();
  if (!oldEnoughToIdle(created?.getTime(), now, days)) return false;
  const clone = cloneName(service.sourcePipelineName, pr.number);
  const latest = await check.activity.latestStart(clone);
  const lastPush = latest?.getTime() ?? created?.getTime() ?? 0;
  return isIdle(lastPush, now, days);
}

/** Records the marker before the clone goes: a sweep never sees the clone gone without it. */
export async function markIdle(
  markers: IdleMarkers | undefined,
  service: IdleService,
  pr: PullRequest,
): Promise<void> {
  await markers?.put(idleMarkerKey(service.sourcePipelineName, pr.number), pr.headSha);
}

/** Posts a selection-context status (idle, draft, built again); best effort. */
export async function postServiceStatus(
  statuses: CommitStatuses | undefined,
  logger: Logger,
  service: Pick<ServiceEntry, "name">,
  pr: PullRequest,
  description: string,
): Promise<void> {
  if (!statuses) return;
  try {
    await statuses.post(pr.baseRepository, pr.headSha, {
      state: "success",
      context: selectionContext(service.name),
      description,
    });
  } catch (error) {
    logger.warn("could not post the commit status of the service", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

export { builtDescription };
