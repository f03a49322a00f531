/** GitHub's API through Octokit. `baseUrl` points it at GitHub Enterprise or a local test server. */
import { Octokit } from "@octokit/rest";
import type { GitHubPullRequests } from "../app/ports.js";
import type { PullRequest } from "../core/classify.js";
import { BadRequestError } from "../core/errors.js";

export function createOctokit(
  token: string,
  baseUrl: string | undefined,
  signal?: AbortSignal,
): Octokit {
  return new Octokit({
    auth: token,
    userAgent: "branchline",
    ...(baseUrl ? { baseUrl } : {}),
    ...(signal ? { request: { signal } } : {}),
  });
}

export class OctokitPullRequests implements GitHubPullRequests {
  constructor(private readonly octokit: Octokit) {}

  async get(repository: string, number: number): Promise<PullRequest> {
    const [owner, repo] = splitRepository(repository);
    const { data } = await this.octokit.rest.pulls.get({ owner, repo, pull_number: number });
    return {
      number: data.number,
      state: data.state === "closed" ? "closed" : "open",
      draft: data.draft === true,
      merged: data.merged === true,
      headBranch: data.head.ref,
      headSha: data.head.sha,
      headRepository: data.head.repo?.full_name,
      baseBranch: data.base.ref,
      baseRepository: data.base.repo.full_name,
    };
  }
}

export function splitRepository(repository: string): [string, string] {
  const parts = repository.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new BadRequestError(`repository must be owner/name, got ${repository}`);
  }
  return [parts[0], parts[1]];
}
