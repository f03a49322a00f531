/**
 * GitHub as a GitHub App (@octokit/auth-app). The App's JWT (signed with its private key) is used
 * only for the App's own routes: finding a repository's installation and creating installation
 * tokens. Every other request carries an installation token of the repository it names.
 *
 * Kept for the container's life ({@link GitHubAppSession}): each repository's installation id
 * (asked of GitHub once, `GET /repos/{owner}/{repo}/installation`, unless one is configured) and
 * the installation tokens, which are used until {@link DEFAULT_TOKEN_REFRESH_MS} before the
 * `expires_at` GitHub gave them and then replaced by a new one. A token GitHub refuses anyway (401)
 * is replaced once and the request retried.
 */
import { createPrivateKey } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import type { Octokit } from "@octokit/rest";
import { ConfigurationError } from "../core/errors.js";
import type { CommentAuthor } from "./github-feedback.js";
import { GitHubIdentity } from "./github-feedback.js";
import type { SecretReader } from "./secrets.js";

/** A token is replaced this long before GitHub's `expires_at` (five minutes). */
export const DEFAULT_TOKEN_REFRESH_MS = 5 * 60 * 1000;

export interface GitHubAppSessionOptions {
  /** The installation to act as for every repository; `undefined`: each repository's own. */
  installationId?: number | undefined;
  /** Milliseconds; `Date.now` unless a test moves the clock. */
  now?: () => number;
  /** How long before `expires_at` a token is replaced (default {@link DEFAULT_TOKEN_REFRESH_MS}). */
  refreshBeforeMs?: number;
}

/** The routes GitHub answers only for the App itself (its JWT), not for an installation. */
const APP_ROUTE = /^\/(?:app(?:\/|$)|repos\/[^/]+\/[^/]+\/installation$)/;

/** The App's state kept for the container: installation ids and installation tokens. */
export class GitHubAppSession {
  /** Installation id per lower-cased `owner/name`; a failed look-up is not kept. */
  private readonly installations = new Map<string, Promise<number>>();
  /** auth-app's token cache, expiring entries by the `expires_at` GitHub gave. */
  private readonly tokens: ExpiringTokenCache;
  /** The App's slug (whose bot writes the comments), asked of GitHub once. */
  readonly identity: GitHubIdentity;

  constructor(
    private readonly appId: string,
    private readonly privateKey: SecretReader,
    private readonly options: GitHubAppSessionOptions = {},
  ) {
    this.tokens = new ExpiringTokenCache(
      options.now ?? Date.now,
      options.refreshBeforeMs ?? DEFAULT_TOKEN_REFRESH_MS,
    );
    this.identity = new GitHubIdentity(appAuthor);
  }

  /**
   * Installs the App's authentication on `octokit` (built without auth): the App's routes get the
   * JWT, every other request an installation token for the repository it names.
   */
  async authenticate(octokit: Octokit): Promise<void> {
    let key = await this.privateKey();
    const build = (pem: string) => {
      checkPrivateKey(pem, this.appId);
      return createAppAuth({
        appId: this.appId,
        privateKey: pem,
        cache: this.tokens,
        request: octokit.request,
        // auth-app warns only about a clock skew it corrects itself.
        log: { warn: () => undefined },
      });
    };
    let auth = build(key);
    /** The installation of the last request that named a repository (for those that do not). */
    let last: number | undefined = this.options.installationId;

    const jwt = async (): Promise<string> => (await auth({ type: "app" })).token;

    octokit.hook.wrap("request", async (request, options) => {
      const path = pathOf(options.url, options.baseUrl);
      if (APP_ROUTE.test(path)) {
        options.headers.authorization = `bearer ${await jwt()}`;
        try {
          return await request(options);
        } catch (error) {
          if (statusOf(error) !== 401) throw error;
          // The key may have been rotated since it was read: read it again (at most once a minute).
          const fresh = await this.privateKey.refresh();
          if (fresh === undefined) throw refusedKey(this.appId);
          key = fresh;
          auth = build(key);
          options.headers.authorization = `bearer ${await jwt()}`;
          try {
            return await request(options);
          } catch (again) {
            throw statusOf(again) === 401 ? refusedKey(this.appId) : again;
          }
        }
      }
      const repository = repositoryOf(options, path);
      const installationId =
        this.options.installationId ??
        (repository !== undefined ? await this.installationOf(octokit, repository) : last);
      if (installationId === undefined) {
        throw new ConfigurationError(
          `a GitHub App request that names no repository (${path}) needs GITHUB_APP_INSTALLATION_ID`,
        );
      }
      last = installationId;
      const send = async (refresh: boolean) => {
        const { token } = await auth({ type: "installation", installationId, refresh });
        options.headers.authorization = `token ${token}`;
        return request(options);
      };
      try {
        return await send(false);
      } catch (error) {
        if (statusOf(error) !== 401) throw error;
        try {
          return await send(true);
        } catch (again) {
          if (statusOf(again) !== 401) throw again;
          throw new ConfigurationError(
            `GitHub refused a new installation token of the GitHub App ${this.appId} (401, installation ${installationId})`,
          );
        }
      }
    });
  }

  /** The installation id serving `repository`, asked of GitHub once per container. */
  private installationOf(octokit: Octokit, repository: string): Promise<number> {
    const name = repository.toLowerCase();
    let known = this.installations.get(name);
    if (known === undefined) {
      const [owner, repo] = repository.split("/") as [string, string];
      const lookup = octokit
        .request("GET /repos/{owner}/{repo}/installation", { owner, repo })
        .then(
          ({ data }) => data.id,
          (error: unknown) => {
            if (statusOf(error) === 404) {
              throw new ConfigurationError(
                `the GitHub App ${this.appId} is not installed on ${repository} (GitHub answered 404 for its installation): install it there`,
              );
            }
            throw error;
          },
        );
      known = lookup;
      this.installations.set(name, lookup);
      lookup.catch(() => {
        if (this.installations.get(name) === lookup) this.installations.delete(name);
      });
    }
    return known;
  }
}

/** The App's bot, by the App's slug (`GET /app` with the JWT). */
async function appAuthor(octokit: Octokit): Promise<CommentAuthor> {
  const { data } = await octokit.request("GET /app");
  const slug = (data as { slug?: unknown } | null)?.slug;
  return typeof slug === "string" && slug !== "" ? { kind: "app", slug } : { kind: "app" };
}

/**
 * auth-app's cache (`get`/`set` of `token|createdAt|expiresAt|...` strings) whose entries are
 * forgotten `refreshBeforeMs` before the token's `expiresAt`, so auth-app asks for a new token then.
 */
export class ExpiringTokenCache {
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly now: () => number,
    private readonly refreshBeforeMs: number,
  ) {}

  /** The kept value, or "" (auth-app's "none": its type wants a string) when none is usable. */
  get(key: string): string {
    const value = this.entries.get(key);
    if (value === undefined) return "";
    const expiresAt = Date.parse(value.split("|")[2] ?? "");
    if (!Number.isFinite(expiresAt) || this.now() >= expiresAt - this.refreshBeforeMs) {
      this.entries.delete(key);
      return "";
    }
    return value;
  }

  set(key: string, value: string): void {
    this.entries.set(key, value);
  }
}

/** The request's path, without the base URL and the query (a template's `{owner}` stays). */
function pathOf(url: string, baseUrl: string | undefined): string {
  let path = url;
  if (baseUrl && path.startsWith(baseUrl)) path = path.slice(baseUrl.length);
  else if (/^https?:\/\//.test(path)) path = new URL(path).pathname;
  return path.split("?")[0] ?? path;
}

/** `owner/name` of the repository a request names, if it names one. */
function repositoryOf(options: Record<string, unknown>, path: string): string | undefined {
  const { owner, repo } = options;
  if (typeof owner === "string" && typeof repo === "string" && owner !== "" && repo !== "") {
    return `${owner}/${repo}`;
  }
  const named = /^\/repos\/([^/{}]+)\/([^/{}]+)/.exec(path);
  return named
    ? `${decodeURIComponent(named[1] ?? "")}/${decodeURIComponent(named[2] ?? "")}`
    : undefined;
}

/**
 * Fails with a ConfigurationError when `pem` is no private key the JWT can be signed with (the
 * message never shows the value).
 */
function checkPrivateKey(pem: string, appId: string): void {
  try {
    if (createPrivateKey(pem).asymmetricKeyType === "rsa") return;
  } catch {
    // Reported below.
  }
  throw new ConfigurationError(
    `the private key of the GitHub App ${appId} is not an RSA private key in PEM form (the .pem file GitHub generates for the App)`,
  );
}

function statusOf(error: unknown): unknown {
  return (error as { status?: unknown } | null)?.status;
}

function refusedKey(appId: string): ConfigurationError {
  return new ConfigurationError(
    `GitHub refused the JWT of the GitHub App ${appId} (401): check GITHUB_APP_ID and the App's private key`,
  );
}
