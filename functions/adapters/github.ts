/** GitHub's API through Octokit. `baseUrl` points it at GitHub Enterprise or a local test server. */
import { Octokit } from "@octokit/rest";
import {
  GitHubRateLimitError,
  rateLimitStopMessage,
  type GitHubPullRequests,
  type OpenPullRequests,
} from "../app/ports.js";
import { normaliseTimestamp, type PullRequest } from "../core/classify.js";
import { BadRequestError } from "../core/errors.js";
import type { RepositoryIdentity } from "../core/reconcile.js";
import { GITHUB_FILES_LIMIT, type ChangedFiles } from "../core/selection.js";

/** An Octokit client; without a token it is anonymous (public repositories, a low rate limit). */
export function createOctokit(
  token: string | undefined,
  baseUrl: string | undefined,
  signal?: AbortSignal,
): Octokit {
  return new Octokit({
    ...(token ? { auth: token } : {}),
    // Failed requests surface as errors the callers report in their own structured logs.
    log: { debug: noop, info: noop, warn: console.warn, error: noop },
    userAgent: "branchline",
    ...(baseUrl ? { baseUrl } : {}),
    ...(signal ? { request: { signal } } : {}),
  });
}

function noop(): void {}

/** The share of the rate limit a sweep leaves unspent for the webhook and the worker (10%). */
export const SWEEP_RESERVE_FRACTION = 0.1;

/** The budget GitHub's `x-ratelimit-*` headers last showed. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Epoch milliseconds at which the budget is whole again. */
  resetAt: number;
}

/**
 * Reads GitHub's rate-limit headers from every answer (also errors, and 304s) of the clients it
 * watches, kept for the container. With a reserve, a client stops before a request while the budget
 * left is at most the reserve ({@link SWEEP_RESERVE_FRACTION} of the limit) and not yet reset: the
 * request fails with a {@link GitHubRateLimitError} that says what was left and until when.
 */
export class RateLimitObserver {
  private state: RateLimitState | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** What the last answer showed; `undefined` before any answer with the headers. */
  current(): RateLimitState | undefined {
    return this.state === undefined ? undefined : { ...this.state };
  }

  observe(headers: Record<string, unknown> | undefined, path: string): void {
    // The App's own routes (its JWT) have a budget of their own.
    if (headers === undefined || /^\/app(?:\/|$)|\/installation$/.test(path)) return;
    const limit = Number(headers["x-ratelimit-limit"]);
    const remaining = Number(headers["x-ratelimit-remaining"]);
    const reset = Number(headers["x-ratelimit-reset"]);
    if (![limit, remaining, reset].every(Number.isFinite)) return;
    this.state = { limit, remaining, resetAt: reset * 1000 };
  }

  /** Watches `octokit`'s answers; with `reserve`, stops it at the reserve (see the class). */
  watch(octokit: Octokit, options: { reserve?: boolean } = {}): void {
    const pathOf = (url: string) => url.replace(/^https?:\/\/[^/]+/, "").split("?")[0] ?? url;
    octokit.hook.after("request", (response, request) => {
      this.observe(response.headers as Record<string, unknown>, pathOf(request.url));
    });
    octokit.hook.error("request", (error, request) => {
      const headers = (error as { response?: { headers?: Record<string, unknown> } }).response
        ?.headers;
      this.observe(headers, pathOf(request.url));
      throw error;
    });
    if (!options.reserve) return;
    octokit.hook.before("request", () => {
      const state = this.state;
      if (state === undefined || this.now() >= state.resetAt) return;
      const reserve = Math.max(1, Math.ceil(state.limit * SWEEP_RESERVE_FRACTION));
      if (state.remaining > reserve) return;
      const stop = { remaining: state.remaining, resetAt: new Date(state.resetAt) };
      throw new GitHubRateLimitError(rateLimitStopMessage(stop), stop);
    });
  }
}

/**
 * The last answer of each page of open pull requests per repository (and base branch), with its
 * ETag, kept for the container: the sweep asks again with `If-None-Match`, and GitHub's 304 (which
 * does not count against the rate limit) means the kept answer is still right.
 */
export class OpenPullRequestCache {
  private readonly pages = new Map<string, { etag: string; items: PullRequest[]; next: boolean }>();

  get(key: string): { etag: string; items: PullRequest[]; next: boolean } | undefined {
    return this.pages.get(key);
  }

  set(key: string, page: { etag: string; items: PullRequest[]; next: boolean }): void {
    this.pages.set(key, page);
  }
}

export class OctokitPullRequests implements GitHubPullRequests, OpenPullRequests {
  constructor(
    private readonly octokit: Octokit,
    /** With a cache the listing is conditional (ETags); without one it is not. */
    private readonly openCache?: OpenPullRequestCache,
  ) {}

  async get(repository: string, number: number): Promise<PullRequest> {
    const [owner, repo] = splitRepository(repository);
    try {
      const { data } = await this.octokit.rest.pulls.get({ owner, repo, pull_number: number });
      return { ...fromGitHub(data), merged: data.merged === true };
    } catch (error) {
      throw translate(error, `pull request #${number} of ${repository}`);
    }
  }

  /** GET /repos/{owner}/{repo}; a moved repository answers 301, which fetch follows. */
  async repository(repository: string): Promise<RepositoryIdentity> {
    const [owner, repo] = splitRepository(repository);
    try {
      const { data } = await this.octokit.rest.repos.get({ owner, repo });
      return { id: data.id, fullName: data.full_name };
    } catch (error) {
      throw translate(error, `repository ${repository}`);
    }
  }

  /** Every page of the pull request's files, 100 a page; GitHub stops at 3000 files. */
  async changedFiles(repository: string, number: number): Promise<ChangedFiles> {
    const [owner, repo] = splitRepository(repository);
    try {
      const files = await this.octokit.paginate(this.octokit.rest.pulls.listFiles, {
        owner,
        repo,
        pull_number: number,
        per_page: 100,
      });
      // A renamed file matches by its new name and by its old one.
      const names = files.flatMap((file) => [
        file.filename,
        ...(file.previous_filename ? [file.previous_filename] : []),
      ]);
      return { files: names, truncated: files.length >= GITHUB_FILES_LIMIT };
    } catch (error) {
      throw translate(error, `the files of pull request #${number} of ${repository}`);
    }
  }

  async listOpen(repository: string, baseBranch?: string): Promise<PullRequest[]> {
    const [owner, repo] = splitRepository(repository);
    if (this.openCache) return this.listOpenConditionally(owner, repo, baseBranch, this.openCache);
    try {
      const list = await this.octokit.paginate(this.octokit.rest.pulls.list, {
        owner,
        repo,
        state: "open",
        ...(baseBranch !== undefined ? { base: baseBranch } : {}),
        per_page: 100,
      });
      return list.map((data) => ({ ...fromGitHub(data), merged: data.merged_at != null }));
    } catch (error) {
      throw translate(error, `open pull requests of ${repository}`);
    }
  }

  /** Page by page, each asked with the ETag of its kept answer; a 304 reuses that answer. */
  private async listOpenConditionally(
    owner: string,
    repo: string,
    baseBranch: string | undefined,
    cache: OpenPullRequestCache,
  ): Promise<PullRequest[]> {
    const all: PullRequest[] = [];
    for (let page = 1; ; page++) {
      const key = `${owner}/${repo}`.toLowerCase() + `?base=${baseBranch ?? ""}&page=${page}`;
      const kept = cache.get(key);
      let items: PullRequest[];
      let next: boolean;
      try {
        const response = await this.octokit.rest.pulls.list({
          owner,
          repo,
          state: "open",
          ...(baseBranch !== undefined ? { base: baseBranch } : {}),
          per_page: 100,
          ...(page > 1 ? { page } : {}),
          ...(kept ? { headers: { "if-none-match": kept.etag } } : {}),
        });
        items = response.data.map((data) => ({
          ...fromGitHub(data),
          merged: data.merged_at != null,
        }));
        next = /rel="next"/.test(response.headers.link ?? "");
        const etag = response.headers.etag;
        if (etag) cache.set(key, { etag, items, next });
      } catch (error) {
        if (!(kept && notModified(error))) {
          throw translate(error, `open pull requests of ${owner}/${repo}`);
        }
        ({ items, next } = kept);
      }
      all.push(...items.map((pr) => ({ ...pr })));
      if (!next) return all;
    }
  }
}

/** GitHub's 304 Not Modified, which Octokit reports as an error. */
function notModified(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 304;
}

/** The members `pulls.get` and `pulls.list` items share. */
interface GitHubPullRequestData {
  number: number;
  state: string;
  draft?: boolean | undefined;
  head: { ref: string; sha: string; repo: { full_name: string } | null };
  base: { ref: string; repo: { full_name: string; id?: number } };
  updated_at?: string | undefined;
  labels?: { name?: string | undefined }[] | undefined;
  user?: { login: string } | null | undefined;
  author_association?: string | undefined;
}

function fromGitHub(data: GitHubPullRequestData): Omit<PullRequest, "merged"> {
  return {
    number: data.number,
    state: data.state === "closed" ? "closed" : "open",
    draft: data.draft === true,
    headBranch: data.head.ref,
    headSha: data.head.sha,
    headRepository: data.head.repo?.full_name,
    baseBranch: data.base.ref,
    baseRepository: data.base.repo.full_name,
    ...(typeof data.base.repo.id === "number" ? { baseRepositoryId: data.base.repo.id } : {}),
    updatedAt: data.updated_at === undefined ? undefined : normaliseTimestamp(data.updated_at),
    labels: (data.labels ?? []).flatMap((label) =>
      typeof label.name === "string" ? [label.name] : [],
    ),
    ...(data.user?.login !== undefined ? { author: data.user.login } : {}),
    ...(data.author_association !== undefined
      ? { authorAssociation: data.author_association }
      : {}),
  };
}

/** Octokit's request errors as messages a reader can act on; rate limits get their own type. */
function translate(error: unknown, what: string): unknown {
  const shared = commonFailure(error, what);
  if (shared !== undefined) return shared.error;
  const status = (error as { status: number }).status;
  const message = error instanceof Error ? error.message : "";
  if (status === 401) return new Error(`GitHub refused the token (401) reading ${what}`);
  if (status === 404) {
    return new Error(
      `GitHub answered 404 for ${what} (it does not exist, or the repository is private and needs a token)`,
    );
  }
  return new Error(`GitHub answered ${status} reading ${what}: ${message}`);
}

/**
 * What every GitHub adapter makes of a failed request before wording the HTTP answers of its own
 * calls: an error without an HTTP status (or already a rate-limit error) as it is; a request that got
 * no answer as `cannot reach GitHub` (a plain Error with Node's code: classified transient by
 * core/errors.ts); a used-up rate limit as a GitHubRateLimitError. `undefined`: an HTTP answer the
 * caller words.
 */
export function commonFailure(error: unknown, what: string): { error: unknown } | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status !== "number" || error instanceof GitHubRateLimitError) return { error };
  const unreachable = networkFailure(error);
  if (unreachable !== undefined) {
    return {
      error: Object.assign(
        new Error(`${unreachable.message} (reading ${what})`, { cause: error }),
        {
          code: unreachable.code,
        },
      ),
    };
  }
  const headers =
    (error as { response?: { headers?: Record<string, unknown> } }).response?.headers ?? {};
  const message = error instanceof Error ? error.message : "";
  if (
    (status === 403 || status === 429) &&
    (headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(message))
  ) {
    return { error: new GitHubRateLimitError(`GitHub's rate limit is used up (reading ${what})`) };
  }
  return undefined;
}

/**
 * `cannot reach GitHub at <origin>: <code>` for a request that got no answer: Octokit wraps a fetch
 * failure (refused, unknown host, cut connection) in a RequestError with status 500 but no
 * response, its cause fetch's TypeError whose own cause carries Node's code. A real 500 answer has
 * a response and is not one.
 */
function networkFailure(error: unknown): { message: string; code: string | undefined } | undefined {
  const shape = error as {
    status?: unknown;
    response?: unknown;
    cause?: unknown;
    request?: unknown;
  };
  if (shape.status !== 500 || shape.response !== undefined || !(shape.cause instanceof Error)) {
    return undefined;
  }
  const cause = shape.cause as Error & { cause?: unknown };
  const inner = cause.cause as { code?: unknown; message?: unknown } | undefined;
  const detail =
    typeof inner?.code === "string"
      ? inner.code
      : typeof inner?.message === "string"
        ? inner.message
        : cause.message;
  const url = (shape.request as { url?: unknown } | undefined)?.url;
  let origin = "its API URL";
  if (typeof url === "string") {
    try {
      origin = new URL(url).origin;
    } catch {
      origin = url;
    }
  }
  return {
    message: `cannot reach GitHub at ${origin}: ${detail}`,
    code: typeof inner?.code === "string" ? inner.code : undefined,
  };
}

export function splitRepository(repository: string): [string, string] {
  const parts = repository.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new BadRequestError(`repository must be owner/name, got ${repository}`);
  }
  return [parts[0], parts[1]];
}
