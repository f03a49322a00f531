/**
 * A clone execution's GitHub check run, as pure functions: its name, its status and conclusion
 * from the execution as CodePipeline shows it, the summary table of stages (name, state, duration)
 * with links to the execution and the build logs, and on failure the masked tail of the failing
 * build's log. Also the stage and action state change events that update it.
 */
import { BadRequestError } from "./errors.js";
import {
  buildProjectUrl,
  executionUrl,
  formatDuration,
  locationOfArn,
  markdownCode,
  partitionOfRegion,
  pipelineUrl,
  type AwsLocation,
} from "./feedback.js";
import { maskSecrets } from "./mask.js";
import { CODEBUILD_PROVIDER, type PipelineDeclaration } from "./pipeline.js";

/** GitHub's limit on a check run output's `summary` and `text`. */
export const CHECK_OUTPUT_MAX = 65_535;
/** How many of the failing build's last log lines the check run shows. */
export const LOG_TAIL_LINES = 50;
/** A longer log line is cut (after masking). */
export const LOG_LINE_MAX = 1_000;

/** The EventBridge detail types of a stage's and an action's state change. */
export const STAGE_STATE_CHANGE = "CodePipeline Stage Execution State Change";
export const ACTION_STATE_CHANGE = "CodePipeline Action Execution State Change";
export const STEP_EVENT_TYPES: readonly string[] = [STAGE_STATE_CHANGE, ACTION_STATE_CHANGE];

/** The check run of a service's clones: `branchline / <service>`. */
export function checkRunName(service: string): string {
  return `branchline / ${service}`;
}

/** A stage or action state change: it updates the clone execution's check run, nothing else. */
export interface StepEvent extends AwsLocation {
  kind: "stage" | "action";
  pipeline: string;
  executionId: string;
  stage: string;
  /** The action's name (action events only). */
  action?: string;
  /** As EventBridge says it (STARTED, SUCCEEDED, FAILED, ...): for logs; never trusted as such. */
  state: string;
  time: string;
}

/** Whether an event is a stage or action state change (by its detail type). */
export function isStepEvent(event: unknown): boolean {
  if (event === null || typeof event !== "object") return false;
  return STEP_EVENT_TYPES.includes(String((event as Record<string, unknown>)["detail-type"]));
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;

/** Reads an EventBridge "CodePipeline Stage/Action Execution State Change" event. */
export function parseStepEvent(event: unknown): StepEvent {
  if (!isObject(event)) throw new BadRequestError("event must be an object");
  if (event["source"] !== "aws.codepipeline") {
    throw new BadRequestError(
      `event source must be "aws.codepipeline", got ${String(event["source"])}`,
    );
  }
  const type = event["detail-type"];
  if (type !== STAGE_STATE_CHANGE && type !== ACTION_STATE_CHANGE) {
    throw new BadRequestError(`event detail-type is not a stage or action state change`);
  }
  const detail = event["detail"];
  if (!isObject(detail)) throw new BadRequestError("event detail must be an object");
  const time = text(event, "time");
  if (Number.isNaN(Date.parse(time))) throw new BadRequestError(`time is not a date: ${time}`);
  const region = text(event, "region");
  if (!REGION.test(region)) throw new BadRequestError(`region is not an AWS region: ${region}`);
  const account = text(event, "account");
  if (!ACCOUNT.test(account)) throw new BadRequestError(`account is not an account id: ${account}`);
  const pipeline = text(detail, "pipeline", "detail.pipeline");
  const kind = type === STAGE_STATE_CHANGE ? "stage" : "action";
  return {
    kind,
    pipeline,
    executionId: text(detail, "execution-id", "detail.execution-id"),
    stage: text(detail, "stage", "detail.stage"),
    ...(kind === "action" ? { action: text(detail, "action", "detail.action") } : {}),
    state: text(detail, "state", "detail.state"),
    region,
    account,
    partition: partitionOf(event["resources"], pipeline, region, account),
    time,
  };
}

function partitionOf(resources: unknown, pipeline: string, region: string, account: string) {
  for (const resource of Array.isArray(resources) ? resources : []) {
    if (typeof resource !== "string") continue;
    const location = locationOfArn(resource);
    if (location?.region === region && location.account === account) {
      if (resource.endsWith(`:codepipeline:${region}:${account}:${pipeline}`)) {
        return location.partition;
      }
    }
  }
  return partitionOfRegion(region);
}

// ---- the check run ----

/** One action's run in an execution, as ListActionExecutions gives it. */
export interface ActionRun {
  stageName: string;
  actionName: string;
  /** InProgress, Abandoned, Succeeded or Failed. */
  status: string;
  startTime?: Date;
  lastUpdateTime?: Date;
  provider?: string;
  /** A CodeBuild action's project. */
  projectName?: string;
  /** A CodeBuild action's build id (`<project>:<uuid>`). */
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  errorMessage?: string;
}

export type CheckStatus = "queued" | "in_progress" | "completed";
export type CheckConclusion = "success" | "failure" | "cancelled" | "neutral";

/** A check run as branchline writes it. */
export interface CheckRunContent {
  name: string;
  headSha: string;
  /** The pipeline execution id: how the run is found again. */
  externalId: string;
  detailsUrl: string;
  status: CheckStatus;
  conclusion?: CheckConclusion;
  /** ISO 8601. */
  startedAt?: string;
  completedAt?: string;
  output: { title: string; summary: string; text?: string };
}

/** The check run's status and conclusion for CodePipeline's execution status. */
export function checkState(apiStatus: string | undefined): {
  status: CheckStatus;
  conclusion?: CheckConclusion;
} {
  switch (apiStatus) {
    case "Succeeded":
      return { status: "completed", conclusion: "success" };
    case "Failed":
      return { status: "completed", conclusion: "failure" };
    case "Stopped":
    case "Cancelled":
      return { status: "completed", conclusion: "cancelled" };
    case "Superseded":
      return { status: "completed", conclusion: "neutral" };
    case "InProgress":
    case "Stopping":
      return { status: "in_progress" };
    default:
      return { status: "queued" };
  }
}

/** The latest run of each action (CodePipeline lists a retried stage's runs too). */
export function latestRuns(runs: readonly ActionRun[]): ActionRun[] {
  const latest = new Map<string, ActionRun>();
  for (const run of runs) {
    const key = `${run.stageName}\n${run.actionName}`;
    const known = latest.get(key);
    if (!known || (run.startTime?.getTime() ?? 0) > (known.startTime?.getTime() ?? 0)) {
      latest.set(key, run);
    }
  }
  return [...latest.values()];
}

export interface StageRow {
  name: string;
  state: string;
  /** Formatted; `undefined` while running or before it ran. */
  duration?: string;
}

/** Each declared stage, in order, with its state in this execution. */
export function stageRows(
  declaration: Pick<PipelineDeclaration, "stages">,
  runs: readonly ActionRun[],
  finished: boolean,
): StageRow[] {
  const latest = latestRuns(runs);
  return declaration.stages.map((stage) => {
    const mine = latest.filter((run) => run.stageName === stage.name);
    const statuses = mine.map((run) => run.status);
    let state: string;
    if (mine.length === 0) state = finished ? "Not run" : "Pending";
    else if (statuses.includes("InProgress")) state = "In progress";
    else if (statuses.includes("Failed")) state = "Failed";
    else if (statuses.includes("Abandoned")) state = "Stopped";
    else if (mine.length >= stage.actions.length) state = "Succeeded";
    else state = finished ? "Stopped" : "In progress";
    const row: StageRow = { name: stage.name, state };
    if (state !== "In progress" && mine.length > 0) {
      const start = Math.min(...mine.map((run) => run.startTime?.getTime() ?? Infinity));
      const end = Math.max(...mine.map((run) => run.lastUpdateTime?.getTime() ?? -Infinity));
      const duration = formatDuration(end - start);
      if (duration !== undefined) row.duration = duration;
    }
    return row;
  });
}

const STATE_ICON: Record<string, string> = {
  Succeeded: "✅",
  Failed: "❌",
  "In progress": "⏳",
  Stopped: "⏹️",
  Pending: "⏸️",
  "Not run": "➖",
};

/** The failing build to show the log of: the first failed CodeBuild action, in stage order. */
export function failingBuild(
  declaration: Pick<PipelineDeclaration, "stages">,
  runs: readonly ActionRun[],
): ActionRun | undefined {
  const order = declaration.stages.map((stage) => stage.name);
  return latestRuns(runs)
    .filter(
      (run) =>
        run.status === "Failed" &&
        run.provider === CODEBUILD_PROVIDER &&
        run.externalExecutionId !== undefined,
    )
    .sort((a, b) => order.indexOf(a.stageName) - order.indexOf(b.stageName))[0];
}

export interface CheckInput {
  service: string;
  pipeline: string;
  executionId: string;
  region: string;
  sha: string;
  declaration: Pick<PipelineDeclaration, "stages">;
  /** The execution's status as CodePipeline shows it now. */
  apiStatus: string | undefined;
  startTime?: Date | undefined;
  lastUpdateTime?: Date | undefined;
  runs: readonly ActionRun[];
  /** On failure: the failing build's last log lines (raw), and values to mask in them. */
  log?: { build: ActionRun; lines: readonly string[]; secrets: readonly string[] } | undefined;
  /** On failure, when the log could not be read: why, for people. */
  logProblem?: string | undefined;
}

/** The check run for the execution as CodePipeline shows it. */
export function checkRunContent(input: CheckInput): CheckRunContent {
  const state = checkState(input.apiStatus);
  const finished = state.status === "completed";
  const rows = stageRows(input.declaration, input.runs, finished);
  const content: CheckRunContent = {
    name: checkRunName(input.service),
    headSha: input.sha,
    externalId: input.executionId,
    detailsUrl: executionUrl(input.region, input.pipeline, input.executionId),
    status: state.status,
    output: {
      title: checkTitle(input.apiStatus, rows, input.startTime, input.lastUpdateTime),
      summary: fit(checkSummary(input, rows), CHECK_OUTPUT_MAX),
    },
  };
  if (state.conclusion) content.conclusion = state.conclusion;
  if (input.startTime) content.startedAt = isoSeconds(input.startTime);
  if (finished && input.lastUpdateTime) content.completedAt = isoSeconds(input.lastUpdateTime);
  const text = failureText(input);
  if (text !== undefined) content.output.text = text;
  return content;
}

function checkTitle(
  apiStatus: string | undefined,
  rows: readonly StageRow[],
  start: Date | undefined,
  end: Date | undefined,
): string {
  const duration = start && end ? formatDuration(end.getTime() - start.getTime()) : undefined;
  const after = duration ? ` after ${duration}` : "";
  switch (apiStatus) {
    case "Succeeded":
      return duration ? `Pipeline succeeded in ${duration}` : "Pipeline succeeded";
    case "Failed": {
      const stage = rows.find((row) => row.state === "Failed");
      return `Pipeline failed${stage ? ` in stage ${stage.name}` : ""}${after}`;
    }
    case "Stopped":
      return `Pipeline was stopped${after}`;
    case "Cancelled":
      return "Pipeline was canceled";
    case "Superseded":
      return "Pipeline was superseded by a newer execution";
    case "Stopping":
      return "Pipeline is stopping";
    case "InProgress": {
      const stage = rows.find((row) => row.state === "In progress");
      return stage ? `Running stage ${stage.name}` : "Pipeline running";
    }
    default:
      return "Pipeline queued";
  }
}

function checkSummary(input: CheckInput, rows: readonly StageRow[]): string {
  const lines = [
    `Pipeline [${input.pipeline}](${pipelineUrl(input.region, input.pipeline)}), ` +
      `execution [${input.executionId}](${executionUrl(input.region, input.pipeline, input.executionId)})`,
    "",
    "| Stage | State | Duration |",
    "| --- | --- | --- |",
    ...rows.map(
      (row) =>
        `| ${markdownCode(row.name)} | ${STATE_ICON[row.state] ?? ""} ${row.state} | ${row.duration ?? ""} |`,
    ),
  ];
  const builds = latestRuns(input.runs).filter(
    (run) => run.provider === CODEBUILD_PROVIDER && run.projectName !== undefined,
  );
  if (builds.length > 0) {
    lines.push("", "Build logs:");
    for (const run of builds) {
      const url =
        run.externalExecutionUrl?.startsWith("https://") === true
          ? run.externalExecutionUrl
          : buildProjectUrl(input.region, run.projectName ?? "");
      lines.push(
        `- ${markdownCode(`${run.stageName} / ${run.actionName}`)}: [${run.projectName}](${url})`,
      );
    }
  }
  return lines.join("\n");
}

function failureText(input: CheckInput): string | undefined {
  if (input.log === undefined && input.logProblem === undefined) return undefined;
  const build = input.log?.build;
  const parts: string[] = [];
  if (input.log && build) {
    parts.push(`### ${build.stageName} / ${build.actionName} failed`);
    if (build.errorMessage) {
      parts.push("", maskSecrets(build.errorMessage, input.log.secrets).slice(0, LOG_LINE_MAX));
    }
    const tail = logTail(input.log.lines, input.log.secrets);
    const fence = "`".repeat(Math.max(3, longestBacktickRun(tail.join("\n")) + 1));
    const head = [
      "",
      `The last ${tail.length} lines of build ${markdownCode(build.externalExecutionId ?? "")}'s log (secrets masked):`,
      "",
      `${fence}text`,
    ];
    const foot = [fence];
    // Keep the newest lines that fit GitHub's limit.
    let body = tail;
    const size = (lines: readonly string[]) =>
      [...parts, ...head, ...lines, ...foot].join("\n").length;
    while (body.length > 0 && size(body) > CHECK_OUTPUT_MAX) body = body.slice(1);
    parts.push(...head, ...body, ...foot);
  } else if (input.logProblem) {
    parts.push(input.logProblem);
  }
  return fit(parts.join("\n"), CHECK_OUTPUT_MAX);
}

/**
 * The last {@link LOG_TAIL_LINES} lines of a log (its events may hold several lines each), masked
 * as a whole first (a secret split across lines or events is still found), then each cut to
 * {@link LOG_LINE_MAX} characters; terminal colour codes are removed.
 */
export function logTail(events: readonly string[], secrets: readonly string[] = []): string[] {
  // eslint-disable-next-line no-control-regex -- ANSI escape sequences are what is removed here
  const plain = events.join("\n").replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
  const masked = maskSecrets(plain, secrets);
  const lines = masked.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines
    .slice(-LOG_TAIL_LINES)
    .map((line) => (line.length > LOG_LINE_MAX ? `${line.slice(0, LOG_LINE_MAX - 1)}…` : line));
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
}

function fit(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Whether writing `next` over a check run that is now `current` changes anything people see; and
 * never turns a completed run back to running (events arrive out of order).
 */
export function checkRunChange(
  current: {
    status: string;
    conclusion: string | null;
    output: { title: string | null; summary: string | null; text: string | null };
    detailsUrl: string | null;
  },
  next: CheckRunContent,
): "write" | "unchanged" | "regression" {
  if (current.status === "completed" && next.status !== "completed") return "regression";
  const same =
    current.status === next.status &&
    (current.conclusion ?? undefined) === next.conclusion &&
    current.output.title === next.output.title &&
    current.output.summary === next.output.summary &&
    (current.output.text ?? undefined) === next.output.text &&
    current.detailsUrl === next.detailsUrl;
  return same ? "unchanged" : "write";
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
