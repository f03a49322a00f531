/**
 * `branchline sync`: one reconciler sweep, run here and now with the same code and adapters as the
 * scheduled Lambda (functions/app/reconcile.ts).
 */
import { createOctokit, OctokitPullRequests } from "../adapters/github.js";
import { reconcile, type ReconcilePorts, type ReconcileSummary } from "../app/reconcile.js";
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
import { cliLogger, formatNumbers, line, printJson, startProgress, type CliIo } from "./io.js";
import { resolveServices, type CliService } from "./names.js";

export const SYNC_USAGE = `Usage: branchline sync [options]

Runs the reconciler now, from this machine: creates missing clones, updates stale ones, deletes
those of closed pull requests and their pr- images. Exits 1 when the sweep reports errors. With the
stack's services output it sweeps every service (or the one --service picks) in one run, with the
reconciler's own multi-service sweep, and prints a summary per service.

Options:
${NAME_HELP}
${REPOSITORY_HELP}
${GITHUB_HELP}
  --allow-forks               build pull requests from forks (as ALLOW_FORK_PULL_REQUESTS=true)
  --skip-drafts               do not build draft pull requests (as BUILD_DRAFT_PULL_REQUESTS=false)
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
    },
    "sync",
  );
  if (values.help) {
    io.stdout.write(SYNC_USAGE);
    return 0;
  }
  const json = values.json === true;
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
  const github = gitHubAccess(values, io.env);
  const aws = await connectAws(io.signal);
  const client = new OctokitPullRequests(createOctokit(github.token, github.apiUrl, io.signal));
  const ports: ReconcilePorts = {
    pipelines: aws.pipelines,
    images: aws.images,
    pullRequests: client,
    openPullRequests: github.token ? client : undefined,
    logger: cliLogger(io, values.verbose === true),
  };
  const settings = {
    ...tier,
    allowForks: values["allow-forks"] === true,
    buildDrafts: values["skip-drafts"] !== true,
  };
  const names = services.map((service) => service.sourcePipelineName).join(", ");
  const progress = startProgress(io, json, `reconciling ${names}`);
  let result: SyncResult;
  try {
    result = await sweep(ports, services, settings, io.signal);
  } finally {
    progress.stop();
  }

  if (json) printJson(io.stdout, result.json);
  else if (result.byService.length === 1 && services.length === 1) {
    printSummary(io, (result.byService[0] as ServiceSummary).summary);
  } else {
    for (const { service, summary } of result.byService) {
      const pipeline = services.find((s) => s.name === service)?.sourcePipelineName ?? "-";
      line(io.stdout, `service ${service} (${pipeline}):`);
      printSummary(io, summary, "  ");
    }
    const unreached = result.total.notReached;
    if (unreached && unreached.length > 0) {
      line(io.stdout, `not reached:    ${unreached.join(", ")}`);
    }
  }
  const total = result.total;
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

function printSummary(io: CliIo, summary: ReconcileSummary, indent = ""): void {
  const out = (text: string) => line(io.stdout, `${indent}${text}`);
  out(`created:        ${formatNumbers(summary.created)}`);
  out(`updated:        ${formatNumbers(summary.updated)}`);
  out(`deleted:        ${formatNumbers(summary.deleted)}`);
  out(`images deleted: ${formatNumbers(summary.imagesDeleted)}`);
  out(`unchanged:      ${formatNumbers(summary.unchanged)}`);
  out(`errors:         ${summary.errors.length === 0 ? "none" : summary.errors.length}`);
  for (const error of summary.errors) out(`  - ${error}`);
  if (summary.misconfigured) {
    out(`misconfigured:  ${summary.misconfigured.length}`);
    for (const problem of summary.misconfigured) out(`  - ${problem}`);
  }
}
