/**
 * A queued delivery: the message the webhook sends to the SQS FIFO delivery queue and the worker
 * reads back. It carries the parsed, normalised pull request event (not GitHub's payload, which
 * runs to tens of kilobytes), so the worker needs neither the signature nor the raw body.
 * Pure: encoding, decoding with validation, and the FIFO group and deduplication ids.
 *
 * Format (version 1), a JSON object:
 *
 *     { "version": 1, "deliveryId": "<X-GitHub-Delivery>", "event": "pull_request",
 *       "receivedAt": "2026-01-01T00:00:00.000Z",
 *       "pullRequestEvent": { "action": "opened", "pullRequest": { ... }, "previousBaseBranch"?: "..." },
 *       "reason"?: "why the worker moved it to the dead-letter queue" }
 *
 * `pullRequest.labels` (the label names) is optional: messages queued before it was carried have
 * none, and decode with `labels` undefined (unknown: the worker then uses the labels GitHub shows
 * now when a token is configured, none otherwise).
 */
import { createHash } from "node:crypto";
import { normaliseTimestamp, type PullRequest, type PullRequestEvent } from "./classify.js";
import { BadRequestError } from "./errors.js";

/** The format version this code writes and reads. */
export const DELIVERY_FORMAT_VERSION = 1;

export interface QueuedDelivery {
  version: typeof DELIVERY_FORMAT_VERSION;
  /** GitHub's delivery id (X-GitHub-Delivery), or `sha256:<hex>` of the signed body without one. */
  deliveryId: string;
  /** The X-GitHub-Event name. */
  event: string;
  /** When the webhook received it (ISO-8601, UTC). */
  receivedAt: string;
  pullRequestEvent: PullRequestEvent;
  /** Set by the worker on a delivery it moved to the dead-letter queue: why. */
  reason?: string;
}

/** A queue message that is not a delivery this code can read; it can never succeed. */
export class DeliveryFormatError extends BadRequestError {
  override readonly name = "DeliveryFormatError";
}

/** SQS's limit on MessageGroupId and MessageDeduplicationId. */
export const FIFO_ID_MAX_LENGTH = 128;

/** The characters SQS accepts in those ids: letters, digits and ASCII punctuation. */
const FIFO_ID_PATTERN = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]+$/;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** An id SQS accepts: `id` itself when it fits, otherwise `sha256:<hex>` of it. */
function fifoId(id: string): string {
  return id.length <= FIFO_ID_MAX_LENGTH && FIFO_ID_PATTERN.test(id) ? id : `sha256:${sha256(id)}`;
}

/** The delivery id of a delivery without X-GitHub-Delivery: a digest of the signed body. */
export function bodyDigest(body: string): string {
  return `sha256:${sha256(body)}`;
}

/**
 * The message group of a pull request's deliveries: `<owner/name, lower-case>#<number>`, so one
 * pull request's events are processed in order and different pull requests in parallel. A name
 * too long for SQS (or with characters it refuses) is hashed.
 */
export function deliveryGroupId(event: PullRequestEvent): string {
  const pr = event.pullRequest;
  return fifoId(`${pr.baseRepository.toLowerCase()}#${pr.number}`);
}

/** The deduplication id of a delivery: its delivery id (hashed when SQS would refuse it). */
export function deliveryDeduplicationId(deliveryId: string): string {
  return fifoId(deliveryId);
}

export function encodeDelivery(delivery: QueuedDelivery): string {
  return JSON.stringify(delivery);
}

/** Reads a queue message's body; a body that is not a version-1 delivery is a DeliveryFormatError. */
export function decodeDelivery(body: string): QueuedDelivery {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new DeliveryFormatError("the message body is not JSON");
  }
  const root = object(parsed, "the message body");
  if (root["version"] !== DELIVERY_FORMAT_VERSION) {
    throw new DeliveryFormatError(
      `version must be ${DELIVERY_FORMAT_VERSION}, got ${JSON.stringify(root["version"]) ?? "nothing"}`,
    );
  }
  const receivedAt = text(root, "receivedAt");
  if (normaliseTimestamp(receivedAt) === undefined) {
    throw new DeliveryFormatError(`receivedAt must be an ISO-8601 timestamp, got ${receivedAt}`);
  }
  const delivery: QueuedDelivery = {
    version: DELIVERY_FORMAT_VERSION,
    deliveryId: text(root, "deliveryId"),
    event: text(root, "event"),
    receivedAt,
    pullRequestEvent: pullRequestEvent(object(root["pullRequestEvent"], "pullRequestEvent")),
  };
  const reason = optionalText(root, "reason");
  if (reason !== undefined) delivery.reason = reason;
  return delivery;
}

function pullRequestEvent(root: Record<string, unknown>): PullRequestEvent {
  const event: PullRequestEvent = {
    action: text(root, "action", "pullRequestEvent."),
    pullRequest: pullRequest(object(root["pullRequest"], "pullRequestEvent.pullRequest")),
  };
  const previous = optionalText(root, "previousBaseBranch", "pullRequestEvent.");
  if (previous !== undefined) event.previousBaseBranch = previous;
  return event;
}

function pullRequest(root: Record<string, unknown>): PullRequest {
  const at = "pullRequestEvent.pullRequest.";
  const number = root["number"];
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1) {
    throw new DeliveryFormatError(`${at}number must be a positive integer`);
  }
  const state = text(root, "state", at);
  if (state !== "open" && state !== "closed") {
    throw new DeliveryFormatError(`${at}state must be open or closed, got ${state}`);
  }
  const pr: PullRequest = {
    number,
    state,
    draft: flag(root, "draft", at),
    merged: flag(root, "merged", at),
    headBranch: text(root, "headBranch", at),
    headSha: text(root, "headSha", at),
    headRepository: optionalText(root, "headRepository", at),
    baseBranch: text(root, "baseBranch", at),
    baseRepository: text(root, "baseRepository", at),
  };
  const id = root["baseRepositoryId"];
  if (id !== undefined) {
    if (typeof id !== "number" || !Number.isSafeInteger(id)) {
      throw new DeliveryFormatError(`${at}baseRepositoryId must be an integer`);
    }
    pr.baseRepositoryId = id;
  }
  const updatedAt = optionalText(root, "updatedAt", at);
  if (updatedAt !== undefined) {
    if (normaliseTimestamp(updatedAt) !== updatedAt) {
      throw new DeliveryFormatError(`${at}updatedAt must be a normalised timestamp`);
    }
    pr.updatedAt = updatedAt;
  }
  const labels = root["labels"];
  if (labels !== undefined && labels !== null) {
    if (!Array.isArray(labels) || !labels.every((label) => typeof label === "string")) {
      throw new DeliveryFormatError(`${at}labels must be a list of strings`);
    }
    pr.labels = labels as string[];
  }
  return pr;
}

function object(value: unknown, label: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DeliveryFormatError(`${label} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function text(root: Record<string, unknown>, key: string, at = ""): string {
  const value = root[key];
  if (typeof value !== "string" || value === "") {
    throw new DeliveryFormatError(`${at}${key} must be a non-empty string`);
  }
  return value;
}

/** Absent or `null` is `undefined`; present, a non-empty string. */
function optionalText(root: Record<string, unknown>, key: string, at = ""): string | undefined {
  return root[key] === undefined || root[key] === null ? undefined : text(root, key, at);
}

function flag(root: Record<string, unknown>, key: string, at: string): boolean {
  const value = root[key];
  if (typeof value !== "boolean")
    throw new DeliveryFormatError(`${at}${key} must be true or false`);
  return value;
}
