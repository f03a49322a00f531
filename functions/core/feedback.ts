/**
 * Feedback to people, as pure functions: a CodePipeline "Pipeline Execution State Change" event
 * becomes a GitHub commit status, a pull request comment and a notification message. Message texts
 * are templates (templates/messages.json) handed in by the caller; this module only fills them.
 */
import { imageTagPrefix } from "../shared/names.js";
import { BadRequestError, ConfigurationError } from "./errors.js";
import {
  CODEBUILD_PROVIDER,
  CONNECTION_SOURCE_PROVIDER,
  type PipelineDeclaration,
} from "./pipeline.js";

/** The states of a pipeline execution as EventBridge reports them (`detail.state`). */
export const EXECUTION_STATES = [
  "STARTED",
  "RESUMED",
  "STOPPING",
  "SUCCEEDED",
  "FAILED",
  "CANCELED",
  "SUPERSEDED",
  "STOPPED",
] as const;

export type ExecutionState = (typeof EXECUTION_STATES)[number];

/** GitHub's commit status states. */
export type CommitState = "pending" | "success" | "failure" | "error";

/** GitHub's limit on a commit status description. */
export const STATUS_DESCRIPTION_MAX = 140;
/** SNS's limit on a message subject. */
export const SUBJECT_MAX = 100;

/** The members of the EventBridge event that feedback uses. */
export interface ExecutionEvent {
  pipeline: string;
  executionId: string;
  state: ExecutionState;
  region: string;
  account: string;
  /** The AWS partition (`aws`, `aws-cn`, `aws-us-gov`, ...) of the pipeline's ARN. */
  partition: string;
  /** When the state changed (the event's `time`), ISO 8601. */
  time: string;
}

/** Where something runs: an AWS partition, region and account. */
export interface AwsLocation {
  partition: string;
  region: string;
  account: string;
}

const PARTITION = /^aws(-[a-z]+)*$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;

/**
 * The partition of a region, for when no ARN says it: `cn-*` is aws-cn, `us-gov-*` aws-us-gov,
 * everything else aws.
 */
export function partitionOfRegion(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/**
 * The partition, region and account of a regional ARN such as the Lambda context's
 * `invokedFunctionArn` (`arn:aws:lambda:eu-west-1:123456789012:function:name`), or `undefined`.
 */
export function locationOfArn(arn: string | undefined): AwsLocation | undefined {
  const [prefix, partition, , region, account] = (arn ?? "").split(":");
  if (prefix !== "arn" || !partition || !region || !account) return undefined;
  if (!PARTITION.test(partition) || !REGION.test(region) || !ACCOUNT.test(account)) {
    return undefined;
  }
  return { partition, region, account };
}

/**
 * Why an event does not come from this function's own partition, region and account (it is then
 * not from one of our pipelines), or `undefined` when it does.
 */
export function foreignEventReason(event: AwsLocation, self: AwsLocation): string | undefined {
  const theirs = `${event.partition}:${event.region}:${event.account}`;
  const ours = `${self.partition}:${self.region}:${self.account}`;
  return theirs === ours
    ? undefined
    : `the event comes from ${theirs}, not from this function's ${ours}`;
}

interface StateRow {
  commit: CommitState;
  /** What happened, for people: "succeeded", "failed", ... */
  verb: string;
  terminal: boolean;
  /** The execution status the CodePipeline API shows for this state. */
  apiStatus: string;
}

/** Every execution state and what people are told about it. */
export const STATE_TABLE: Readonly<Record<ExecutionState, StateRow>> = {
  STARTED: { commit: "pending", verb: "started", terminal: false, apiStatus: "InProgress" },
  RESUMED: { commit: "pending", verb: "resumed", terminal: false, apiStatus: "InProgress" },
  STOPPING: { commit: "pending", verb: "is stopping", terminal: false, apiStatus: "Stopping" },
  SUCCEEDED: { commit: "success", verb: "succeeded", terminal: true, apiStatus: "Succeeded" },
  FAILED: { commit: "failure", verb: "failed", terminal: true, apiStatus: "Failed" },
  CANCELED: { commit: "error", verb: "was canceled", terminal: true, apiStatus: "Cancelled" },
  SUPERSEDED: {
    commit: "error",
    verb: "was superseded by a newer execution",
    terminal: true,
    apiStatus: "Superseded",
  },
  STOPPED: { commit: "error", verb: "was stopped", terminal: true, apiStatus: "Stopped" },
};

/** The states that send a notification message. */
export const NOTIFIED_STATES: ReadonlySet<ExecutionState> = new Set(["SUCCEEDED", "FAILED"]);

export function isExecutionState(value: unknown): value is ExecutionState {
  return typeof value === "string" && (EXECUTION_STATES as readonly string[]).includes(value);
}

/** Reads an EventBridge "CodePipeline Pipeline Execution State Change" event. */
export function parseExecutionEvent(event: unknown): ExecutionEvent {
  if (!isObject(event)) throw new BadRequestError("event must be an object");
  if (event["source"] !== "aws.codepipeline") {
    throw new BadRequestError(
      `event source must be "aws.codepipeline", got ${String(event["source"])}`,
    );
  }
  if (event["detail-type"] !== "CodePipeline Pipeline Execution State Change") {
    throw new BadRequestError(
      `event detail-type must be "CodePipeline Pipeline Execution State Change", got ${String(event["detail-type"])}`,
    );
  }
  const detail = event["detail"];
  if (!isObject(detail)) throw new BadRequestError("event detail must be an object");
  const state = detail["state"];
  if (!isExecutionState(state)) {
    throw new BadRequestError(`detail.state is not a pipeline execution state: ${String(state)}`);
  }
  const time = text(event, "time");
  if (Number.isNaN(Date.parse(time))) throw new BadRequestError(`time is not a date: ${time}`);
  const pipeline = text(detail, "pipeline", "detail.pipeline");
  const region = text(event, "region");
  if (!REGION.test(region)) throw new BadRequestError(`region is not an AWS region: ${region}`);
  const account = text(event, "account");
  if (!ACCOUNT.test(account)) throw new BadRequestError(`account is not an account id: ${account}`);
  return {
    pipeline,
    executionId: text(detail, "execution-id", "detail.execution-id"),
    state,
    region,
    account,
    partition: eventPartition(event["resources"], { pipeline, region, account }),
    time,
  };
}

/**
 * The partition of the pipeline's ARN among the event's `resources`; the region's partition when
 * the event names no ARN of that pipeline.
 */
function eventPartition(
  resources: unknown,
  at: { pipeline: string; region: string; account: string },
): string {
  const suffix = `:codepipeline:${at.region}:${at.account}:${at.pipeline}`;
  for (const resource of Array.isArray(resources) ? resources : []) {
    if (typeof resource !== "string" || !resource.endsWith(suffix)) continue;
    const partition = resource.slice(0, -suffix.length).replace(/^arn:/, "");
    if (resource.startsWith("arn:") && PARTITION.test(partition)) return partition;
  }
  return partitionOfRegion(at.region);
}

/**
 * The state to report. Events may arrive out of order: when the API already shows the execution
 * finished, a late STARTED, RESUMED or STOPPING must not turn a final status back to pending.
 */
export function effectiveState(
  eventState: ExecutionState,
  apiStatus: string | undefined,
): ExecutionState {
  if (STATE_TABLE[eventState].terminal || apiStatus === undefined) return eventState;
  const finished = EXECUTION_STATES.find(
    (state) => STATE_TABLE[state].terminal && STATE_TABLE[state].apiStatus === apiStatus,
  );
  return finished ?? eventState;
}

// ---- links ----

/** The console of the region's partition: its own domain in China and in GovCloud. */
function consoleBase(region: string): string {
  switch (partitionOfRegion(region)) {
    case "aws-cn":
      return "https://console.amazonaws.cn";
    case "aws-us-gov":
      return "https://console.amazonaws-us-gov.com";
    default:
      return `https://${region}.console.aws.amazon.com`;
  }
}

export function pipelineUrl(region: string, pipeline: string): string {
  return `${consoleBase(region)}/codesuite/codepipeline/pipelines/${encodeURIComponent(pipeline)}/view?region=${region}`;
}

export function executionUrl(region: string, pipeline: string, executionId: string): string {
  return `${consoleBase(region)}/codesuite/codepipeline/pipelines/${encodeURIComponent(pipeline)}/executions/${encodeURIComponent(executionId)}/timeline?region=${region}`;
}

export function buildProjectUrl(region: string, project: string): string {
  return `${consoleBase(region)}/codesuite/codebuild/projects/${encodeURIComponent(project)}/history?region=${region}`;
}

/**
 * The web address of GitHub for an API address: github.com for the public API (or none), the host
 * for GitHub Enterprise Server (`https://host/api/v3`), the origin otherwise.
 */
export function githubWebUrl(apiUrl: string | undefined): string {
  if (!apiUrl) return "https://github.com";
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com") return "https://github.com";
  const path = url.pathname.replace(/\/+$/, "");
  return path.endsWith("/api/v3") ? `${url.origin}${path.slice(0, -"/api/v3".length)}` : url.origin;
}

export function pullRequestUrl(webUrl: string, repository: string, prNumber: number): string {
  return `${webUrl}/${repository}/pull/${prNumber}`;
}

// ---- the source pipeline and revisions ----

/** What feedback needs to know of the source pipeline, read once from its declaration. */
export interface SourceFacts {
  pipeline: string;
  /** `owner/name` of the repository the source pipeline builds: statuses and comments go there. */
  repository: string;
  branch: string;
  /** The source action reading the repository: its name and its output artifact names. */
  sourceAction: { name: string; artifacts: string[] };
  /** CodeBuild project names, in pipeline order (clones keep them). */
  buildProjects: string[];
}

export function sourceFacts(pipeline: PipelineDeclaration): SourceFacts {
  const actions = pipeline.stages.flatMap((stage) => stage.actions);
  const source = actions.find(
    (action) =>
      action.actionTypeId.category === "Source" &&
      action.actionTypeId.provider === CONNECTION_SOURCE_PROVIDER &&
      action.configuration?.["FullRepositoryId"] &&
      action.configuration["BranchName"],
  );
  if (!source) {
    throw new ConfigurationError(
      `pipeline ${pipeline.name} has no CodeStarSourceConnection source action with FullRepositoryId and BranchName`,
    );
  }
  const projects = actions
    .filter((action) => action.actionTypeId.provider === CODEBUILD_PROVIDER)
    .map((action) => action.configuration?.["ProjectName"])
    .filter((name): name is string => typeof name === "string" && name !== "");
  return {
    pipeline: pipeline.name,
    repository: source.configuration?.["FullRepositoryId"] ?? "",
    branch: source.configuration?.["BranchName"] ?? "",
    sourceAction: {
      name: source.name,
      artifacts: (source.outputArtifacts ?? []).map((artifact) => artifact.name),
    },
    buildProjects: [...new Set(projects)],
  };
}

/**
 * The branch a clone builds, as given: the `BranchName` of its source action (the clone keeps the
 * source pipeline's action names). `undefined` when the declaration has no such action.
 */
export function cloneBranchOf(
  clone: PipelineDeclaration,
  sourceActionName: string,
): string | undefined {
  const action = clone.stages
    .flatMap((stage) => stage.actions)
    .find((candidate) => candidate.name === sourceActionName);
  const branch = action?.configuration?.["BranchName"];
  return branch ? branch : undefined;
}

/** The ARN of a pipeline. */
export function pipelineArn(at: AwsLocation, pipeline: string): string {
  return `arn:${at.partition}:codepipeline:${at.region}:${at.account}:${pipeline}`;
}

/** A revision as ListPipelineExecutions (`actionName`) or GetPipelineExecution (`name`) gives it. */
export interface RevisionLike {
  actionName?: string;
  /** GetPipelineExecution's artifact name. */
  name?: string;
  revisionId?: string;
}

const COMMIT_SHA = /^[0-9a-f]{40}$/i;

/**
 * The commit the execution built: the revision of the source action that reads the repository
 * (matched by action name or by its output artifact), else the only commit-like revision.
 */
export function commitOf(revisions: RevisionLike[], facts: SourceFacts): string | undefined {
  const ours = revisions.find(
    (revision) =>
      revision.actionName === facts.sourceAction.name ||
      (revision.name !== undefined && facts.sourceAction.artifacts.includes(revision.name)),
  );
  if (ours?.revisionId && COMMIT_SHA.test(ours.revisionId)) return ours.revisionId.toLowerCase();
  const commits = revisions.filter((r) => r.revisionId && COMMIT_SHA.test(r.revisionId));
  return commits.length === 1 ? commits[0]?.revisionId?.toLowerCase() : undefined;
}

// ---- commit status ----

export interface CommitStatus {
  state: CommitState;
  context: string;
  description: string;
  /** Omitted when there is nothing to link to (a refused fork). */
  targetUrl?: string;
}

export function statusContext(pipeline: string): string {
  return `branchline/${pipeline}`;
}

/** `45s`, `4m 12s`, `1h 3m`; negative or unknown durations give `undefined`. */
export function formatDuration(ms: number | undefined): string | undefined {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  const total = Math.round(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/** The duration from the execution's start to `end`, in milliseconds. */
export function durationMs(start: Date | undefined, end: Date | string): number | undefined {
  if (!start) return undefined;
  const until = typeof end === "string" ? Date.parse(end) : end.getTime();
  const ms = until - start.getTime();
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** "Pipeline succeeded in 4m 12s", "Pipeline started", ... */
export function describeState(state: ExecutionState, duration: string | undefined): string {
  const row = STATE_TABLE[state];
  const timing = duration === undefined || !row.terminal ? "" : ` after ${duration}`;
  const text =
    state === "SUCCEEDED" && duration !== undefined
      ? `Pipeline succeeded in ${duration}`
      : `Pipeline ${row.verb}${timing}`;
  return truncate(text, STATUS_DESCRIPTION_MAX);
}

export function commitStatus(
  event: Pick<ExecutionEvent, "pipeline" | "executionId" | "region">,
  state: ExecutionState,
  duration: string | undefined,
): CommitStatus {
  return {
    state: STATE_TABLE[state].commit,
    context: statusContext(event.pipeline),
    description: describeState(state, duration),
    targetUrl: executionUrl(event.region, event.pipeline, event.executionId),
  };
}

// ---- templates ----

export type Template = string | readonly string[];

/**
 * Fills `{{name}}` placeholders. A placeholder without a value is an error, so that a template and
 * the code that fills it cannot drift apart unnoticed.
 */
export function render(template: Template, values: Readonly<Record<string, string>>): string {
  const source = typeof template === "string" ? template : template.join("\n");
  return source.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new RangeError(`template placeholder {{${name}}} has no value`);
    return value;
  });
}

export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** The hidden marker that finds a clone's comment again. */
export function commentMarker(clone: string): string {
  return `<!-- branchline:${clone} -->`;
}

/**
 * Text of any origin (a branch name) as inline code inside a GitHub Markdown table cell, so that
 * nothing in it is read as Markdown: no emphasis, link, HTML, mention or reference is made inside a
 * code span. The fence is longer than any run of backticks in the text (padded with a space when
 * the text starts or ends with one); a pipe is escaped as `\|`, which GitHub's table parser reads
 * first, even inside code (an odd run of backslashes before a pipe gets one more, or the pipe would
 * end the cell); control characters, which would end the row, become U+FFFD. Git's own rules
 * already forbid backslashes and control characters in branch names.
 */
export function markdownCode(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced here
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "\ufffd");
  const longest = Math.max(0, ...[...clean.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(clean) ? " " : "";
  const piped = clean.replace(/(\\*)\|/g, (_match, slashes: string) =>
    slashes.length % 2 === 1 ? `${slashes}\\\\|` : `${slashes}\\|`,
  );
  return `${fence}${pad}${piped}${pad}${fence}`;
}

/** The image tags a clone pushes for a commit (one-image scheme; see templates/buildspec-lib.sh). */
export function imageTags(prNumber: number, sha: string | undefined): string[] {
  const prefix = imageTagPrefix(prNumber);
  return sha ? [prefix, `${prefix}-${sha.slice(0, 7)}`] : [prefix];
}

export interface CommentInput {
  clone: string;
  prNumber: number;
  branch: string;
  region: string;
  facts: Pick<SourceFacts, "buildProjects">;
  /** The latest execution, when there is one. */
  execution?: {
    id: string;
    state: ExecutionState;
    sha?: string | undefined;
    duration?: string | undefined;
    /** ISO 8601. */
    time: string;
  };
  /** The head commit when no execution is known yet. */
  sha?: string | undefined;
  /**
   * The pull request's preview environment (`previewCommentLine`): a `Preview` row of the table
   * (the template's `{{previewRow}}`, empty without one).
   */
  preview?: string | undefined;
}

/** The body of the clone's pull request comment: marker first, then the template. */
export function commentBody(template: Template, input: CommentInput): string {
  const execution = input.execution;
  const sha = execution?.sha ?? input.sha;
  const executionText = execution
    ? `[${capitalise(STATE_TABLE[execution.state].verb)}](${executionUrl(input.region, input.clone, execution.id)})` +
      (execution.duration && STATE_TABLE[execution.state].terminal
        ? ` in ${execution.duration}`
        : "") +
      ` (${execution.time})`
    : "not run yet";
  return `${commentMarker(input.clone)}\n${render(template, {
    prNumber: String(input.prNumber),
    pipeline: input.clone,
    pipelineUrl: pipelineUrl(input.region, input.clone),
    branch: markdownCode(input.branch),
    execution: executionText,
    commit: sha ? markdownCode(sha.slice(0, 7)) : "not known yet",
    buildLogs: buildLogLinks(input.region, input.facts.buildProjects, input.clone, execution?.id),
    imageTags: imageTags(input.prNumber, sha).map(markdownCode).join(", "),
    previewRow: input.preview !== undefined ? `\n| Preview | ${input.preview} |` : "",
  })}`;
}

function buildLogLinks(
  region: string,
  projects: string[],
  pipeline: string,
  executionId: string | undefined,
): string {
  if (projects.length > 0) {
    return projects
      .map((project) => `[${project}](${buildProjectUrl(region, project)})`)
      .join(", ");
  }
  return executionId
    ? `[execution](${executionUrl(region, pipeline, executionId)})`
    : `[pipeline](${pipelineUrl(region, pipeline)})`;
}

export interface NotificationInput {
  event: ExecutionEvent;
  state: ExecutionState;
  /** Present for a clone; absent for the source pipeline. */
  pullRequest?: { number: number; url: string };
  branch: string;
  repository: string;
  sha: string | undefined;
  duration: string | undefined;
  buildProjects: string[];
}

export interface NotificationTemplates {
  subject: Template;
  body: Template;
}

export interface NotificationMessage {
  subject: string;
  message: string;
}

/** The notification for a finished execution. The subject fits SNS: ASCII, one line, ≤ 100. */
export function notificationMessage(
  templates: NotificationTemplates,
  input: NotificationInput,
): NotificationMessage {
  const { event } = input;
  const values: Record<string, string> = {
    pipeline: event.pipeline,
    result: STATE_TABLE[input.state].verb,
    pullRequest: input.pullRequest ? `#${input.pullRequest.number}` : "none (source pipeline)",
    pullRequestUrl: input.pullRequest?.url ?? "none",
    repository: input.repository,
    branch: input.branch,
    commit: input.sha ?? "unknown",
    duration: input.duration ?? "unknown",
    executionUrl: executionUrl(event.region, event.pipeline, event.executionId),
    pipelineUrl: pipelineUrl(event.region, event.pipeline),
    buildLogs:
      input.buildProjects.length > 0
        ? input.buildProjects.map((p) => buildProjectUrl(event.region, p)).join(" ")
        : executionUrl(event.region, event.pipeline, event.executionId),
    time: event.time,
  };
  const subject = render(templates.subject, values)
    .replace(/[^\x20-\x7e]/g, " ")
    .trim();
  const fitted =
    subject.length <= SUBJECT_MAX ? subject : `${subject.slice(0, SUBJECT_MAX - 3)}...`;
  return { subject: fitted, message: render(templates.body, values) };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(root: Record<string, unknown>, key: string, label = key): string {
  const value = root[key];
  if (typeof value !== "string" || value === "") {
    throw new BadRequestError(`${label} must be a non-empty string`);
  }
  return value;
}
