/**
 * Repository webhooks on the GitHub API double: create, list, get, update and delete
 * (`/repos/:owner/:repo/hooks[/:id]`) as GitHub answers them, kept in memory. GitHub never returns
 * a webhook's secret; the store keeps it so that tests can check what was sent.
 */
import type { GitHubApiDouble } from "./github-api.js";

export interface StoredHook {
  id: number;
  url: string;
  secret: string | undefined;
  events: string[];
  active: boolean;
  contentType: string;
}

const HOOKS = /^\/repos\/([^/]+)\/([^/]+)\/hooks$/;
const HOOK = /^\/repos\/([^/]+)\/([^/]+)\/hooks\/(\d+)$/;

interface HookConfigBody {
  url?: string;
  secret?: string;
  content_type?: string;
}

export class GitHubHooks {
  private readonly hooks = new Map<string, Map<number, StoredHook>>();
  private readonly denied = new Set<string>();
  private nextId = 1000;

  constructor(private readonly api: GitHubApiDouble) {
    const forbidden = {
      status: 403,
      body: { message: "Resource not accessible by personal access token" },
    };
    const notFound = { status: 404, body: { message: "Not Found" } };

    api.on("POST", HOOKS, (m, { body }) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      const request = body as { events?: string[]; active?: boolean; config?: HookConfigBody };
      const url = request.config?.url ?? "";
      if ([...this.of(repository).values()].some((hook) => hook.url === url)) {
        return {
          status: 422,
          body: {
            message: "Validation Failed",
            errors: [
              {
                resource: "Hook",
                code: "custom",
                message: "Hook already exists on this repository",
              },
            ],
          },
        };
      }
      const id = this.add(repository, {
        url,
        secret: request.config?.secret,
        events: request.events ?? ["push"],
        active: request.active ?? true,
        contentType: request.config?.content_type ?? "form",
      });
      return { status: 201, body: this.render(this.of(repository).get(id) as StoredHook) };
    });

    api.on("GET", HOOKS, (m) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      return {
        status: 200,
        body: [...this.of(repository).values()].map((hook) => this.render(hook)),
      };
    });

    api.on("GET", HOOK, (m) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      const hook = this.get(repository, Number(m[3]));
      return hook ? { status: 200, body: this.render(hook) } : notFound;
    });

    api.on("PATCH", HOOK, (m, { body }) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      const hook = this.get(repository, Number(m[3]));
      if (!hook) return notFound;
      const request = body as { events?: string[]; active?: boolean; config?: HookConfigBody };
      if (request.events) hook.events = request.events;
      if (request.active !== undefined) hook.active = request.active;
      if (request.config) {
        // As GitHub does: a config without a secret removes the secret.
        hook.url = request.config.url ?? hook.url;
        hook.contentType = request.config.content_type ?? hook.contentType;
        hook.secret = request.config.secret;
      }
      return { status: 200, body: this.render(hook) };
    });

    api.on("DELETE", HOOK, (m) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      return this.remove(repository, Number(m[3])) ? { status: 204 } : notFound;
    });
  }

  /** Adds a webhook as if someone had created it; returns its id. */
  add(repository: string, hook: Partial<Omit<StoredHook, "id">> & { url: string }): number {
    const id = this.nextId++;
    this.of(repository).set(id, {
      id,
      url: hook.url,
      secret: hook.secret,
      events: hook.events ?? ["push"],
      active: hook.active ?? true,
      contentType: hook.contentType ?? "json",
    });
    return id;
  }

  get(repository: string, id: number): StoredHook | undefined {
    return this.of(repository).get(id);
  }

  /** Changes a webhook behind the provider's back. */
  edit(repository: string, id: number, change: Partial<Omit<StoredHook, "id">>): void {
    const hook = this.get(repository, id);
    if (!hook) throw new Error(`no webhook ${id} on ${repository}`);
    Object.assign(hook, change);
  }

  remove(repository: string, id: number): boolean {
    return this.of(repository).delete(id);
  }

  /** The id of the most recently added webhook. */
  lastId(): number {
    return this.nextId - 1;
  }

  /** Answers 403 to every webhook call on `repository` (a token without admin rights). */
  deny(repository: string): void {
    this.denied.add(repository.toLowerCase());
  }

  /** Forgets every webhook and denial (ids keep counting). */
  reset(): void {
    this.hooks.clear();
    this.denied.clear();
  }

  private of(repository: string): Map<number, StoredHook> {
    const key = repository.toLowerCase();
    let hooks = this.hooks.get(key);
    if (!hooks) {
      hooks = new Map();
      this.hooks.set(key, hooks);
    }
    return hooks;
  }

  /** A webhook as GitHub's API renders it (the secret masked). */
  private render(hook: StoredHook): Record<string, unknown> {
    return {
      type: "Repository",
      id: hook.id,
      name: "web",
      active: hook.active,
      events: hook.events,
      config: {
        url: hook.url,
        content_type: hook.contentType,
        insecure_ssl: "0",
        ...(hook.secret === undefined ? {} : { secret: "********" }),
      },
      url: `https://api.github.com/repos/hooks/${hook.id}`,
    };
  }
}
