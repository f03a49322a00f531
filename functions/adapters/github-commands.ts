/** The commands' GitHub calls through Octokit: a user's permission, reactions, replies. */
import type { Octokit } from "@octokit/rest";
import type { GitHubCommandPorts } from "../app/ports.js";
import { commonFailure, splitRepository } from "./github.js";

export class OctokitCommandPorts implements GitHubCommandPorts {
  constructor(private readonly octokit: Octokit) {}

  async permission(repository: string, login: string): Promise<string> {
    const [owner, repo] = splitRepository(repository);
    try {
      const { data } = await this.octokit.rest.repos.getCollaboratorPermissionLevel({
        owner,
        repo,
        username: login,
      });
      return data.permission;
    } catch (error) {
      // GitHub answers 404 for a login that is no user: it has no permission.
      if ((error as { status?: unknown } | null)?.status === 404) return "none";
      throw failure(error, `the permission of ${login} on ${repository}`);
    }
  }

  async react(
    repository: string,
    commentId: number,
    content: "+1" | "-1" | "eyes" | "confused",
  ): Promise<void> {
    const [owner, repo] = splitRepository(repository);
    try {
      await this.octokit.rest.reactions.createForIssueComment({
        owner,
        repo,
        comment_id: commentId,
        content,
      });
    } catch (error) {
      throw failure(error, `a reaction on comment ${commentId} of ${repository}`);
    }
  }

  async reply(repository: string, prNumber: number, body: string): Promise<void> {
    const [owner, repo] = splitRepository(repository);
    try {
      await this.octokit.rest.issues.createComment({ owner, repo, issue_number: prNumber, body });
    } catch (error) {
      throw failure(error, `a comment on pull request #${prNumber} of ${repository}`);
    }
  }
}

function failure(error: unknown, what: string): unknown {
  const shared = commonFailure(error, what);
  if (shared !== undefined) return shared.error;
  const status = (error as { status: number }).status;
  const message = error instanceof Error ? error.message : "";
  return new Error(`GitHub answered ${status} for ${what}: ${message}`);
}
