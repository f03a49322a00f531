/**
 * Commit statuses and issue comments on the GitHub API double, kept in memory: list (paginated with
 * `Link` headers), create and edit comments; create statuses, or fail them on demand.
 */
import type { GitHubApiDouble } from "./github-api.js";

export interface StoredComment {
  id: number;
  body: string;
}

export class GitHubComments {
  /** Comments by pull request number. */
  comments = new Map<number, StoredComment[]>();
  failStatuses = false;
  failComments = false;
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
      const items = all.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < all.length) {
        const next = new URL(request.url.pathname, github.url);
        next.searchParams.set("per_page", String(perPage));
        next.searchParams.set("page", String(page + 1));
        headers["link"] = `<${next.toString()}>; rel="next"`;
      }
      return { status: 200, body: items, headers };
    });
    github.on("POST", /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/, (m, request) => {
      if (this.failComments) return { status: 500, body: { message: "Server Error" } };
      const comment = { id: this.nextId++, body: (request.body as { body: string }).body };
      const list = this.comments.get(Number(m[3])) ?? [];
      list.push(comment);
      this.comments.set(Number(m[3]), list);
      return { status: 201, body: comment };
    });
    github.on("PATCH", /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/, (m, request) => {
      for (const list of this.comments.values()) {
        const comment = list.find((c) => c.id === Number(m[3]));
        if (comment) {
          comment.body = (request.body as { body: string }).body;
          return { status: 200, body: comment };
        }
      }
      return { status: 404, body: { message: "Not Found" } };
    });
  }

  reset(): void {
    this.comments = new Map();
    this.failStatuses = false;
    this.failComments = false;
    this.nextId = 1000;
  }
}
