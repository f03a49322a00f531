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
 * now when a token is configured, none otherwise). `pullRequest.author` and
 * `pullRequest.authorAssociation` are optional too.
 *
 * A command (a `/branchline` comment, a check suite's re-run: core/commands.ts) is a message of the
 * same version with `"kind": "command"` and a `commandEvent` instead of `pullRequestEvent`:
 *
 *     { "version": 1, "kind": "command", "deliveryId": "...", "event": "issue_comment",
 *       "receivedAt": "...", "commandEvent": { "repository": "o/r", "prNumber": 7, "actor": "...",
 *       "command": { "kind": "approve", "sha": "..." }, "source": { "kind": "comment", "commentId": 1 } } }
 *
 * Messages without `kind` are pull request deliveries, as every message queued before commands was.
 */
import { createHash } from "node:crypto";
import { normaliseTimestamp, type PullRequest, type PullRequestEvent } from "./classify.js";
import { BadRequestError } from "./errors.js";
import type { Command, CommandEvent, CommandSource } from "./commands.js";

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

/** A queued command (core/commands.ts): same envelope, `kind` `command`. */
export interface QueuedCommand {
  version: typeof DELIVERY_FORMAT_VERSION;
  kind: "command";
  deliveryId: string;
  event: string;
  receivedAt: string;
  commandEvent: CommandEvent;
  reason?: string;
}

/** Any message of the delivery queue. */
export type QueuedMessage = QueuedDelivery | QueuedCommand;

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

/** A command's group: its pull request's, so that it is ordered with the pull request's events. */
export function commandGroupId(event: CommandEvent): string {
  return fifoId(`${event.repository.toLowerCase()}#${event.prNumber}`);
}

/** The group of any message. */
export function messageGroupId(message: QueuedMessage): string {
  return "commandEvent" in message
    ? commandGroupId(message.commandEvent)
    : deliveryGroupId(message.pullRequestEvent);
}

/** The deduplication id of a delivery: its delivery id (hashed when SQS would refuse it). */
export function deliveryDeduplicationId(deliveryId: string): string {
  return fifoId(deliveryId);
}

export function encodeDelivery(delivery: QueuedMessage): string {
  return JSON.stringify(delivery);
}

/**
 * Reads a queue message's body: a pull request delivery or a command; anything else is a
 * DeliveryFormatError.
 */
export function decodeMessage(body: string): QueuedMessage {
  const root = envelope(body);
  if (root["kind"] === undefined) return decodeDelivery(body);
  if (root["kind"] !== "command") {
    throw new DeliveryFormatError(`kind must be command, got ${JSON.stringify(root["kind"])}`);
  }
  const message: QueuedCommand = {
    version: DELIVERY_FORMAT_VERSION,
    kind: "command",
    deliveryId: text(root, "deliveryId"),
    event: text(root, "event"),
    receivedAt: text(root, "receivedAt"),
    commandEvent: commandEvent(object(root["commandEvent"], "commandEvent")),
  };
  const reason = optionalText(root, "reason");
  if (reason !== undefined) message.reason = reason;
  return message;
}

function envelope(body: string): Record<string, unknown> {
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
  return root;
}

function commandEvent(root: Record<string, unknown>): CommandEvent {
  const at = "commandEvent.";
  const prNumber = root["prNumber"];
  if (typeof prNumber !== "number" || !Number.isSafeInteger(prNumber) || prNumber < 1) {
    throw new DeliveryFormatError(`${at}prNumber must be a positive integer`);
  }
  return {
    repository: text(root, "repository", at),
    prNumber,
    actor: text(root, "actor", at),
    command: command(object(root["command"], `${at}command`)),
    source: commandSource(object(root["source"], `${at}source`)),
  };
}

function command(root: Record<string, unknown>): Command {
  const kind = text(root, "kind", "commandEvent.command.");
  switch (kind) {
    case "approve":
      return { kind, sha: optionalText(root, "sha", "commandEvent.command.") };
    case "retest":
    case "cancel":
    case "status":
      return { kind };
    case "unknown":
      return { kind, text: text(root, "text", "commandEvent.command.") };
    default:
      throw new DeliveryFormatError(`commandEvent.command.kind ${kind} is not a command`);
  }
}

function commandSource(root: Record<string, unknown>): CommandSource {
  const kind = text(root, "kind", "commandEvent.source.");
  if (kind === "comment") {
    const id = root["commentId"];
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) {
      throw new DeliveryFormatError("commandEvent.source.commentId must be a positive integer");
    }
    return { kind, commentId: id };
  }
  if (kind === "check_suite") {
    return { kind, headSha: text(root, "headSha", "commandEvent.source.") };
  }
  throw new DeliveryFormatError(`commandEvent.source.kind ${kind} is not a command source`);
}

/** Reads a queue message's body; a body that is not a version-1 delivery is a DeliveryFormatError. */
export function decodeDelivery(body: string): QueuedDelivery {
  const root = envelope(body);
  const receivedAt = text(root, "receivedAt");
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
  const author = optionalText(root, "author", at);
  if (author !== undefined) pr.author = author;
  const association = optionalText(root, "authorAssociation", at);
  if (association !== undefined) pr.authorAssociation = association;
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
