/** Commit statuses and the clone's pull request comment through Octokit. */
import type { Octokit } from "@octokit/rest";
import type { CommentResult, CommitStatuses, PullRequestComments } from "../app/feedback.js";
import type { CommitStatus } from "../core/feedback.js";
import { splitRepository } from "./github.js";

export class OctokitCommitStatuses implements CommitStatuses {
  constructor(private readonly octokit: Octokit) {}

  async post(repository: string, sha: string, status: CommitStatus): Promise<void> {
    const [owner, repo] = splitRepository(repository);
    await this.octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state: status.state,
      context: status.context,
      description: status.description,
      ...(status.targetUrl !== undefined ? { target_url: status.targetUrl } : {}),
    });
  }
}

export class OctokitPullRequestComments implements PullRequestComments {
  constructor(private readonly octokit: Octokit) {}

  /**
   * Reads the comments page by page (100 a page) until the marker is found; edits that comment
   * (only when its text changed) or creates one when no page has it.
   */
  async upsert(
    repository: string,
    prNumber: number,
    marker: string,
    body: string,
  ): Promise<CommentResult> {
    const [owner, repo] = splitRepository(repository);
    const pages = this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: prNumber,
      per_page: 100,
    });
    for await (const page of pages) {
      const ours = page.data.find((comment) => comment.body?.includes(marker));
      if (!ours) continue;
      if (ours.body === body) return "unchanged";
      await this.octokit.rest.issues.updateComment({ owner, repo, comment_id: ours.id, body });
      return "updated";
    }
    await this.octokit.rest.issues.createComment({ owner, repo, issue_number: prNumber, body });
    return "created";
  }
}
