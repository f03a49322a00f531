/**
 * Decides what a GitHub delivery asks of branchline, from the event name, the parsed payload and the
 * source pipeline's repository and branch. Pure: the same inputs always give the same intent.
 */
import { PR_NUMBER_MAX_DIGITS } from "../shared/names.js";
import { BadRequestError } from "./errors.js";
import { parseCheckSuiteDelivery, parseCommentDelivery, type CommandEvent } from "./commands.js";

/** The repository and branch the source pipeline builds. */
export interface SourceRef {
  /** `owner/name`, as in the source action's `FullRepositoryId`. */
  repository: string;
  branch: string;
}

export interface ClassifyOptions {
  /** Build pull requests whose head is in another repository. Default: refused. */
  allowForks: boolean;
  /** Build draft pull requests. When false, a draft waits for `ready_for_review`. */
  buildDrafts: boolean;
}

/** What the handler needs to know of a pull request. */
export interface PullRequest {
  number: number;
  state: "open" | "closed";
  draft: boolean;
  merged: boolean;
  headBranch: string;
  headSha: string;
  /** `owner/name` of the head repository; `undefined` when the fork was deleted. */
  headRepository: string | undefined;
  baseBranch: string;
  baseRepository: string;
  /**
   * GitHub's numeric id of the base repository, when the payload or the API gives it: unlike the
   * name, it survives a rename or a transfer.
   */
  baseRepositoryId?: number;
  /**
   * GitHub's `updated_at`, normalised by {@link normaliseTimestamp} so that later ones sort after
   * earlier ones; `undefined` when the source did not carry it.
   */
  updatedAt?: string | undefined;
  /**
   * The names of its labels; `undefined` when unknown (a queued delivery written before labels were
   * carried): then the labels GitHub shows now are used when a token is configured, none otherwise.
   */
  labels?: string[] | undefined;
  /** The login of its author, when known (the approval rule reads its permission). */
  author?: string | undefined;
  /** GitHub's `author_association` (`OWNER`, `MEMBER`, ...), when known. */
  authorAssociation?: string | undefined;
}

export interface PullRequestEvent {
  action: string;
  pullRequest: PullRequest;
  /** For `edited`: the base branch before the edit, when the base changed. */
  previousBaseBranch?: string;
}

export type Intent =
  | { kind: "ping" }
  | {
      kind: "ignore";
      reason: string;
      /** Set when the pull request is refused for being from a fork: the reason belongs on it. */
      refusedFork?: PullRequest;
      /** Set when the pull request is a draft not built yet: the reason belongs on it. */
      draft?: PullRequest;
    }
  /** `headRepository`: the repository the clone reads (the source's own name unless a fork). */
  | { kind: "ensure"; pullRequest: PullRequest; headRepository: string }
  /** `reason`, when the pull request is open but can never be built again (its fork was deleted). */
  | { kind: "remove"; pullRequest: PullRequest; reason?: string };

/**
 * The commit status description on a fork's head commit when forks are refused (at most 140
 * characters, GitHub's limit).
 */
export const FORK_REFUSED_DESCRIPTION =
  "Not built: forks are refused here, as the AWS CodeConnections connection cannot read a contributor's fork";

const BUILD_ACTIONS = new Set(["opened", "reopened", "synchronize", "ready_for_review"]);

/**
 * Actions that matter only to services with label rules (functions/core/selection.ts): for them a
 * label added or removed is re-evaluated like a new commit.
 */
export const LABEL_ACTIONS: ReadonlySet<string> = new Set(["labeled", "unlabeled"]);

/**
 * The longest head branch a clone can build: CodePipeline's trigger branch filters
 * (GitBranchNamePattern) take at most 255 characters, and GitHub's branch names stay within it.
 */
export const MAX_BRANCH_LENGTH = 255;

/**
 * First pass, before anything is known of the source pipeline: pings, other events and actions that
 * never change a clone are settled here without an AWS call.
 */
export function preclassify(
  eventName: string | undefined,
  payload: Record<string, unknown>,
):
  | { kind: "ping" }
  | { kind: "ignore"; reason: string }
  | { kind: "pull_request"; event: PullRequestEvent }
  | { kind: "commands"; events: CommandEvent[] } {
  if (eventName === "ping") return { kind: "ping" };
  if (eventName === undefined || eventName === "") {
    throw new BadRequestError("missing X-GitHub-Event header");
  }
  if (eventName === "issue_comment") {
    const comment = parseCommentDelivery(payload);
    return comment.kind === "command" ? { kind: "commands", events: [comment.event] } : comment;
  }
  if (eventName === "check_suite") return parseCheckSuiteDelivery(payload);
  if (eventName !== "pull_request")
    return { kind: "ignore", reason: `event ${eventName} is not handled` };
  const event = parsePullRequestEvent(payload);
  const relevant =
    BUILD_ACTIONS.has(event.action) ||
    LABEL_ACTIONS.has(event.action) ||
    event.action === "closed" ||
    (event.action === "edited" && event.previousBaseBranch !== undefined);
  if (!relevant) return { kind: "ignore", reason: `action ${event.action} is not handled` };
  return { kind: "pull_request", event };
}

/** Second pass: what the pull request event asks for, given the source pipeline's repository. */
export function classify(
  event: PullRequestEvent,
  source: SourceRef,
  options: ClassifyOptions,
): Intent {
  const pr = event.pullRequest;
  if (!sameRepository(pr.baseRepository, source.repository)) {
    // Never a removal: a delivery of another repository may also be the source's repository under
    // a new name (GitHub keeps the id on a rename or a transfer; the source pipeline names it only).
    return {
      kind: "ignore",
      reason: `repository ${pr.baseRepository} is not ${source.repository}, the source pipeline's; if ${source.repository} was renamed or transferred to ${pr.baseRepository}, set the stack's branchline:repository to ${pr.baseRepository} and run pulumi up`,
    };
  }
  // A closed pull request always loses its clone, whatever its base: it may have been retargeted
  // after the clone was made, and removing what does not exist is harmless.
  if (event.action === "closed") return { kind: "remove", pullRequest: pr };

  const targetsSource = pr.baseBranch === source.branch;
  if (event.action === "edited") {
    if (targetsSource) return wanted(pr, source, options);
    if (event.previousBaseBranch === source.branch) return { kind: "remove", pullRequest: pr };
    return { kind: "ignore", reason: `base ${pr.baseBranch} is not ${source.branch}` };
  }
  if (!targetsSource)
    return { kind: "ignore", reason: `base ${pr.baseBranch} is not ${source.branch}` };
  return wanted(pr, source, options);
}

function wanted(pr: PullRequest, source: SourceRef, options: ClassifyOptions): Intent {
  if (pr.state !== "open")
    return { kind: "ignore", reason: `pull request #${pr.number} is ${pr.state}` };
  if (pr.headRepository === undefined) {
    // Whether forks are allowed or not: the branch is gone with its repository, and building the
    // base repository's branch of the same name would build someone else's code.
    return {
      kind: "remove",
      pullRequest: pr,
      reason: `pull request #${pr.number}: its head repository was deleted, so it can never be built again; its clone, if any, is removed`,
    };
  }
  const fork = isFork(pr);
  if (fork && !options.allowForks) {
    return {
      kind: "ignore",
      reason: `pull request #${pr.number} comes from a fork; forks are not built`,
      refusedFork: pr,
    };
  }
  if (pr.headBranch.length > MAX_BRANCH_LENGTH) {
    return {
      kind: "ignore",
      reason: `pull request #${pr.number}: head branch name is longer than ${MAX_BRANCH_LENGTH} characters, which CodePipeline cannot build`,
    };
  }
  if (pr.draft && !options.buildDrafts) {
    return {
      kind: "ignore",
      reason: `pull request #${pr.number} is a draft; waiting for ready_for_review`,
      draft: pr,
    };
  }
  return {
    kind: "ensure",
    pullRequest: pr,
    headRepository: fork ? pr.headRepository : source.repository,
  };
}

export function isFork(pr: PullRequest): boolean {
  return pr.headRepository === undefined || !sameRepository(pr.headRepository, pr.baseRepository);
}

/** GitHub repository names are case-insensitive. */
export function sameRepository(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Reads the members branchline uses from a `pull_request` payload; a malformed one is a bad request. */
export function parsePullRequestEvent(payload: Record<string, unknown>): PullRequestEvent {
  const action = stringAt(payload, ["action"]);
  const pr = objectAt(payload, ["pull_request"]);
  const number = pr["number"];
  if (
    typeof number !== "number" ||
    !Number.isSafeInteger(number) ||
    number < 1 ||
    String(number).length > PR_NUMBER_MAX_DIGITS
  ) {
    // At most 10 digits (GitHub's numbers are 32-bit): every clone name `<source>-pr-<n>` fits.
    throw new BadRequestError(
      `pull_request.number must be a positive integer of at most ${PR_NUMBER_MAX_DIGITS} digits`,
    );
  }
  const state = stringAt(pr, ["state"], "pull_request.state");
  if (state !== "open" && state !== "closed") {
    throw new BadRequestError(`pull_request.state must be open or closed, got ${state}`);
  }
  const headRepo = (objectAt(pr, ["head"], "pull_request.head")["repo"] ?? null) as unknown;
  const event: PullRequestEvent = {
    action,
    pullRequest: {
      number,
      state,
      draft: pr["draft"] === true,
      merged: pr["merged"] === true,
      headBranch: stringAt(pr, ["head", "ref"], "pull_request.head.ref"),
      headSha: stringAt(pr, ["head", "sha"], "pull_request.head.sha"),
      headRepository:
        headRepo === null
          ? undefined
          : stringAt(
              headRepo as Record<string, unknown>,
              ["full_name"],
              "pull_request.head.repo.full_name",
            ),
      baseBranch: stringAt(pr, ["base", "ref"], "pull_request.base.ref"),
      baseRepository: stringAt(
        pr,
        ["base", "repo", "full_name"],
        "pull_request.base.repo.full_name",
      ),
      updatedAt: timestampAt(pr, "updated_at", "pull_request.updated_at"),
      labels: labelNames(pr["labels"]),
    },
  };
  const user = pr["user"];
  if (isObject(user) && typeof user["login"] === "string") event.pullRequest.author = user["login"];
  if (typeof pr["author_association"] === "string")
    event.pullRequest.authorAssociation = pr["author_association"];
  const baseRepositoryId = objectAt(pr, ["base", "repo"])["id"];
  if (typeof baseRepositoryId === "number" && Number.isSafeInteger(baseRepositoryId))
    event.pullRequest.baseRepositoryId = baseRepositoryId;
  if (action === "edited") {
    const changes = payload["changes"];
    if (isObject(changes) && isObject(changes["base"])) {
      const from = (changes["base"] as Record<string, unknown>)["ref"];
      if (isObject(from) && typeof from["from"] === "string")
        event.previousBaseBranch = from["from"];
    }
  }
  return event;
}

/**
 * The names of GitHub's `labels` (a list of `{ name }` objects); `undefined` when the member is
 * absent. A malformed list is a bad request.
 */
export function labelNames(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new BadRequestError("pull_request.labels must be a list");
  return value.map((label: unknown) => {
    const name = isObject(label) ? label["name"] : undefined;
    if (typeof name !== "string") {
      throw new BadRequestError("pull_request.labels[].name must be a string");
    }
    return name;
  });
}

/**
 * An ISO-8601 timestamp in one form, `YYYY-MM-DDTHH:mm:ss.sssZ` (UTC), so that comparing two as
 * strings orders them in time; `undefined` when `value` is not a timestamp.
 */
export function normaliseTimestamp(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    return undefined;
  }
  const time = Date.parse(value);
  if (Number.isNaN(time)) return undefined;
  const text = new Date(time).toISOString();
  return /^\d{4}-/.test(text) ? text : undefined;
}

/** An optional timestamp member: absent is `undefined`; present, it must be an ISO-8601 timestamp. */
function timestampAt(
  root: Record<string, unknown>,
  key: string,
  label: string,
): string | undefined {
  const value = root[key];
  if (value === undefined || value === null) return undefined;
  const normalised = typeof value === "string" ? normaliseTimestamp(value) : undefined;
  if (normalised === undefined) {
    throw new BadRequestError(`${label} must be an ISO-8601 timestamp`);
  }
  return normalised;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function objectAt(
  root: Record<string, unknown>,
  path: string[],
  label = path.join("."),
): Record<string, unknown> {
  let value: unknown = root;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  if (!isObject(value)) throw new BadRequestError(`${label} must be an object`);
  return value;
}

function stringAt(root: Record<string, unknown>, path: string[], label = path.join(".")): string {
  let value: unknown = root;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  if (typeof value !== "string" || value === "")
    throw new BadRequestError(`${label} must be a non-empty string`);
  return value;
}
