/**
 * `branchline sync`: one reconciler sweep, run here and now with the same code and adapters as the
 * scheduled Lambda (functions/app/reconcile.ts).
 */
import { createOctokit, OctokitPullRequests } from "../adapters/github.js";
import { reconcile, type ReconcileSummary } from "../app/reconcile.js";
import { readCloneTier, warnIfSingleTier } from "../app/settings.js";
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
import { resolveNames } from "./names.js";

export const SYNC_USAGE = `Usage: branchline sync [options]

Runs the reconciler now, from this machine: creates missing clones, updates stale ones, deletes
those of closed pull requests and their pr- images. Exits 1 when the sweep reports errors.

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
    SYNC_USAGE,
  );
  if (values.help) {
    io.stdout.write(SYNC_USAGE);
    return 0;
  }
  const json = values.json === true;
  const names = await resolveNames(io, {
    stack: values.stack,
    sourcePipeline: values["source-pipeline"],
    repository: values.repository,
    repositories: values.repositories,
  });
  const tier = readCloneTier(io.env);
  warnIfSingleTier(tier, { warn: (message) => line(io.stderr, `warning: ${message}`) });
  const github = gitHubAccess(values, io.env);
  const aws = await connectAws(io.signal);
  const client = new OctokitPullRequests(createOctokit(github.token, github.apiUrl, io.signal));
  const progress = startProgress(io, json, `reconciling ${names.sourcePipelineName}`);
  let summary: ReconcileSummary;
  try {
    summary = await reconcile(
      {
        pipelines: aws.pipelines,
        images: aws.images,
        pullRequests: client,
        openPullRequests: github.token ? client : undefined,
        logger: cliLogger(io, values.verbose === true),
      },
      {
        sourcePipelineName: names.sourcePipelineName,
        repositoryNames: names.repositoryNames,
        ...tier,
        allowForks: values["allow-forks"] === true,
        buildDrafts: values["skip-drafts"] !== true,
        ...(io.signal ? { signal: io.signal } : {}),
      },
    );
  } finally {
    progress.stop();
  }

  if (json) printJson(io.stdout, summary);
  else printSummary(io, summary);
  return summary.errors.length > 0 || (summary.misconfigured?.length ?? 0) > 0 ? 1 : 0;
}

function printSummary(io: CliIo, summary: ReconcileSummary): void {
  line(io.stdout, `created:        ${formatNumbers(summary.created)}`);
  line(io.stdout, `updated:        ${formatNumbers(summary.updated)}`);
  line(io.stdout, `deleted:        ${formatNumbers(summary.deleted)}`);
  line(io.stdout, `images deleted: ${formatNumbers(summary.imagesDeleted)}`);
  line(io.stdout, `unchanged:      ${formatNumbers(summary.unchanged)}`);
  line(
    io.stdout,
    `errors:         ${summary.errors.length === 0 ? "none" : summary.errors.length}`,
  );
  for (const error of summary.errors) line(io.stdout, `  - ${error}`);
  if (summary.misconfigured) {
    line(io.stdout, `misconfigured:  ${summary.misconfigured.length}`);
    for (const problem of summary.misconfigured) line(io.stdout, `  - ${problem}`);
  }
}
