/**
 * The reconciler's sweep: compares the open pull requests of the source repository with the managed
 * clones and the `pr-` images, and makes each pull request right through the same
 * `PullRequestPipelines` the webhook uses. One pull request's failure never stops the others.
 *
 * Without a GitHub token the open pull requests cannot be listed, so no clone is created for a pull
 * request that has none. The sweep still asks GitHub (anonymously: public repositories only, at a low
 * rate limit) about each pull request that has a clone or images, deletes those it can show are
 * closed or retargeted, refreshes those it can show are wanted, and reports what it could not check.
 */
import { sameRepository, type ClassifyOptions, type PullRequest } from "../core/classify.js";
import { isManagedClone } from "../core/clone.js";
import { classifyError } from "../core/errors.js";
import {
  cloneNumberOf,
  imagesByPullRequest,
  verdictFor,
  type RepositoryIdentity,
  type Verdict,
} from "../core/reconcile.js";
import { siblingPipelineArn, type Tag } from "../core/pipeline.js";
import { cloneName, pullRequestMarkKey } from "../shared/names.js";
import type { Selection } from "../core/selection.js";
import { selectionOf } from "./selection.js";
import { approvalGate, reportWaiting } from "./approval.js";
import type { CommitStatuses } from "./feedback.js";
import {
  GitHubRateLimitError,
  rateLimitStopMessage,
  withFields,
  type GitHubCommandPorts,
  type GitHubPullRequests,
  type ImageId,
  type ImageStore,
  type Logger,
  type Metrics,
  type OpenPullRequests,
  type PipelineStore,
  type IdleMarkers,
  type PipelineActivity,
  type PullRequestMarks,
} from "./ports.js";
import { CloneSlots, ensureWithinLimits, stillWaiting, type Gated } from "./limits.js";
import { checkIdleMarker, idleClone, markIdle, postServiceStatus } from "./idle.js";
import { builtDescription, idleDescription } from "../core/limits.js";
import { countError } from "./responses.js";
import { DIMENSION, METRIC } from "../shared/metrics.js";
import type { PreviewSettings } from "../core/preview.js";
import { servicePreviews, type PreviewClients, type ServicePreviews } from "./preview-lifecycle.js";
import type { PreviewListing } from "./previews.js";
import type { PreviewDeployments } from "./preview-deployments.js";
import { reportPreview, retirePreviewDeployment } from "./preview-feedback.js";
import {
  PullRequestPipelines,
  type EnsureOutcome,
  type EnsureStrategy,
  type KnownImages,
  type SourcePipeline,
} from "./pull-request-pipelines.js";

export interface ReconcileSummary {
  created: number[];
  updated: number[];
  /** Pull requests whose clone was deleted. */
  deleted: number[];
  /** Pull requests with at least one image tag deleted. */
  imagesDeleted: number[];
  unchanged: number[];
  errors: string[];
  /**
   * What was not reconciled because the deployment is misconfigured (a ConfigurationError, or an
   * AWS error such as AccessDenied or a declaration CodePipeline refuses: see core/errors.ts):
   * retrying will not help until someone fixes it. Present only when there is some.
   */
  misconfigured?: string[];
  /** Pull requests waiting for a clone slot (a clone limit is full); present only when some. */
  waiting?: number[];
  /**
   * Pull requests whose clone idle expiry removed in this sweep, or left removed; present only when
   * some.
   */
  idle?: number[];
  /** Pull requests whose preview this sweep removed (some of it); present only when some. */
  previewsRemoved?: number[];
  /** Pull requests whose preview waits for a slot (`maxPreviews`, a full listener); when some. */
  previewsWaiting?: number[];
  /** Pull requests whose preview this sweep scaled to zero (idle); present only when some. */
  previewsScaledDown?: number[];
}

/** What clone limits and idle expiry need in a sweep (absent: neither applies). */
export interface SweepLimits {
  /** Counts with a fresh listing each time (never the sweep's cached one). */
  slots: CloneSlots;
  statuses?: CommitStatuses | undefined;
  idleMarkers?: IdleMarkers | undefined;
  activity?: PipelineActivity | undefined;
  /** The clock idle expiry reads. */
  now: () => number;
  /** Gated creations one at a time, oldest pull request first. */
  serial: <T>(task: () => Promise<T>) => Promise<T>;
}

export interface ReconcilePorts {
  pipelines: PipelineStore;
  images: ImageStore;
  /** Reads one pull request; anonymous when no token is configured. */
  pullRequests: GitHubPullRequests;
  /** Lists open pull requests; `undefined` when no GitHub token is configured. */
  openPullRequests: OpenPullRequests | undefined;
  /**
   * The pull requests' high-water marks; `undefined`: none. Before acting on a pull request the
   * sweep advances its mark to what GitHub showed, and leaves it to the newer event when one was
   * processed since.
   */
  marks?: PullRequestMarks | undefined;
  logger: Logger;
  /** Clones changed, and each failure by kind (`Errors`); default: none. */
  metrics?: Metrics | undefined;
  /** Clone limits and idle expiry; absent: neither. */
  limits?: SweepLimits | undefined;
  /** Authors' permissions (the approval rule); `undefined`: no GitHub credentials. */
  commands?: GitHubCommandPorts | undefined;
  /** The pending status of an untrusted pull request; `undefined`: none posted. */
  statuses?: CommitStatuses | undefined;
  /** ECS and the load balancer for previews: only when some service has previews. */
  previews?: PreviewClients | undefined;
  /** The previews' GitHub deployments, retired with their previews; `undefined`: none. */
  deployments?: PreviewDeployments | undefined;
}

export interface ReconcileOptions extends ClassifyOptions {
  sourcePipelineName: string;
  /** The PR tier's repositories, each listed once per sweep. */
  repositoryNames: readonly string[];
  /** The role every clone runs with; `undefined`: the source's. */
  cloneRoleArn?: string | undefined;
  /** Source CodeBuild project -> PR build project; `undefined`: the source's projects. */
  prBuildProjects?: Readonly<Record<string, string>> | undefined;
  /** The pull request tier's artifact bucket; `undefined`: the source's artifact store. */
  prArtifactBucket?: string | undefined;
  /**
   * The service's label and path rules: a pull request they do not build gets no clone, and loses
   * the one it has. `undefined`: none.
   */
  selection?: Selection | undefined;
  /** The service's name (its statuses' context `branchline/<name>`); default: the source's. */
  name?: string | undefined;
  /** The service's own clone limit (functions/core/limits.ts); `undefined`: none. */
  maxClones?: number | undefined;
  /** Days without a push after which its clones are removed; `undefined`: never. */
  idleDays?: number | undefined;
  /** Untrusted pull requests wait for an approval (app/approval.ts); default true. */
  requireApproval?: boolean | undefined;
  /** The service's preview environments; `undefined`: none. */
  preview?: PreviewSettings | undefined;
  /** Pull requests worked on at once (default 8). */
  concurrency?: number;
  /** Aborted when the sweep's time is up: pull requests not started by then are reported. */
  signal?: AbortSignal;
}

export const NO_TOKEN_MESSAGE =
  "no GitHub token configured: open pull requests could not be listed, so no clone was created for a pull request without one; clones and images of pull requests GitHub showed closed were deleted";

const DEFAULT_CONCURRENCY = 8;

/** `creates`: an ensure for a pull request without a clone (it may take a clone slot). */
type Task = { prNumber: number; run: () => Promise<void>; creates?: boolean };

export async function reconcile(
  ports: ReconcilePorts,
  options: ReconcileOptions,
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    created: [],
    updated: [],
    deleted: [],
    imagesDeleted: [],
    unchanged: [],
    errors: [],
  };
  const serviceName = options.name ?? options.sourcePipelineName;
  let previews: ServicePreviews | undefined;
  try {
    previews = servicePreviews(
      ports.previews,
      { name: serviceName, preview: options.preview, repositoryNames: options.repositoryNames },
      ports.logger,
    );
  } catch (error) {
    report(summary, `sweep not started: ${message(error)}`, error, ports.metrics);
    return finish(summary);
  }
  const app = new PullRequestPipelines(
    ports.pipelines,
    ports.images,
    ports.logger,
    {
      sourcePipelineName: options.sourcePipelineName,
      repositoryNames: options.repositoryNames,
      cloneRoleArn: options.cloneRoleArn,
      prBuildProjects: options.prBuildProjects,
      prArtifactBucket: options.prArtifactBucket,
      previews,
    },
    ports.metrics,
  );
  /** The pull requests with a preview, listed once per sweep (a service with previews only). */
  let previewed = new Map<number, PreviewListing>();
  /** Those with their rule, target group and service: the sweep only aims the clone at them. */
  let whole = new Set<number>();

  let source: SourcePipeline;
  let pipelineNames: string[];
  /** Per repository listed, its images by pull request. */
  const listedImages = new Map<string, Map<number, ImageId[]>>();
  let open: PullRequest[] | undefined;
  const createdAt = new Map<string, Date | undefined>();
  const limitService = {
    name: options.name ?? options.sourcePipelineName,
    sourcePipelineName: options.sourcePipelineName,
    ...(options.maxClones !== undefined ? { maxClones: options.maxClones } : {}),
    ...(options.idleDays !== undefined ? { idleDays: options.idleDays } : {}),
  };
  const limitsApply = ports.limits?.slots.applies(limitService) === true;
  /** What the first pull request of this sweep that found a limit full was told. */
  let waitingSince: Extract<Gated, { kind: "waiting" }> | undefined;
  try {
    source = await app.source();
    const [listed, , openList, previewList] = await Promise.all([
      ports.pipelines.list(),
      Promise.all(
        options.repositoryNames.map((repository) =>
          ports.images.list(repository).then(
            (ids) => void listedImages.set(repository, imagesByPullRequest(ids)),
            (error: unknown) => {
              // Without the listing, each removal lists this repository's images itself.
              summary.errors.push(`images of ${repository} could not be listed: ${message(error)}`);
            },
          ),
        ),
      ),
      ports.openPullRequests?.listOpen(source.ref.repository, source.ref.branch),
      previews?.list(),
    ]);
    previewed = new Map((previewList ?? []).map((listing) => [listing.prNumber, listing]));
    if (previews !== undefined) whole = await previews.whole([...previewed.values()]);
    pipelineNames = listed.map((pipeline) => pipeline.name);
    for (const pipeline of listed) createdAt.set(pipeline.name, pipeline.created);
    // With a clone limit, the oldest waiting pull requests are tried first.
    open = limitsApply ? openList?.sort((a, b) => a.number - b.number) : openList;
  } catch (error) {
    report(summary, `sweep not started: ${message(error)}`, error, ports.metrics);
    return finish(summary);
  }
  if (open === undefined) summary.errors.push(NO_TOKEN_MESSAGE);

  const clones = new Map<number, string>();
  for (const name of pipelineNames) {
    const number = cloneNumberOf(name, options.sourcePipelineName);
    if (number !== undefined) clones.set(number, name);
  }
  const withImages = new Set([...listedImages.values()].flatMap((byPr) => [...byPr.keys()]));
  const knownImages = (n: number): KnownImages =>
    new Map([...listedImages].map(([repository, byPr]) => [repository, byPr.get(n) ?? []]));

  /** False when an event newer than what GitHub showed the sweep was processed already. */
  const current = async (pr: PullRequest): Promise<boolean> => {
    if (!ports.marks || pr.updatedAt === undefined) return true;
    const key = pullRequestMarkKey(options.sourcePipelineName, pr.number);
    if (await ports.marks.advance(key, pr.updatedAt, undefined)) return true;
    ports.logger.info(
      "pull request left alone: a newer event was processed since GitHub was read",
      {
        pullRequest: pr.number,
        updatedAt: pr.updatedAt,
      },
    );
    return false;
  };

  /** Removes the clone (when `tags` says it exists), the preview and the images of a pull request. */
  const removeAll = async (pr: PullRequest, tags: Tag[] | undefined): Promise<void> => {
    const n = pr.number;
    let previewRemoved: string[] | undefined;
    if (tags !== undefined) {
      const outcome = await app.remove(source, n, knownImages(n), tags);
      if (outcome.result === "deleted") summary.deleted.push(n);
      if (outcome.imagesDeleted > 0) summary.imagesDeleted.push(n);
      previewRemoved = outcome.previewRemoved;
    } else {
      // No clone: a preview left by a removal that stopped after the clone, or a lost close.
      if (previews !== undefined && previewed.has(n)) {
        previewRemoved = await previews.remove(n);
      }
      if ((await app.removeImages(n, knownImages(n))) > 0) summary.imagesDeleted.push(n);
    }
    if (previewRemoved !== undefined && previewRemoved.length > 0) {
      (summary.previewsRemoved ??= []).push(n);
      await retirePreviewDeployment(
        ports.deployments,
        ports.logger,
        pr.baseRepository,
        n,
        serviceName,
      );
    }
  };

  /** Removes what a pull request that is not built has: clone, preview, images. */
  const unwanted = async (pr: PullRequest, tags: Tag[] | undefined): Promise<void> => {
    if (!(await current(pr))) return;
    await removeAll(pr, tags);
  };

  /**
   * The clone's tags when the pull request has a clone branchline manages; `undefined` when it has
   * none, or one that is not branchline's (left alone).
   */
  const managedTags = async (n: number): Promise<Tag[] | undefined> => {
    const name = clones.get(n);
    if (name === undefined) return undefined;
    const tags = await ports.pipelines.tags(siblingPipelineArn(source.arn, name));
    return tags !== undefined && isManagedClone(tags, options.sourcePipelineName)
      ? tags
      : undefined;
  };

  const ensure = async (
    wanted: Extract<Verdict, { kind: "ensure" }>,
    strategy: EnsureStrategy,
  ): Promise<void> => {
    const pr = wanted.pullRequest;
    if (options.selection !== undefined) {
      const decision = await selectionOf(options, pr, ports.pullRequests, ports.logger);
      if (!decision.build) {
        ports.logger.info("pull request not built by the service's rules", {
          pullRequest: pr.number,
          reason: decision.reason,
        });
        return unwanted(pr, strategy === "read-first" ? await managedTags(pr.number) : undefined);
      }
    }
    if (!(await current(pr))) return;
    // The approval rule, as the webhook applies it: an untrusted pull request gets no clone until
    // its head commit is approved, and its clone is not touched while a newer push waits.
    const approval = await approvalGate({
      service: {
        name: options.name ?? options.sourcePipelineName,
        sourcePipelineName: options.sourcePipelineName,
        requireApproval: options.requireApproval,
      },
      pr,
      pipelines: ports.pipelines,
      sourceArn: source.arn,
      commands: ports.commands,
    });
    if (!approval.build) {
      ports.logger.info("untrusted pull request waits for approval", {
        pullRequest: pr.number,
        reason: approval.reason,
      });
      const service = { name: options.name ?? options.sourcePipelineName };
      await reportWaiting(ports.statuses, service, pr, approval.description, ports.logger);
      if (approval.unapprovedClone) await unwanted(pr, await managedTags(pr.number));
      return;
    }
    const limits = ports.limits;
    const create = async (): Promise<EnsureOutcome> => {
      const outcome = await app.ensure(
        source,
        {
          prNumber: pr.number,
          headBranch: pr.headBranch,
          headRepository: wanted.headRepository,
          ...(approval.approvedSha !== undefined ? { approvedSha: approval.approvedSha } : {}),
        },
        strategy,
        // A whole preview is only aimed at; one missing or partly there is ensured (or waits for
        // a slot).
        { known: whole.has(pr.number) },
      );
      if (outcome.preview?.kind === "waiting") (summary.previewsWaiting ??= []).push(pr.number);
      await reportPreview(ports.statuses, ports.logger, serviceName, pr, outcome.preview);
      return outcome;
    };
    if (limits === undefined) {
      summary[(await create()).result].push(pr.number);
      return;
    }
    const n = pr.number;
    const logger = withFields(ports.logger, { pullRequest: n });
    const name = clones.get(n);
    if (name !== undefined) {
      // Idle expiry: only with the markers that keep the sweep from bringing the clone back.
      const idle =
        limits.idleMarkers !== undefined &&
        limits.activity !== undefined &&
        (await idleClone(
          { activity: limits.activity, now: limits.now },
          limitService,
          pr,
          createdAt.get(name),
        ));
      if (idle && options.idleDays !== undefined) {
        await markIdle(limits.idleMarkers, limitService, pr);
        const tags = await managedTags(n);
        if (tags !== undefined) await removeAll(pr, tags);
        (summary.idle ??= []).push(n);
        logger.info("clone removed: no push for the service's idle days", {
          idleDays: options.idleDays,
        });
        const description = idleDescription(options.idleDays);
        await postServiceStatus(limits.statuses, logger, limitService, pr, description);
        return;
      }
      summary[(await create()).result].push(n);
      return;
    }
    const marker = await checkIdleMarker(limits.idleMarkers, limitService, pr, false);
    if (marker.kind === "expired") {
      (summary.idle ??= []).push(n);
      return;
    }
    const gate = () =>
      ensureWithinLimits({
        slots: limits.slots,
        service: limitService,
        pr,
        ensure: create,
        remove: () => app.remove(source, n),
        statuses: limits.statuses,
        logger,
      });
    // Once an older pull request waited, a younger one waits too: the removals of this sweep ran
    // before its creations, so no count is made again (checked in turn, oldest first).
    const gateInTurn = async (): Promise<Gated> => {
      if (waitingSince === undefined) return gate();
      const { description } = waitingSince;
      await stillWaiting(
        { statuses: limits.statuses, logger, service: limitService, pr },
        description,
      );
      return waitingSince;
    };
    const gated = limitsApply ? await limits.serial(gateInTurn) : await gate();
    if (gated.kind === "waiting") {
      waitingSince ??= gated;
      (summary.waiting ??= []).push(n);
      return;
    }
    summary[gated.outcome.result].push(n);
    if (marker.kind === "cleared" && gated.outcome.result === "created" && !limitsApply) {
      const description = builtDescription(gated.outcome.pipeline);
      await postServiceStatus(limits.statuses, logger, limitService, pr, description);
    }
  };

  // A pull request of another name than the configured repository's: GitHub followed a rename or
  // a transfer, or the configuration is wrong. The configured name's id, read once per sweep and
  // only then, tells which; either way nothing is deleted for a name alone.
  const renamed = new RepositoryChecks(ports.pullRequests, source.ref.repository);
  const verdictOf = async (pr: PullRequest): Promise<Verdict> =>
    verdictFor(
      pr,
      source.ref,
      options,
      sameRepository(pr.baseRepository, source.ref.repository)
        ? undefined
        : await renamed.configured(),
    );
  const strategyFor = (n: number): EnsureStrategy =>
    clones.has(n) ? "read-first" : "create-first";

  // Pull requests with a clone or images but not among the open ones: GitHub is asked about each
  // before anything is deleted (one may have been opened since the listing).
  let rateLimited = false;
  /** Set when the sweep stopped at its reserve rather than at an empty budget. */
  let stoppedAtReserve: string | undefined;
  const unchecked: number[] = [];
  const settle = async (n: number): Promise<void> => {
    const name = clones.get(n);
    let tags: Tag[] | undefined;
    if (name !== undefined) {
      tags = await ports.pipelines.tags(siblingPipelineArn(source.arn, name));
      if (tags !== undefined && !isManagedClone(tags, options.sourcePipelineName)) {
        ports.logger.info("pipeline left alone: not managed by branchline", {
          pullRequest: n,
          pipeline: name,
        });
        return;
      }
    }
    const hasClone = tags !== undefined;
    if (rateLimited) {
      unchecked.push(n);
      return;
    }
    let pr: PullRequest;
    try {
      pr = await ports.pullRequests.get(source.ref.repository, n);
    } catch (error) {
      if (!(error instanceof GitHubRateLimitError)) throw error;
      if (!rateLimited && error.reserve) stoppedAtReserve = rateLimitStopMessage(error.reserve);
      rateLimited = true;
      unchecked.push(n);
      return;
    }
    const verdict = await verdictOf(pr);
    if (verdict.kind === "ensure") return ensure(verdict, hasClone ? "read-first" : "create-first");
    if (verdict.kind === "misconfigured") {
      renamed.unmatched.push(n);
      return;
    }
    if (verdict.kind === "keep") {
      if (hasClone) summary.unchanged.push(n);
      return;
    }
    return unwanted(pr, tags);
  };
  const tasks: Task[] = [];
  const openNumbers = new Set<number>();
  for (const pr of open ?? []) {
    openNumbers.add(pr.number);
    const verdict = await verdictOf(pr);
    if (verdict.kind === "ensure") {
      tasks.push({
        prNumber: pr.number,
        run: () => ensure(verdict, strategyFor(pr.number)),
        creates: !clones.has(pr.number),
      });
    } else if (verdict.kind === "misconfigured") {
      renamed.unmatched.push(pr.number);
    } else if (verdict.kind === "keep") {
      if (clones.has(pr.number)) summary.unchanged.push(pr.number);
    } else {
      tasks.push({ prNumber: pr.number, run: () => settle(pr.number) });
    }
  }

  const others = new Set([...clones.keys(), ...withImages, ...previewed.keys()]);
  for (const n of [...others].sort((a, b) => a - b)) {
    if (!openNumbers.has(n)) tasks.push({ prNumber: n, run: () => settle(n) });
  }

  // With a clone limit, what removes clones (and refreshes or expires existing ones) runs first:
  // the clones it removes free slots for the waiting pull requests created after it.
  const phases = limitsApply
    ? [tasks.filter((task) => !task.creates), tasks.filter((task) => task.creates)]
    : [tasks];
  const onError = (task: Task, error: unknown): void => {
    const text = `pull request #${task.prNumber}: ${message(error)}`;
    report(summary, text, error, ports.metrics);
    withFields(ports.logger, { pullRequest: task.prNumber }).error("pull request not reconciled", {
      clone: cloneName(options.sourcePipelineName, task.prNumber),
      error: message(error),
    });
  };
  const notStarted: number[] = [];
  for (const phase of phases) {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    notStarted.push(...(await runAll(phase, concurrency, options.signal, onError)));
  }
  // Idle previews of open pull requests scale to zero (after the sweep: not those it removed).
  if (previews !== undefined && !options.signal?.aborted) {
    const removed = new Set([...(summary.previewsRemoved ?? []), ...summary.deleted]);
    const live = [...previewed.values()].filter(
      (listing) => openNumbers.has(listing.prNumber) && !removed.has(listing.prNumber),
    );
    try {
      const now = new Date((ports.limits?.now ?? Date.now)());
      const scaled = await previews.scaleDownIdle(live, now);
      if (scaled.length > 0) (summary.previewsScaledDown ??= []).push(...scaled);
    } catch (error) {
      report(summary, `idle previews not checked: ${message(error)}`, error, ports.metrics);
    }
  }
  // Configuration problems are reported apart from retryable errors: a sweep cannot heal them.
  const problems = renamed.problems();
  if (problems.length > 0) {
    (summary.misconfigured ??= []).push(...problems);
    ports.metrics?.count(METRIC.errors, problems.length, { [DIMENSION.kind]: "configuration" });
  }
  if (unchecked.length > 0) {
    summary.errors.push(
      `${stoppedAtReserve ?? "GitHub's rate limit is used up"}: ${unchecked.length} pull request(s) were not checked: ${list(unchecked)}`,
    );
  }
  if (notStarted.length > 0) {
    summary.errors.push(
      `the sweep ran out of time: ${notStarted.length} pull request(s) were not reconciled: ${list(notStarted)}`,
    );
  }
  return finish(summary);
}

/**
 * What a sweep learns about the configured repository's name: whether GitHub now calls it something
 * else (renamed or transferred), and which pull requests could not be matched to it.
 */
class RepositoryChecks {
  readonly unmatched: number[] = [];
  private lookup: Promise<RepositoryIdentity | undefined> | undefined;
  private found: RepositoryIdentity | undefined;
  private failure: string | undefined;

  constructor(
    private readonly github: Pick<GitHubPullRequests, "repository">,
    private readonly name: string,
  ) {}

  /** The configured repository as GitHub shows it now, read at most once; `undefined` if unreadable. */
  configured(): Promise<RepositoryIdentity | undefined> {
    this.lookup ??= this.github.repository(this.name).then(
      (identity) => (this.found = identity),
      (error: unknown) => {
        this.failure = message(error);
        return undefined;
      },
    );
    return this.lookup;
  }

  /** The configuration problems found, each saying what to change. */
  problems(): string[] {
    const problems: string[] = [];
    const now = this.found?.fullName;
    if (now !== undefined && !sameRepository(now, this.name)) {
      problems.push(
        `GitHub now calls repository ${this.name} ${now} (renamed or transferred; same id ${this.found?.id}): set the stack's branchline:repository to ${now} and run pulumi up. Until then the webhook ignores its deliveries; this sweep matched its pull requests by id`,
      );
    }
    if (this.unmatched.length > 0) {
      const why =
        this.failure !== undefined
          ? `the repository's id could not be read (${this.failure})`
          : `their repository's id is not ${this.name}'s`;
      problems.push(
        `GitHub answered for ${this.name} with pull request(s) of another repository, left alone (nothing deleted): ${list(this.unmatched)}; ${why}. Check the stack's branchline:repository: it must name the source pipeline's repository as GitHub names it now`,
      );
    }
    return problems;
  }
}

/**
 * Runs the tasks at most `limit` at a time; a failure is reported and the others go on. Returns the
 * pull requests of tasks not started because `signal` was aborted.
 */
async function runAll(
  tasks: Task[],
  limit: number,
  signal: AbortSignal | undefined,
  onError: (task: Task, error: unknown) => void,
): Promise<number[]> {
  let next = 0;
  const skipped: number[] = [];
  const worker = async (): Promise<void> => {
    for (let task = tasks[next++]; task !== undefined; task = tasks[next++]) {
      if (signal?.aborted) {
        skipped.push(task.prNumber);
        continue;
      }
      try {
        await task.run();
      } catch (error) {
        onError(task, error);
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, tasks.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return skipped;
}

/** The summary's lists present only when they have some pull request. */
export const OPTIONAL_LISTS = [
  "waiting",
  "idle",
  "previewsRemoved",
  "previewsWaiting",
  "previewsScaledDown",
] as const;

function finish(summary: ReconcileSummary): ReconcileSummary {
  for (const key of ["created", "updated", "deleted", "imagesDeleted", "unchanged"] as const) {
    summary[key] = [...new Set(summary[key])].sort((a, b) => a - b);
  }
  for (const key of OPTIONAL_LISTS) {
    const numbers = summary[key];
    if (numbers !== undefined) summary[key] = [...new Set(numbers)].sort((a, b) => a - b);
  }
  return summary;
}

function list(numbers: number[]): string {
  return [...numbers]
    .sort((a, b) => a - b)
    .map((n) => `#${n}`)
    .join(", ");
}

/**
 * Adds `text` to `misconfigured` for a configuration problem, otherwise to `errors`; counts the
 * failure by its kind.
 */
function report(
  summary: ReconcileSummary,
  text: string,
  error: unknown,
  metrics: Metrics | undefined,
): void {
  countError(metrics, error);
  if (classifyError(error) === "configuration") (summary.misconfigured ??= []).push(text);
  else summary.errors.push(text);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
