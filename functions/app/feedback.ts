/**
 * Feedback to people about a pipeline execution: a commit status on the commit it built, the clone's
 * one pull request comment, and a notification when it succeeds or fails.
 *
 * Error policy: the three outputs are independent; a failure of one never stops the others. The
 * outcome says whether a retry of the event is safe and useful: GitHub writes are idempotent (the
 * status of a context is overwritten, the comment is found by its marker and edited), a notification
 * is not. So a retry is asked for when something failed and no notification went out in this
 * attempt; once a message has been published, a retry would send it twice, and the failure is only
 * logged.
 */
import type { StepEvent } from "../core/checks.js";
import { FORK_REFUSED_DESCRIPTION } from "../core/classify.js";
import { deploysPreview, isManagedClone } from "../core/clone.js";
import { previewCommentLine, previewUrl, type PreviewSettings } from "../core/preview.js";
import {
  previewEnvironment,
  type PreviewDeploymentState,
  type PreviewDeployments,
} from "./preview-deployments.js";
import {
  cloneBranchOf,
  commentBody,
  commentMarker,
  commitOf,
  commitStatus,
  durationMs,
  effectiveState,
  formatDuration,
  NOTIFIED_STATES,
  notificationMessage,
  pipelineArn,
  pullRequestUrl,
  STATE_TABLE,
  type CommitStatus,
  type ExecutionEvent,
  type ExecutionState,
  type NotificationMessage,
  type AwsLocation,
  type RevisionLike,
  type SourceFacts,
} from "../core/feedback.js";
import type { PipelineDeclaration } from "../core/pipeline.js";
import { cloneNameWildcard, TAG } from "../shared/names.js";
import { writeCheckRun, type CheckPorts, type CheckResult } from "./checks.js";
import type { Messages } from "./messages.js";
import type { Logger, PipelineStore } from "./ports.js";

export interface ExecutionDetails {
  /** The API's status: InProgress, Succeeded, Failed, Stopped, Stopping, Superseded, Cancelled. */
  status: string;
  startTime?: Date;
  lastUpdateTime?: Date;
  revisions: RevisionLike[];
}

export interface PipelineExecutions {
  /** The execution, or `undefined` when the pipeline or the execution is gone. */
  find(pipeline: string, executionId: string): Promise<ExecutionDetails | undefined>;
}

export interface CommitStatuses {
  post(repository: string, sha: string, status: CommitStatus): Promise<void>;
}

export type CommentResult = "created" | "updated" | "unchanged";

export interface UpsertOptions {
  /**
   * When another writer created the same comment at the same moment (the webhook's announcement
   * and the first execution event), the older comment is kept and the newer one deleted. `true`
   * leaves the older comment's text as it is (the announcement yields to an execution's newer
   * news); `false` (default) writes this body into it.
   */
  yieldOnRace?: boolean;
}

export interface PullRequestComments {
  /**
   * Edits branchline's own comment that contains `marker`, or creates it when there is none. A
   * comment by anyone else is never edited, even with the marker in it.
   */
  upsert(
    repository: string,
    prNumber: number,
    marker: string,
    body: string,
    options?: UpsertOptions,
  ): Promise<CommentResult>;
}

export interface Notifications {
  publish(message: NotificationMessage): Promise<void>;
}

export interface FeedbackPorts {
  /** `tags` says whether a clone is ours; `get` gives its declaration (its real branch name). */
  pipelines: Pick<PipelineStore, "tags" | "get">;
  executions: PipelineExecutions;
  /** The source pipeline's facts (cached by the caller). */
  source: () => Promise<SourceFacts>;
  /** Absent when no GitHub token is configured. */
  github?: {
    statuses: CommitStatuses;
    comments: PullRequestComments;
    /** The previews' deployments: present for a service with previews only. */
    deployments?: PreviewDeployments;
  };
  /** Absent when no topic is configured. */
  notifications?: Notifications;
  /** A clone execution's check run: present only with a GitHub App (the Checks API is the Apps'). */
  checks?: CheckPorts;
}

/** The deployment state a clone's execution end gives its preview (others: none reported). */
const DEPLOYMENT_STATES: Partial<Record<ExecutionState, PreviewDeploymentState>> = {
  SUCCEEDED: "success",
  FAILED: "failure",
};

export interface FeedbackConfig {
  sourcePipelineName: string;
  /** GitHub's web address, for pull request links. */
  githubWebUrl: string;
  messages: Messages;
  /** The service's name: its clones' check run is `branchline / <service>`. */
  service: string;
  /** The service's preview settings; absent: no previews. */
  preview?: PreviewSettings | undefined;
}

type Step<T extends string> = T | "skipped" | "failed";

export interface FeedbackOutcome {
  outcome: "ignored" | "reported";
  reason?: string;
  pipeline: string;
  state: ExecutionState;
  /** The state reported (differs from `state` for a late event of a finished execution). */
  reportedState?: ExecutionState;
  pullRequest?: number;
  commit?: string;
  status: Step<"posted">;
  comment: Step<CommentResult>;
  notification: Step<"published">;
  /** A clone's preview deployment (a service with previews, on the execution's end). */
  deployment?: Step<"reported">;
  /** A clone's check run (with a GitHub App only). */
  check?: Step<CheckResult>;
  errors: string[];
  /** Whether retrying the event is safe (nothing non-idempotent done) and useful (a step failed). */
  retry: boolean;
}

type Target =
  | { kind: "source" }
  | { kind: "clone"; prNumber: number; tagBranch: string; declaration: PipelineDeclaration };

export async function reportExecution(
  event: ExecutionEvent,
  ports: FeedbackPorts,
  config: FeedbackConfig,
  logger: Logger,
): Promise<FeedbackOutcome> {
  const outcome: FeedbackOutcome = {
    outcome: "reported",
    pipeline: event.pipeline,
    state: event.state,
    status: "skipped",
    comment: "skipped",
    notification: "skipped",
    errors: [],
    retry: false,
  };
  const target = await identify(event, ports, config);
  if (typeof target === "string") return { ...outcome, outcome: "ignored", reason: target };
  if (target.kind === "clone") outcome.pullRequest = target.prNumber;

  const facts = await ports.source();
  const details = await ports.executions.find(event.pipeline, event.executionId);
  const state = effectiveState(event.state, details?.status);
  const sha = details ? commitOf(details.revisions, facts) : undefined;
  const end = STATE_TABLE[event.state].terminal
    ? event.time
    : (details?.lastUpdateTime ?? event.time);
  const duration = formatDuration(durationMs(details?.startTime, end));
  outcome.reportedState = state;
  if (sha) outcome.commit = sha;
  // The clone's declaration has the branch as the pull request names it; the tag has a form
  // sanitised for AWS tag values.
  const branch =
    target.kind === "clone"
      ? (cloneBranchOf(target.declaration, facts.sourceAction.name) ?? target.tagBranch)
      : facts.branch;

  const fail = (step: string, error: unknown): "failed" => {
    const message = `${step}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    outcome.errors.push(message);
    logger.error("feedback step failed", { step, error: message });
    return "failed";
  };

  if (ports.github) {
    const github = ports.github;
    if (sha) {
      try {
        await github.statuses.post(facts.repository, sha, commitStatus(event, state, duration));
        outcome.status = "posted";
      } catch (error) {
        outcome.status = fail("commit status", error);
      }
    } else {
      logger.warn("no commit known for the execution yet; no commit status", {
        executionId: event.executionId,
      });
    }
    if (target.kind === "clone") {
      const body = commentBody(config.messages.pullRequestComment, {
        clone: event.pipeline,
        prNumber: target.prNumber,
        branch,
        region: event.region,
        facts,
        execution: { id: event.executionId, state, sha, duration, time: event.time },
        ...(config.preview !== undefined
          ? {
              preview: previewCommentLine(
                config.service,
                target.prNumber,
                config.preview,
                event.region,
                !deploysPreview(target.declaration),
              ),
            }
          : {}),
      });
      try {
        outcome.comment = await github.comments.upsert(
          facts.repository,
          target.prNumber,
          commentMarker(event.pipeline),
          body,
        );
      } catch (error) {
        outcome.comment = fail("pull request comment", error);
      }
    }
    const deployments = github.deployments;
    const ended = DEPLOYMENT_STATES[state];
    if (
      deployments !== undefined &&
      config.preview !== undefined &&
      target.kind === "clone" &&
      sha !== undefined &&
      ended !== undefined &&
      deploysPreview(target.declaration)
    ) {
      const url = previewUrl(config.service, target.prNumber, config.preview.domain);
      try {
        await deployments.report(facts.repository, {
          sha,
          environment: previewEnvironment(target.prNumber, config.service),
          state: ended,
          url,
          description:
            ended === "success"
              ? `Deployed ${sha.slice(0, 7)} to ${new URL(url).host}`
              : `The clone's execution failed: ${sha.slice(0, 7)} is not deployed`,
        });
        outcome.deployment = "reported";
      } catch (error) {
        outcome.deployment = fail("preview deployment", error);
      }
    }
  }

  if (ports.checks && target.kind === "clone" && sha && details) {
    try {
      const written = await writeCheckRun(
        {
          service: config.service,
          pipeline: event.pipeline,
          executionId: event.executionId,
          region: event.region,
          repository: facts.repository,
          sha,
          declaration: target.declaration,
          details,
          create: true,
        },
        ports.checks,
        logger,
      );
      outcome.check = written.result;
      for (const error of written.errors) fail("check run", error);
    } catch (error) {
      outcome.check = fail("check run", error);
    }
  }

  if (ports.notifications && NOTIFIED_STATES.has(event.state)) {
    const message = notificationMessage(config.messages.notification, {
      event,
      state: event.state,
      ...(target.kind === "clone"
        ? {
            pullRequest: {
              number: target.prNumber,
              url: pullRequestUrl(config.githubWebUrl, facts.repository, target.prNumber),
            },
          }
        : {}),
      branch,
      repository: facts.repository,
      sha,
      duration,
      buildProjects: facts.buildProjects,
    });
    try {
      await ports.notifications.publish(message);
      outcome.notification = "published";
    } catch (error) {
      outcome.notification = fail("notification", error);
    }
  }
  outcome.retry = outcome.errors.length > 0 && outcome.notification !== "published";
  return outcome;
}

export interface StepOutcome {
  outcome: "ignored" | "reported";
  reason?: string;
  pipeline: string;
  /** The stage or action event's kind and state, as EventBridge said it. */
  step: StepEvent["kind"];
  state: string;
  pullRequest?: number;
  commit?: string;
  check: Step<CheckResult>;
  errors: string[];
  /** A check run write is idempotent: a failed one is retried. */
  retry: boolean;
}

/**
 * A stage or action state change of a clone's execution: edits the execution's check run (never
 * creates one: the execution's own events do, so that the many events at an execution's start do
 * not race to create it), from the execution as CodePipeline shows it now. No commit status,
 * comment or notification: those follow the execution's own events only.
 */
export async function reportStep(
  event: StepEvent,
  ports: FeedbackPorts,
  config: FeedbackConfig,
  logger: Logger,
): Promise<StepOutcome> {
  const outcome: StepOutcome = {
    outcome: "reported",
    pipeline: event.pipeline,
    step: event.kind,
    state: event.state,
    check: "skipped",
    errors: [],
    retry: false,
  };
  const ignore = (reason: string): StepOutcome => ({ ...outcome, outcome: "ignored", reason });
  if (!ports.checks) return ignore("check runs need a GitHub App");
  const target = await identify(event, ports, config);
  if (typeof target === "string") return ignore(target);
  if (target.kind !== "clone") return ignore("check runs are for clones only");
  outcome.pullRequest = target.prNumber;
  const facts = await ports.source();
  const details = await ports.executions.find(event.pipeline, event.executionId);
  if (!details) return ignore(`execution ${event.executionId} no longer exists`);
  const sha = commitOf(details.revisions, facts);
  if (!sha) return ignore("no commit known for the execution yet");
  outcome.commit = sha;
  try {
    const written = await writeCheckRun(
      {
        service: config.service,
        pipeline: event.pipeline,
        executionId: event.executionId,
        region: event.region,
        repository: facts.repository,
        sha,
        declaration: target.declaration,
        details,
        create: false,
      },
      ports.checks,
      logger,
    );
    outcome.check = written.result;
    outcome.errors.push(...written.errors.map((error) => `check run: ${error}`));
  } catch (error) {
    const message = `check run: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    outcome.errors.push(message);
    outcome.check = "failed";
    logger.error("feedback step failed", { step: "check run", error: message });
  }
  outcome.retry = outcome.errors.length > 0;
  return outcome;
}

/** The source pipeline, a managed clone of it (with its pull request), or why it is ignored. */
async function identify(
  event: Pick<ExecutionEvent, "pipeline"> & AwsLocation,
  ports: FeedbackPorts,
  config: FeedbackConfig,
): Promise<Target | string> {
  if (event.pipeline === config.sourcePipelineName) return { kind: "source" };
  const prefix = cloneNameWildcard(config.sourcePipelineName).replace(/\*$/, "");
  if (!event.pipeline.startsWith(prefix)) {
    return `${event.pipeline} is neither ${config.sourcePipelineName} nor a clone of it`;
  }
  const tags = await ports.pipelines.tags(pipelineArn(event, event.pipeline));
  if (tags === undefined) return `${event.pipeline} no longer exists`;
  if (!isManagedClone(tags, config.sourcePipelineName)) {
    return `${event.pipeline} is not managed by branchline for ${config.sourcePipelineName}`;
  }
  const value = (key: string) => tags.find((tag) => tag.key === key)?.value;
  const prNumber = Number(value(TAG.pullRequest));
  if (!Number.isSafeInteger(prNumber) || prNumber < 1) {
    return `${event.pipeline} has no valid ${TAG.pullRequest} tag`;
  }
  const stored = await ports.pipelines.get(event.pipeline);
  if (stored === undefined) return `${event.pipeline} no longer exists`;
  return {
    kind: "clone",
    prNumber,
    tagBranch: value(TAG.branch) ?? "",
    declaration: stored.declaration,
  };
}

export interface AnnounceCloneInput {
  clone: string;
  prNumber: number;
  branch: string;
  /** The pull request's head commit. */
  sha: string;
  region: string;
  facts: Pick<SourceFacts, "repository" | "buildProjects">;
  /** The preview's line (functions/core/preview.ts `previewCommentLine`), for a service with previews. */
  preview?: string;
}

/**
 * Writes the clone's comment when the clone is created, before any execution: the same comment the
 * execution events edit later. For the webhook, after `PullRequestPipelines.ensure` created a clone.
 */
export function announceClone(
  comments: PullRequestComments,
  messages: Messages,
  input: AnnounceCloneInput,
): Promise<CommentResult> {
  const body = commentBody(messages.pullRequestComment, {
    clone: input.clone,
    prNumber: input.prNumber,
    branch: input.branch,
    region: input.region,
    facts: input.facts,
    sha: input.sha,
    ...(input.preview !== undefined ? { preview: input.preview } : {}),
  });
  return comments.upsert(input.facts.repository, input.prNumber, commentMarker(input.clone), body, {
    yieldOnRace: true,
  });
}

/**
 * The source pipeline's facts, read at most once per `ttlMs` per container; a failed read is not
 * kept.
 */
export function cachedSourceFacts(
  load: () => Promise<SourceFacts>,
  ttlMs = 5 * 60_000,
  now: () => number = Date.now,
): () => Promise<SourceFacts> {
  let cached: { at: number; value: Promise<SourceFacts> } | undefined;
  return () => {
    if (!cached || now() - cached.at > ttlMs) {
      const value = load();
      const entry = { at: now(), value };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}

/** The commit status context that says why a pull request has no clone. */
export const REFUSAL_CONTEXT = "branchline";

/**
 * Marks a refused fork's head commit with an `error` status (context `branchline`) that says forks
 * are not built and why, so that the pull request shows it. Posting it again changes nothing.
 */
export function refuseFork(
  statuses: CommitStatuses,
  repository: string,
  sha: string,
): Promise<void> {
  return statuses.post(repository, sha, {
    state: "error",
    context: REFUSAL_CONTEXT,
    description: FORK_REFUSED_DESCRIPTION,
  });
}

/**
 * The context of a service's selection status: `branchline/<service>` (the clones' own statuses are
 * `branchline/<service>-pr-<n>`, so neither overwrites the other).
 */
export function selectionContext(service: string): string {
  return `branchline/${service}`;
}

/**
 * Says on the pull request's head commit whether the service's label and path rules build it: a
 * `success` status (not building is what the rules ask for, so it never blocks a merge) whose
 * description is the reason. Posting it again changes nothing.
 */
export function reportSelection(
  statuses: CommitStatuses,
  repository: string,
  sha: string,
  service: string,
  description: string,
): Promise<void> {
  return statuses.post(repository, sha, {
    state: "success",
    context: selectionContext(service),
    description,
  });
}
