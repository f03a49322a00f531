/**
 * The approval rule for untrusted pull requests, between the selection step and the clone: a fork's
 * pull request, or one whose author lacks write permission, gets no clone until a user with write
 * permission comments `/branchline approve <sha>` naming its head commit; a new push needs a new
 * approval. Meanwhile the head commit shows a pending status (`branchline/<service>`) saying how.
 *
 * The approval is kept on the clone itself, as its tag `branchline:approved-sha`: the clone exists
 * only once a commit was approved (it is created with the tag, in the one CreatePipeline call), goes
 * with the clone when the pull request closes, and is read with the clone's other tags by the
 * webhook, the worker and the reconciler alike; no table is needed. An untrusted clone has no
 * trigger and its source actions do not detect changes: it runs only when branchline starts it,
 * pinned to the approved commit (StartPipelineExecution `sourceRevisions`, COMMIT_ID), and its
 * CodeBuild actions carry `BRANCHLINE_APPROVED_SHA`, which branchline's buildspec checks against the
 * commit it builds.
 */
import type { PullRequest } from "../core/classify.js";
import { approvedShaOf } from "../core/clone.js";
import {
  approvalDecision,
  needsPermission,
  trustOf,
  type ApprovalDecision,
  type Trust,
} from "../core/commands.js";
import { siblingPipelineArn, type Tag } from "../core/pipeline.js";
import type { ServiceEntry } from "../core/services.js";
import { cloneName } from "../shared/names.js";
import type { CommitStatuses } from "./feedback.js";
import { selectionContext } from "./feedback.js";
import type { GitHubCommandPorts, Logger, PipelineStore } from "./ports.js";

/** The commands' GitHub port with each user's permission read once (per delivery). */
export function permissionsOnce(ports: GitHubCommandPorts): GitHubCommandPorts {
  const known = new Map<string, Promise<string>>();
  return {
    permission: (repository, login) => {
      const key = `${repository.toLowerCase()}@${login.toLowerCase()}`;
      let read = known.get(key);
      if (read === undefined) {
        read = ports.permission(repository, login);
        known.set(key, read);
        read.catch(() => known.delete(key));
      }
      return read;
    },
    react: (repository, id, content) => ports.react(repository, id, content),
    reply: (repository, n, body) => ports.reply(repository, n, body),
  };
}

/** Whether the service builds untrusted pull requests only once approved (default: yes). */
export function requiresApproval(service: Pick<ServiceEntry, "requireApproval">): boolean {
  return service.requireApproval !== false;
}

/** The trust of the pull request (see core/commands.ts `trustOf`), its author's permission read once. */
export async function trustOfPullRequest(
  pr: PullRequest,
  commands: GitHubCommandPorts | undefined,
): Promise<Trust> {
  if (!commands || !needsPermission(pr) || pr.author === undefined) return trustOf(pr, undefined);
  return trustOf(pr, await commands.permission(pr.baseRepository, pr.author));
}

export interface ApprovalInput {
  service: Pick<ServiceEntry, "name" | "sourcePipelineName" | "requireApproval">;
  pr: PullRequest;
  pipelines: PipelineStore;
  /** The source pipeline's ARN: the clone's is its sibling's. */
  sourceArn: string;
  commands: GitHubCommandPorts | undefined;
  /** The commit a command being carried out approves now (already checked to be the head). */
  approving?: string | undefined;
  /** The clone's tags when the caller read them already (`tags` undefined: no clone). */
  known?: { tags: Tag[] | undefined };
}

/**
 * The rule for one service's pull request: build (with the approved commit when untrusted), or wait.
 * The clone's tags are read only for an untrusted pull request of a service that requires approval.
 */
export async function approvalGate(
  input: ApprovalInput,
): Promise<ApprovalDecision & { unapprovedClone?: boolean }> {
  const { service, pr } = input;
  if (!requiresApproval(service)) return { build: true, approvedSha: undefined };
  const trust = await trustOfPullRequest(pr, input.commands);
  if (trust === "trusted") return { build: true, approvedSha: undefined };
  if (input.approving !== undefined) return approvalDecision(pr, true, trust, input.approving);
  const clone = cloneName(service.sourcePipelineName, pr.number);
  const tags = input.known
    ? input.known.tags
    : await input.pipelines.tags(siblingPipelineArn(input.sourceArn, clone));
  const approved = approvedShaOf(tags);
  const decision = approvalDecision(pr, true, trust, approved);
  // A clone without an approval (made while the pull request was trusted, or before approvals
  // existed) still has its push trigger: it must go, or a push would build unapproved code.
  return tags !== undefined && approved === undefined && !decision.build
    ? { ...decision, unapprovedClone: true }
    : decision;
}

/**
 * The pending status on the head commit of an untrusted pull request: why it is not built and how to
 * build it. Best effort: a GitHub failure is logged.
 */
export async function reportWaiting(
  statuses: CommitStatuses | undefined,
  service: Pick<ServiceEntry, "name">,
  pr: PullRequest,
  description: string,
  logger: Logger,
): Promise<void> {
  if (!statuses) return;
  try {
    await statuses.post(pr.baseRepository, pr.headSha, {
      state: "pending",
      context: selectionContext(service.name),
      description,
    });
  } catch (error) {
    logger.warn("could not post the commit status of an untrusted pull request", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
