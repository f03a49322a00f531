/**
 * The use case both the webhook (inline) and the delivery worker (queued) carry out for a parsed,
 * authenticated pull request delivery: route it to its services, then for each service read the
 * source pipeline, check the pull request's high-water mark, read the pull request as GitHub shows
 * it now, and create, update or remove the clone (with the GitHub comment and statuses).
 *
 * With a routing table (functions/core/services.ts) a delivery goes to every service of its
 * repository and base branch; each service's clone is made right on its own and the answer lists
 * each service's (`{"outcome":"handled","services":[...]}`, see `worstStatus`). With one service
 * the answer is that service's, as it always was. The answer is an HTTP-shaped `Response`
 * (app/responses.ts): the webhook returns it, the worker reads its status.
 */
import {
  PullRequestPipelines,
  type EnsureStrategy,
  type SourcePipeline,
} from "./pull-request-pipelines.js";
import {
  withFields,
  type GitHubCommandPorts,
  type GitHubPullRequests,
  type IdleMarkers,
  type ImageStore,
  type OpenPullRequests,
  type Logger,
  type Metrics,
  type PipelineStore,
  type PullRequestMarks,
} from "./ports.js";
import type { Settings } from "./settings.js";
import {
  announceClone,
  refuseFork,
  reportSelection,
  type CommitStatuses,
  type PullRequestComments,
} from "./feedback.js";
import { MESSAGES } from "./messages.js";
import { sourceFacts } from "../core/feedback.js";
import {
  classify,
  LABEL_ACTIONS,
  type Intent,
  type PullRequest,
  type PullRequestEvent,
} from "../core/classify.js";
import { BadRequestError } from "../core/errors.js";
import { routeDelivery, type ServiceEntry } from "../core/services.js";
import { hasLabelRules } from "../core/selection.js";
import { selectionOf } from "./selection.js";
import { cloneName, pullRequestMarkKey } from "../shared/names.js";
import { countError, errorResponse, failureLog, respond, type Response } from "./responses.js";
import { readEachPullRequestOnce } from "./read-once.js";
import { CloneSlots } from "./limits.js";
import { deliveryGate, freeSlotTaken, notBuiltStatus } from "./delivery-limits.js";
import { approvalGate, permissionsOnce, reportWaiting } from "./approval.js";
import { executionToken } from "../core/commands.js";
import { previewCommentLine } from "../core/preview.js";
import { servicePreviews, type PreviewClients, type PreviewOutcome } from "./preview-lifecycle.js";
import type { PreviewDeployments } from "./preview-deployments.js";
import { reportPreview, retirePreviewDeployment } from "./preview-feedback.js";

/** What a command asks of a delivery (app/commands.ts). */
export interface DeliveryOptions {
  /** The head commit a maintainer approves now (`/branchline approve`): its clone is started. */
  approving?: string | undefined;
}

/** What one invocation works with; built per invocation around the container's clients. */
export interface Services {
  pipelines: PipelineStore;
  images: ImageStore;
  /** Present only when a GitHub token is configured. */
  pullRequests?: GitHubPullRequests;
  /** Present only when a GitHub token is configured. */
  comments?: PullRequestComments;
  /** Present only when a GitHub token is configured. */
  statuses?: CommitStatuses;
  /** Present only when GitHub credentials are configured: permissions, reactions, replies. */
  commands?: GitHubCommandPorts;
  /** Present only when a state table is configured: then an older delivery never undoes a newer one. */
  marks?: PullRequestMarks;
  /** Idle-expiry markers: with a state table and a service with `idleDays` only. */
  idleMarkers?: IdleMarkers;
  /** Open pull requests, for the oldest waiting one when a clone slot frees: with GitHub only. */
  openPullRequests?: OpenPullRequests;
  /** ECS and the load balancer, and the stack's prefix: only when some service has previews. */
  previews?: PreviewClients;
  /** The previews' GitHub deployments: with GitHub credentials and previews only. */
  deployments?: PreviewDeployments;
}

/** Actions that bring a new head commit (or the pull request back): they wake an idle preview. */
const WAKE_ACTIONS = new Set(["opened", "reopened", "synchronize", "ready_for_review"]);

export interface DeliveryDeps {
  services: (signal: AbortSignal) => Promise<Services> | Services;
  logger: Logger;
  /** Clones changed and errors by kind (default: none). */
  metrics?: Metrics;
}

const CREATE_FIRST = new Set(["opened", "reopened"]);

/**
 * The services a pull request delivery is for. Routed by the table alone, before any AWS call.
 * Without a table the one service's repository and branch are its source pipeline's: `classify`
 * checks them once it is read, as it always did, so every delivery is for that service.
 */
export function deliveryTargets(settings: Settings, event: PullRequestEvent): ServiceEntry[] {
  const pr = event.pullRequest;
  const routed = settings.routed
    ? routeDelivery(settings.services, {
        action: event.action,
        repository: pr.baseRepository,
        baseBranch: pr.baseBranch,
        previousBaseBranch: event.previousBaseBranch,
      })
    : settings.services;
  // A label added or removed changes nothing for a service without label rules.
  return LABEL_ACTIONS.has(event.action)
    ? routed.filter((service) => hasLabelRules(service.selection))
    : routed;
}

/** The answer for a delivery no service wants. */
export function noService(event: PullRequestEvent): Response {
  const pr = event.pullRequest;
  return respond(202, {
    outcome: "ignored",
    reason: LABEL_ACTIONS.has(event.action)
      ? `action ${event.action}: no service of ${pr.baseRepository}:${pr.baseBranch} has label rules`
      : `no service builds ${pr.baseRepository}:${pr.baseBranch}`,
  });
}

/**
 * Carries out a delivery for `targets` (from `deliveryTargets`, not empty), with AWS and GitHub
 * calls bound to `signal` (the caller's deadline). With one service, its failure is thrown; with
 * several, each service's failure is logged and answered in its part of the answer.
 */
export async function processDelivery(
  deps: DeliveryDeps,
  settings: Settings,
  targets: readonly ServiceEntry[],
  event: PullRequestEvent,
  fields: Record<string, unknown>,
  signal: AbortSignal,
  options: DeliveryOptions = {},
): Promise<Response> {
  const given = await deps.services(signal);
  // The author's permission (the approval rule) is read once for every service of the delivery.
  const services = given.commands ? { ...given, commands: permissionsOnce(given.commands) } : given;
  const slots = new CloneSlots(
    services.pipelines,
    settings.services.map((service) => service.sourcePipelineName),
    settings.maxClones,
  );
  const one = targets[0];
  if (settings.services.length === 1 && one !== undefined) {
    return forService(deps, services, slots, one, event, fields, undefined, options);
  }
  // The pull request as GitHub shows it now is read once for every service of the delivery.
  const read = services.pullRequests && readEachPullRequestOnce(services.pullRequests);
  const answers = await Promise.all(
    targets.map(async (service) => {
      const own = { ...fields, service: service.name };
      try {
        const response = await forService(
          deps,
          services,
          slots,
          service,
          event,
          own,
          read,
          options,
        );
        return { service, response };
      } catch (error) {
        const response = errorResponse(error, { authenticated: true });
        countError(deps.metrics, error);
        if (response.statusCode >= 422) {
          const { level, fields: details } = failureLog(error);
          withFields(deps.logger, own)[level]("delivery failed for a service", details);
        }
        return { service, response };
      }
    }),
  );
  return respond(worstStatus(answers.map(({ response }) => response.statusCode)), {
    outcome: "handled",
    services: answers.map(({ service, response }) => ({
      service: service.name,
      ...(JSON.parse(response.body) as Record<string, unknown>),
    })),
  });
}

/**
 * The status of an answer for several services: the highest error status when a service failed,
 * otherwise 200 when some service's clone was acted on and 202 when every service ignored it.
 */
export function worstStatus(statuses: readonly number[]): number {
  const errors = statuses.filter((status) => status >= 400);
  if (errors.length > 0) return Math.max(...errors);
  return statuses.includes(200) ? 200 : 202;
}

/** The clones of one service, for one delivery or command. */
export function pipelinesOf(
  deps: DeliveryDeps,
  services: Services,
  service: ServiceEntry,
  fields: Record<string, unknown>,
): PullRequestPipelines {
  return new PullRequestPipelines(
    services.pipelines,
    services.images,
    withFields(deps.logger, fields),
    {
      sourcePipelineName: service.sourcePipelineName,
      repositoryNames: service.repositoryNames,
      cloneRoleArn: service.cloneRoleArn,
      prBuildProjects: service.prBuildProjects,
      prArtifactBucket: service.prArtifactBucket,
      previews: servicePreviews(services.previews, service, withFields(deps.logger, fields)),
    },
    deps.metrics,
  );
}

/** One service's part of a delivery: its clone created, updated or removed, independently. */
async function forService(
  deps: DeliveryDeps,
  services: Services,
  slots: CloneSlots,
  service: ServiceEntry,
  event: PullRequestEvent,
  fields: Record<string, unknown>,
  read: GitHubPullRequests | undefined = services.pullRequests,
  options: DeliveryOptions = {},
): Promise<Response> {
  const pipelines = pipelinesOf(deps, services, service, fields);
  const source = await pipelines.source();
  const newer = await newerSeen(event, source, service, services.marks, fields["deliveryId"]);
  if (newer !== undefined) return respond(202, { outcome: "ignored", reason: newer });
  const classified = await currentIntent(event, source, service, read);
  fields["clone"] = cloneName(service.sourcePipelineName, event.pullRequest.number);
  const logger = withFields(deps.logger, fields);
  const work: Work = { pipelines, source, services, logger, service, slots, action: event.action };
  let intent = classified;
  if (classified.kind === "ensure" && service.selection !== undefined) {
    const pr = classified.pullRequest;
    const decision = await selectionOf(service, pr, read, logger);
    if (!decision.build) {
      logger.info("pull request not built by the service's rules", { reason: decision.reason });
      await selectionStatus(work, service, pr, decision.description);
      intent = { kind: "remove", pullRequest: pr, reason: decision.reason };
    } else if (LABEL_ACTIONS.has(event.action)) {
      // A label removed (or added) builds it again: the status that said it was not built yields.
      await selectionStatus(
        work,
        service,
        pr,
        `Built: ${cloneName(service.sourcePipelineName, pr.number)}`,
      );
    }
  }
  let approval: Approval | undefined;
  if (intent.kind === "ensure") {
    const gated = await approvalOf(work, intent, options.approving, fields["deliveryId"]);
    if ("statusCode" in gated) return gated;
    approval = gated.approval;
  }
  const strategy = CREATE_FIRST.has(event.action) ? "create-first" : "read-first";
  return act(work, intent, strategy, approval);
}

/**
 * The approval rule (app/approval.ts) for a pull request about to be built: the answer when it waits
 * (its pending status posted; an unapproved clone it still has removed), or its approved commit when
 * it is untrusted and approved (`undefined`: trusted).
 */
async function approvalOf(
  work: Work,
  intent: Extract<Intent, { kind: "ensure" }>,
  approving: string | undefined,
  deliveryId: unknown,
): Promise<Response | { approval: Approval | undefined }> {
  const { services, service, source, logger } = work;
  const pr = intent.pullRequest;
  const gate = await approvalGate({
    service,
    pr,
    pipelines: services.pipelines,
    sourceArn: source.arn,
    commands: services.commands,
    approving,
  });
  if (!gate.build) {
    logger.info("untrusted pull request waits for approval", { reason: gate.reason });
    await reportWaiting(services.statuses, service, pr, gate.description, logger);
    if (gate.unapprovedClone) {
      return act(work, { kind: "remove", pullRequest: pr, reason: gate.reason }, "read-first");
    }
    return respond(202, { outcome: "ignored", reason: gate.reason, awaitingApproval: true });
  }
  if (gate.approvedSha === undefined) return { approval: undefined };
  return {
    approval: {
      sha: gate.approvedSha,
      start: approving !== undefined,
      token: executionToken(deliveryId, cloneName(service.sourcePipelineName, pr.number)),
    },
  };
}

/**
 * An untrusted pull request's approved head commit; `start`: a maintainer approved it just now, so
 * its clone runs it even if the clone existed already.
 */
interface Approval {
  sha: string;
  start: boolean;
  /** The idempotency token of the execution it starts. */
  token: string | undefined;
}

/** Best effort, like the comment: a GitHub failure is logged and the delivery is still answered. */
async function selectionStatus(
  work: Work,
  service: ServiceEntry,
  pr: PullRequest,
  description: string,
): Promise<void> {
  if (!work.services.statuses) return;
  try {
    await reportSelection(
      work.services.statuses,
      pr.baseRepository,
      pr.headSha,
      service.name,
      description,
    );
  } catch (error) {
    work.logger.warn("could not post the commit status of the service's rules", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * What to do, from the delivery and, when a GitHub token is configured, from the pull request as
 * GitHub shows it now: a late `opened` for a pull request closed since then removes instead of
 * creating, and a late `closed` for one reopened since then leaves its clone alone.
 */
async function currentIntent(
  event: PullRequestEvent,
  source: SourcePipeline,
  service: ServiceEntry,
  pullRequests: GitHubPullRequests | undefined,
): Promise<Intent> {
  const options = { allowForks: service.allowForks, buildDrafts: service.buildDrafts };
  const intent = classify(event, source.ref, options);
  if (!pullRequests || (intent.kind !== "ensure" && intent.kind !== "remove")) return intent;
  const now = await pullRequests.get(event.pullRequest.baseRepository, event.pullRequest.number);
  if (intent.kind === "remove" && now.state === "open" && event.action === "closed") {
    return {
      kind: "ignore",
      reason: `pull request #${now.number} was reopened since this delivery`,
    };
  }
  if (intent.kind === "ensure" && now.state === "closed")
    return { kind: "remove", pullRequest: now };
  if (intent.kind === "ensure") {
    return classify({ action: "synchronize", pullRequest: now }, source.ref, options);
  }
  return intent;
}

/**
 * Replay protection: a delivery that would create, update or delete a clone first advances the pull
 * request's high-water mark to its `updated_at` (one conditional write). When a newer one is recorded
 * already, the delivery is a replay or came late: returns why it is ignored. Deliveries ignored
 * anyway (another repository or base branch, a draft, ...) leave the mark alone.
 */
async function newerSeen(
  event: PullRequestEvent,
  source: SourcePipeline,
  service: ServiceEntry,
  marks: PullRequestMarks | undefined,
  deliveryId: unknown,
): Promise<string | undefined> {
  if (!marks) return undefined;
  const options = { allowForks: service.allowForks, buildDrafts: service.buildDrafts };
  const intent = classify(event, source.ref, options);
  if (intent.kind !== "ensure" && intent.kind !== "remove") return undefined;
  const { number, updatedAt } = event.pullRequest;
  if (updatedAt === undefined) {
    throw new BadRequestError("pull_request.updated_at is missing: the delivery cannot be ordered");
  }
  const key = pullRequestMarkKey(service.sourcePipelineName, number);
  const delivery = typeof deliveryId === "string" ? deliveryId : undefined;
  if (await marks.advance(key, updatedAt, delivery)) return undefined;
  return `a newer event for pull request #${number} was processed already (this delivery's updated_at is ${updatedAt})`;
}

export interface Work {
  pipelines: PullRequestPipelines;
  source: SourcePipeline;
  services: Services;
  logger: Logger;
  service: ServiceEntry;
  slots: CloneSlots;
  /** The delivery's action. */
  action: string;
}

async function act(
  work: Work,
  intent: Intent,
  strategy: EnsureStrategy,
  approval?: Approval,
): Promise<Response> {
  const { pipelines, source, services } = work;
  const pullRequests = services.pullRequests;
  switch (intent.kind) {
    case "ping":
      return respond(200, { outcome: "pong" });
    case "ignore":
      if (intent.refusedFork) await refused(work, intent.refusedFork);
      if (intent.draft) await notBuiltStatus(work, intent.draft);
      return respond(202, { outcome: "ignored", reason: intent.reason });
    case "ensure": {
      const pr = intent.pullRequest;
      // The last gates: idle expiry's marker, then the clone limits.
      const gated = await deliveryGate(work, pr, () =>
        pipelines.ensure(
          source,
          {
            prNumber: pr.number,
            headBranch: pr.headBranch,
            headRepository: intent.headRepository,
            ...(approval !== undefined ? { approvedSha: approval.sha } : {}),
          },
          strategy,
          { wake: WAKE_ACTIONS.has(work.action) || approval?.start === true },
        ),
      );
      if (gated.kind !== "ensured") {
        return respond(202, {
          outcome: gated.kind,
          pullRequest: pr.number,
          reason: gated.description,
        });
      }
      const outcome = gated.outcome;
      if (outcome.result === "created" && pullRequests) {
        // The pull request may have closed after GitHub was read and the `closed` delivery may
        // have found no clone to delete yet: look again now that the clone exists.
        const now = await pullRequests.get(pr.baseRepository, pr.number);
        if (now.state === "closed") return removed(work, now);
      }
      if (outcome.result === "created") {
        await announce(work, outcome.pipeline, pr, outcome.preview?.kind === "waiting");
      }
      await reportPreview(services.statuses, work.logger, work.service.name, pr, outcome.preview);
      const started =
        approval !== undefined && (approval.start || outcome.result === "created")
          ? await startApproved(
              work,
              intent,
              approval.sha,
              outcome.result === "created",
              approval.token,
            )
          : undefined;
      return respond(200, {
        outcome: outcome.result,
        pipeline: outcome.pipeline,
        pullRequest: pr.number,
        ...(started !== undefined ? { approvedSha: approval?.sha, execution: started } : {}),
        ...(outcome.preview !== undefined ? { preview: previewAnswer(outcome.preview) } : {}),
      });
    }
    case "remove": {
      const response = await removed(work, intent.pullRequest, intent.reason);
      await freeSlotTaken(work, response, intent.pullRequest.number, buildWaiting);
      return response;
    }
  }
}

/**
 * Builds a waiting pull request when a slot freed: as a sweep would, through every gate (the
 * approval rule's too: an untrusted pull request is built only on its approved commit).
 */
async function buildWaiting(work: Work, intent: Intent & { kind: "ensure" }): Promise<Response> {
  const gated = await approvalOf(work, intent, undefined, undefined);
  if ("statusCode" in gated) return gated;
  return act(work, intent, "create-first", gated.approval);
}

/**
 * Runs an untrusted clone on its approved commit. CodePipeline starts a new pipeline once on
 * creation, on the branch's newest commit, which may be a push made after the approval: that
 * execution is stopped (abandoned) and one pinned to the approved commit is started instead.
 */
async function startApproved(
  work: Work,
  intent: Extract<Intent, { kind: "ensure" }>,
  sha: string,
  created: boolean,
  token: string | undefined,
): Promise<string> {
  const pr = intent.pullRequest;
  if (created) {
    await work.pipelines.stopRunning(
      pr.number,
      "started on creation: only the approved commit is built",
    );
  }
  return work.pipelines.startPinned(
    work.source,
    {
      prNumber: pr.number,
      headBranch: pr.headBranch,
      headRepository: intent.headRepository,
      approvedSha: sha,
    },
    sha,
    token,
  );
}

async function removed(work: Work, pr: PullRequest, reason?: string): Promise<Response> {
  const outcome = await work.pipelines.remove(work.source, pr.number);
  if (outcome.previewRemoved !== undefined) {
    await retirePreviewDeployment(
      work.services.deployments,
      work.logger,
      pr.baseRepository,
      pr.number,
      work.service.name,
    );
  }
  return respond(200, {
    outcome: outcome.result,
    pipeline: outcome.pipeline,
    pullRequest: pr.number,
    executionsStopped: outcome.executionsStopped,
    imagesDeleted: outcome.imagesDeleted,
    ...(outcome.previewRemoved !== undefined ? { previewRemoved: outcome.previewRemoved } : {}),
    ...(reason !== undefined ? { reason } : {}),
  });
}

/** The preview in a delivery's answer: its URL, or why it waits. */
function previewAnswer(preview: PreviewOutcome): Record<string, unknown> {
  return preview.kind === "running"
    ? { url: preview.url, ...(preview.changed.length > 0 ? { changed: preview.changed } : {}) }
    : { waiting: preview.reason };
}

/**
 * Says on the fork's head commit why it is not built. Best effort, like the comment: a GitHub
 * failure is logged and the delivery is still answered.
 */
async function refused(work: Work, pr: PullRequest): Promise<void> {
  if (!work.services.statuses) return;
  try {
    await refuseFork(work.services.statuses, pr.baseRepository, pr.headSha);
  } catch (error) {
    work.logger.warn("could not post the commit status of a refused fork", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** The comment's preview line, for a service with previews. */
function previewLine(work: Work, prNumber: number, waits: boolean): { preview?: string } {
  const settings = work.service.preview;
  if (settings === undefined) return {};
  const region = work.source.arn.split(":")[3] ?? "";
  return { preview: previewCommentLine(work.service.name, prNumber, settings, region, waits) };
}

/**
 * Writes the pull request's comment about its new clone. Best effort: the clone exists, so a
 * GitHub failure is logged and the delivery still succeeds; the execution events edit the same
 * comment later.
 */
async function announce(
  work: Work,
  clone: string,
  pr: PullRequest,
  previewWaits: boolean,
): Promise<void> {
  if (!work.services.comments) return;
  try {
    await announceClone(work.services.comments, MESSAGES, {
      clone,
      prNumber: pr.number,
      branch: pr.headBranch,
      sha: pr.headSha,
      region: work.source.arn.split(":")[3] ?? "",
      facts: sourceFacts(work.source.declaration),
      ...previewLine(work, pr.number, previewWaits),
    });
  } catch (error) {
    work.logger.warn("could not write the pull request comment", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
