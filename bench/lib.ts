/**
 * Shared pieces of the benchmark: the figure record, statistics, the fixture world (source pipeline,
 * repository, signed deliveries) and the table printer.
 */
import { cloneDeclaration, cloneTags } from "../functions/core/clone.js";
import type { PipelineDeclaration } from "../functions/core/pipeline.js";
import type { Logger } from "../functions/app/ports.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import { pipelineFixture } from "../test/helpers/fixtures.js";
import type { FakePullRequest } from "../test/helpers/github-api.js";

export const SECRET = "It's a Secret to Everybody";
export const SOURCE = "hello-world";
export const REPOSITORY = "hello-world";
export const REPO = "Codertocat/Hello-World";
export const BASE_BRANCH = "master";

export interface Figure {
  figure: string;
  measured: number;
  baseline: number;
  unit: string;
  /** measured / baseline. */
  ratio: number;
  /** The highest ratio that passes; `undefined` for a figure shown for information only. */
  target: number | undefined;
  verdict: "PASS" | "MISS" | "info";
  /** What the baseline is and anything a reader needs to judge the figure. */
  note: string;
}

export function figure(
  name: string,
  measured: number,
  baseline: number,
  unit: string,
  target: number | undefined,
  note: string,
): Figure {
  const ratio = baseline === 0 ? Number.POSITIVE_INFINITY : measured / baseline;
  const verdict = target === undefined ? "info" : ratio <= target + 1e-9 ? "PASS" : "MISS";
  return { figure: name, measured, baseline, unit, ratio, target, verdict, note };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: number[]): number => percentile(values, 50);

/** Milliseconds since `start` (from `process.hrtime.bigint()`). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A logger that renders each line as JSON, as the structured logger does, and drops it: the
 * handler pays for formatting its log lines without the benchmark's output filling with them.
 */
let discarded = 0;

/** Bytes of log lines the discard loggers rendered (kept so the rendering is not optimised away). */
export const discardedLogBytes = (): number => discarded;

/** The double's recorded calls counted per operation, and those it answered with a throttle (400). */
export function countCalls(calls: AwsDouble["calls"]): {
  byOperation: Record<string, number>;
  throttledByOperation: Record<string, number>;
  throttled: number;
} {
  const byOperation: Record<string, number> = {};
  const throttledByOperation: Record<string, number> = {};
  for (const call of calls) {
    byOperation[call.operation] = (byOperation[call.operation] ?? 0) + 1;
    if (call.status === 400)
      throttledByOperation[call.operation] = (throttledByOperation[call.operation] ?? 0) + 1;
  }
  const throttled = Object.values(throttledByOperation).reduce((a, b) => a + b, 0);
  return { byOperation, throttledByOperation, throttled };
}

export function discardLogger(): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    discarded += JSON.stringify({
      level,
      message,
      timestamp: new Date().toISOString(),
      ...fields,
    }).length;
  };
  return { info: line("INFO"), warn: line("WARN"), error: line("ERROR") };
}

/** The source pipeline every figure starts from, seeded with its ECR repository. */
export function seedWorld(aws: AwsDouble): PipelineDeclaration {
  aws.reset();
  const source = pipelineFixture("v1-ecs");
  aws.seedPipeline(source);
  aws.createRepository(REPOSITORY);
  return source;
}

/** A clone of the source for pull request `n`, as the webhook would have made it. */
export function seedClone(aws: AwsDouble, source: PipelineDeclaration, n: number): string {
  const branch = headBranch(n);
  const declaration = cloneDeclaration(source, {
    prNumber: n,
    headBranch: branch,
    headRepository: REPO,
  });
  aws.seedPipeline(declaration, cloneTags(SOURCE, n, branch));
  return declaration.name;
}

export const headBranch = (n: number): string => `feature-${n}`;

export function openPullRequest(n: number, state: "open" | "closed" = "open"): FakePullRequest {
  return {
    number: n,
    state,
    head: { ref: headBranch(n), sha: "a".repeat(40), repo: REPO },
    base: { ref: BASE_BRANCH, repo: REPO },
  };
}

/** The environment the webhook and reconciler read, besides the AWS double's variables. */
export function functionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    WEBHOOK_SECRET: SECRET,
    ...extra,
  };
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** The figures as a fixed-width table. */
export function table(figures: Figure[]): string {
  const header = ["figure", "measured", "baseline", "ratio", "target", "result"];
  const rows = figures.map((f) => [
    f.figure,
    `${formatNumber(f.measured)} ${f.unit}`.trim(),
    `${formatNumber(f.baseline)} ${f.unit}`.trim(),
    Number.isFinite(f.ratio) ? f.ratio.toFixed(2) : "n/a",
    f.target === undefined ? "-" : `<= ${f.target.toFixed(1)}`,
    f.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const render = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [render(header), rule, ...rows.map(render)].join("\n");
}
