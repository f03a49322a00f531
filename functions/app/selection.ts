/**
 * A service's label and path rules applied to a pull request, for the webhook, the worker and the
 * reconciler alike (the rules themselves are functions/core/selection.ts).
 */
import type { PullRequest } from "../core/classify.js";
import type { ServiceEntry } from "../core/services.js";
import {
  byLabels,
  byPaths,
  hasPathRules,
  type ChangedFiles,
  type SelectionDecision,
} from "../core/selection.js";
import type { GitHubPullRequests, Logger } from "./ports.js";

/**
 * Whether the service's label and path rules build the pull request. Labels are the pull request's
 * (as GitHub shows it now when a token is configured); the changed files are read only when the
 * service has path rules, and once per delivery however many services ask. Without a way to read
 * them (no token), path rules count as matching: a pull request is never skipped for files nobody
 * could read (the stack's configuration refuses path rules without a token).
 */
export async function selectionOf(
  service: Pick<ServiceEntry, "selection">,
  pr: PullRequest,
  github: GitHubPullRequests | undefined,
  logger: Logger,
): Promise<SelectionDecision> {
  const labels = byLabels(service.selection, pr.labels ?? []);
  if (!labels.build || !hasPathRules(service.selection)) return labels;
  if (!github?.changedFiles) {
    logger.warn(
      "path rules not evaluated: no GitHub token to list the pull request's files; built as if they matched",
    );
    return { build: true, note: "path rules not evaluated without a GitHub token" };
  }
  const changed: ChangedFiles = await github.changedFiles(pr.baseRepository, pr.number);
  const decision = byPaths(service.selection, changed);
  if (decision.build && decision.note !== undefined) logger.info(decision.note);
  return decision;
}
