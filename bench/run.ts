/**
 * `npm run bench`: every figure measured side by side in one run against the local AWS double and
 * GitHub API double; prints a table and writes bench/results.json. A figure over its target is a
 * MISS, not a failure: the exit code is non-zero only when something breaks (a pull request left
 * without its clone, a handler answering what it should not).
 *
 * Flags (defaults are the figures the project reports):
 *   --burst-prs=100 --burst-rate=1        figure 4: pull requests opened at once, CreatePipeline/s
 *   --burst-concurrency=5 --burst-batch=10 figure 4: the event source mapping (the stack's defaults)
 *   --ingest-samples=300                  figure 4: webhook answers and bare SendMessage calls timed
 *   --reconcile-open=1000 --reconcile-rate=20   figure 5: open pull requests, GetPipeline/s
 *   --services=50 --services-repos=20 --services-open=20 --services-rate=40
 *                                         figure 6: services, repositories, open pull requests per
 *                                         repository, GetPipeline/s
 *   --iterations=200 --cold-runs=15       figures 2 and 3
 *   --only=1,2,3,4,5,6                    run some figures only
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAwsDouble } from "../test/helpers/aws-double/index.js";
import { setEnv } from "../test/helpers/env.js";
import { GitHubApiDouble } from "../test/helpers/github-api.js";
import { measureBurst } from "./burst.js";
import { measureCalls } from "./calls.js";
import { measureColdStart } from "./cold-start.js";
import { DEFAULTS } from "../infra/config.js";
import { WORKER_TIMEOUT_SECONDS } from "../infra/components/worker.js";
import { table, type Figure } from "./lib.js";
import { measureOverhead } from "./overhead.js";
import { measureReconcile } from "./reconcile.js";
import { measureServicesReconcile } from "./reconcile-services.js";

function flags(argv: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match?.[1] || match[2] === undefined) throw new Error(`unknown argument ${arg}`);
    map.set(match[1], match[2]);
  }
  return map;
}

function numberFlag(map: Map<string, string>, name: string, fallback: number): number {
  const text = map.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

async function main(): Promise<void> {
  const args = flags(process.argv.slice(2));
  const only = new Set((args.get("only") ?? "1,2,3,4,5,6").split(","));
  const started = process.hrtime.bigint();
  const aws = await startAwsDouble();
  const github = new GitHubApiDouble();
  await github.start();
  // The functions' metrics (one EMF line per invocation on stdout) stay off, as in the tests: the
  // bench's table is on stdout, and the logs are discarded likewise (lib.ts discardLogger).
  const restoreEnv = setEnv({ ...aws.env(), POWERTOOLS_METRICS_DISABLED: "true" });
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  const problems: string[] = [];
  const step = async <T extends { figures: Figure[]; problems?: string[] }>(
    id: string,
    label: string,
    fn: () => Promise<T>,
  ): Promise<void> => {
    if (!only.has(id)) return;
    const t = process.hrtime.bigint();
    process.stderr.write(`bench: ${label}...`);
    const result = await fn();
    const { figures: measured, problems: found = [], ...rest } = result;
    figures.push(...measured);
    details[label] = rest;
    problems.push(...found);
    process.stderr.write(` ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s\n`);
  };
  try {
    await step("1", "calls per event", () => measureCalls(aws));
    await step("2", "handler overhead", () =>
      measureOverhead(aws, { iterations: numberFlag(args, "iterations", 200), warmup: 30 }),
    );
    await step("3", "cold start", () => measureColdStart(numberFlag(args, "cold-runs", 15)));
    await step("4", "burst", () =>
      measureBurst(aws, github, {
        pullRequests: numberFlag(args, "burst-prs", 100),
        rate: numberFlag(args, "burst-rate", 1),
        maxConcurrency: numberFlag(args, "burst-concurrency", DEFAULTS.delivery.maxConcurrency),
        batchSize: numberFlag(args, "burst-batch", DEFAULTS.delivery.batchSize),
        workerTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
        maxReceiveCount: DEFAULTS.delivery.maxReceiveCount,
        samples: numberFlag(args, "ingest-samples", 300),
        limitMs: 240_000,
      }),
    );
    await step("5", "reconcile at scale", () =>
      measureReconcile(aws, github, {
        open: numberFlag(args, "reconcile-open", 1000),
        missing: 10,
        closed: 10,
        getPipelineRate: numberFlag(args, "reconcile-rate", 20),
      }),
    );
    await step("6", "reconcile many services", () =>
      measureServicesReconcile(aws, github, {
        services: numberFlag(args, "services", 50),
        repositories: numberFlag(args, "services-repos", 20),
        open: numberFlag(args, "services-open", 20),
        getPipelineRate: numberFlag(args, "services-rate", 40),
      }),
    );
  } finally {
    restoreEnv();
    await aws.close();
    await github.close();
  }
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const results = {
    node: process.version,
    cpus: (await import("node:os")).cpus().length,
    wallSeconds,
    problems,
    figures,
    details,
  };
  writeFileSync(join(__dirname, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${table(figures)}\n\n`);
  for (const f of figures.filter((x) => x.verdict === "MISS")) {
    process.stdout.write(`MISS ${f.figure}: ${f.note}\n`);
  }
  process.stdout.write(
    `bench: ${wallSeconds.toFixed(1)} s in all; details in bench/results.json\n`,
  );
  if (problems.length > 0) {
    process.stderr.write(`bench: something broke:\n${problems.map((p) => `  ${p}`).join("\n")}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
