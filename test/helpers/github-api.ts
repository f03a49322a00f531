/**
 * A local stand-in for the part of GitHub's REST API that branchline calls, on 127.0.0.1. Octokit
 * reaches it through `baseUrl`. It keeps pull requests in memory and records every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakePullRequest {
  number: number;
  state: "open" | "closed";
  draft?: boolean;
  merged?: boolean;
  head: { ref: string; sha: string; repo: string | null };
  base: { ref: string; repo: string };
  /** GitHub's `updated_at` (default 2026-01-01T00:00:00Z). */
  updatedAt?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string, without `?` ("" when none). */
  query: string;
  authorization: string | undefined;
  body: unknown;
}

type Route = (
  match: RegExpMatchArray,
  request: { method: string; url: URL; body: unknown },
) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

export class GitHubApiDouble {
  readonly requests: RecordedRequest[] = [];
  readonly pullRequests = new Map<string, FakePullRequest>();
  private readonly routes: { method: string; pattern: RegExp; route: Route }[] = [];
  private server: Server | undefined;
  url = "";

  constructor() {
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/, (m) => {
      const pr = this.pullRequests.get(key(`${m[1]}/${m[2]}`, Number(m[3])));
      return pr
        ? { status: 200, body: this.render(pr) }
        : { status: 404, body: { message: "Not Found" } };
    });
    // GET /repos/:o/:r/pulls?state=&base=&per_page=&page=: sorted by number, newest first as
    // GitHub does, with a Link header naming the next and last pages.
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/pulls$/, (m, { url }) => {
      const repository = `${m[1]}/${m[2]}`.toLowerCase();
      const state = url.searchParams.get("state") ?? "open";
      const base = url.searchParams.get("base");
      const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? "30"));
      const pageNumber = Math.max(1, Number(url.searchParams.get("page") ?? "1"));
      const matching = [...this.pullRequests.values()]
        .filter((pr) => pr.base.repo.toLowerCase() === repository)
        .filter((pr) => state === "all" || pr.state === state)
        .filter((pr) => base === null || pr.base.ref === base)
        .sort((a, b) => b.number - a.number);
      const last = Math.max(1, Math.ceil(matching.length / perPage));
      const items = matching.slice((pageNumber - 1) * perPage, pageNumber * perPage);
      const link = (page: number, rel: string) => {
        const next = new URL(url.pathname, this.url);
        url.searchParams.forEach((value, name) => next.searchParams.set(name, value));
        next.searchParams.set("page", String(page));
        return `<${next.toString()}>; rel="${rel}"`;
      };
      const links = pageNumber < last ? [link(pageNumber + 1, "next"), link(last, "last")] : [];
      return {
        status: 200,
        body: items.map((pr) => this.renderListItem(pr)),
        ...(links.length > 0 ? { headers: { link: links.join(", ") } } : {}),
      };
    });
  }

  /** A `pulls.list` item: like `pulls.get` but with `merged_at` instead of `merged`. */
  renderListItem(pr: FakePullRequest): Record<string, unknown> {
    const { merged, ...rest } = this.render(pr);
    return { ...rest, merged_at: merged === true ? "2026-01-01T00:00:00Z" : null };
  }

  /** The recorded requests for one path (e.g. "/repos/o/r/pulls"). */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Forgets pull requests and recorded requests; routes stay. */
  reset(): void {
    this.pullRequests.clear();
    this.requests.length = 0;
  }

  /** Adds a route; later routes win over earlier ones for the same request. */
  on(method: string, pattern: RegExp, route: Route): void {
    this.routes.unshift({ method, pattern, route });
  }

  addPullRequest(pr: FakePullRequest): void {
    this.pullRequests.set(key(pr.base.repo, pr.number), structuredClone(pr));
  }

  render(pr: FakePullRequest): Record<string, unknown> {
    const repo = (fullName: string) => ({
      full_name: fullName,
      name: fullName.split("/")[1],
      owner: { login: fullName.split("/")[0] },
    });
    return {
      number: pr.number,
      state: pr.state,
      draft: pr.draft ?? false,
      merged: pr.merged ?? false,
      html_url: `https://github.com/${pr.base.repo}/pull/${pr.number}`,
      head: {
        ref: pr.head.ref,
        sha: pr.head.sha,
        repo: pr.head.repo === null ? null : repo(pr.head.repo),
      },
      base: { ref: pr.base.ref, sha: "0".repeat(40), repo: repo(pr.base.repo) },
      updated_at: pr.updatedAt ?? "2026-01-01T00:00:00Z",
    };
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ""),
      authorization: req.headers.authorization,
      body,
    });
    for (const { method: m, pattern, route } of this.routes) {
      if (m !== method) continue;
      const match = url.pathname.match(pattern);
      if (!match) continue;
      const answer = route(match, { method, url, body });
      if (!answer) continue;
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: "Not Found" }));
  }
}

function key(repository: string, number: number): string {
  return `${repository.toLowerCase()}#${number}`;
}
