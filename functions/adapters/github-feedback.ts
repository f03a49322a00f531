/** Commit statuses and the clone's pull request comment through Octokit. */
import type { Octokit } from "@octokit/rest";
import type {
  CommentResult,
  CommitStatuses,
  PullRequestComments,
  UpsertOptions,
} from "../app/feedback.js";
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

/**
 * Who branchline's token writes comments as. For a user's token (a personal access token, a
 * machine user's token) `GET /user` names the login. A GitHub App installation token may not call
 * `GET /user` (GitHub answers 403 "Resource not accessible by integration") and cannot learn its
 * App's slug either: such a token owns the comments written by a GitHub App's bot (`user.type`
 * "Bot", login `<app-slug>[bot]` with `performed_via_github_app` naming that App): any App
 * installed on the repository, never a person. When branchline authenticates as the App itself it
 * knows the slug (`GET /app`), and only that App's bot's comments are its own.
 */
export type CommentAuthor = { kind: "user"; login: string } | { kind: "app"; slug?: string };

/**
 * The token's {@link CommentAuthor}, asked of GitHub once and kept: build one per container and
 * hand it to every {@link OctokitPullRequestComments}. A failed look-up is not kept. `lookup`
 * (default: `GET /user`) is how it is asked.
 */
export class GitHubIdentity {
  private known: Promise<CommentAuthor> | undefined;

  constructor(private readonly lookup: (octokit: Octokit) => Promise<CommentAuthor> = whoAmI) {}

  of(octokit: Octokit): Promise<CommentAuthor> {
    if (!this.known) {
      const lookup = this.lookup(octokit);
      this.known = lookup;
      lookup.catch(() => {
        if (this.known === lookup) this.known = undefined;
      });
    }
    return this.known;
  }
}

async function whoAmI(octokit: Octokit): Promise<CommentAuthor> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return { kind: "user", login: data.login };
  } catch (error) {
    const status = (error as { status?: unknown } | null)?.status;
    const message = error instanceof Error ? error.message : "";
    if (status === 403 && /not accessible by integration/i.test(message)) return { kind: "app" };
    throw error;
  }
}

/** The members of an issue comment that ownership looks at. */
interface CommentData {
  id: number;
  body?: string | undefined;
  user?: { login: string; type?: string | undefined } | null | undefined;
  performed_via_github_app?: { slug?: string | undefined } | null | undefined;
}

/** Whether `author` wrote the comment (see {@link CommentAuthor} for a GitHub App's token). */
export function writtenBy(comment: CommentData, author: CommentAuthor): boolean {
  const login = comment.user?.login;
  if (!login) return false;
  if (author.kind === "user") return login.toLowerCase() === author.login.toLowerCase();
  const slug = comment.performed_via_github_app?.slug;
  if (author.slug !== undefined && slug !== author.slug) return false;
  return comment.user?.type === "Bot" && !!slug && login === `${slug}[bot]`;
}

export class OctokitPullRequestComments implements PullRequestComments {
  constructor(
    private readonly octokit: Octokit,
    private readonly identity: GitHubIdentity = new GitHubIdentity(),
  ) {}

  /**
   * Reads every page of comments (100 a page) for branchline's own comments with the marker; a
   * comment by anyone else is ignored even when it carries the marker. Edits the oldest own comment
   * (only when its text changed) and deletes any newer duplicate; creates one when there is none.
   *
   * Two writers (the webhook's announcement and the first execution event) may both find no
   * comment and both create one. So after creating, the comments are read again: whoever did not
   * create the oldest own comment deletes its own and writes its text into the oldest, unless
   * `yieldOnRace`. Comment ids grow with time, so both agree on which is the oldest.
   */
  async upsert(
    repository: string,
    prNumber: number,
    marker: string,
    body: string,
    options: UpsertOptions = {},
  ): Promise<CommentResult> {
    const [owner, repo] = splitRepository(repository);
    const author = await this.identity.of(this.octokit);
    const own = await this.ownComments(owner, repo, prNumber, marker, author);
    const [oldest, ...duplicates] = own;
    if (oldest) {
      await this.delete(owner, repo, duplicates);
      if (oldest.body === body) return "unchanged";
      await this.octokit.rest.issues.updateComment({ owner, repo, comment_id: oldest.id, body });
      return "updated";
    }

    const { data: created } = await this.octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: prNumber,
      body,
    });
    const now = await this.ownComments(owner, repo, prNumber, marker, author);
    const first = now[0];
    if (!first || first.id >= created.id) {
      await this.delete(
        owner,
        repo,
        now.filter((comment) => comment.id > created.id),
      );
      return "created";
    }
    // Another writer's comment is older: it stays, ours goes (even if the list missed it).
    await this.delete(owner, repo, [
      created,
      ...now.filter((comment) => comment.id !== first.id && comment.id !== created.id),
    ]);
    if (options.yieldOnRace || first.body === body) return "unchanged";
    await this.octokit.rest.issues.updateComment({ owner, repo, comment_id: first.id, body });
    return "updated";
  }

  /** branchline's comments with the marker, oldest first. */
  private async ownComments(
    owner: string,
    repo: string,
    prNumber: number,
    marker: string,
    author: CommentAuthor,
  ): Promise<CommentData[]> {
    const pages = this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: prNumber,
      per_page: 100,
    });
    const own: CommentData[] = [];
    for await (const page of pages) {
      for (const comment of page.data) {
        if (comment.body?.includes(marker) && writtenBy(comment, author)) own.push(comment);
      }
    }
    return own.sort((a, b) => a.id - b.id);
  }

  /** Deletes comments; one already gone (the other writer deleted it too) is not an error. */
  private async delete(owner: string, repo: string, comments: CommentData[]): Promise<void> {
    for (const comment of comments) {
      try {
        await this.octokit.rest.issues.deleteComment({ owner, repo, comment_id: comment.id });
      } catch (error) {
        if ((error as { status?: unknown } | null)?.status !== 404) throw error;
      }
    }
  }
}
