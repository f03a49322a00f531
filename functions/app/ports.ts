/**
 * Ports: what the use cases need from the outside world. Adapters in functions/adapters implement
 * them over the AWS SDK and Octokit; tests drive the real adapters against local test doubles.
 */
import type { PullRequest } from "../core/classify.js";
import type { PipelineDeclaration, Tag } from "../core/pipeline.js";
import type { DeliveryRecord } from "../core/redelivery.js";
import type { RepositoryIdentity } from "../core/reconcile.js";
import type { ChangedFiles } from "../core/selection.js";

export interface PipelineSummary {
  name: string;
  pipelineType?: string;
  created?: Date;
  updated?: Date;
}

export interface StoredPipeline {
  declaration: PipelineDeclaration;
  /** `arn:aws:codepipeline:<region>:<account>:<name>` from GetPipeline's metadata. */
  arn: string;
}

export interface PipelineExecutionSummary {
  pipelineExecutionId: string;
  status: string;
  startTime?: Date;
  sourceRevisions?: { actionName: string; revisionId?: string }[];
}

export interface PipelineStore {
  /** The pipeline, or `undefined` when none has that name. */
  get(name: string): Promise<StoredPipeline | undefined>;
  create(declaration: PipelineDeclaration, tags: Tag[]): Promise<void>;
  update(declaration: PipelineDeclaration): Promise<void>;
  /** Deleting a pipeline that does not exist succeeds. */
  delete(name: string): Promise<void>;
  /** The pipeline's tags, or `undefined` when no pipeline has that ARN. */
  tags(arn: string): Promise<Tag[] | undefined>;
  /** Every pipeline in the account and region (all pages). */
  list(): Promise<PipelineSummary[]>;
  /** Executions whose status is InProgress (or Stopping). */
  inProgressExecutions(name: string): Promise<PipelineExecutionSummary[]>;
  /** Stops (abandons) an execution; one that already stopped or finished is not an error. */
  stopExecution(name: string, executionId: string, reason: string): Promise<void>;
}

export interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

export interface ImageStore {
  /** Every image id of the repository (all pages); tagged images appear once per tag. */
  list(repositoryName: string): Promise<ImageId[]>;
  /** Deletes in batches of at most 100 ids; returns how many were deleted and the failures. */
  delete(
    repositoryName: string,
    ids: ImageId[],
  ): Promise<{ deleted: number; failures: { imageId: ImageId; code: string; reason: string }[] }>;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A metric's dimensions besides the function's own: names and values from closed sets only. */
export type MetricDimensions = Readonly<Record<string, string>>;

/**
 * Metrics (functions/shared/metrics.ts names them): kept during an invocation and published once at
 * its end (`flush`). Never a secret, and no dimension from an open set (a pull request number, a
 * branch): CloudWatch bills and keeps every distinct set of dimension values as a metric of its own.
 */
export interface Metrics {
  /** Adds `value` (default 1) to a count. */
  count(name: string, value?: number, dimensions?: MetricDimensions): void;
  /** Records one duration in milliseconds. */
  duration(name: string, ms: number, dimensions?: MetricDimensions): void;
  /** Publishes what was recorded since the last flush; never throws. */
  flush(): void;
}

/** Metrics that go nowhere: the default where a caller gives none. */
export const noMetrics: Metrics = {
  count: () => undefined,
  duration: () => undefined,
  flush: () => undefined,
};

/** CreatePipeline found a pipeline with that name already. */
export class PipelineNameInUseError extends Error {
  override readonly name = "PipelineNameInUseError";
}

export interface GitHubPullRequests {
  /** The pull request as GitHub shows it now. */
  get(repository: string, number: number): Promise<PullRequest>;
  /**
   * The repository's id and current name as GitHub shows them now: for a renamed or transferred
   * repository, GitHub answers the old name with the new one.
   */
  repository(repository: string): Promise<RepositoryIdentity>;
  /**
   * The files the pull request changes (GitHub's `GET /repos/{o}/{r}/pulls/{n}/files`, 100 a page,
   * at most 3000 files: `truncated` then). Read only for a service with path rules; absent: the
   * files cannot be read, and path rules count as matching.
   */
  changedFiles?(repository: string, number: number): Promise<ChangedFiles>;
}

export interface OpenPullRequests {
  /**
   * Every open pull request of `repository` into `baseBranch` (all pages); without `baseBranch`,
   * into any branch.
   */
  listOpen(repository: string, baseBranch?: string): Promise<PullRequest[]>;
}

/**
 * Per pull request, the newest state (GitHub's `updated_at`) branchline has acted on: a replayed or
 * late delivery carrying an older one must not undo what a newer one did.
 */
export interface PullRequestMarks {
  /**
   * Records `updatedAt` (a timestamp normalised by `normaliseTimestamp`) as `key`'s newest, unless a
   * newer one is recorded already. Returns false, changing nothing, in that case; an equal one
   * passes, so that a redelivery of a delivery that failed is carried out.
   */
  advance(key: string, updatedAt: string, deliveryId: string | undefined): Promise<boolean>;
}

/**
 * A repository webhook's deliveries (GitHub's hook deliveries API): what the reconciler reads to
 * redeliver the webhook's failed deliveries. Present only when a GitHub token is configured.
 */
export interface WebhookDeliveries {
  /**
   * `true` for a GitHub App's webhook: one webhook serves every installed repository, so its
   * deliveries are read once a sweep (the `repository` arguments are then ignored) rather than
   * once per repository.
   */
  readonly appWide?: boolean;
  /**
   * The id of the repository's webhook whose `config.url` is `url`, or `undefined` when it has none.
   * Throws a {@link HookAccessError} when the token cannot read the repository's webhooks.
   */
  findHook(repository: string, url: string): Promise<number | undefined>;
  /**
   * The hook's deliveries, newest first, page by page (`perPage` each) while the oldest delivery
   * read is at or after `since` (epoch ms), and at most `maxPages` pages. Throws a
   * {@link HookAccessError} when the hook is gone or the token cannot read it.
   */
  recentDeliveries(
    repository: string,
    hookId: number,
    since: number,
    options: { perPage: number; maxPages: number },
  ): Promise<{ deliveries: DeliveryRecord[]; pages: number }>;
  /**
   * Asks GitHub to deliver `deliveryId` again (it answers 202 and delivers later). Throws a
   * {@link HookAccessError} when the token may read the hook but not redeliver.
   */
  redeliver(repository: string, hookId: number, deliveryId: number): Promise<void>;
}

/**
 * GitHub answered 403 or 404 for a repository's webhooks: the token lacks the permission (GitHub
 * hides what a token cannot see behind a 404), or the hook is gone.
 */
export class HookAccessError extends Error {
  override readonly name = "HookAccessError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One message for an SQS FIFO queue. */
export interface QueueMessage {
  body: string;
  /** MessageGroupId: messages of one group are delivered in order, one at a time. */
  groupId: string;
  /** MessageDeduplicationId: a second message with the same id within 5 minutes is dropped. */
  deduplicationId: string;
  /** String message attributes (name -> value). */
  attributes?: Readonly<Record<string, string>>;
}

/** A FIFO queue deliveries are sent to: the delivery queue (webhook), its dead-letter queue (worker). */
export interface DeliveryQueue {
  /**
   * Resolves once the queue stored the message (or had it already: same deduplication id within
   * the window); rejects when it could not be sent before `signal` aborts.
   */
  send(message: QueueMessage, signal?: AbortSignal): Promise<void>;
}

/**
 * GitHub refused a request because the caller's rate limit is used up, or (with `reserve`) the
 * request was not sent because the budget left is the reserve a sweep keeps for the webhook.
 */
export class GitHubRateLimitError extends Error {
  override readonly name = "GitHubRateLimitError";
  constructor(
    message: string,
    /** Set when the sweep stopped at its reserve: what was left, and when the budget resets. */
    readonly reserve?: { remaining: number; resetAt: Date },
  ) {
    super(message);
  }
}

/**
 * "GitHub rate limit: N left until HH:MM UTC, sweep stopped": the sweep's word for stopping at its
 * reserve.
 */
export function rateLimitStopMessage(reserve: { remaining: number; resetAt: Date }): string {
  const time = reserve.resetAt.toISOString().slice(11, 16);
  return `GitHub rate limit: ${reserve.remaining} left until ${time} UTC, sweep stopped`;
}

/** A logger that adds `fields` to every line. */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return {
    info: (message, more) => logger.info(message, { ...fields, ...more }),
    warn: (message, more) => logger.warn(message, { ...fields, ...more }),
    error: (message, more) => logger.error(message, { ...fields, ...more }),
  };
}
