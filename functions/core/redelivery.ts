/**
 * Which of a webhook's recent deliveries to redeliver. Pure: the reconciler lists the deliveries
 * (functions/app/redelivery.ts) and asks this module which ones failed and were never retried.
 *
 * GitHub keeps a repository webhook's deliveries for 3 days and never redelivers a failed one by
 * itself. A redelivery is a new delivery with the same `guid` (the event's id, sent as
 * `X-GitHub-Delivery`) and `redelivery: true`. So "redeliver each failed event once" needs no state:
 * an event is redelivered only while none of its deliveries succeeded and none is a redelivery.
 */

/** One item of GitHub's list of a hook's deliveries, the members this module reads. */
export interface DeliveryRecord {
  /** The delivery's id (a redelivery has its own). */
  id: number;
  /** The event's id, shared by a delivery and its redeliveries. */
  guid: string;
  /** When GitHub made the delivery (ISO 8601). */
  deliveredAt: string;
  /** Whether this delivery is a redelivery of an earlier one. */
  redelivery: boolean;
  /** The HTTP status the webhook answered; 0 when it did not answer (timeout, no connection). */
  statusCode: number;
  /** The event (`X-GitHub-Event`), e.g. `pull_request`. */
  event: string;
  action: string | null;
}

/**
 * The events worth redelivering: those the webhook acts on, pull requests and the `/branchline`
 * commands (`issue_comment`, and `check_suite` re-runs). It answers a `ping` and ignores every other
 * event, so redelivering them would cost a GitHub call each and change nothing. A redelivered
 * command starts no second execution: its delivery id, and so its idempotency token, is the same.
 */
export const REDELIVERED_EVENTS: ReadonlySet<string> = new Set([
  "pull_request",
  "issue_comment",
  "check_suite",
]);

/** Whether the webhook accepted the delivery (any 2xx status). */
export function deliverySucceeded(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 300;
}

/**
 * The deliveries to redeliver, oldest first (so that GitHub resends one pull request's events in
 * the order they happened): per event (`guid`) of a {@link REDELIVERED_EVENTS} event, its failed
 * original delivery, when it was made at or after `since` (epoch ms), no delivery of that event
 * succeeded and none is a redelivery already.
 */
export function deliveriesToRedeliver(
  deliveries: readonly DeliveryRecord[],
  since: number,
): DeliveryRecord[] {
  const byGuid = new Map<string, DeliveryRecord[]>();
  for (const delivery of deliveries) {
    const group = byGuid.get(delivery.guid);
    if (group) group.push(delivery);
    else byGuid.set(delivery.guid, [delivery]);
  }
  const chosen: DeliveryRecord[] = [];
  for (const group of byGuid.values()) {
    if (group.some((d) => d.redelivery || deliverySucceeded(d.statusCode))) continue;
    const recent = group
      .filter((d) => REDELIVERED_EVENTS.has(d.event) && timeOf(d) >= since)
      .sort(byTimeThenId);
    const first = recent[0];
    if (first) chosen.push(first);
  }
  return chosen.sort(byTimeThenId);
}

function timeOf(delivery: DeliveryRecord): number {
  const time = Date.parse(delivery.deliveredAt);
  return Number.isNaN(time) ? -Infinity : time;
}

function byTimeThenId(a: DeliveryRecord, b: DeliveryRecord): number {
  return timeOf(a) - timeOf(b) || a.id - b.id;
}
