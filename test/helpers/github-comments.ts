/**
 * Commit statuses and issue comments on the GitHub API double, kept in memory: list (paginated with
 * `Link` headers), create, edit and delete comments; create statuses, or fail them on demand. A
 * comment has an author: the one the request's token authenticates (see `GitHubApiDouble.tokens`);
 * an App installation token writes as `<slug>[bot]`, a Bot with `performed_via_github_app`.
 */
import { DEFAULT_TOKEN_USER, type FakeUser, type GitHubApiDouble } from "./github-api.js";

export interface StoredComment {
  id: number;
  body: string;
  /** The author; seeded comments without one are by {@link SOMEONE_ELSE}. */
  user?: Pick<FakeUser, "login" | "type">;
  performed_via_github_app?: { slug: string } | null;
}

/** A person in the discussion who is not branchline. */
export const SOMEONE_ELSE: Pick<FakeUser, "login" | "type"> = { login: "octocat", type: "User" };

/** The author of comments written with the default token. */
export const BRANCHLINE: Pick<FakeUser, "login" | "type"> = {
  login: DEFAULT_TOKEN_USER.login,
  type: DEFAULT_TOKEN_USER.type,
};

export class GitHubComments {
  /** Comments by pull request number. */
  comments = new Map<number, StoredComment[]>();
  failStatuses = false;
  failComments = false;
  /** Runs once, right after the next list of a pull request's comments was answered. */
  afterNextList: ((prNumber: number) => void) | undefined;
  /** Runs once, right after the next comment was created. */
  afterNextCreate: ((prNumber: number, comment: StoredComment) => void) | undefined;
  private nextId = 1000;

  constructor(github: GitHubApiDouble) {
    github.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/, (_m, request) =>
      this.failStatuses
        ? { status: 500, body: { message: "Server Error" } }
        : { status: 201, body: { id: 1, ...(request.body as object) } },
    );
    github.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/, (m, request) => {
      const all = this.comments.get(Number(m[3])) ?? [];
      const perPage = Number(request.url.searchParams.get("per_page") ?? 30);
      const page = Number(request.url.searchParams.get("page") ?? 1);
      const items = all.slice((page - 1) * perPage, page * perPage).map(render);
      const headers: Record<string, string> = {};
      if (page * perPage < all.length) {
        const next = new URL(request.url.pathname, github.url);
        next.searchParams.set("per_page", String(perPage));
        next.searchParams.set("page", String(page + 1));
        headers["link"] = `<${next.toString()}>; rel="next"`;
      }
      const hook = this.afterNextList;
      this.afterNextList = undefined;
      hook?.(Number(m[3]));
      return { status: 200, body: items, headers };
    });
    github.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/, (m, request) => {
      if (this.failComments) return { status: 500, body: { message: "Server Error" } };
      const owner = github.whoIs(request.authorization);
      if (!owner) return { status: 401, body: { message: "Requires authentication" } };
      const comment: StoredComment = {
        id: this.nextId++,
        body: (request.body as { body: string }).body,
        ...("app" in owner
          ? {
              user: { login: `${owner.app}[bot]`, type: "Bot" as const },
              performed_via_github_app: { slug: owner.app },
            }
          : { user: { login: owner.user.login, type: owner.user.type } }),
      };
      this.add(Number(m[3]), comment);
      const hook = this.afterNextCreate;
      this.afterNextCreate = undefined;
      hook?.(Number(m[3]), comment);
      return { status: 201, body: render(comment) };
    });
    github.on("PATCH", /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/, (m, request) => {
      const comment = this.find(Number(m[3]));
      if (!comment) return { status: 404, body: { message: "Not Found" } };
      comment.body = (request.body as { body: string }).body;
      return { status: 200, body: render(comment) };
    });
    github.on("DELETE", /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/, (m) => {
      for (const [number, list] of this.comments) {
        const kept = list.filter((c) => c.id !== Number(m[3]));
        if (kept.length === list.length) continue;
        this.comments.set(number, kept);
        return { status: 204 };
      }
      return { status: 404, body: { message: "Not Found" } };
    });
  }

  /** Adds a comment as if someone had written it now (it gets the next id). */
  write(prNumber: number, comment: Omit<StoredComment, "id">): StoredComment {
    const stored = { id: this.nextId++, ...comment };
    this.add(prNumber, stored);
    return stored;
  }

  reset(): void {
    this.comments = new Map();
    this.failStatuses = false;
    this.failComments = false;
    this.afterNextList = undefined;
    this.afterNextCreate = undefined;
    this.nextId = 1000;
  }

  private add(prNumber: number, comment: StoredComment): void {
    const list = this.comments.get(prNumber) ?? [];
    list.push(comment);
    this.comments.set(prNumber, list);
  }

  private find(id: number): StoredComment | undefined {
    for (const list of this.comments.values()) {
      const comment = list.find((c) => c.id === id);
      if (comment) return comment;
    }
    return undefined;
  }
}

/** A comment as GitHub's API shows it (the members branchline reads). */
function render(comment: StoredComment): Record<string, unknown> {
  return {
    id: comment.id,
    body: comment.body,
    user: comment.user ?? SOMEONE_ELSE,
    performed_via_github_app: comment.performed_via_github_app ?? null,
  };
}
