/**
 * GitHub deliveries for tests: real example payloads from @octokit/webhooks-examples, varied where a
 * test needs a case the examples lack, and signed the way GitHub signs them.
 */
import { createHmac, randomUUID } from "node:crypto";
import examples from "@octokit/webhooks-examples/api.github.com/index.json";
import type { WebhookEvent } from "../../functions/webhook/handler.js";

type Payload = Record<string, unknown>;

interface ExampleGroup {
  name: string;
  examples: Payload[];
}

/** A fresh copy of the first example payload of `event` (with `action`, when given). */
export function examplePayload(event: string, action?: string): Payload {
  const group = (examples as unknown as ExampleGroup[]).find((g) => g.name === event);
  const found = group?.examples.find((e) => action === undefined || e["action"] === action);
  if (!found) throw new Error(`no ${event}${action ? `.${action}` : ""} example payload`);
  return structuredClone(found);
}

export interface PullRequestVariant {
  action?: string;
  number?: number;
  headRef?: string;
  baseRef?: string;
  draft?: boolean;
  merged?: boolean;
  state?: "open" | "closed";
  /** `owner/name` of the head repository; `null` for a deleted fork. */
  headRepo?: string | null;
  /** For `edited`: the base branch before the edit. */
  previousBase?: string;
  /** The pull request's labels' names (replacing the example's). */
  labels?: string[];
}

/** A pull_request payload built from the real example for the action, changed as asked. */
export function pullRequestPayload(variant: PullRequestVariant = {}): Payload {
  const action = variant.action ?? "opened";
  const exampleAction = ["edited"].includes(action) ? "opened" : action;
  const payload = examplePayload("pull_request", exampleAction);
  payload["action"] = action;
  const pr = payload["pull_request"] as Payload & { head: Payload; base: Payload };
  if (variant.number !== undefined) {
    pr["number"] = variant.number;
    payload["number"] = variant.number;
  }
  if (variant.headRef !== undefined) pr.head["ref"] = variant.headRef;
  if (variant.baseRef !== undefined) pr.base["ref"] = variant.baseRef;
  if (variant.draft !== undefined) pr["draft"] = variant.draft;
  if (variant.merged !== undefined) pr["merged"] = variant.merged;
  if (variant.state !== undefined) pr["state"] = variant.state;
  if (variant.headRepo === null) pr.head["repo"] = null;
  else if (variant.headRepo !== undefined) {
    pr.head["repo"] = { ...(pr.head["repo"] as Payload), full_name: variant.headRepo };
  }
  if (variant.previousBase !== undefined)
    payload["changes"] = { base: { ref: { from: variant.previousBase } } };
  if (variant.labels !== undefined) {
    const example = ((pr["labels"] as Payload[] | undefined) ?? [])[0] ?? {};
    pr["labels"] = variant.labels.map((name, index) => ({
      ...example,
      id: 208045946 + index,
      name,
    }));
  }
  return payload;
}

export interface SignOptions {
  secret: string;
  event?: string;
  /** Deliver as `application/x-www-form-urlencoded` with the JSON in `payload`. */
  form?: boolean;
  base64?: boolean;
  /** Header names as GitHub sends them (`X-Hub-Signature-256`) or lower-cased as API Gateway does. */
  lowerCaseHeaders?: boolean;
  /** Replace the signature header's value. `null` drops it. */
  signature?: string | null;
  extraHeaders?: Record<string, string>;
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** An API Gateway v2 event carrying the payload as GitHub would deliver it. */
export function signedEvent(payload: Payload | string, options: SignOptions): WebhookEvent {
  const json = typeof payload === "string" ? payload : JSON.stringify(payload);
  const body = options.form ? new URLSearchParams({ payload: json }).toString() : json;
  const headers: Record<string, string> = {
    "X-GitHub-Event": options.event ?? "pull_request",
    "X-GitHub-Delivery": randomUUID(),
    "Content-Type": options.form ? "application/x-www-form-urlencoded" : "application/json",
    "User-Agent": "GitHub-Hookshot/test",
    ...options.extraHeaders,
  };
  if (options.signature !== null)
    headers["X-Hub-Signature-256"] = options.signature ?? sign(options.secret, body);
  const finalHeaders = options.lowerCaseHeaders
    ? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
    : headers;
  return {
    headers: finalHeaders,
    body: options.base64 ? Buffer.from(body, "utf8").toString("base64") : body,
    isBase64Encoded: options.base64 === true,
  };
}
