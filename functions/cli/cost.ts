/**
 * `branchline cost`: the managed clones and an estimate of what they cost a month, by pipeline type.
 * An estimate from list prices and the last 30 days of executions, not a bill: the account's free
 * tier, other regions' prices and the CodeBuild, S3 and ECR charges of the builds are left out.
 */
import type { ExecutionRecord } from "../adapters/pipeline-history.js";
import { connectAws, loadSource } from "./aws.js";
import { CONCURRENCY, listOnce, managedClones, type ManagedClone } from "./clones.js";
import { JSON_FLAGS, JSON_HELP, NAME_FLAGS, NAME_HELP, parseFlags } from "./flags.js";
import {
  DAY,
  formatAge,
  line,
  mapLimit,
  printJson,
  startProgress,
  table,
  type CliIo,
} from "./io.js";
import { resolveServices } from "./names.js";

/**
 * AWS CodePipeline list prices (https://aws.amazon.com/codepipeline/pricing/, US East):
 * - V1: 1 USD per active pipeline per month. A pipeline is free for its first 30 days, and a month
 *   in which no execution ran through it is not charged.
 * - V2: 0.002 USD per action execution minute, each action's time rounded up to the minute.
 */
export const PRICES = {
  V1: { usdPerActiveMonth: 1, freeDays: 30 },
  V2: { usdPerActionMinute: 0.002 },
} as const;

/** The window the estimate reads executions from. */
export const WINDOW_DAYS = 30;

export const ESTIMATE_NOTE =
  "estimate from list prices (https://aws.amazon.com/codepipeline/pricing/) and the last 30 days of executions: V1 clones are free for 30 days, then 1 USD in a month with an execution; V2 clones cost 0.002 USD per action-minute, counted as each execution's duration (rounded up to the minute) times the clone's number of actions, an upper bound. The account's free tier and the builds' CodeBuild, S3 and ECR charges are not included.";

export const COST_USAGE = `Usage: branchline cost [options]

Lists the managed clones with an estimate of their monthly CodePipeline cost, by pipeline type (and
by service, for every service of the stack or the one --service picks).

  V1: free in a pipeline's first ${PRICES.V1.freeDays} days, then ${PRICES.V1.usdPerActiveMonth} USD per active month
      (a month with at least one execution).
  V2: ${PRICES.V2.usdPerActionMinute} USD per action-minute, estimated from the last ${WINDOW_DAYS} days of executions
      as the sum of execution durations (each rounded up to the minute) times the number of
      actions in the pipeline: an upper bound, since actions rarely run for a whole execution.

It is an estimate: the free tier and the builds' own CodeBuild, S3 and ECR charges are left out.

Options:
${NAME_HELP}
${JSON_HELP}
`;

export interface CloneCost {
  /** The service, when the names come from the stack's services output. */
  service?: string;
  pullRequest: number;
  pipeline: string;
  pipelineType: string;
  ageDays: number | null;
  /** The age to the second, as `list` has it; the table rounds it like `list`'s (45m, 5h, 12d). */
  ageSeconds: number | null;
  /** Executions started in the last 30 days. */
  executions: number;
  /** V2 only: estimated action-minutes in the last 30 days. */
  actionMinutes: number | null;
  usd: number;
  basis: string;
}

export interface CostReport {
  clones: CloneCost[];
  byType: Record<string, { clones: number; actionMinutes: number; usd: number }>;
  totalUsd: number;
  /** Per service, when the names come from the stack's services output. */
  byService?: Record<string, { clones: number; usd: number }>;
  note: string;
}

/** The monthly estimate of one clone: pure, from its type, age, recent executions and actions. */
export function estimateClone(
  clone: Pick<ManagedClone, "pullRequest" | "pipeline" | "pipelineType" | "created">,
  executions: ExecutionRecord[],
  actionCount: number,
  now: Date,
): CloneCost {
  const ageMs = clone.created ? now.getTime() - clone.created.getTime() : undefined;
  const base = {
    pullRequest: clone.pullRequest,
    pipeline: clone.pipeline,
    pipelineType: clone.pipelineType,
    ageDays: ageMs === undefined ? null : Math.floor(ageMs / DAY),
    ageSeconds: ageMs === undefined ? null : Math.max(0, Math.floor(ageMs / 1000)),
    executions: executions.length,
  };
  if (clone.pipelineType === "V2") {
    const minutes = executions.reduce(
      (sum, execution) => sum + Math.ceil(durationMs(execution, now) / 60_000),
      0,
    );
    const actionMinutes = minutes * actionCount;
    return {
      ...base,
      actionMinutes,
      usd: usd(actionMinutes * PRICES.V2.usdPerActionMinute),
      basis: `${actionMinutes} action-minutes (${minutes} min x ${actionCount} actions)`,
    };
  }
  if (ageMs !== undefined && ageMs < PRICES.V1.freeDays * DAY) {
    return {
      ...base,
      actionMinutes: null,
      usd: 0,
      basis: `free for its first ${PRICES.V1.freeDays} days`,
    };
  }
  if (executions.length === 0) {
    return {
      ...base,
      actionMinutes: null,
      usd: 0,
      basis: `inactive (no execution in ${WINDOW_DAYS} days)`,
    };
  }
  return {
    ...base,
    actionMinutes: null,
    usd: PRICES.V1.usdPerActiveMonth,
    basis: "active pipeline",
  };
}

/** Totals by type and overall. */
export function costReport(clones: CloneCost[]): CostReport {
  const byType: CostReport["byType"] = {};
  for (const clone of clones) {
    const entry = (byType[clone.pipelineType] ??= { clones: 0, actionMinutes: 0, usd: 0 });
    entry.clones++;
    entry.actionMinutes += clone.actionMinutes ?? 0;
    entry.usd = usd(entry.usd + clone.usd);
  }
  let byService: CostReport["byService"];
  for (const clone of clones) {
    if (clone.service === undefined) continue;
    const entry = ((byService ??= {})[clone.service] ??= { clones: 0, usd: 0 });
    entry.clones++;
    entry.usd = usd(entry.usd + clone.usd);
  }
  return {
    clones,
    byType,
    totalUsd: usd(clones.reduce((sum, clone) => sum + clone.usd, 0)),
    ...(byService ? { byService } : {}),
    note: ESTIMATE_NOTE,
  };
}

export async function costCommand(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(argv, { ...NAME_FLAGS, ...JSON_FLAGS }, "cost");
  if (values.help) {
    io.stdout.write(COST_USAGE);
    return 0;
  }
  const json = values.json === true;
  const services = await resolveServices(
    io,
    { stack: values.stack, service: values.service, sourcePipeline: values["source-pipeline"] },
    { repositories: false },
  );
  const aws = await connectAws(io.signal);
  const listing = listOnce(aws.pipelines);
  const now = (io.now ?? (() => new Date()))();
  const since = new Date(now.getTime() - WINDOW_DAYS * DAY);
  const names = services.map((service) => service.sourcePipelineName).join(", ");
  const progress = startProgress(io, json, `reading ${names}`);
  let report: CostReport;
  try {
    const costs: CloneCost[] = [];
    for (const service of services) {
      const source = await loadSource(aws, service.sourcePipelineName);
      const clones = await managedClones(aws.pipelines, source, progress, listing);
      let read = 0;
      const serviceCosts = await mapLimit(clones, CONCURRENCY, async (clone) => {
        const executions = await aws.history.since(clone.pipeline, since);
        let actions = 0;
        if (clone.pipelineType === "V2") {
          const stored = await aws.pipelines.get(clone.pipeline);
          actions = stored?.declaration.stages.reduce((sum, s) => sum + s.actions.length, 0) ?? 0;
        }
        progress.update(`reading executions ${++read}/${clones.length}`);
        const cost = estimateClone(clone, executions, actions, now);
        return service.name === undefined ? cost : { service: service.name, ...cost };
      });
      costs.push(...serviceCosts);
    }
    report = costReport(costs);
  } finally {
    progress.stop();
  }

  if (json) {
    printJson(io.stdout, report);
    return 0;
  }
  if (report.clones.length === 0) {
    line(io.stdout, `no managed clones of ${names}: 0.00 USD a month`);
    return 0;
  }
  // A SERVICE column and a total per service when the command covers several services.
  const several = services.length > 1;
  io.stdout.write(
    table(
      [
        ...(several ? ["SERVICE"] : []),
        "PR",
        "PIPELINE",
        "TYPE",
        "AGE",
        "EXECUTIONS (30D)",
        "USD/MONTH",
        "BASIS",
      ],
      report.clones.map((clone) => [
        ...(several ? [clone.service ?? "-"] : []),
        `#${clone.pullRequest}`,
        clone.pipeline,
        clone.pipelineType,
        clone.ageSeconds === null ? "-" : formatAge(clone.ageSeconds * 1000),
        String(clone.executions),
        money(clone.usd),
        clone.basis,
      ]),
    ),
  );
  line(io.stdout);
  for (const [type, entry] of Object.entries(report.byType).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const minutes = type === "V2" ? `, ${entry.actionMinutes} action-minutes` : "";
    line(io.stdout, `${type}: ${entry.clones} clone(s)${minutes}: ${money(entry.usd)} USD a month`);
  }
  if (several) {
    for (const service of services) {
      const entry = report.byService?.[service.name ?? ""] ?? { clones: 0, usd: 0 };
      line(
        io.stdout,
        `service ${service.name ?? "-"}: ${entry.clones} clone(s): ${money(entry.usd)} USD a month`,
      );
    }
  }
  line(io.stdout, `total: ${money(report.totalUsd)} USD a month (estimate)`);
  line(io.stdout);
  line(io.stdout, `Note: ${report.note}`);
  return 0;
}

/** Execution time so far: to its last update once finished, to now while it runs. */
function durationMs(execution: ExecutionRecord, now: Date): number {
  if (!execution.startTime) return 0;
  const running = execution.status === "InProgress" || execution.status === "Stopping";
  const end = running ? now : (execution.lastUpdateTime ?? execution.startTime);
  return Math.max(0, end.getTime() - execution.startTime.getTime());
}

/** Dollars without floating-point noise (to a millionth). */
function usd(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Three decimals, so that a few V2 action-minutes do not print as 0.00. */
function money(value: number): string {
  return value.toFixed(3);
}
