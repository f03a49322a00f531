/**
 * Figure 6: one reconcile sweep of a stack that serves many services (issue 12's scale), through the
 * real reconcile handler with a routing table (`BRANCHLINE_SERVICES`), while the double lets
 * GetPipeline through at a stated rate: the AWS calls it makes against the fewest it needs, its
 * GitHub requests against theirs, and its time against the bound the throttle sets (GetPipeline
 * calls needed / rate).
 *
 * The world: `repositories` GitHub repositories, `services` services spread over them in turn (a
 * monorepo's services: every service of a repository builds the same branch, so each sees that
 * repository's pull requests), `open` open pull requests per repository. Per service, the last open
 * pull request has no clone yet and one closed pull request per repository still has its clone and
 * a `pr-` image in the service's repository.
 */
import { cloneDeclaration, cloneTags } from "../functions/core/clone.js";
import type { PipelineDeclaration } from "../functions/core/pipeline.js";
import { defaultReconcileDeps } from "../functions/reconcile/deps.js";
import { createReconcileHandler } from "../functions/reconcile/handler.js";
import { cloneName } from "../functions/shared/names.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import { pipelineFixture } from "../test/helpers/fixtures.js";
import type { GitHubApiDouble } from "../test/helpers/github-api.js";
import {
  countCalls,
  discardLogger,
  elapsedMs,
  figure,
  headBranch,
  SECRET,
  type Figure,
} from "./lib.js";

export interface ServicesBenchOptions {
  /** Services in the routing table. */
  services: number;
  /** GitHub repositories they are spread over (each service on repository `i % repositories`). */
  repositories: number;
  /** Open pull requests per repository. */
  open: number;
  /** GetPipeline calls the double lets through per second. */
  getPipelineRate: number;
}

/** ListPipelines and ListImages page size the adapters ask for (the APIs' maximum). */
const PAGE = 1000;
const BRANCH = "main";

interface BenchService {
  name: string;
  source: PipelineDeclaration;
  repository: string;
  ecrRepository: string;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** The source pipeline of one service: the fixture renamed, building `repository`'s `main`. */
function sourceOf(name: string, repository: string): PipelineDeclaration {
  const source = structuredClone(pipelineFixture("v1-ecs"));
  source.name = name;
  for (const stage of source.stages) {
    for (const action of stage.actions) {
      if (action.actionTypeId.category !== "Source" || !action.configuration) continue;
      action.configuration["FullRepositoryId"] = repository;
      action.configuration["BranchName"] = BRANCH;
    }
  }
  return source;
}

export async function measureServicesReconcile(
  aws: AwsDouble,
  github: GitHubApiDouble,
  options: ServicesBenchOptions,
): Promise<{ figures: Figure[]; detail: Record<string, unknown>; problems: string[] }> {
  aws.reset();
  github.reset();
  const { open } = options;
  const closedNumber = open + 1;
  const repositories = Array.from(
    { length: options.repositories },
    (_, i) => `bench-org/repo-${pad(i + 1)}`,
  );
  const services: BenchService[] = Array.from({ length: options.services }, (_, i) => {
    const name = `svc-${pad(i + 1)}`;
    const repository = repositories[i % repositories.length] as string;
    return { name, source: sourceOf(name, repository), repository, ecrRepository: `${name}-pr` };
  });
  const used = repositories.filter((repository) =>
    services.some((service) => service.repository === repository),
  );

  for (const repository of used) {
    for (let n = 1; n <= closedNumber; n++) {
      github.addPullRequest({
        number: n,
        state: n <= open ? "open" : "closed",
        head: { ref: headBranch(n), sha: "a".repeat(40), repo: repository },
        base: { ref: BRANCH, repo: repository },
      });
    }
  }
  for (const service of services) {
    aws.seedPipeline(service.source);
    aws.createRepository(service.ecrRepository);
    // Pull requests 1..open-1 have their clone, `open` has none, `open + 1` (closed) still has one.
    for (let n = 1; n <= closedNumber; n++) {
      if (n === open) continue;
      const declaration = cloneDeclaration(service.source, {
        prNumber: n,
        headBranch: headBranch(n),
        headRepository: service.repository,
      });
      aws.seedPipeline(declaration, cloneTags(service.name, n, headBranch(n)));
    }
    aws.seedImage(service.ecrRepository, { tags: [`pr-${closedNumber}`] });
  }
  const table = services.map((service) => ({
    name: service.name,
    sourcePipeline: service.name,
    repository: service.repository,
    branch: BRANCH,
    ecrRepositories: [service.ecrRepository],
  }));

  const count = services.length;
  const unchanged = count * (open - 1);
  const pipelines = count + unchanged + count;
  const getPipelineNeeded = count + unchanged;
  const needed: Record<string, number> = {
    "GetPipeline (each service's source + each existing clone, to compare)": getPipelineNeeded,
    "ListPipelines (1,000 a page, once per sweep)": Math.ceil(pipelines / PAGE),
    "ListImages (each service's PR-tier repository, 1,000 a page)": count,
    "CreatePipeline (missing clones)": count,
    "ListTagsForResource + ListPipelineExecutions + DeletePipeline + BatchDeleteImage (closed)":
      4 * count,
  };
  const minimum = Object.values(needed).reduce((a, b) => a + b, 0);
  const gitHubNeeded: Record<string, number> = {
    "open pull requests listed (once per repository, 100 a page)":
      used.length * Math.ceil(open / 100),
    "pulls.get of each closed pull request that still has clones (once per repository)":
      used.length,
  };
  const gitHubMinimum = Object.values(gitHubNeeded).reduce((a, b) => a + b, 0);

  aws.calls.length = 0;
  github.requests.length = 0;
  aws.throttle("GetPipeline", { perSecond: options.getPipelineRate });
  const reconcile = createReconcileHandler(
    defaultReconcileDeps(
      {
        BRANCHLINE_SERVICES: JSON.stringify(table),
        WEBHOOK_SECRET: SECRET,
        GITHUB_TOKEN: "ghs_bench-token",
        GITHUB_API_URL: github.url,
      },
      { logger: discardLogger() },
    ),
  );
  const start = process.hrtime.bigint();
  const summary = await reconcile({});
  const ms = elapsedMs(start);

  const { byOperation, throttledByOperation, throttled } = countCalls(aws.calls);
  const gitHubByPath: Record<string, number> = {};
  for (const request of github.requests) {
    const kind = /\/pulls\/\d+$/.test(request.path)
      ? "pulls.get"
      : /\/pulls$/.test(request.path)
        ? "pulls.list"
        : request.path;
    gitHubByPath[kind] = (gitHubByPath[kind] ?? 0) + 1;
  }
  const boundMs = (getPipelineNeeded / options.getPipelineRate) * 1000;

  const wrong: string[] = [];
  for (const service of services) {
    for (let n = 1; n <= open; n++)
      if (!aws.pipeline(cloneName(service.name, n)))
        wrong.push(`${service.name} #${n} has no clone`);
    if (aws.pipeline(cloneName(service.name, closedNumber)))
      wrong.push(`${service.name} #${closedNumber} (closed) still has its clone`);
  }
  const perService = summary.services ?? {};
  const servicesSwept = Object.keys(perService).length;
  if (servicesSwept !== count) wrong.push(`${servicesSwept} service(s) swept, expected ${count}`);
  if (summary.errors.length > 0)
    wrong.push(`${summary.errors.length} error(s): ${summary.errors[0]}`);
  const unchangedSeen = Object.values(perService).reduce((a, s) => a + s.unchanged.length, 0);
  if (unchangedSeen !== unchanged)
    wrong.push(`${unchangedSeen} clones checked unchanged, expected ${unchanged}`);

  const detail = {
    ...options,
    pullRequestsPerService: open,
    clonesBefore: pipelines - count,
    minimumCalls: minimum,
    minimumByOperation: needed,
    calls: aws.calls.length,
    callsThrottled: throttled,
    byOperation,
    throttledByOperation,
    gitHubMinimum,
    gitHubMinimumByKind: gitHubNeeded,
    gitHubRequests: github.requests.length,
    gitHubByKind: gitHubByPath,
    summary: {
      services: servicesSwept,
      created: Object.values(perService).reduce((a, s) => a + s.created.length, 0),
      deleted: Object.values(perService).reduce((a, s) => a + s.deleted.length, 0),
      unchanged: unchangedSeen,
      errors: summary.errors.length,
      firstErrors: summary.errors.slice(0, 3),
      notReached: summary.notReached ?? [],
    },
    wrongAfterSweep: wrong.slice(0, 20),
    ms,
    boundMs,
  };
  const state =
    wrong.length === 0
      ? "converged in one sweep"
      : `NOT converged: ${wrong.length} problem(s) after the sweep`;
  return {
    figures: [
      figure(
        `6 sweep ${count} svc/${used.length} repos/${count * open} PRs: calls`,
        aws.calls.length,
        minimum,
        "calls",
        1.2,
        `every AWS request the double received, ${throttled} of them throttled; minimum by operation in results.json`,
      ),
      figure(
        `6 sweep: GitHub requests`,
        github.requests.length,
        gitHubMinimum,
        "req",
        undefined,
        `listings once per repository, the closed pull request read once per service`,
      ),
      figure(
        `6 sweep: time, GetPipeline ${options.getPipelineRate}/s`,
        ms / 1000,
        boundMs / 1000,
        "s",
        1.2,
        `bound = ${getPipelineNeeded} GetPipeline / ${options.getPipelineRate} per s; ${state}`,
      ),
    ],
    detail,
    problems: wrong.map((text) => `services sweep: ${text}`),
  };
}
