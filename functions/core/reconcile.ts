/**
 * The reconciler's pure decisions: what a sweep wants for one pull request (by the webhook's own
 * rules), which pipeline names are clones of the source pipeline, and which image tags belong to
 * which pull request.
 */
import { CLONE_INFIX, cloneName, PR_NUMBER_MAX_DIGITS } from "../shared/names.js";
import {
  classify,
  sameRepository,
  type ClassifyOptions,
  type PullRequest,
  type SourceRef,
} from "./classify.js";
import { belongsToPullRequest, type TaggedImageId } from "./images.js";

export type Verdict =
  | { kind: "ensure"; pullRequest: PullRequest; headRepository: string }
  /** The clone and the images must go: the pull request is closed or left the source branch. */
  | { kind: "remove"; reason: string }
  /** Open into the source branch but not built (a draft, a fork): what exists is left alone. */
  | { kind: "keep"; reason: string }
  /**
   * GitHub answered for the configured repository with a pull request of another one, which could
   * not be shown to be the same repository: a configuration problem. Nothing is touched.
   */
  | { kind: "misconfigured"; reason: string };

/** A repository as GitHub shows it now: a renamed or transferred one keeps its id. */
export interface RepositoryIdentity {
  id: number;
  fullName: string;
}

/**
 * The desired state of one pull request as GitHub shows it now. Open pull requests go through
 * `classify` as a `synchronize` would, so drafts and forks follow the webhook's settings; like the
 * webhook, a pull request it would ignore keeps whatever clone it has.
 *
 * The pull request was read under the configured repository's name, so a base repository of
 * another name means GitHub followed a rename or a transfer: it is the source's repository when its
 * id is `configured.id` (the configured name resolved by GitHub now), and otherwise a configuration
 * problem. Neither ever removes anything by itself.
 */
export function verdictFor(
  pr: PullRequest,
  source: SourceRef,
  options: ClassifyOptions,
  configured?: RepositoryIdentity,
): Verdict {
  let current = pr;
  if (!sameRepository(pr.baseRepository, source.repository)) {
    if (
      configured === undefined ||
      pr.baseRepositoryId === undefined ||
      pr.baseRepositoryId !== configured.id
    ) {
      return {
        kind: "misconfigured",
        reason: `pull request #${pr.number} belongs to ${pr.baseRepository}, not ${source.repository}`,
      };
    }
    // The same repository under its new name: seen as the source pipeline names it.
    current = {
      ...pr,
      baseRepository: source.repository,
      headRepository:
        pr.headRepository !== undefined && sameRepository(pr.headRepository, pr.baseRepository)
          ? source.repository
          : pr.headRepository,
    };
  }
  if (current.state === "closed")
    return { kind: "remove", reason: `pull request #${current.number} is closed` };
  if (current.baseBranch !== source.branch) {
    return {
      kind: "remove",
      reason: `pull request #${current.number} targets ${pr.baseRepository}:${current.baseBranch}, not ${source.repository}:${source.branch}`,
    };
  }
  const intent = classify({ action: "synchronize", pullRequest: current }, source, options);
  if (intent.kind === "ensure") {
    return {
      kind: "ensure",
      pullRequest: intent.pullRequest,
      headRepository: intent.headRepository,
    };
  }
  if (intent.kind === "remove") {
    return {
      kind: "remove",
      reason: intent.reason ?? `pull request #${current.number} is not built`,
    };
  }
  return {
    kind: "keep",
    reason:
      intent.kind === "ignore" ? intent.reason : `pull request #${current.number} is not built`,
  };
}

/** `-pr-<n>` with the 1-10 digits `cloneName` accepts (a longer number is no clone's). */
const CLONE_SUFFIX = new RegExp(`${CLONE_INFIX}([1-9][0-9]{0,${PR_NUMBER_MAX_DIGITS - 1}})$`);

/**
 * The pull request number of a pipeline named like a clone of `sourcePipelineName`
 * (exactly `cloneName(source, n)`), or `undefined`. The name alone proves nothing: the caller
 * still checks the tags before touching the pipeline.
 */
export function cloneNumberOf(
  pipelineName: string,
  sourcePipelineName: string,
): number | undefined {
  const match = CLONE_SUFFIX.exec(pipelineName);
  if (!match?.[1]) return undefined;
  const number = Number(match[1]);
  if (!Number.isSafeInteger(number)) return undefined;
  return cloneName(sourcePipelineName, number) === pipelineName ? number : undefined;
}

const PR_TAG = /^pr-([1-9][0-9]*)(?:-|$)/;

/** Image ids grouped by the pull request their tag belongs to (`pr-<n>`, `pr-<n>-...`); others are left out. */
export function imagesByPullRequest<T extends TaggedImageId>(ids: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const id of ids) {
    const match = id.imageTag === undefined ? null : PR_TAG.exec(id.imageTag);
    if (!match?.[1] || id.imageTag === undefined) continue;
    const number = Number(match[1]);
    if (!Number.isSafeInteger(number) || !belongsToPullRequest(id.imageTag, number)) continue;
    const group = groups.get(number);
    if (group) group.push(id);
    else groups.set(number, [id]);
  }
  return groups;
}
