/**
 * What the pull request shows of its preview, besides the line in branchline's comment: a commit
 * status `branchline/<service>/preview` when the preview is created (success, linking to its URL)
 * or waits (pending, saying why), the GitHub deployment of each commit the clone deployed (the
 * notify function, on the execution's end) and its retirement when the pull request closes. Best
 * effort, like the comment: the preview exists (or is gone), so a GitHub failure is logged and the
 * delivery still succeeds.
 */
import type { PullRequest } from "../core/classify.js";
import type { CommitStatuses } from "./feedback.js";
import type { Logger } from "./ports.js";
import type { PreviewOutcome } from "./preview-lifecycle.js";
import { previewEnvironment, type PreviewDeployments } from "./preview-deployments.js";
import { previewWaitingDescription } from "../core/preview.js";

/** The commit status context of a service's previews. */
export function previewContext(service: string): string {
  return `branchline/${service}/preview`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Posts the preview's status when there is news: it was created just now (its rule: a preview that
 * waited gets its slot too), or it waits. A preview that only changed, or did not, posts nothing.
 * Returns whether a status was posted.
 */
export async function reportPreview(
  statuses: CommitStatuses | undefined,
  logger: Pick<Logger, "warn">,
  service: string,
  pr: Pick<PullRequest, "baseRepository" | "headSha">,
  outcome: PreviewOutcome | undefined,
): Promise<boolean> {
  if (!statuses || outcome === undefined) return false;
  if (outcome.kind === "running" && !outcome.changed.includes("rule")) return false;
  const status =
    outcome.kind === "running"
      ? {
          state: "success" as const,
          context: previewContext(service),
          description: `Preview: ${new URL(outcome.url).host}`,
          targetUrl: outcome.url,
        }
      : {
          state: "pending" as const,
          context: previewContext(service),
          description: previewWaitingDescription(outcome.reason),
        };
  try {
    await statuses.post(pr.baseRepository, pr.headSha, status);
    return true;
  } catch (error) {
    logger.warn("could not post the preview's commit status", { error: message(error) });
    return false;
  }
}

/**
 * Marks the environment `pr-<n>-<service>` inactive after its preview was removed, so that GitHub's
 * "View deployment" no longer points at it.
 */
export async function retirePreviewDeployment(
  deployments: PreviewDeployments | undefined,
  logger: Pick<Logger, "warn">,
  repository: string,
  prNumber: number,
  service: string,
): Promise<void> {
  if (!deployments) return;
  try {
    await deployments.retire(
      repository,
      previewEnvironment(prNumber, service),
      "The pull request closed: its preview is removed",
    );
  } catch (error) {
    logger.warn("could not retire the preview's deployment", { error: message(error) });
  }
}
