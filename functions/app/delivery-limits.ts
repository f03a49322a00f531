/**
 * The delivery's side of clone limits and idle expiry (functions/app/limits.ts, functions/app/idle.ts),
 * kept out of process-delivery.ts: the gate before a clone is created, the status of a draft not
 * built, and the oldest waiting pull request built when a delivery removed a clone.
 */
import { DRAFT_DESCRIPTION, builtDescription } from "../core/limits.js";
import type { Intent, PullRequest } from "../core/classify.js";
import { verdictFor } from "../core/reconcile.js";
import { pullRequestMarkKey } from "../shared/names.js";
import { checkIdleMarker, postServiceStatus } from "./idle.js";
import { ensureWithinLimits, fillFreeSlots, type FillResult } from "./limits.js";
import { withFields } from "./ports.js";
import type { Work } from "./process-delivery.js";
import type { EnsureOutcome } from "./pull-request-pipelines.js";
import type { Response } from "./responses.js";
import { selectionOf } from "./selection.js";

export type DeliveryGated =
  | { kind: "ensured"; outcome: EnsureOutcome }
  /** `waiting`: a clone limit is full; `ignored`: removed for idleness at this head commit. */
  | { kind: "waiting" | "ignored"; description: string };

/**
 * The last gates before `ensure`: a pull request whose clone idle expiry removed at this head
 * commit stays without one (a push or a reopen clears the marker), then the clone limits. When a
 * status may have said it was not built (idle, a draft now ready), the created clone says "Built".
 */
export async function deliveryGate(
  work: Work,
  pr: PullRequest,
  ensure: () => Promise<EnsureOutcome>,
): Promise<DeliveryGated> {
  const { service, services, logger } = work;
  const marker = await checkIdleMarker(
    services.idleMarkers,
    service,
    pr,
    work.action === "reopened",
  );
  if (marker.kind === "expired") {
    logger.info("pull request left without a clone: removed for idleness at this commit", {
      pullRequest: pr.number,
    });
    await postServiceStatus(services.statuses, logger, service, pr, marker.description);
    return { kind: "ignored", description: marker.description };
  }
  const gated = await ensureWithinLimits({
    slots: work.slots,
    service,
    pr,
    ensure,
    remove: () => work.pipelines.remove(work.source, pr.number),
    statuses: services.statuses,
    logger,
  });
  if (gated.kind === "waiting") return { kind: "waiting", description: gated.description };
  const readyDraft = work.action === "ready_for_review" && !service.buildDrafts;
  if (
    gated.outcome.result === "created" &&
    !work.slots.applies(service) &&
    (marker.kind === "cleared" || readyDraft)
  ) {
    const description = builtDescription(gated.outcome.pipeline);
    await postServiceStatus(services.statuses, logger, service, pr, description);
  }
  return gated;
}

/** Says on a draft's head commit that it is not built until it is ready for review. */
export async function notBuiltStatus(work: Work, draft: PullRequest): Promise<void> {
  await postServiceStatus(
    work.services.statuses,
    work.logger,
    work.service,
    draft,
    DRAFT_DESCRIPTION,
  );
}

/**
 * After the delivery removed a clone of a limited service: builds the oldest waiting pull requests
 * of the service (lowest number first) while there is room, each as a sweep would (the rules, the
 * high-water mark, every gate). Best effort: the removal is done, and the next sweep fills what
 * this could not. Makes no call when no limit applies.
 */
export async function freeSlotTaken(
  work: Work,
  removal: Response,
  removedNumber: number,
  build: (work: Work, intent: Intent & { kind: "ensure" }) => Promise<Response>,
): Promise<void> {
  const { service, services, source, slots } = work;
  const open = services.openPullRequests;
  if (!open || !slots.applies(service) || outcomeOf(removal) !== "deleted") return;
  try {
    const candidates = await open.listOpen(source.ref.repository, source.ref.branch);
    const options = { allowForks: service.allowForks, buildDrafts: service.buildDrafts };
    const built = await fillFreeSlots(
      slots,
      service,
      candidates.filter((pr) => pr.number !== removedNumber),
      async (candidate): Promise<FillResult> => {
        const verdict = verdictFor(candidate, source.ref, options);
        if (verdict.kind !== "ensure") return "skipped";
        const pr = verdict.pullRequest;
        const logger = withFields(work.logger, { pullRequest: pr.number, filling: true });
        if (service.selection !== undefined) {
          const decision = await selectionOf(service, pr, services.pullRequests, logger);
          if (!decision.build) return "skipped";
        }
        if (services.marks && pr.updatedAt !== undefined) {
          const key = pullRequestMarkKey(service.sourcePipelineName, pr.number);
          if (!(await services.marks.advance(key, pr.updatedAt, undefined))) return "skipped";
        }
        const answer = await build(
          { ...work, logger, action: "synchronize" },
          { kind: "ensure", pullRequest: pr, headRepository: verdict.headRepository },
        );
        const outcome = outcomeOf(answer);
        return outcome === "waiting" ? "waiting" : outcome === "created" ? "built" : "skipped";
      },
    );
    if (built.length > 0)
      work.logger.info("freed clone slot given to waiting pull requests", { built });
  } catch (error) {
    work.logger.warn("could not build the oldest waiting pull request; the next sweep will", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function outcomeOf(response: Response): unknown {
  return (JSON.parse(response.body) as { outcome?: unknown }).outcome;
}
