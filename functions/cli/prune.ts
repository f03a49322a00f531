/**
 * `branchline prune`: deletes the clones and `pr-` images of closed pull requests, and nothing else.
 * Each pull request with a managed clone or images is looked up on GitHub; only one GitHub shows
 * closed is cleaned up, through the same removal the webhook and the reconciler use. Never creates
 * or updates a pipeline.
 */
import { createOctokit, OctokitPullRequests } from "../adapters/github.js";
import { PullRequestPipelines, type KnownImages } from "../app/pull-request-pipelines.js";
import { imagesByPullRequest } from "../core/reconcile.js";
import type { Logger, PipelineSummary } from "../app/ports.js";
import { connectAws, loadSource, type AwsContext } from "./aws.js";
import { CONCURRENCY, listOnce, managedClones } from "./clones.js";
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
  mapLimit,
  printErrors,
  printJson,
  startProgress,
  type CliIo,
  type Progress,
} from "./io.js";
import { resolveServices, type CliService } from "./names.js";

export const PRUNE_USAGE = `Usage: branchline prune [options]

Deletes the clones and pr- images of closed pull requests. Pull requests GitHub shows open keep
theirs; pipelines without branchline's tags are never touched. Exits 1 when something failed. With
the stack's services output it prunes every service (or the one --service picks), each pull request
looked up once per repository, and prints a summary per service.

Options:
${NAME_HELP}
${REPOSITORY_HELP}
${GITHUB_HELP}
  --dry-run                   only report which pull requests are closed
${OUTPUT_HELP}
`;

export interface PruneSummary {
  /** Pull requests GitHub showed closed (with --dry-run: what would be deleted). */
  closed: number[];
  /** Pull requests whose clone was deleted. */
  deleted: number[];
  /** Pull requests with at least one image tag deleted. */
  imagesDeleted: number[];
  /** Pull requests still open: left alone. */
  kept: number[];
  errors: string[];
}

/**
 * What `--json` prints for several services: the numbers of every service together (errors prefixed
 * with their service), and each service's own summary. One service: its `PruneSummary`, with a
 * `service` member when the names come from the stack's services output.
 */
export interface PruneServicesSummary extends PruneSummary {
  services: (PruneSummary & { service: string })[];
}

export async function pruneCommand(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(
    argv,
    { ...NAME_FLAGS, ...GITHUB_FLAGS, ...OUTPUT_FLAGS, "dry-run": { type: "boolean" } },
    "prune",
  );
  if (values.help) {
    io.stdout.write(PRUNE_USAGE);
    return 0;
  }
  const json = values.json === true;
  const dryRun = values["dry-run"] === true;
  const github = gitHubAccess(values, io.env);
  if (!github.token) {
    throw new CliError(
      "prune needs a GitHub token to tell closed pull requests from open ones: pass --github-token or set GITHUB_TOKEN",
    );
  }
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
  const aws = await connectAws(io.signal);
  const pullRequests = new OctokitPullRequests(
    createOctokit(github.token, github.apiUrl, io.signal),
  );
  // One lookup per repository and pull request, however many services build the repository.
  const states = new Map<string, Promise<string>>();
  const state = (repository: string, n: number): Promise<string> => {
    const key = `${repository.toLowerCase()}#${n}`;
    let known = states.get(key);
    if (known === undefined) {
      known = pullRequests.get(repository, n).then((pr) => pr.state);
      states.set(key, known);
    }
    return known;
  };
  const context: PruneContext = {
    aws,
    state,
    logger: cliLogger(io, values.verbose === true),
    listing: listOnce(aws.pipelines),
    dryRun,
  };
  const names = services.map((service) => service.sourcePipelineName).join(", ");
  const progress = startProgress(io, json, `reading ${names}`);
  const summaries: { service: CliService; summary: PruneSummary }[] = [];
  try {
    for (const service of services) {
      summaries.push({ service, summary: await pruneService(context, service, progress) });
    }
  } finally {
    progress.stop();
  }
  const [only] = summaries;
  const several = summaries.length > 1;
  const total = several || only === undefined ? totals(summaries) : only.summary;

  if (json) {
    if (!several) {
      const name = only?.service.name;
      printJson(io.stdout, name === undefined ? total : { service: name, ...total });
    } else {
      const out: PruneServicesSummary = {
        ...total,
        services: summaries.map(({ service, summary }) => ({
          service: service.name ?? service.sourcePipelineName,
          ...summary,
        })),
      };
      printJson(io.stdout, out);
    }
  } else if (!several) {
    printSummary(io, total, dryRun, values.verbose === true);
  } else {
    for (const { service, summary } of summaries) {
      line(io.stdout, `service ${service.name ?? "-"} (${service.sourcePipelineName}):`);
      printSummary(io, summary, dryRun, values.verbose === true, "  ");
    }
  }
  return total.errors.length > 0 ? 1 : 0;
}

interface PruneContext {
  aws: AwsContext;
  /** GitHub's state of a pull request (`open`, `closed`), looked up once. */
  state: (repository: string, n: number) => Promise<string>;
  logger: Logger;
  listing: () => Promise<PipelineSummary[]>;
  dryRun: boolean;
}

/** One service's prune: its clones and the images in its PR tier repositories. */
async function pruneService(
  { aws, state, logger, listing, dryRun }: PruneContext,
  names: CliService,
  progress: Progress,
): Promise<PruneSummary> {
  const app = new PullRequestPipelines(aws.pipelines, aws.images, logger, names);
  const summary: PruneSummary = {
    closed: [],
    deleted: [],
    imagesDeleted: [],
    kept: [],
    errors: [],
  };
  const source = await loadSource(aws, names.sourcePipelineName);
  const clones = await managedClones(aws.pipelines, source, progress, listing);
  progress.update("listing images");
  const listings = await Promise.all(
    names.repositoryNames.map(
      async (repository) =>
        [repository, imagesByPullRequest(await aws.images.list(repository))] as const,
    ),
  );
  const images = (n: number): KnownImages =>
    new Map(listings.map(([repository, byPr]) => [repository, byPr.get(n) ?? []]));
  const withImages = listings.flatMap(([, byPr]) => [...byPr.keys()]);
  const withClone = new Set(clones.map((clone) => clone.pullRequest));
  const numbers = [...new Set([...withClone, ...withImages])].sort((a, b) => a - b);
  let done = 0;
  await mapLimit(numbers, CONCURRENCY, async (n) => {
    try {
      if ((await state(source.ref.repository, n)) !== "closed") {
        summary.kept.push(n);
        return;
      }
      summary.closed.push(n);
      if (dryRun) return;
      if (withClone.has(n)) {
        const outcome = await app.remove(source, n, images(n));
        if (outcome.result === "deleted") summary.deleted.push(n);
        if (outcome.imagesDeleted > 0) summary.imagesDeleted.push(n);
      } else if ((await app.removeImages(n, images(n))) > 0) {
        summary.imagesDeleted.push(n);
      }
    } catch (error) {
      summary.errors.push(
        `pull request #${n}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      progress.update(`checked ${++done}/${numbers.length} pull requests`);
    }
  });
  for (const key of ["closed", "deleted", "imagesDeleted", "kept"] as const) {
    summary[key].sort((a, b) => a - b);
  }
  summary.errors.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return summary;
}

/** Every service's numbers together; errors prefixed with their service. */
function totals(summaries: { service: CliService; summary: PruneSummary }[]): PruneSummary {
  const total: PruneSummary = { closed: [], deleted: [], imagesDeleted: [], kept: [], errors: [] };
  for (const { service, summary } of summaries) {
    for (const key of ["closed", "deleted", "imagesDeleted", "kept"] as const) {
      total[key].push(...summary[key]);
    }
    const label = service.name ?? service.sourcePipelineName;
    total.errors.push(...summary.errors.map((error) => `${label}: ${error}`));
  }
  for (const key of ["closed", "deleted", "imagesDeleted", "kept"] as const) {
    total[key] = [...new Set(total[key])].sort((a, b) => a - b);
  }
  return total;
}

function printSummary(
  io: CliIo,
  summary: PruneSummary,
  dryRun: boolean,
  verbose: boolean,
  indent = "",
): void {
  const out = (text: string) => line(io.stdout, `${indent}${text}`);
  if (dryRun) out(`would delete:   ${formatNumbers(summary.closed)}`);
  else {
    out(`deleted:        ${formatNumbers(summary.deleted)}`);
    out(`images deleted: ${formatNumbers(summary.imagesDeleted)}`);
  }
  out(`kept (open):    ${formatNumbers(summary.kept)}`);
  out(`errors:         ${summary.errors.length === 0 ? "none" : summary.errors.length}`);
  printErrors(out, summary.errors, verbose);
}
