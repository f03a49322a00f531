/**
 * Pull-request-native control: the `/branchline <command>` comments a maintainer writes on a pull
 * request, GitHub's "Re-run" of the App's checks, and the approval rule for untrusted pull requests.
 * Pure: parsing the deliveries and the commands, and the words branchline answers with.
 *
 * Commands (an `issue_comment` `created` on a pull request whose body starts with `/branchline`):
 * - `approve <sha>`: builds an untrusted pull request's head commit, named in full or by a prefix of
 *   at least 7 hex digits; a new push needs a new approval;
 * - `retest`: a new execution of the clone, pinned to the head commit (to the approved one for an
 *   untrusted pull request);
 * - `cancel`: stops the clone's executions in progress;
 * - `status`: a reply with the clone's state.
 * `check_suite` `rerequested` (the "Re-run" button on the App's checks) is a `retest` of each pull
 * request of the suite.
 */
import { createHash } from "node:crypto";
import { isFork, type PullRequest } from "./classify.js";
import { BadRequestError } from "./errors.js";

/** The word every command starts with. */
export const COMMAND_PREFIX = "/branchline";

export type Command =
  | { kind: "approve"; sha: string | undefined }
  | { kind: "retest" }
  | { kind: "cancel" }
  | { kind: "status" }
  | { kind: "unknown"; text: string };

/** Where a command came from: a comment (replied to, reacted on) or a check suite's re-run. */
export type CommandSource =
  { kind: "comment"; commentId: number } | { kind: "check_suite"; headSha: string };

/** One command for one pull request (a check suite of several pull requests gives one each). */
export interface CommandEvent {
  /** `owner/name` of the pull request's (base) repository. */
  repository: string;
  prNumber: number;
  /** The GitHub login of who asked. */
  actor: string;
  command: Command;
  source: CommandSource;
}

/** The shortest commit prefix `approve` accepts. */
export const MIN_SHA_PREFIX = 7;

/** GitHub's permissions on a repository that make a user trusted: they can push to it anyway. */
export const TRUSTED_PERMISSIONS: ReadonlySet<string> = new Set(["admin", "maintain", "write"]);

/**
 * The environment variable of an untrusted clone's CodeBuild actions naming the approved commit:
 * branchline's buildspec refuses to build any other (defence in depth behind the pinned execution).
 */
export const APPROVED_SHA_VARIABLE = "BRANCHLINE_APPROVED_SHA";

/**
 * The command of a comment body, or `undefined` when it is no command (its first line does not
 * start with `/branchline` as a word).
 */
export function parseCommand(body: string): Command | undefined {
  const first = body.trimStart().split(/\r?\n/, 1)[0] ?? "";
  const words = first.trim().split(/\s+/);
  if (words[0]?.toLowerCase() !== COMMAND_PREFIX) return undefined;
  const verb = (words[1] ?? "").toLowerCase();
  switch (verb) {
    case "approve":
      return { kind: "approve", sha: words[2] };
    case "retest":
    case "cancel":
    case "status":
      return { kind: verb };
    default:
      return { kind: "unknown", text: first.trim().slice(0, 100) };
  }
}

/** Whether `given` names `headSha`: the full sha or a prefix of at least 7 hex digits. */
export function namesCommit(given: string | undefined, headSha: string): boolean {
  if (given === undefined || !/^[0-9a-f]+$/i.test(given)) return false;
  if (given.length < MIN_SHA_PREFIX || given.length > headSha.length) return false;
  return headSha.toLowerCase().startsWith(given.toLowerCase());
}

/**
 * StartPipelineExecution's idempotency token for a delivery's start of a clone: a delivery carried
 * out again (a worker's retry, GitHub's redelivery) does not start a second execution.
 */
export function executionToken(deliveryId: unknown, clone: string): string | undefined {
  if (typeof deliveryId !== "string" || deliveryId === "") return undefined;
  return createHash("sha256").update(`${deliveryId}\n${clone}`, "utf8").digest("hex");
}

/** A commit's short form, as GitHub shows it. */
export function shortSha(sha: string): string {
  return sha.slice(0, MIN_SHA_PREFIX);
}

/** What trust the approval rule gives a pull request. */
export type Trust = "trusted" | "untrusted";

/**
 * The trust of a pull request: a fork's is untrusted; otherwise its author's permission on the
 * repository decides (admin, maintain, write: trusted). `permission` `undefined`: it cannot be read
 * (no GitHub credentials): a pull request of the repository itself counts as trusted, since only
 * someone who can push to the repository could push its branch.
 */
export function trustOf(pr: PullRequest, permission: string | undefined): Trust {
  if (isFork(pr)) return "untrusted";
  if (permission === undefined) return "trusted";
  return TRUSTED_PERMISSIONS.has(permission) ? "trusted" : "untrusted";
}

/**
 * Whether the author's permission must be asked of GitHub: not for a fork (untrusted whatever it
 * is), nor for the repository's owner (GitHub's `author_association` OWNER: it owns the repository).
 */
export function needsPermission(pr: PullRequest): boolean {
  return !isFork(pr) && pr.authorAssociation !== "OWNER" && pr.author !== undefined;
}

/** The description of the pending status of an untrusted head commit (at most 140 characters). */
export function waitingDescription(headSha: string): string {
  return `Waiting for approval: a maintainer comments ${COMMAND_PREFIX} approve ${shortSha(headSha)}`;
}

/** What the approval rule decides for an untrusted pull request's head commit. */
export type ApprovalDecision =
  | { build: true; approvedSha: string | undefined }
  | { build: false; reason: string; description: string };

/**
 * The rule: a trusted pull request (or a service that requires no approval) is built as it always
 * was; an untrusted one only when `approvedSha` (the approval a maintainer gave, from the command
 * being carried out or the one recorded on the clone) is its head commit.
 */
export function approvalDecision(
  pr: PullRequest,
  required: boolean,
  trust: Trust,
  approvedSha: string | undefined,
): ApprovalDecision {
  if (!required || trust === "trusted") return { build: true, approvedSha: undefined };
  if (approvedSha !== undefined && approvedSha.toLowerCase() === pr.headSha.toLowerCase()) {
    return { build: true, approvedSha: pr.headSha };
  }
  return {
    build: false,
    reason:
      approvedSha === undefined
        ? `pull request #${pr.number} is untrusted and waits for a maintainer's approval of ${shortSha(pr.headSha)}`
        : `pull request #${pr.number} is untrusted: ${shortSha(approvedSha)} was approved, its head ${shortSha(pr.headSha)} is not`,
    description: waitingDescription(pr.headSha),
  };
}

/**
 * First pass over an `issue_comment` delivery: the command it carries, or why it is ignored
 * (another action, an issue rather than a pull request, a bot's comment, no command).
 */
export function parseCommentDelivery(
  payload: Record<string, unknown>,
): { kind: "command"; event: CommandEvent } | { kind: "ignore"; reason: string } {
  const action = payload["action"];
  if (action !== "created")
    return { kind: "ignore", reason: `comment ${String(action)} is not handled` };
  const issue = objectAt(payload, "issue");
  if (!isObject(issue["pull_request"])) {
    return { kind: "ignore", reason: "a comment on an issue, not a pull request" };
  }
  const comment = objectAt(payload, "comment");
  const user = isObject(comment["user"]) ? comment["user"] : {};
  if (user["type"] === "Bot" || isObject(comment["performed_via_github_app"])) {
    return { kind: "ignore", reason: "a comment by a bot" };
  }
  const body = typeof comment["body"] === "string" ? comment["body"] : "";
  const command = parseCommand(body);
  if (command === undefined) return { kind: "ignore", reason: "the comment is no command" };
  return {
    kind: "command",
    event: {
      repository: repositoryOf(payload),
      prNumber: positive(issue["number"], "issue.number"),
      actor: text(user["login"], "comment.user.login"),
      command,
      source: { kind: "comment", commentId: positive(comment["id"], "comment.id") },
    },
  };
}

/**
 * First pass over a `check_suite` delivery: `rerequested` (the "Re-run" button) is a `retest` of
 * each of the suite's pull requests; anything else is ignored.
 */
export function parseCheckSuiteDelivery(
  payload: Record<string, unknown>,
): { kind: "commands"; events: CommandEvent[] } | { kind: "ignore"; reason: string } {
  const action = payload["action"];
  if (action !== "rerequested") {
    return { kind: "ignore", reason: `check suite ${String(action)} is not handled` };
  }
  const suite = objectAt(payload, "check_suite");
  const headSha = text(suite["head_sha"], "check_suite.head_sha");
  const repository = repositoryOf(payload);
  const sender = objectAt(payload, "sender");
  const pulls = Array.isArray(suite["pull_requests"]) ? (suite["pull_requests"] as unknown[]) : [];
  const numbers = new Set<number>();
  for (const pull of pulls) {
    if (isObject(pull)) numbers.add(positive(pull["number"], "check_suite.pull_requests[].number"));
  }
  if (numbers.size === 0)
    return { kind: "ignore", reason: "the check suite names no pull request" };
  return {
    kind: "commands",
    events: [...numbers].map((prNumber) => ({
      repository,
      prNumber,
      actor: text(sender["login"], "sender.login"),
      command: { kind: "retest" },
      source: { kind: "check_suite", headSha },
    })),
  };
}

function repositoryOf(payload: Record<string, unknown>): string {
  return text(objectAt(payload, "repository")["full_name"], "repository.full_name");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function objectAt(root: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = root[key];
  if (!isObject(value)) throw new BadRequestError(`${key} must be an object`);
  return value;
}

function text(value: unknown, label: string): string {
  if (typeof value !== "string" || value === "") {
    throw new BadRequestError(`${label} must be a non-empty string`);
  }
  return value;
}

function positive(value: unknown, label: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new BadRequestError(`${label} must be a positive integer`);
  }
  return value;
}
