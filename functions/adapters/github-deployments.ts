/**
 * GitHub deployments through Octokit (functions/app/preview-deployments.ts): a deployment per commit
 * and environment, never production, transient (GitHub may clean the environment up once the pull
 * request closes), created without waiting for the commit's status checks (`required_contexts: []`:
 * the preview runs what the pull request's own pipeline built) and never merging the default branch
 * into the ref (`auto_merge: false`).
 */
import type { Octokit } from "@octokit/rest";
import type { PreviewDeploymentReport, PreviewDeployments } from "../app/preview-deployments.js";
import { ConfigurationError } from "../core/errors.js";
import { commonFailure, splitRepository } from "./github.js";

/** GitHub's limit on a deployment status's description. */
const DESCRIPTION_MAX = 140;

export class OctokitPreviewDeployments implements PreviewDeployments {
  constructor(private readonly octokit: Octokit) {}

  /** 1 request to find the commit's deployment, 1 to create it when missing, 1 for the status. */
  async report(repository: string, report: PreviewDeploymentReport): Promise<void> {
    const [owner, repo] = splitRepository(repository);
    try {
      const { data: found } = await this.octokit.rest.repos.listDeployments({
        owner,
        repo,
        sha: report.sha,
        environment: report.environment,
        per_page: 1,
      });
      let id = found[0]?.id;
      if (id === undefined) {
        const { data: created } = await this.octokit.rest.repos.createDeployment({
          owner,
          repo,
          ref: report.sha,
          environment: report.environment,
          description: short(report.description),
          auto_merge: false,
          required_contexts: [],
          transient_environment: true,
          production_environment: false,
        });
        // 202 (a merge GitHub made instead) cannot happen with auto_merge false.
        if (!("id" in created)) {
          throw new Error(
            `GitHub did not create a deployment of ${report.sha}: ${created.message ?? ""}`,
          );
        }
        id = created.id;
      }
      await this.octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: id,
        state: report.state,
        description: short(report.description),
        ...(report.url !== undefined ? { environment_url: report.url } : {}),
        auto_inactive: true,
      });
    } catch (error) {
      throw failure(error, `the deployment of ${report.environment} in ${repository}`);
    }
  }

  /** 1 request to find the environment's newest deployment, 1 for its `inactive` status. */
  async retire(repository: string, environment: string, description: string): Promise<boolean> {
    const [owner, repo] = splitRepository(repository);
    try {
      const { data: found } = await this.octokit.rest.repos.listDeployments({
        owner,
        repo,
        environment,
        per_page: 1,
      });
      const newest = found[0];
      if (newest === undefined) return false;
      await this.octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: newest.id,
        state: "inactive",
        description: short(description),
      });
      return true;
    } catch (error) {
      throw failure(error, `the deployments of ${environment} in ${repository}`);
    }
  }
}

function short(text: string): string {
  return text.length <= DESCRIPTION_MAX ? text : `${text.slice(0, DESCRIPTION_MAX - 1)}…`;
}

function failure(error: unknown, what: string): unknown {
  const shared = commonFailure(error, what);
  if (shared !== undefined) return shared.error;
  const status = (error as { status: number }).status;
  const message = error instanceof Error ? error.message : "";
  if (status === 403) {
    return new ConfigurationError(
      `GitHub answered 403 for ${what}: the token or GitHub App needs the Deployments permission (read and write): ${message}`,
    );
  }
  return new Error(`GitHub answered ${status} for ${what}: ${message}`);
}
