/**
 * `branchline sync`: one reconciler sweep, run here and now with the same code and adapters as the
 * scheduled Lambda (functions/app/reconcile.ts).
 */
import { createOctokit, OctokitPullRequests } from "../adapters/github.js";
import {
  OPTIONAL_LISTS,
  reconcile,
  type ReconcilePorts,
  type ReconcileSummary,
} from "../app/reconcile.js";
import { reconcileServices } from "../app/reconcile-services.js";
import { readCloneTier, warnIfSingleTier } from "../app/settings.js";
import type { ServiceEntry } from "../core/services.js";
import { connectAws } from "./aws.js";
import {
  GITHUB_FLAGS,
  GITHUB_HELP,
  gitHubAccess,
  NAME_FLAGS,
  NAME_HELP,
  OUTPUT_FLAGS,
  OUTPUT_HELP,
  parseFlags,
  REPOSITORY_HELP,
} from "./flags.js";
import {
  CliError,
  cliLogger,
  formatNumbers,
  line,
  printErrors,
  printJson,
  startProgress,
  type CliIo,
  type Progress,
} from "./io.js";
import { reconcilerFunctionName, resolveServices, type CliService } from "./names.js";
import { invokeReconciler } from "./remote-sync.js";

export const SYNC_USAGE = `Usage: branchline sync [options]

Runs the reconciler now, from this machine: creates missing clones, updates stale ones, deletes
those of closed pull requests and their pr- images. Exits 1 when the sweep reports errors. With the
stack's services output it sweeps every service (or the one --service picks) in one run, with the
reconciler's own multi-service sweep, and prints a summary per service. On a terminal it shows its
progress on stderr: open pull requests listed, pull requests read, clones created, updated and
deleted, pull requests that failed.

With --remote it runs the stack's deployed reconciler instead (AWS Lambda, a synchronous
invocation: your credentials need lambda:InvokeFunction on it) and prints its summary: the sweep
then uses the stack's own settings and GitHub credentials (token or GitHub App), and applies every
rule of its services (labels, paths, approvals, limits, idle expiry), which a sweep run here does
not know of. It sweeps every service of the stack.

Options:
${NAME_HELP}
${REPOSITORY_HELP}
${GITHUB_HELP}
  --allow-forks               build pull requests from forks (as ALLOW_FORK_PULL_REQUESTS=true)
  --skip-drafts               do not build draft pull requests (as BUILD_DRAFT_PULL_REQUESTS=false)
  --remote                    run the stack's deployed reconciler (stack output reconcilerFunctionName)
  --function <name>           the reconciler function --remote invokes (default: the stack output)
${OUTPUT_HELP}

CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET, as in the reconciler's environment, put
the clones in the pull request tier (the clone role, the PR build projects, the PR artifact
bucket); unset, clones keep the source's.

Without a GitHub token the open pull requests cannot be listed: no clone is created, and only
pull requests GitHub shows closed (public repositories) are cleaned up.
`;

export async function syncCommand(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(
    argv,
    {
      ...NAME_FLAGS,
      ...GITHUB_FLAGS,
      ...OUTPUT_FLAGS,
      "allow-forks": { type: "boolean" },
      "skip-drafts": { type: "boolean" },
      remote: { type: "boolean" },
      function: { type: "string" },
    },
    "sync",
  );
  if (values.help) {
    io.stdout.write(SYNC_USAGE);
    return 0;
  }
  const json = values.json === true;
  if (values.remote === true) return remoteSync(io, values, json);
  if (values.function !== undefined) throw new CliError("--function goes with --remote");
  const github = gitHubAccess(values, io.env);
  const services = await resolveServices(
    io,
    {
      stack: values.stack,
      service: values.service,
      sourcePipeline: values["source-pipeline"],
      repository: values.repository,
      repositories: values.repositories,
    },
    { repositories: true },
  );
  const tier = readCloneTier(io.env);
  warnIfSingleTier(tier, { warn: (message) => line(io.stderr, `warning: ${message}`) });
  const aws = await connectAws(io.signal);
  const client = new OctokitPullRequests(createOctokit(github.token, github.apiUrl, io.signal));
  const names = services.map((service) => service.sourcePipelineName).join(", ");
  const progress = startProgress(io, json, `reconciling ${names}`);
  const counts = new SweepCounts(progress, `reconciling ${names}`);
  const ports: ReconcilePorts = {
    pipelines: counts.pipelines(aws.pipelines),
    images: aws.images,
    pullRequests: counts.pullRequests(client),
    openPullRequests: github.token ? counts.openPullRequests(client) : undefined,
    logger: counts.logger(cliLogger(io, values.verbose === true)),
  };
  const settings = {
    ...tier,
    allowForks: values["allow-forks"] === true,
    buildDrafts: values["skip-drafts"] !== true,
  };
  let result: SyncResult;
  try {
    result = await sweep(ports, services, settings, io.signal);
  } finally {
    progress.stop();
  }

  const verbose = values.verbose === true;
  if (json) printJson(io.stdout, result.json);
  else if (result.byService.length === 1 && services.length === 1) {
    printSummary(io, (result.byService[0] as ServiceSummary).summary, verbose);
  } else {
    for (const { service, summary } of result.byService) {
      const pipeline = services.find((s) => s.name === service)?.sourcePipelineName ?? "-";
      line(io.stdout, `service ${service} (${pipeline}):`);
      printSummary(io, summary, verbose, "  ");
    }
    const unreached = result.total.notReached;
    if (unreached && unreached.length > 0) {
      line(io.stdout, `not reached:    ${unreached.join(", ")}`);
    }
  }
  const total = result.total;
  return total.errors.length > 0 || (total.misconfigured?.length ?? 0) > 0 ? 1 : 0;
}

/** The flags a sweep run here takes, which the deployed reconciler's own settings replace. */
const LOCAL_ONLY_FLAGS = [
  "service",
  "source-pipeline",
  "repository",
  "repositories",
  "github-token",
  "github-api-url",
  "allow-forks",
  "skip-drafts",
] as const;

/** `sync --remote`: the deployed reconciler's sweep, printed as a local one. */
async function remoteSync(
  io: CliIo,
  values: Partial<Record<(typeof LOCAL_ONLY_FLAGS)[number], unknown>> & {
    stack?: string | undefined;
    function?: string | undefined;
    verbose?: boolean | undefined;
  },
  json: boolean,
): Promise<number> {
  const given = LOCAL_ONLY_FLAGS.filter((flag) => values[flag] !== undefined);
  if (given.length > 0) {
    throw new CliError(
      `--remote runs the deployed reconciler with the stack's own settings: ${given.map((flag) => `--${flag}`).join(", ")} cannot go with it`,
    );
  }
  const functionName = await reconcilerFunctionName(io, {
    stack: values.stack,
    function: values.function,
  });
  const remote = await invokeReconciler(io, functionName, json);
  const verbose = values.verbose === true;
  const { services: perService, notReached, ...total } = remote;
  if (json) printJson(io.stdout, remote);
  else if (perService === undefined) printSummary(io, total, verbose);
  else {
    for (const [service, summary] of Object.entries(perService)) {
      line(io.stdout, `service ${service}:`);
      printSummary(io, summary, verbose, "  ");
    }
    if (notReached && notReached.length > 0) {
      line(io.stdout, `not reached:    ${notReached.join(", ")}`);
    }
  }
  return total.errors.length > 0 || (total.misconfigured?.length ?? 0) > 0 ? 1 : 0;
}

interface ServiceSummary {
  service: string;
  summary: ReconcileSummary;
}

interface SyncResult {
  /** Every service's numbers together; errors name their service when there are several. */
  total: ReconcileSummary & { notReached?: string[] };
  byService: ServiceSummary[];
  /** What `--json` prints. */
  json: unknown;
}

/**
 * One service: `reconcile` itself, its summary as today (plus `service` when the service has a
 * name). Several: the reconciler's multi-service sweep (pipelines listed once, open pull requests
 * once per repository): the totals, and `services`, a list of each service's summary with its
 * `service` member.
 */
async function sweep(
  ports: ReconcilePorts,
  services: CliService[],
  settings: Pick<
    ServiceEntry,
    "cloneRoleArn" | "prBuildProjects" | "prArtifactBucket" | "allowForks" | "buildDrafts"
  >,
  signal: AbortSignal | undefined,
): Promise<SyncResult> {
  const [only] = services;
  if (services.length === 1 && only !== undefined) {
    const summary = await reconcile(ports, {
      sourcePipelineName: only.sourcePipelineName,
      repositoryNames: only.repositoryNames,
      ...settings,
      ...(signal ? { signal } : {}),
    });
    return {
      total: summary,
      byService: [{ service: only.name ?? only.sourcePipelineName, summary }],
      json: only.name === undefined ? summary : { service: only.name, ...summary },
    };
  }
  const entries: ServiceEntry[] = services.map((service) => ({
    name: service.name ?? service.sourcePipelineName,
    sourcePipelineName: service.sourcePipelineName,
    ref: undefined,
    repositoryNames: service.repositoryNames,
    ...settings,
  }));
  const { summary } = await reconcileServices(ports, entries, signal ? { signal } : {});
  const { services: perService, ...total } = summary;
  const byService = Object.entries(perService).map(([service, own]) => ({
    service,
    summary: own,
  }));
  return {
    total,
    byService,
    json: {
      ...total,
      services: byService.map(({ service, summary: own }) => ({ service, ...own })),
    },
  };
}

const OPTIONAL_LINES = [
  ["waiting", "waiting:"],
  ["idle", "idle:"],
  ["previewsRemoved", "previews gone:"],
  ["previewsWaiting", "previews wait:"],
  ["previewsScaledDown", "previews idle:"],
] as const satisfies readonly (readonly [(typeof OPTIONAL_LISTS)[number], string])[];

function printSummary(io: CliIo, summary: ReconcileSummary, verbose: boolean, indent = ""): void {
  const out = (text: string) => line(io.stdout, `${indent}${text}`);
  out(`created:        ${formatNumbers(summary.created)}`);
  out(`updated:        ${formatNumbers(summary.updated)}`);
  out(`deleted:        ${formatNumbers(summary.deleted)}`);
  out(`images deleted: ${formatNumbers(summary.imagesDeleted)}`);
  out(`unchanged:      ${formatNumbers(summary.unchanged)}`);
  // What the stack's rules and previews did, when they did something (a remote sweep's).
  for (const [key, label] of OPTIONAL_LINES) {
    const numbers = summary[key];
    if (numbers !== undefined) out(`${label.padEnd(15)} ${formatNumbers(numbers)}`);
  }
  out(`errors:         ${summary.errors.length === 0 ? "none" : summary.errors.length}`);
  printErrors(out, inOrder(summary.errors), verbose);
  if (summary.misconfigured) {
    out(`misconfigured:  ${summary.misconfigured.length}`);
    printErrors(out, inOrder(summary.misconfigured), verbose);
  }
}

/** Sorted with the numbers in them compared as numbers (`#2` before `#10`), as prune's are. */
function inOrder(texts: readonly string[]): string[] {
  return [...texts].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/**
 * What the sweep has done so far, counted at the ports it calls (the reconciler reports only at
 * the end), redrawn on the progress line: open pull requests listed, pull requests read from
 * GitHub, clones created, updated and deleted, pull requests that failed.
 */
export class SweepCounts {
  open = 0;
  checked = 0;
  created = 0;
  updated = 0;
  deleted = 0;
  failed = 0;

  constructor(
    private readonly progress: Progress,
    private readonly prefix: string,
  ) {}

  text(): string {
    const parts = [
      `${this.open} open`,
      `${this.checked} checked`,
      `${this.created} created`,
      `${this.updated} updated`,
      `${this.deleted} deleted`,
      ...(this.failed > 0 ? [`${this.failed} failed`] : []),
    ];
    return `${this.prefix}: ${parts.join(", ")}`;
  }

  private bump(key: "open" | "checked" | "created" | "updated" | "deleted" | "failed", by = 1) {
    this[key] += by;
    this.progress.update(this.text());
  }

  /** The store, its create, update and delete counted once they succeed. */
  pipelines(store: ReconcilePorts["pipelines"]): ReconcilePorts["pipelines"] {
    const counted: Record<string, "created" | "updated" | "deleted"> = {
      create: "created",
      update: "updated",
      delete: "deleted",
    };
    return new Proxy(store, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        const key = typeof property === "string" ? counted[property] : undefined;
        const call = (value as (...args: unknown[]) => unknown).bind(target);
        if (key === undefined) return call;
        return async (...args: unknown[]) => {
          const result = await call(...args);
          this.bump(key);
          return result;
        };
      },
    });
  }

  pullRequests(client: OctokitPullRequests): ReconcilePorts["pullRequests"] {
    return {
      get: async (repository, number) => {
        const pr = await client.get(repository, number);
        this.bump("checked");
        return pr;
      },
      repository: (repository) => client.repository(repository),
    };
  }

  openPullRequests(client: OctokitPullRequests): NonNullable<ReconcilePorts["openPullRequests"]> {
    return {
      listOpen: async (repository, baseBranch) => {
        const open = await client.listOpen(repository, baseBranch);
        this.bump("open", open.length);
        return open;
      },
    };
  }

  logger(logger: ReconcilePorts["logger"]): ReconcilePorts["logger"] {
    return {
      info: logger.info,
      warn: logger.warn,
      error: (message, fields) => {
        if (message === "pull request not reconciled") this.bump("failed");
        logger.error(message, fields);
      },
    };
  }
}
