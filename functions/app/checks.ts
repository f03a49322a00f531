/**
 * A clone execution's GitHub check run (`branchline / <service>`), written with a GitHub App: one
 * per execution (its `external_id` is the execution id), found again by listing the commit's check
 * runs of that name, created or edited to show the execution as CodePipeline shows it now. The
 * content never comes from the event alone, so events may arrive in any order, late or twice: a
 * completed run is never turned back to running, and a run whose content would not change is not
 * written again.
 */
import {
  checkRunChange,
  checkRunContent,
  checkRunName,
  failingBuild,
  LOG_TAIL_LINES,
  type ActionRun,
  type CheckRunContent,
} from "../core/checks.js";
import { secretValuesOf } from "../core/mask.js";
import type { PipelineDeclaration } from "../core/pipeline.js";
import type { ExecutionDetails } from "./feedback.js";
import type { Logger } from "./ports.js";

/** A check run as GitHub lists it (the members compared before writing). */
export interface CheckRunView {
  id: number;
  externalId: string | null;
  status: string;
  conclusion: string | null;
  detailsUrl: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
}

export interface CheckRuns {
  /** Every check run named `name` on the commit (all pages, older duplicates included). */
  list(repository: string, sha: string, name: string): Promise<CheckRunView[]>;
  create(repository: string, content: CheckRunContent): Promise<number>;
  update(repository: string, id: number, content: CheckRunContent): Promise<void>;
}

export interface ActionExecutions {
  /** Every action run of the execution (ListActionExecutions filtered by the execution id). */
  list(pipeline: string, executionId: string): Promise<ActionRun[]>;
}

export interface BuildEnvironmentVariable {
  name?: string;
  value?: string;
  type?: string;
}

export interface BuildLogs {
  /**
   * The last `lines` events of the build's CloudWatch Logs stream, raw, with the build's
   * environment variables (a SECRETS_MANAGER or PARAMETER_STORE variable's value is a reference,
   * and is never resolved); `undefined` when the build is gone or logs to CloudWatch Logs no more.
   */
  tail(
    buildId: string,
    lines: number,
  ): Promise<{ lines: string[]; variables: BuildEnvironmentVariable[] } | undefined>;
}

export interface CheckPorts {
  runs: CheckRuns;
  actions: ActionExecutions;
  logs: BuildLogs;
}

export type CheckResult = "created" | "updated" | "unchanged" | "kept" | "none";

export interface CheckRunInput {
  service: string;
  pipeline: string;
  executionId: string;
  region: string;
  repository: string;
  sha: string;
  declaration: Pick<PipelineDeclaration, "stages">;
  details: ExecutionDetails;
  /** Create the run when there is none (execution events); stage and action events only edit. */
  create: boolean;
}

export interface CheckRunOutcome {
  result: CheckResult;
  /** Failures that a retry may fix (the log could not be read); the run was still written. */
  errors: string[];
}

/**
 * Writes the execution's check run: `created` (none existed), `updated`, `unchanged` (nothing
 * would change), `kept` (it is completed and CodePipeline, read before it completed, says
 * otherwise) or `none` (none exists and `create` is false).
 */
export async function writeCheckRun(
  input: CheckRunInput,
  ports: CheckPorts,
  logger: Logger,
): Promise<CheckRunOutcome> {
  const errors: string[] = [];
  const runs = await ports.actions.list(input.pipeline, input.executionId);
  let log: { build: ActionRun; lines: string[]; secrets: string[] } | undefined;
  let logProblem: string | undefined;
  const build =
    input.details.status === "Failed" ? failingBuild(input.declaration, runs) : undefined;
  if (build?.externalExecutionId !== undefined) {
    try {
      const tail = await ports.logs.tail(build.externalExecutionId, LOG_TAIL_LINES);
      if (tail) log = { build, lines: tail.lines, secrets: secretValuesOf(tail.variables) };
      else logProblem = `The log of build ${build.externalExecutionId} is not in CloudWatch Logs.`;
    } catch (error) {
      logProblem = `The log of build ${build.externalExecutionId} could not be read.`;
      const message = `build log: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      errors.push(message);
      logger.warn("the failing build's log could not be read", { error: message });
    }
  }
  const content = checkRunContent({
    service: input.service,
    pipeline: input.pipeline,
    executionId: input.executionId,
    region: input.region,
    sha: input.sha,
    declaration: input.declaration,
    apiStatus: input.details.status,
    startTime: input.details.startTime,
    lastUpdateTime: input.details.lastUpdateTime,
    runs,
    log,
    logProblem,
  });
  const existing = (
    await ports.runs.list(input.repository, input.sha, checkRunName(input.service))
  ).filter((run) => run.externalId === input.executionId);
  if (existing.length === 0) {
    if (!input.create) return { result: "none", errors };
    await ports.runs.create(input.repository, content);
    return { result: "created", errors };
  }
  // Two first events at once may each have created one: every run of the execution is kept alike.
  let result: CheckResult = "unchanged";
  for (const run of existing) {
    const change = checkRunChange(run, content);
    if (change === "regression") {
      if (result === "unchanged") result = "kept";
      continue;
    }
    if (change === "unchanged") continue;
    await ports.runs.update(input.repository, run.id, content);
    result = "updated";
  }
  return { result, errors };
}
