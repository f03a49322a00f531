/**
 * Repository webhooks on the GitHub API double: create, list, get, update and delete
 * (`/repos/:owner/:repo/hooks[/:id]`) as GitHub answers them, kept in memory. GitHub never returns
 * a webhook's secret; the store keeps it so that tests can check what was sent.
 *
 * Also a hook's deliveries: tests seed them ({@link GitHubHooks.seedDelivery}); the list
 * (`GET .../hooks/:id/deliveries`) answers newest first with GitHub's `hook-delivery-item` members
 * and cursor pagination by the Link header; a redelivery (`POST .../deliveries/:id/attempts`) is
 * recorded and, when {@link GitHubHooks.deliver} is set, delivers the stored payload again and
 * records the new delivery (`redelivery: true`, same `guid`) with the status it got. GitHub answers
 * 202 and delivers moments later; the double delivers before answering, so tests are deterministic.
 */
import { randomUUID } from "node:crypto";
import type { GitHubApiDouble, RouteAnswer } from "./github-api.js";

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
const DELIVERIES = /^\/repos\/([^/]+)\/([^/]+)\/hooks\/(\d+)\/deliveries$/;
const ATTEMPTS = /^\/repos\/([^/]+)\/([^/]+)\/hooks\/(\d+)\/deliveries\/(\d+)\/attempts$/;
const APP_HOOK_CONFIG = /^\/app\/hook\/config$/;
const APP_DELIVERIES = /^\/app\/hook\/deliveries$/;
const APP_ATTEMPTS = /^\/app\/hook\/deliveries\/(\d+)\/attempts$/;

/** The id the double files the GitHub App's own webhook's deliveries under. */
export const APP_HOOK_ID = 1;

/** A delivery of a hook, as the double keeps it. */
export interface StoredDelivery {
  id: number;
  guid: string;
  /** ISO 8601, as GitHub writes it (`2026-01-01T00:00:00Z`). */
  deliveredAt: string;
  redelivery: boolean;
  duration: number;
  /** GitHub's description of the answer, e.g. `OK` or `Invalid HTTP Response: 502`. */
  status: string;
  /** The webhook's HTTP status; 0 when it did not answer. */
  statusCode: number;
  event: string;
  action: string | null;
  /** The request body GitHub sent, delivered again on redelivery. */
  payload: unknown;
  /**
   * The repository whose event it was: the App's webhook delivers every installed repository's
   * events (a repository webhook's are its repository's, and need not say).
   */
  repository?: string;
}

/** What a test may give when seeding a delivery (the rest defaults). */
export type DeliverySeed = Partial<Omit<StoredDelivery, "id" | "status">> & { id?: number };

/** A redelivery asked through the API. */
export interface RedeliveryAttempt {
  /** The repository of the hook; `undefined` for the App's webhook. */
  repository: string | undefined;
  hookId: number;
  /** The delivery asked to be redelivered. */
  deliveryId: number;
  /** The new delivery GitHub made. */
  newDeliveryId: number;
}

/** Sends a delivery to the webhook; resolves to the HTTP status it answered (0: no answer). */
export type DeliverFunction = (delivery: {
  repository: string;
  hookId: number;
  guid: string;
  event: string;
  payload: unknown;
}) => Promise<number>;

interface HookConfigBody {
  url?: string;
  secret?: string;
  content_type?: string;
}

export class GitHubHooks {
  private readonly hooks = new Map<string, Map<number, StoredHook>>();
  private readonly denied = new Set<string>();
  private readonly writesDenied = new Set<string>();
  private nextId = 1000;
  /** Deliveries by hook id. */
  private readonly deliveries = new Map<number, StoredDelivery[]>();
  private nextDeliveryId = 12_345_678;
  /** Every redelivery asked, in order. */
  readonly attempts: RedeliveryAttempt[] = [];
  /** Delivers a redelivery to the webhook; unset: the redelivery is recorded as answered 200. */
  deliver: DeliverFunction | undefined;
  /** The double's clock for new deliveries (default `Date.now`). */
  now: () => number = Date.now;
  /** The GitHub App's webhook (`/app/hook/config`); `undefined`: the App has none. */
  appHook: Omit<StoredHook, "id" | "events" | "active"> | undefined;

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

    // GET .../hooks/:id/deliveries?per_page=&cursor=: newest first; the Link header's next URL
    // carries the cursor of the page after this one.
    api.on("GET", DELIVERIES, (m, { url }) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      const hookId = Number(m[3]);
      if (!this.get(repository, hookId)) return notFound;
      return this.deliveryPage(hookId, url);
    });

    api.on("POST", ATTEMPTS, (m) => this.redeliver(`${m[1]}/${m[2]}`, Number(m[3]), Number(m[4])));

    api.on("DELETE", HOOK, (m) => {
      const repository = `${m[1]}/${m[2]}`;
      if (this.denied.has(repository.toLowerCase())) return forbidden;
      return this.remove(repository, Number(m[3])) ? { status: 204 } : notFound;
    });

    // The GitHub App's own webhook (a valid App JWT only): its configuration, its deliveries (every
    // installed repository's, as one list) and redeliveries.
    api.on("GET", APP_HOOK_CONFIG, (_m, { authorization }) => {
      const app = api.appOf(authorization);
      if ("status" in app) return app;
      const hook = this.appHook;
      if (!hook) return notFound;
      return {
        status: 200,
        body: {
          url: hook.url,
          content_type: hook.contentType,
          insecure_ssl: "0",
          ...(hook.secret === undefined ? {} : { secret: "********" }),
        },
      };
    });
    api.on("GET", APP_DELIVERIES, (_m, { url, authorization }) => {
      const app = api.appOf(authorization);
      if ("status" in app) return app;
      if (!this.appHook) return notFound;
      return this.deliveryPage(APP_HOOK_ID, url);
    });
    api.on("POST", APP_ATTEMPTS, (m, { authorization }) => {
      const app = api.appOf(authorization);
      if ("status" in app) return app;
      if (!this.appHook) return notFound;
      return this.redeliver(undefined, APP_HOOK_ID, Number(m[1]));
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

  /**
   * Sets the GitHub App's webhook (GitHub's App settings, "Webhook URL"); returns the id its
   * deliveries are filed under ({@link APP_HOOK_ID}), for {@link seedDelivery}.
   */
  setAppHook(url: string, secret?: string): number {
    this.appHook = { url, secret, contentType: "json" };
    return APP_HOOK_ID;
  }

  /** Answers 403 to every webhook call on `repository` (a token without admin rights). */
  deny(repository: string): void {
    this.denied.add(repository.toLowerCase());
  }

  /**
   * Answers 403 to redeliveries on `repository` while reads still pass (a fine-grained token with
   * "Webhooks: read" only).
   */
  denyWrites(repository: string): void {
    this.writesDenied.add(repository.toLowerCase());
  }

  /**
   * Adds a delivery to a hook as if GitHub had made it: by default a `pull_request` `opened` event
   * delivered now and answered 200, with a new id and guid.
   */
  seedDelivery(hookId: number, seed: DeliverySeed = {}): StoredDelivery {
    const id = seed.id ?? this.nextDeliveryId++;
    const statusCode = seed.statusCode ?? 200;
    const delivery: StoredDelivery = {
      id,
      guid: seed.guid ?? randomUUID(),
      deliveredAt: seed.deliveredAt ?? gitHubTime(this.now()),
      redelivery: seed.redelivery ?? false,
      duration: seed.duration ?? 0.03,
      status: statusText(statusCode),
      statusCode,
      event: seed.event ?? "pull_request",
      action: seed.action === undefined ? "opened" : seed.action,
      payload: seed.payload ?? null,
      ...(seed.repository !== undefined ? { repository: seed.repository } : {}),
    };
    this.deliveriesOf(hookId).push(delivery);
    return delivery;
  }

  /** The hook's deliveries, newest first (as GitHub lists them). */
  deliveriesOf(hookId: number): StoredDelivery[] {
    let list = this.deliveries.get(hookId);
    if (!list) {
      list = [];
      this.deliveries.set(hookId, list);
    }
    return list.sort(
      (a, b) => Date.parse(b.deliveredAt) - Date.parse(a.deliveredAt) || b.id - a.id,
    );
  }

  /** Forgets every webhook, delivery, attempt and denial (ids keep counting). */
  reset(): void {
    this.hooks.clear();
    this.denied.clear();
    this.writesDenied.clear();
    this.deliveries.clear();
    this.attempts.length = 0;
    this.deliver = undefined;
    this.appHook = undefined;
    this.now = Date.now;
  }

  /**
   * A page of a hook's deliveries (`per_page`, `cursor`), newest first; the Link header's next URL
   * carries the cursor of the page after this one.
   */
  private deliveryPage(hookId: number, url: URL): RouteAnswer {
    const perPage = Math.min(100, Number(url.searchParams.get("per_page") ?? "30"));
    const cursor = url.searchParams.get("cursor");
    const all = this.deliveriesOf(hookId);
    let start = 0;
    if (cursor !== null) {
      const after = /^v1_(\d+)$/.exec(cursor);
      if (!after) return { status: 400, body: { message: "Bad Request" } };
      start = all.findIndex((delivery) => delivery.id === Number(after[1])) + 1;
      if (start === 0) return { status: 400, body: { message: "Bad Request" } };
    }
    const items = all.slice(start, start + perPage);
    const last = items.at(-1);
    const headers: Record<string, string> = {};
    if (last !== undefined && start + perPage < all.length) {
      const next = new URL(url.pathname, this.api.url);
      next.searchParams.set("per_page", String(perPage));
      next.searchParams.set("cursor", `v1_${last.id}`);
      headers["link"] = `<${next.toString()}>; rel="next"`;
    }
    return {
      status: 200,
      body: items.map((delivery) => this.renderDelivery(delivery)),
      headers,
    };
  }

  /**
   * POST .../deliveries/:id/attempts: a new delivery of the same event, `redelivery: true`.
   * `repository` is the repository webhook's; `undefined` for the App's webhook.
   */
  private async redeliver(
    repository: string | undefined,
    hookId: number,
    deliveryId: number,
  ): Promise<RouteAnswer> {
    const key = repository?.toLowerCase();
    if (key !== undefined && (this.denied.has(key) || this.writesDenied.has(key))) {
      return {
        status: 403,
        body: { message: "Resource not accessible by personal access token" },
      };
    }
    const hooked = repository === undefined ? this.appHook : this.get(repository, hookId);
    const original = hooked
      ? this.deliveriesOf(hookId).find((delivery) => delivery.id === deliveryId)
      : undefined;
    if (!original) return { status: 404, body: { message: "Not Found" } };
    const statusCode = this.deliver
      ? await this.deliver({
          repository: original.repository ?? repository ?? "",
          hookId,
          guid: original.guid,
          event: original.event,
          payload: original.payload,
        }).catch(() => 0)
      : 200;
    const fresh = this.seedDelivery(hookId, {
      guid: original.guid,
      redelivery: true,
      statusCode,
      event: original.event,
      action: original.action,
      payload: original.payload,
      ...(original.repository !== undefined ? { repository: original.repository } : {}),
    });
    this.attempts.push({ repository, hookId, deliveryId, newDeliveryId: fresh.id });
    return { status: 202, body: {} };
  }

  /** A delivery as GitHub's list renders it (`hook-delivery-item`). */
  private renderDelivery(delivery: StoredDelivery): Record<string, unknown> {
    const repository = delivery.repository ?? this.repositoryOfHook(delivery);
    const installation = repository === undefined ? undefined : this.api.installationOf(repository);
    return {
      id: delivery.id,
      guid: delivery.guid,
      delivered_at: delivery.deliveredAt,
      redelivery: delivery.redelivery,
      duration: delivery.duration,
      status: delivery.status,
      status_code: delivery.statusCode,
      event: delivery.event,
      action: delivery.action,
      installation_id: installation?.id ?? null,
      repository_id: repository === undefined ? null : this.api.repositoryId(repository),
      throttled_at: null,
    };
  }

  /** The repository whose webhook made `delivery`, when a repository webhook made it. */
  private repositoryOfHook(delivery: StoredDelivery): string | undefined {
    for (const [repository, hooks] of this.hooks) {
      for (const id of hooks.keys()) {
        if (this.deliveries.get(id)?.includes(delivery)) return repository;
      }
    }
    return undefined;
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

/** A time as GitHub writes it: ISO 8601 in UTC without milliseconds. */
export function gitHubTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** GitHub's `status` text for a delivery's status code. */
function statusText(statusCode: number): string {
  if (statusCode === 0) return "timed out";
  if (statusCode >= 200 && statusCode < 300) return "OK";
  return `Invalid HTTP Response: ${statusCode}`;
}
