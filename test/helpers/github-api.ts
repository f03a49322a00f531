/**
 * A local stand-in for the part of GitHub's REST API that branchline calls, on 127.0.0.1. Octokit
 * reaches it through `baseUrl`. It keeps pull requests in memory and records every request.
 *
 * Repositories have numeric ids, as on GitHub. A renamed repository answers as GitHub does: any
 * request under its old name gets a 301 whose Location is the same request under
 * `/repositories/{id}`, which answers with the new name.
 *
 * GitHub Apps: {@link GitHubApiDouble.registerApp} makes it check App JWTs (RS256, verified with the
 * App's public key against the real clock, since the client signs with it) on the `/app` routes and
 * `GET /repos/{o}/{r}/installation`; `POST /app/installations/{id}/access_tokens` issues installation
 * tokens that expire `tokenLifetimeMs` after issue by the double's clock `now` (a test moves it), and
 * a request with an expired one answers 401. Every answer carries GitHub's rate-limit headers from a
 * budget a test sets ({@link GitHubApiDouble.setRateLimit}); a GET with a matching `If-None-Match`
 * answers 304, which does not count against the budget.
 */
import { createHash, randomBytes, verify, type KeyObject } from "node:crypto";
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
  /** Its labels' names (default none). */
  labels?: string[];
  /** The files it changes, as `GET .../pulls/{n}/files` lists them (at most 3000; default none). */
  files?: string[];
}

/** GitHub lists at most this many files of a pull request. */
export const GITHUB_FILES_LISTED = 3000;

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string, without `?` ("" when none). */
  query: string;
  authorization: string | undefined;
  body: unknown;
}

/**
 * An open pull request of `Codertocat/Hello-World` (the example payloads' repository) from branch
 * `feature-<n>` into `master`, with `variant`'s members instead where given.
 */
export function fakePullRequest(
  number: number,
  variant: Partial<FakePullRequest> = {},
): FakePullRequest {
  const repo = "Codertocat/Hello-World";
  return {
    number,
    state: "open",
    head: { ref: `feature-${number}`, sha: "a".repeat(40), repo },
    base: { ref: "master", repo },
    ...variant,
  };
}

/** A GitHub account as `GET /user` and comment authors show it. */
export interface FakeUser {
  login: string;
  id: number;
  type: "User" | "Bot";
}

/** Who a token authenticates: a user, or a GitHub App installation (the App's slug). */
export type FakeTokenOwner = { user: FakeUser } | { app: string };

/** The user an unlisted token belongs to. */
export const DEFAULT_TOKEN_USER: FakeUser = { login: "branchline-bot", id: 9001, type: "User" };

/** A route's answer; `undefined` passes the request on to the next route. */
export interface RouteAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A GitHub App the double knows: its JWTs verify with `publicKey`. */
export interface FakeApp {
  id: number;
  slug: string;
  publicKey: KeyObject;
}

/** An installation of the App: on every repository (`"all"`) or on the listed ones. */
export interface FakeInstallation {
  id: number;
  account: string;
  repositories: "all" | string[];
}

/** An installation access token the double issued. */
export interface FakeInstallationToken {
  installationId: number;
  /** Epoch milliseconds by the double's clock. */
  expiresAt: number;
}

/** The rate-limit budget every answer reports (GitHub's `x-ratelimit-*` headers). */
export interface FakeRateLimit {
  limit: number;
  remaining: number;
  /** Epoch seconds at which the budget is whole again. */
  reset: number;
}

/** A route may answer later (a promise), e.g. after delivering a webhook event. */
type Route = (
  match: RegExpMatchArray,
  request: { method: string; url: URL; body: unknown; authorization: string | undefined },
) => RouteAnswer | undefined | Promise<RouteAnswer | undefined>;

export class GitHubApiDouble {
  readonly requests: RecordedRequest[] = [];
  readonly pullRequests = new Map<string, FakePullRequest>();
  /** Tokens and whom they authenticate; any other token is {@link DEFAULT_TOKEN_USER}'s. */
  readonly tokens = new Map<string, FakeTokenOwner>();
  private readonly routes: { method: string; pattern: RegExp; route: Route }[] = [];
  /** Repository ids by lower-cased full name, and current names by id. */
  private readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  /** Old lower-cased full names of renamed repositories, with their ids. */
  private readonly moved = new Map<string, number>();
  private nextRepositoryId = 1296269;
  private server: Server | undefined;
  url = "";
  /** The App whose JWTs are accepted; `undefined`: no App routes answer. */
  app: FakeApp | undefined;
  readonly installations = new Map<number, FakeInstallation>();
  readonly installationTokens = new Map<string, FakeInstallationToken>();
  /** How long an installation token lives (GitHub: one hour). */
  tokenLifetimeMs = 60 * 60 * 1000;
  /** The clock installation tokens expire by (epoch milliseconds). */
  now: () => number = Date.now;
  rateLimit: FakeRateLimit = defaultRateLimit();

  constructor() {
    // The App's own routes: a valid App JWT only.
    this.on("GET", /^\/app$/, (_m, { authorization }) => {
      const app = this.appOf(authorization);
      if ("status" in app) return app;
      return { status: 200, body: { id: app.id, slug: app.slug, name: app.slug } };
    });
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/installation$/, (m, { authorization }) => {
      const app = this.appOf(authorization);
      if ("status" in app) return app;
      const installation = this.installationOf(`${m[1]}/${m[2]}`);
      return installation
        ? {
            status: 200,
            body: {
              id: installation.id,
              app_id: app.id,
              app_slug: app.slug,
              account: { login: installation.account },
              repository_selection: installation.repositories === "all" ? "all" : "selected",
              permissions: APP_PERMISSIONS,
            },
          }
        : { status: 404, body: { message: "Not Found" } };
    });
    this.on("POST", /^\/app\/installations\/(\d+)\/access_tokens$/, (m, { authorization }) => {
      const app = this.appOf(authorization);
      if ("status" in app) return app;
      const installation = this.installations.get(Number(m[1]));
      if (!installation) return { status: 404, body: { message: "Not Found" } };
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      const expiresAt = this.now() + this.tokenLifetimeMs;
      this.installationTokens.set(token, { installationId: installation.id, expiresAt });
      this.tokens.set(token, { app: app.slug });
      return {
        status: 201,
        body: {
          token,
          expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
          permissions: APP_PERMISSIONS,
          repository_selection: installation.repositories === "all" ? "all" : "selected",
        },
      };
    });
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)$/, (m) => {
      const id = this.ids.get(`${m[1]}/${m[2]}`.toLowerCase());
      const fullName = id === undefined ? undefined : this.names.get(id);
      return id === undefined || fullName === undefined
        ? { status: 404, body: { message: "Not Found" } }
        : { status: 200, body: this.repo(fullName) };
    });
    // GET /user: the token's user; an App installation token is refused as GitHub refuses it.
    this.on("GET", /^\/user$/, (_m, { authorization }) => {
      const owner = this.whoIs(authorization);
      if (!owner) return { status: 401, body: { message: "Requires authentication" } };
      if ("app" in owner) {
        return {
          status: 403,
          body: {
            message: "Resource not accessible by integration",
            documentation_url:
              "https://docs.github.com/rest/users/users#get-the-authenticated-user",
            status: "403",
          },
        };
      }
      return { status: 200, body: { ...owner.user } };
    });
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/, (m) => {
      const pr = this.pullRequests.get(key(`${m[1]}/${m[2]}`, Number(m[3])));
      return pr
        ? { status: 200, body: this.render(pr) }
        : { status: 404, body: { message: "Not Found" } };
    });
    // GET /repos/:o/:r/pulls/:n/files?per_page=&page=: at most 3000 files, as GitHub lists them.
    this.on("GET", /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/files$/, (m, { url }) => {
      const pr = this.pullRequests.get(key(`${m[1]}/${m[2]}`, Number(m[3])));
      if (!pr) return { status: 404, body: { message: "Not Found" } };
      const files = (pr.files ?? []).slice(0, GITHUB_FILES_LISTED);
      return this.page(url, files, (filename, index) => ({
        sha: index.toString(16).padStart(40, "0"),
        filename,
        status: "modified",
        additions: 1,
        deletions: 0,
        changes: 1,
      }));
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

  /** One page of `items` (`per_page`, at most 100, and `page`), with GitHub's Link header. */
  private page<T>(
    url: URL,
    items: readonly T[],
    render: (item: T, index: number) => unknown,
  ): RouteAnswer {
    const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? "30"));
    const pageNumber = Math.max(1, Number(url.searchParams.get("page") ?? "1"));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const start = (pageNumber - 1) * perPage;
    const link = (page: number, rel: string) => {
      const next = new URL(url.pathname, this.url);
      url.searchParams.forEach((value, name) => next.searchParams.set(name, value));
      next.searchParams.set("page", String(page));
      return `<${next.toString()}>; rel="${rel}"`;
    };
    const links = pageNumber < last ? [link(pageNumber + 1, "next"), link(last, "last")] : [];
    return {
      status: 200,
      body: items.slice(start, start + perPage).map((item, i) => render(item, start + i)),
      ...(links.length > 0 ? { headers: { link: links.join(", ") } } : {}),
    };
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

  /**
   * Forgets pull requests, repositories, renames, tokens, the App and its installations, and
   * recorded requests; the budget and the clock are set back. Routes stay.
   */
  reset(): void {
    this.pullRequests.clear();
    this.tokens.clear();
    this.app = undefined;
    this.installations.clear();
    this.installationTokens.clear();
    this.tokenLifetimeMs = 60 * 60 * 1000;
    this.now = Date.now;
    this.rateLimit = defaultRateLimit();
    this.requests.length = 0;
    this.ids.clear();
    this.names.clear();
    this.moved.clear();
  }

  /** The repository's id, given on first use as GitHub gives one when a repository is created. */
  repositoryId(fullName: string): number {
    const known = this.ids.get(fullName.toLowerCase());
    if (known !== undefined) return known;
    const id = this.nextRepositoryId++;
    this.ids.set(fullName.toLowerCase(), id);
    this.names.set(id, fullName);
    return id;
  }

  /**
   * Renames (or transfers) a repository as GitHub does: same id, its pull requests answer with the
   * new name, and requests for the old name are redirected.
   */
  renameRepository(from: string, to: string): void {
    const id = this.repositoryId(from);
    this.ids.delete(from.toLowerCase());
    this.ids.set(to.toLowerCase(), id);
    this.names.set(id, to);
    this.moved.set(from.toLowerCase(), id);
    for (const [old, pr] of [...this.pullRequests]) {
      if (pr.base.repo.toLowerCase() !== from.toLowerCase()) continue;
      this.pullRequests.delete(old);
      if (pr.head.repo?.toLowerCase() === from.toLowerCase()) pr.head.repo = to;
      pr.base.repo = to;
      this.pullRequests.set(key(to, pr.number), pr);
    }
  }

  /** Whom an `Authorization` header authenticates, or `undefined` without one. */
  whoIs(authorization: string | undefined): FakeTokenOwner | undefined {
    const token = authorization?.replace(/^(token|bearer)\s+/i, "");
    if (!token) return undefined;
    return this.tokens.get(token) ?? { user: DEFAULT_TOKEN_USER };
  }

  /** Makes the double accept the App's JWTs (see the file comment). */
  registerApp(app: FakeApp): void {
    this.app = app;
  }

  /** Installs the App on `repositories` (full names) or on every repository. */
  addInstallation(installation: FakeInstallation): void {
    this.installations.set(installation.id, installation);
  }

  /** Sets the budget: `remaining` of `limit` requests until `resetAt` (default in an hour). */
  setRateLimit(limit: number, remaining: number, resetAt = new Date(Date.now() + 3600_000)): void {
    this.rateLimit = { limit, remaining, reset: Math.floor(resetAt.getTime() / 1000) };
  }

  /** The installation of the App covering `repository`, if any. */
  installationOf(repository: string): FakeInstallation | undefined {
    const name = repository.toLowerCase();
    return [...this.installations.values()].find(
      (installation) =>
        installation.repositories === "all" ||
        installation.repositories.some((r) => r.toLowerCase() === name),
    );
  }

  /**
   * The App a `bearer <JWT>` header proves, or GitHub's 401 answer (404 when no App is set): for
   * the App's own routes, here and in the route modules (test/helpers/github-hooks.ts).
   */
  appOf(authorization: string | undefined): FakeApp | RouteAnswer {
    const refused = (message: string): RouteAnswer => ({ status: 401, body: { message } });
    const app = this.app;
    if (!app) return { status: 404, body: { message: "Not Found" } };
    const jwt = /^bearer\s+(.+)$/i.exec(authorization ?? "")?.[1];
    if (!jwt) {
      return refused("A JSON web token could not be decoded (this endpoint needs the App's JWT)");
    }
    const problem = jwtProblem(jwt, app, Math.floor(Date.now() / 1000));
    return problem === undefined ? app : refused(problem);
  }

  /**
   * GitHub's refusal of a request authenticated by an installation token: 401 once it expired,
   * 404 for a repository the installation does not cover (GitHub does not say it exists).
   */
  private installationRefusal(
    authorization: string | undefined,
    pathname: string,
  ): RouteAnswer | undefined {
    const token = /^(?:token|bearer)\s+(ghs_\S+)$/i.exec(authorization ?? "")?.[1];
    const issued = token === undefined ? undefined : this.installationTokens.get(token);
    if (!issued) return undefined;
    if (this.now() >= issued.expiresAt) {
      return {
        status: 401,
        body: {
          message: "Bad credentials",
          documentation_url: "https://docs.github.com/rest",
          status: "401",
        },
      };
    }
    const named = /^\/repos\/([^/]+)\/([^/]+)/.exec(pathname);
    if (named && this.installationOf(`${named[1]}/${named[2]}`)?.id !== issued.installationId) {
      return { status: 404, body: { message: "Not Found" } };
    }
    return undefined;
  }

  /** GitHub's rate-limit headers for the budget as it is now. */
  private rateLimitHeaders(): Record<string, string> {
    const { limit, remaining, reset } = this.rateLimit;
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(reset),
      "x-ratelimit-used": String(limit - remaining),
      "x-ratelimit-resource": "core",
    };
  }

  /** Adds a route; later routes win over earlier ones for the same request. */
  on(method: string, pattern: RegExp, route: Route): void {
    this.routes.unshift({ method, pattern, route });
  }

  addPullRequest(pr: FakePullRequest): void {
    this.repositoryId(pr.base.repo);
    if (pr.head.repo !== null) this.repositoryId(pr.head.repo);
    this.pullRequests.set(key(pr.base.repo, pr.number), structuredClone(pr));
  }

  /** A repository as the API renders it (the members branchline and the tests read). */
  repo(fullName: string): Record<string, unknown> {
    return {
      id: this.repositoryId(fullName),
      full_name: fullName,
      name: fullName.split("/")[1],
      owner: { login: fullName.split("/")[0] },
    };
  }

  render(pr: FakePullRequest): Record<string, unknown> {
    const repo = (fullName: string) => this.repo(fullName);
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
      labels: (pr.labels ?? []).map((name, index) => ({
        id: 208045946 + index,
        name,
        color: "f29513",
        default: false,
      })),
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
    // A renamed repository: the old name redirects, `/repositories/{id}` answers as the new name.
    const named = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const oldName = named ? `${named[1]}/${named[2]}`.toLowerCase() : undefined;
    const movedTo = oldName === undefined ? undefined : this.moved.get(oldName);
    if (named && oldName !== undefined && movedTo !== undefined && !this.ids.has(oldName)) {
      const location = `${this.url}/repositories/${movedTo}${named[3] ?? ""}${url.search}`;
      res.writeHead(301, { "content-type": "application/json", location });
      res.end(
        JSON.stringify({
          message: "Moved Permanently",
          url: location,
          documentation_url:
            "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
        }),
      );
      return;
    }
    let pathname = url.pathname;
    const byId = /^\/repositories\/(\d+)(\/.*)?$/.exec(pathname);
    if (byId) {
      const current = this.names.get(Number(byId[1]));
      if (current !== undefined) pathname = `/repos/${current}${byId[2] ?? ""}`;
    }
    const answer = (await this.answer(method, url, pathname, body, req.headers.authorization)) ?? {
      status: 404,
      body: { message: "Not Found" },
    };
    const answerText = answer.body === undefined ? "" : JSON.stringify(answer.body);
    const etag =
      method === "GET" && answer.status === 200
        ? `W/"${createHash("sha1")
            .update(answerText + (answer.headers?.["link"] ?? ""))
            .digest("hex")}"`
        : undefined;
    if (etag !== undefined && req.headers["if-none-match"] === etag) {
      // A conditional request whose answer did not change: 304, not counted against the budget.
      res.writeHead(304, { etag, ...this.rateLimitHeaders() });
      res.end();
      return;
    }
    this.rateLimit.remaining = Math.max(0, this.rateLimit.remaining - 1);
    res.writeHead(answer.status, {
      "content-type": "application/json",
      ...this.rateLimitHeaders(),
      ...(etag !== undefined ? { etag } : {}),
      ...answer.headers,
    });
    res.end(answerText);
  }

  /** The first route's answer, after the budget and the installation token are checked. */
  private async answer(
    method: string,
    url: URL,
    pathname: string,
    body: unknown,
    authorization: string | undefined,
  ): Promise<RouteAnswer | undefined> {
    if (this.rateLimit.remaining <= 0) {
      return {
        status: 403,
        body: {
          message: "API rate limit exceeded",
          documentation_url:
            "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
        },
      };
    }
    const refusal = this.installationRefusal(authorization, pathname);
    if (refusal) return refusal;
    for (const { method: m, pattern, route } of this.routes) {
      if (m !== method) continue;
      const match = pathname.match(pattern);
      if (!match) continue;
      const answer = await route(match, { method, url, body, authorization });
      if (answer) return answer;
    }
    return undefined;
  }
}

/** The permissions branchline's App asks for (installation answers echo them). */
const APP_PERMISSIONS = {
  metadata: "read",
  contents: "read",
  pull_requests: "read",
  statuses: "write",
  issues: "write",
};

function defaultRateLimit(): FakeRateLimit {
  return { limit: 5000, remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600 };
}

/**
 * Why GitHub would refuse the JWT, or `undefined` when it is a valid App JWT: RS256 signed by the
 * App's key, issued by the App's id, issued no later than a minute from now, not expired, and
 * living at most ten minutes.
 */
export function jwtProblem(jwt: string, app: FakeApp, nowSeconds: number): string | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3) return "A JSON web token could not be decoded";
  const [header, payload, signature] = parts as [string, string, string];
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  let alg: unknown;
  try {
    alg = (JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
  } catch {
    return "A JSON web token could not be decoded";
  }
  if (alg !== "RS256") return "A JSON web token could not be decoded";
  const valid = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    app.publicKey,
    Buffer.from(signature, "base64url"),
  );
  if (!valid) return "A JSON web token could not be decoded";
  if (String(claims.iss) !== String(app.id)) {
    return "'Issuer' claim ('iss') must be an Integer";
  }
  if (typeof claims.iat !== "number" || claims.iat > nowSeconds + 60) {
    return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
  }
  if (typeof claims.exp !== "number" || claims.exp <= nowSeconds) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  }
  if (claims.exp - claims.iat > 600)
    return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}

function key(repository: string, number: number): string {
  return `${repository.toLowerCase()}#${number}`;
}
