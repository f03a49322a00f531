/**
 * Figure 5: one reconcile sweep over a large repository while the double lets GetPipeline through at
 * a stated rate: the calls it makes against the fewest it needs, and its time against the bound the
 * throttle sets (GetPipeline calls needed / rate).
 */
import { defaultReconcileDeps } from "../functions/reconcile/deps.js";
import { createReconcileHandler } from "../functions/reconcile/handler.js";
import { cloneName } from "../functions/shared/names.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import type { GitHubApiDouble } from "../test/helpers/github-api.js";
import {
  countCalls,
  discardLogger,
  elapsedMs,
  figure,
  functionEnv,
  openPullRequest,
  REPOSITORY,
  seedClone,
  seedWorld,
  SOURCE,
  type Figure,
} from "./lib.js";

export interface ReconcileBenchOptions {
  /** Open pull requests. */
  open: number;
  /** Of the open ones, how many have no clone. */
  missing: number;
  /** Closed pull requests that still have a clone and one image. */
  closed: number;
  /** GetPipeline calls the double lets through per second. */
  getPipelineRate: number;
}

/** ListPipelines and ListImages page size the adapters ask for (the APIs' maximum). */
const PAGE = 1000;

export async function measureReconcile(
  aws: AwsDouble,
  github: GitHubApiDouble,
  options: ReconcileBenchOptions,
): Promise<{ figures: Figure[]; detail: Record<string, unknown>; problems: string[] }> {
  const source = seedWorld(aws);
  github.reset();
  const { open, missing, closed } = options;
  for (let n = 1; n <= open; n++) {
    github.addPullRequest(openPullRequest(n));
    if (n <= open - missing) seedClone(aws, source, n);
  }
  for (let n = open + 1; n <= open + closed; n++) {
    github.addPullRequest(openPullRequest(n, "closed"));
    seedClone(aws, source, n);
    aws.seedImage(REPOSITORY, { tags: [`pr-${n}`] });
  }
  const pipelines = 1 + (open - missing) + closed;
  const unchanged = open - missing;
  const needed: Record<string, number> = {
    "GetPipeline (source + each existing clone, to compare)": 1 + unchanged,
    "ListPipelines (1,000 a page)": Math.ceil(pipelines / PAGE),
    "ListImages (1,000 a page)": Math.ceil(closed / PAGE) || 1,
    "CreatePipeline (missing clones)": missing,
    "ListTagsForResource + ListPipelineExecutions + DeletePipeline + BatchDeleteImage (closed)":
      4 * closed,
  };
  const minimum = Object.values(needed).reduce((a, b) => a + b, 0);
  const getPipelineNeeded = 1 + unchanged;

  aws.calls.length = 0;
  github.requests.length = 0;
  aws.throttle("GetPipeline", { perSecond: options.getPipelineRate });
  const reconcile = createReconcileHandler(
    defaultReconcileDeps(
      functionEnv({ GITHUB_TOKEN: "ghs_bench-token", GITHUB_API_URL: github.url }),
      { logger: discardLogger() },
    ),
  );
  const start = process.hrtime.bigint();
  const summary = await reconcile({});
  const ms = elapsedMs(start);

  const { byOperation, throttledByOperation, throttled } = countCalls(aws.calls);
  const answered = aws.calls.length - throttled;
  const boundMs = (getPipelineNeeded / options.getPipelineRate) * 1000;

  const wrong: string[] = [];
  for (let n = 1; n <= open; n++)
    if (!aws.pipeline(cloneName(SOURCE, n))) wrong.push(`#${n} has no clone`);
  for (let n = open + 1; n <= open + closed; n++)
    if (aws.pipeline(cloneName(SOURCE, n))) wrong.push(`#${n} (closed) still has its clone`);

  const detail = {
    ...options,
    minimumCalls: minimum,
    minimumByOperation: needed,
    calls: aws.calls.length,
    callsAnswered: answered,
    callsThrottled: throttled,
    byOperation,
    throttledByOperation,
    gitHubRequests: github.requests.length,
    summary: {
      created: summary.created.length,
      deleted: summary.deleted.length,
      unchanged: summary.unchanged.length,
      errors: summary.errors.length,
      firstErrors: summary.errors.slice(0, 3),
    },
    wrongAfterSweep: wrong,
    ms,
    boundMs,
  };
  if (summary.errors.length > 0)
    wrong.push(`${summary.errors.length} error(s): ${summary.errors[0]}`);
  if (summary.unchanged.length !== unchanged) {
    wrong.push(`${summary.unchanged.length} clones checked unchanged, expected ${unchanged}`);
  }
  const state =
    wrong.length === 0
      ? "converged in one sweep"
      : `NOT converged: ${wrong.length} problem(s) after the sweep`;
  return {
    figures: [
      figure(
        `5 reconcile ${open} open/${pipelines - 1} clones: calls`,
        aws.calls.length,
        minimum,
        "calls",
        1.2,
        `every request the double received, ${throttled} of them throttled; minimum by operation in results.json`,
      ),
      figure(
        `5 reconcile: time, GetPipeline ${options.getPipelineRate}/s`,
        ms / 1000,
        boundMs / 1000,
        "s",
        1.2,
        `bound = ${getPipelineNeeded} GetPipeline / ${options.getPipelineRate} per s; ${state}`,
      ),
    ],
    detail,
    problems: wrong.map((text) => `reconcile: ${text}`),
  };
}
