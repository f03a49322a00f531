/**
 * Ports: what the use cases need from the outside world. Adapters in functions/adapters implement
 * them over the AWS SDK and Octokit; tests drive the real adapters against local test doubles.
 */
import type { PullRequest } from "../core/classify.js";
import type { PipelineDeclaration, Tag } from "../core/pipeline.js";
import type { RepositoryIdentity } from "../core/reconcile.js";

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

/** GitHub refused a request because the caller's rate limit is used up. */
export class GitHubRateLimitError extends Error {
  override readonly name = "GitHubRateLimitError";
}

/** A logger that adds `fields` to every line. */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return {
    info: (message, more) => logger.info(message, { ...fields, ...more }),
    warn: (message, more) => logger.warn(message, { ...fields, ...more }),
    error: (message, more) => logger.error(message, { ...fields, ...more }),
  };
}
