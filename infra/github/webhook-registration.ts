/**
 * Registers the repository's webhook (pull requests and comments) through GitHub's REST API (Octokit). Plain
 * functions over an Octokit client so that they run the same at deploy time (inside the dynamic
 * provider, see ./webhook-resource) and in tests against a local GitHub API double (`apiUrl`).
 *
 * Nothing here ever puts the webhook secret or the token into an error message or a log line.
 */
import type { Octokit } from "@octokit/rest";

/**
 * The events the webhook receiver handles: pull requests, and comments (the `/branchline` commands
 * on a pull request). `check_suite` re-runs come from a GitHub App's checks only.
 */
export const WEBHOOK_EVENTS: readonly string[] = ["pull_request", "issue_comment"];

/** What a token needs to manage a repository's webhooks. */
export const WEBHOOK_PERMISSION =
  'admin rights on the repository: a classic token with the admin:repo_hook scope, or a fine-grained token with "Webhooks: Read and write"';

/** The desired webhook of a repository. */
export interface WebhookSettings {
  /** `owner/name`. */
  repository: string;
  /** The receiver's URL. */
  url: string;
  /** The HMAC secret GitHub signs deliveries with. */
  secret: string;
  events: string[];
}

/** A webhook as GitHub reports it (GitHub never returns the secret). */
export interface LiveWebhook {
  id: number;
  url: string;
  events: string[];
  active: boolean;
  contentType: string;
}

/**
 * A failed webhook call, with a message that says what to do (and holds no secret). A plain Error,
 * not a subclass: Pulumi's function serialization turns `super(message)` into `Error.call(this,
 * message)`, which would lose the message at deploy time.
 */
export interface WebhookRegistrationError extends Error {
  name: "WebhookRegistrationError";
  /** The HTTP status GitHub answered, when it answered. */
  status: number | undefined;
}

export function registrationError(
  message: string,
  status: number | undefined,
): WebhookRegistrationError {
  const error = new Error(message) as WebhookRegistrationError;
  error.name = "WebhookRegistrationError";
  error.status = status;
  return error;
}

export function isRegistrationError(error: unknown): error is WebhookRegistrationError {
  return error instanceof Error && error.name === "WebhookRegistrationError";
}

/**
 * An Octokit client for `token`; `apiUrl` points it at GitHub Enterprise Server or a test double.
 * Octokit is loaded here, at call time, and not by a module-level import: the dynamic provider that
 * calls this is serialized as source text, and a captured module would be serialized with it.
 */
export function connectGitHub(token: string, apiUrl: string | undefined): Octokit {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand, see above
  const { Octokit: Client } = require("@octokit/rest") as typeof import("@octokit/rest");
  return new Client({
    auth: token,
    userAgent: "branchline",
    // Failures are reported by the errors below; Octokit's own request log would repeat them.
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: console.warn,
      error: () => undefined,
    },
    ...(apiUrl ? { baseUrl: apiUrl } : {}),
  });
}

/** Creates the webhook and returns its id. Adopts a webhook that already posts to the same URL. */
export async function createWebhook(octokit: Octokit, settings: WebhookSettings): Promise<number> {
  const [owner, repo] = splitRepository(settings.repository);
  try {
    const { data } = await octokit.rest.repos.createWebhook({
      owner,
      repo,
      name: "web",
      active: true,
      events: settings.events,
      config: hookConfig(settings),
    });
    return data.id;
  } catch (error) {
    if (statusOf(error) === 422 && alreadyExists(error)) {
      const existing = await findWebhookByUrl(octokit, settings.repository, settings.url);
      if (existing !== undefined) {
        await updateWebhook(octokit, existing, settings);
        return existing;
      }
    }
    throw explain(error, `create the webhook of ${settings.repository}`);
  }
}

/**
 * Updates the webhook to `settings`. Sends the whole config every time: GitHub removes the secret of a
 * webhook whose config is updated without one.
 */
export async function updateWebhook(
  octokit: Octokit,
  id: number,
  settings: WebhookSettings,
): Promise<void> {
  const [owner, repo] = splitRepository(settings.repository);
  try {
    await octokit.rest.repos.updateWebhook({
      owner,
      repo,
      hook_id: id,
      active: true,
      events: settings.events,
      config: hookConfig(settings),
    });
  } catch (error) {
    if (statusOf(error) === 404) {
      throw registrationError(
        `the webhook ${id} of ${settings.repository} no longer exists (deleted outside Pulumi, or the token cannot see it): ` +
          "run `pulumi refresh` to forget it and `pulumi up` to create it again",
        404,
      );
    }
    throw explain(error, `update the webhook ${id} of ${settings.repository}`);
  }
}

/** Deletes the webhook; one that is already gone counts as deleted. */
export async function deleteWebhook(
  octokit: Octokit,
  repository: string,
  id: number,
): Promise<void> {
  const [owner, repo] = splitRepository(repository);
  try {
    await octokit.rest.repos.deleteWebhook({ owner, repo, hook_id: id });
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw explain(error, `delete the webhook ${id} of ${repository}`);
  }
}

/** The webhook as GitHub has it, or `undefined` when it is gone. */
export async function readWebhook(
  octokit: Octokit,
  repository: string,
  id: number,
): Promise<LiveWebhook | undefined> {
  const [owner, repo] = splitRepository(repository);
  try {
    const { data } = await octokit.rest.repos.getWebhook({ owner, repo, hook_id: id });
    return {
      id: data.id,
      url: data.config.url ?? "",
      events: [...data.events],
      active: data.active,
      contentType: data.config.content_type ?? "form",
    };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw explain(error, `read the webhook ${id} of ${repository}`);
  }
}

/** The inputs of the dynamic provider that Pulumi compares (see `diffWebhook`). */
export interface WebhookState extends WebhookSettings {
  token: string;
  apiUrl?: string | undefined;
}

/** Which changes replace the webhook (another repository or server) and which update it in place. */
export function diffWebhook(
  olds: WebhookState,
  news: WebhookState,
): { changes: boolean; replaces: string[] } {
  const replaces = (["repository", "apiUrl"] as const).filter(
    (key) => (olds[key] ?? "") !== (news[key] ?? ""),
  );
  const updates = (["url", "secret", "token"] as const).filter((key) => olds[key] !== news[key]);
  const eventsChanged = !sameEvents(olds.events, news.events);
  return {
    changes: replaces.length > 0 || updates.length > 0 || eventsChanged,
    replaces,
  };
}

/** Whether GitHub's copy of the webhook needs an update (a new token alone changes nothing there). */
export function needsUpdate(olds: WebhookSettings, news: WebhookSettings): boolean {
  return (
    olds.url !== news.url || olds.secret !== news.secret || !sameEvents(olds.events, news.events)
  );
}

/** Parses a Pulumi resource id into a webhook id. */
export function hookIdOf(id: string): number {
  const value = Number(id);
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(value)) {
    throw registrationError(`not a GitHub webhook id: ${JSON.stringify(id)}`, undefined);
  }
  return value;
}

function sameEvents(a: readonly string[], b: readonly string[]): boolean {
  const left = [...a].sort();
  const right = [...b].sort();
  return left.length === right.length && left.every((event, index) => event === right[index]);
}

function hookConfig(settings: WebhookSettings) {
  return {
    url: settings.url,
    content_type: "json",
    secret: settings.secret,
    insecure_ssl: "0",
  };
}

async function findWebhookByUrl(
  octokit: Octokit,
  repository: string,
  url: string,
): Promise<number | undefined> {
  const [owner, repo] = splitRepository(repository);
  try {
    const hooks = await octokit.paginate(octokit.rest.repos.listWebhooks, {
      owner,
      repo,
      per_page: 100,
    });
    return hooks.find((hook) => hook.config.url === url)?.id;
  } catch (error) {
    throw explain(error, `list the webhooks of ${repository}`);
  }
}

function splitRepository(repository: string): [string, string] {
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length > 0) {
    throw registrationError(
      `the repository must be owner/name, got ${JSON.stringify(repository)}`,
      undefined,
    );
  }
  return [owner, repo];
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === "number" ? status : undefined;
}

/** GitHub's own message from the response body (never the request, which holds the secret). */
function gitHubMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  if (typeof data === "object" && data !== null) {
    const message = (data as { message?: unknown }).message;
    if (typeof message === "string") return message;
  }
  return "";
}

/** GitHub's 422 for a second webhook to the same URL ("Hook already exists on this repository"). */
function alreadyExists(error: unknown): boolean {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  return /already exists/i.test(JSON.stringify(data ?? ""));
}

/** Turns an Octokit failure into an error that names the repository and what to do. */
function explain(error: unknown, action: string): WebhookRegistrationError {
  const status = statusOf(error);
  const message = gitHubMessage(error);
  const answer = `HTTP ${status}${message ? `: ${message}` : ""}`;
  switch (status) {
    case undefined:
      return registrationError(
        `could not reach GitHub to ${action}: ${error instanceof Error ? error.message : String(error)}`,
        undefined,
      );
    case 401:
      return registrationError(
        `GitHub rejected the token while trying to ${action} (${answer}): set a valid one with ` +
          "`pulumi config set --secret branchline:githubToken <token>`",
        status,
      );
    case 403:
    case 404:
      return registrationError(
        `GitHub refused to ${action} (${answer}): the token needs ${WEBHOOK_PERMISSION}`,
        status,
      );
    default:
      return registrationError(`GitHub failed to ${action} (${answer})`, status);
  }
}
