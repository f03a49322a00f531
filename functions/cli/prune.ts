/**
 * `branchline prune`: deletes the clones and `pr-` images of closed pull requests, and nothing else.
 * Each pull request with a managed clone or images is looked up on GitHub; only one GitHub shows
 * closed is cleaned up, through the same removal the webhook and the reconciler use. Never creates
 * or updates a pipeline.
 */
import { createOctokit, OctokitPullRequests } from "../adapters/github.js";
import { PullRequestPipelines, type KnownImages } from "../app/pull-request-pipelines.js";
import { imagesByPullRequest } from "../core/reconcile.js";
import { connectAws, loadSource } from "./aws.js";
import { CONCURRENCY, managedClones } from "./clones.js";
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
  printJson,
  startProgress,
  type CliIo,
} from "./io.js";
import { resolveNames } from "./names.js";

export const PRUNE_USAGE = `Usage: branchline prune [options]

Deletes the clones and pr- images of closed pull requests. Pull requests GitHub shows open keep
theirs; pipelines without branchline's tags are never touched. Exits 1 when something failed.

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

export async function pruneCommand(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(
    argv,
    { ...NAME_FLAGS, ...GITHUB_FLAGS, ...OUTPUT_FLAGS, "dry-run": { type: "boolean" } },
    PRUNE_USAGE,
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
  const names = await resolveNames(io, {
    stack: values.stack,
    sourcePipeline: values["source-pipeline"],
    repository: values.repository,
    repositories: values.repositories,
  });
  const aws = await connectAws(io.signal);
  const pullRequests = new OctokitPullRequests(
    createOctokit(github.token, github.apiUrl, io.signal),
  );
  const logger = cliLogger(io, values.verbose === true);
  const app = new PullRequestPipelines(aws.pipelines, aws.images, logger, names);
  const summary: PruneSummary = {
    closed: [],
    deleted: [],
    imagesDeleted: [],
    kept: [],
    errors: [],
  };
  const progress = startProgress(io, json, `reading ${names.sourcePipelineName}`);
  try {
    const source = await loadSource(aws, names.sourcePipelineName);
    const clones = await managedClones(aws.pipelines, source, progress);
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
        const pr = await pullRequests.get(source.ref.repository, n);
        if (pr.state !== "closed") {
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
  } finally {
    progress.stop();
  }
  for (const key of ["closed", "deleted", "imagesDeleted", "kept"] as const) {
    summary[key].sort((a, b) => a - b);
  }
  summary.errors.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));

  if (json) {
    printJson(io.stdout, summary);
  } else {
    if (dryRun) line(io.stdout, `would delete:   ${formatNumbers(summary.closed)}`);
    else {
      line(io.stdout, `deleted:        ${formatNumbers(summary.deleted)}`);
      line(io.stdout, `images deleted: ${formatNumbers(summary.imagesDeleted)}`);
    }
    line(io.stdout, `kept (open):    ${formatNumbers(summary.kept)}`);
    line(
      io.stdout,
      `errors:         ${summary.errors.length === 0 ? "none" : summary.errors.length}`,
    );
    for (const error of summary.errors) line(io.stdout, `  - ${error}`);
  }
  return summary.errors.length > 0 ? 1 : 0;
}
