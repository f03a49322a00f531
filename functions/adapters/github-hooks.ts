/**
 * A webhook's deliveries through Octokit: find the hook by its URL, list its recent deliveries
 * (cursor pagination by the Link header), and redeliver one. A repository webhook's with a token
 * ({@link OctokitWebhookDeliveries}); the GitHub App's own webhook with the App's JWT
 * ({@link OctokitAppWebhookDeliveries}).
 */
import type { Octokit } from "@octokit/rest";
import { HookAccessError, type WebhookDeliveries } from "../app/ports.js";
import type { DeliveryRecord } from "../core/redelivery.js";
import { commonFailure, splitRepository } from "./github.js";

export class OctokitWebhookDeliveries implements WebhookDeliveries {
  constructor(private readonly octokit: Octokit) {}

  /** GET /repos/{owner}/{repo}/hooks (a repository has at most a few: one page of 100). */
  async findHook(repository: string, url: string): Promise<number | undefined> {
    const [owner, repo] = splitRepository(repository);
    try {
      const hooks = await this.octokit.paginate(this.octokit.rest.repos.listWebhooks, {
        owner,
        repo,
        per_page: 100,
      });
      return hooks.find((hook) => hook.config.url === url)?.id;
    } catch (error) {
      throw translate(error, `the webhooks of ${repository}`);
    }
  }

  /** GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries, newest first, by `cursor`. */
  async recentDeliveries(
    repository: string,
    hookId: number,
    since: number,
    options: { perPage: number; maxPages: number },
  ): Promise<{ deliveries: DeliveryRecord[]; pages: number }> {
    const [owner, repo] = splitRepository(repository);
    try {
      return await pagesSince(since, options.maxPages, (cursor) =>
        this.octokit.rest.repos.listWebhookDeliveries({
          owner,
          repo,
          hook_id: hookId,
          per_page: options.perPage,
          ...(cursor !== undefined ? { cursor } : {}),
        }),
      );
    } catch (error) {
      throw translate(error, `the deliveries of webhook ${hookId} of ${repository}`);
    }
  }

  /** POST /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts (202). */
  async redeliver(repository: string, hookId: number, deliveryId: number): Promise<void> {
    const [owner, repo] = splitRepository(repository);
    try {
      await this.octokit.rest.repos.redeliverWebhookDelivery({
        owner,
        repo,
        hook_id: hookId,
        delivery_id: deliveryId,
      });
    } catch (error) {
      throw translate(error, `redelivery ${deliveryId} of webhook ${hookId} of ${repository}`);
    }
  }
}

/** The id {@link OctokitAppWebhookDeliveries} gives the App's one webhook (GitHub names none). */
export const APP_WEBHOOK_ID = 0;

/**
 * The GitHub App's webhook (`/app/hook/...`, authenticated with the App's JWT: see
 * functions/adapters/github-app.ts): it delivers every installed repository's events, so the
 * `repository` arguments are ignored. GitHub keeps its deliveries 3 days, as a repository hook's.
 */
export class OctokitAppWebhookDeliveries implements WebhookDeliveries {
  readonly appWide = true;

  constructor(private readonly octokit: Octokit) {}

  /** GET /app/hook/config: {@link APP_WEBHOOK_ID} when the App's webhook URL is `url`. */
  async findHook(_repository: string, url: string): Promise<number | undefined> {
    try {
      const { data } = await this.octokit.rest.apps.getWebhookConfigForApp();
      return data.url === url ? APP_WEBHOOK_ID : undefined;
    } catch (error) {
      throw translate(error, "the GitHub App's webhook");
    }
  }

  /** GET /app/hook/deliveries, newest first, by `cursor`. */
  async recentDeliveries(
    _repository: string,
    _hookId: number,
    since: number,
    options: { perPage: number; maxPages: number },
  ): Promise<{ deliveries: DeliveryRecord[]; pages: number }> {
    try {
      return await pagesSince(since, options.maxPages, (cursor) =>
        this.octokit.rest.apps.listWebhookDeliveries({
          per_page: options.perPage,
          ...(cursor !== undefined ? { cursor } : {}),
        }),
      );
    } catch (error) {
      throw translate(error, "the deliveries of the GitHub App's webhook");
    }
  }

  /** POST /app/hook/deliveries/{delivery_id}/attempts (202). */
  async redeliver(_repository: string, _hookId: number, deliveryId: number): Promise<void> {
    try {
      await this.octokit.rest.apps.redeliverWebhookDelivery({ delivery_id: deliveryId });
    } catch (error) {
      throw translate(error, `redelivery ${deliveryId} of the GitHub App's webhook`);
    }
  }
}

/**
 * A hook's deliveries, newest first, page by page (`cursor` from the Link header) while the oldest
 * delivery read is at or after `since`, and at most `maxPages` pages.
 */
async function pagesSince(
  since: number,
  maxPages: number,
  page: (
    cursor: string | undefined,
  ) => Promise<{ data: GitHubDeliveryItem[]; headers: { link?: string | undefined } }>,
): Promise<{ deliveries: DeliveryRecord[]; pages: number }> {
  const deliveries: DeliveryRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const { data, headers } = await page(cursor);
    pages++;
    const read = data.map(fromGitHub);
    deliveries.push(...read);
    const oldest = read.at(-1);
    // Newest first: once a page reaches back before `since`, older pages hold nothing wanted.
    if (oldest === undefined || Date.parse(oldest.deliveredAt) < since) break;
    cursor = nextCursor(headers.link);
  } while (cursor !== undefined && pages < maxPages);
  return { deliveries, pages };
}

/** A `hook-delivery-item` of GitHub's answer, the members read. */
interface GitHubDeliveryItem {
  id: number | bigint;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
  event: string;
  action: string | null;
}

function fromGitHub(item: GitHubDeliveryItem): DeliveryRecord {
  return {
    // GitHub's delivery ids are 64-bit but far below 2^53 today; JSON.parse yields numbers anyway.
    id: Number(item.id),
    guid: item.guid,
    deliveredAt: item.delivered_at,
    redelivery: item.redelivery === true,
    statusCode: item.status_code,
    event: item.event,
    action: item.action,
  };
}

/** The `cursor` of the Link header's `rel="next"` URL, or `undefined` on the last page. */
export function nextCursor(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (!match?.[1]) continue;
    try {
      return new URL(match[1]).searchParams.get("cursor") ?? undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function translate(error: unknown, what: string): unknown {
  const shared = commonFailure(error, what);
  if (shared !== undefined) return shared.error;
  const status = (error as { status: number }).status;
  const message = error instanceof Error ? error.message : "";
  if (status === 403 || status === 404) {
    return new HookAccessError(`GitHub answered ${status} for ${what}: ${message}`, status);
  }
  return new Error(`GitHub answered ${status} for ${what}: ${message}`);
}
