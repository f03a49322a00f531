/**
 * A preview environment on the pull request as GitHub shows deployments: one deployment per commit
 * in the environment `pr-<n>-<service>`, whose status carries the preview's URL (GitHub's "View
 * deployment" button). The port here; the Octokit adapter is functions/adapters/github-deployments.ts.
 */

/** The states branchline gives a preview's deployment (a subset of GitHub's). */
export type PreviewDeploymentState = "queued" | "in_progress" | "success" | "failure" | "inactive";

export interface PreviewDeploymentReport {
  /** The commit the preview runs (the pull request's head). */
  sha: string;
  /** The environment's name, {@link previewEnvironment}. */
  environment: string;
  state: PreviewDeploymentState;
  /** The preview's URL; shown with `success`. */
  url?: string | undefined;
  /** At most 140 characters (GitHub's limit). */
  description: string;
}

export interface PreviewDeployments {
  /**
   * Reports the environment's deployment of `sha`: created when the commit has none in the
   * environment yet (a retry reuses it), then given a status. A `success` makes GitHub mark the
   * environment's older deployments inactive.
   */
  report(repository: string, report: PreviewDeploymentReport): Promise<void>;
  /**
   * Marks the environment's newest deployment inactive (the preview is gone); none: nothing to do.
   * Returns whether there was one.
   */
  retire(repository: string, environment: string, description: string): Promise<boolean>;
}

/** The GitHub environment of a pull request's preview of one service: `pr-<n>-<service>`. */
export function previewEnvironment(prNumber: number, service: string): string {
  return `pr-${prNumber}-${service}`;
}
