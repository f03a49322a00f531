/**
 * Carries out a command (core/commands.ts) for the webhook (inline) and the worker (queued): checks
 * that whoever asked has write permission on the repository, reads the pull request once, and acts on
 * the clone of each service that builds its base branch. A command is acknowledged with a reaction
 * on its comment (`+1`), refused or answered with a reply (a new comment); a check suite's re-run
 * has no comment: it is only logged when refused.
 */
import { approvalGate, permissionsOnce, requiresApproval, trustOfPullRequest } from "./approval.js";
import {
  pipelinesOf,
  processDelivery,
  type DeliveryDeps,
  type Services,
} from "./process-delivery.js";
import { withFields, type GitHubCommandPorts, type Logger } from "./ports.js";
import { readEachPullRequestOnce } from "./read-once.js";
import { respond, type Response } from "./responses.js";
import type { Settings } from "./settings.js";
import { selectionContext } from "./feedback.js";
import { classify, sameRepository, type PullRequest } from "../core/classify.js";
import { approvedShaOf } from "../core/clone.js";
import {
  COMMAND_PREFIX,
  executionToken,
  namesCommit,
  shortSha,
  TRUSTED_PERMISSIONS,
  type CommandEvent,
} from "../core/commands.js";
import { siblingPipelineArn } from "../core/pipeline.js";
import { routeDelivery, type ServiceEntry } from "../core/services.js";
import { cloneName } from "../shared/names.js";

export const COMMAND_USAGE = `${COMMAND_PREFIX} commands: \`approve <sha>\` (build an untrusted pull request's head commit), \`retest\`, \`cancel\`, \`status\`.`;

/**
 * Whether any service builds `repository` (a command's only routing before the pull request is
 * read): without a routing table, the one service may (its repository is its source pipeline's).
 */
export function commandTargets(settings: Settings, repository: string): boolean {
  if (!settings.routed) return true;
  return settings.services.some(
    (service) => service.ref !== undefined && sameRepository(service.ref.repository, repository),
  );
}

/** Carries out `event`; the answer's status tells the worker whether to retry, as a delivery's does. */
export async function processCommand(
  deps: DeliveryDeps,
  settings: Settings,
  event: CommandEvent,
  fields: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Response> {
  const given = await deps.services(signal);
  const logger = withFields(deps.logger, fields);
  if (!given.pullRequests || !given.commands) {
    return ignored(
      "commands need GitHub credentials (a token or a GitHub App) to read permissions",
    );
  }
  const commands = permissionsOnce(given.commands);
  const services: Services = {
    ...given,
    pullRequests: readEachPullRequestOnce(given.pullRequests),
    commands,
  };
  const answer = new Answer(services.commands ?? commands, event, logger);

  const permission = await commands.permission(event.repository, event.actor);
  if (!TRUSTED_PERMISSIONS.has(permission)) {
    await answer.reply(
      `${COMMAND_PREFIX}: ${event.actor} has ${permission} permission on ${event.repository}; only users with write permission may command branchline.`,
    );
    return ignored(`${event.actor} has ${permission} permission; write is needed`);
  }
  const pr = await (services.pullRequests as NonNullable<Services["pullRequests"]>).get(
    event.repository,
    event.prNumber,
  );
  if (event.source.kind === "check_suite" && event.source.headSha !== pr.headSha) {
    return ignored(`the check suite is of ${shortSha(event.source.headSha)}, not the head commit`);
  }
  if (pr.state !== "open") {
    await answer.reply(`${COMMAND_PREFIX}: pull request #${pr.number} is closed.`);
    return ignored(`pull request #${pr.number} is closed`);
  }
  const targets = settings.routed
    ? routeDelivery(settings.services, {
        action: "synchronize",
        repository: pr.baseRepository,
        baseBranch: pr.baseBranch,
      })
    : settings.services;
  if (targets.length === 0) {
    await answer.reply(
      `${COMMAND_PREFIX}: no service builds ${pr.baseRepository}:${pr.baseBranch}.`,
    );
    return ignored(`no service builds ${pr.baseRepository}:${pr.baseBranch}`);
  }
  const shared: DeliveryDeps = { ...deps, services: () => services };
  const command = event.command;
  switch (command.kind) {
    case "unknown":
      await answer.reply(
        `${COMMAND_PREFIX}: unknown command \`${command.text}\`. ${COMMAND_USAGE}`,
      );
      return ignored("unknown command");
    case "approve": {
      if (!namesCommit(command.sha, pr.headSha)) {
        await answer.reply(
          `${COMMAND_PREFIX}: \`approve\` needs the head commit of #${pr.number}, ${pr.headSha} (its full sha or at least its first 7 hex digits): \`${COMMAND_PREFIX} approve ${shortSha(pr.headSha)}\`.`,
        );
        return ignored("the approval does not name the head commit");
      }
      logger.info("head commit approved", { approvedSha: pr.headSha, actor: event.actor });
      const response = await processDelivery(
        shared,
        settings,
        targets,
        { action: "synchronize", pullRequest: pr },
        fields,
        signal,
        { approving: pr.headSha },
      );
      if (response.statusCode < 400) {
        // A service whose clone limit is full made no clone: the approval (the clone's tag) is
        // not kept there, its status still says it waits, and the reply says so.
        const waiting = waitingServices(response, targets);
        const built = targets.filter((service) => !waiting.has(service.name));
        await approvedStatus(services, built, pr, event.actor, logger);
        if (waiting.size === 0) await answer.done();
        else {
          await answer.reply(
            `${COMMAND_PREFIX}: ${shortSha(pr.headSha)} is approved, but ${[...waiting.values()].join("; ")}. An approval is kept on the clone, and there is none yet: approve again once a clone slot is free.`,
          );
        }
      }
      return response;
    }
    case "retest":
    case "cancel":
    case "status": {
      const parts: Record<string, unknown>[] = [];
      const lines: string[] = [];
      for (const service of targets) {
        const part = await onClone(shared, services, service, pr, command.kind, event, fields);
        parts.push({ service: service.name, ...part.answer });
        lines.push(targets.length > 1 ? `- ${service.name}: ${part.line}` : part.line);
      }
      if (command.kind === "status" || parts.some((part) => part["done"] !== true)) {
        await answer.reply(`${COMMAND_PREFIX} ${command.kind}:\n${lines.join("\n")}`);
      }
      if (command.kind !== "status" && parts.some((part) => part["done"] === true)) {
        await answer.done();
      } else if (command.kind === "status") await answer.done();
      return respond(200, { outcome: "handled", command: command.kind, services: parts });
    }
  }
}

/** What became of a command on one service's clone: the answer's part and a line of the reply. */
interface ClonePart {
  answer: Record<string, unknown>;
  line: string;
}

async function onClone(
  deps: DeliveryDeps,
  services: Services,
  service: ServiceEntry,
  pr: PullRequest,
  kind: "retest" | "cancel" | "status",
  event: CommandEvent,
  fields: Record<string, unknown>,
): Promise<ClonePart> {
  const pipelines = pipelinesOf(deps, services, service, { ...fields, service: service.name });
  const source = await pipelines.source();
  const name = cloneName(service.sourcePipelineName, pr.number);
  const tags = await services.pipelines.tags(siblingPipelineArn(source.arn, name));
  const exists = tags !== undefined;
  if (kind === "cancel") {
    if (!exists)
      return { answer: { done: false, clone: "absent" }, line: `${name} does not exist.` };
    const stopped = await pipelines.stopRunning(pr.number, `cancelled by ${event.actor}`);
    return {
      answer: { done: true, executionsStopped: stopped },
      line: `${stopped} execution(s) of ${name} stopped.`,
    };
  }
  const options = { allowForks: service.allowForks, buildDrafts: service.buildDrafts };
  const intent = classify({ action: "synchronize", pullRequest: pr }, source.ref, options);
  const gate =
    intent.kind === "ensure"
      ? await approvalGate({
          service,
          pr,
          pipelines: services.pipelines,
          sourceArn: source.arn,
          commands: services.commands,
          known: { tags },
        })
      : undefined;
  if (kind === "status") {
    const latest = exists ? (await services.pipelines.recentExecutions(name, 1))[0] : undefined;
    const trust = requiresApproval(service)
      ? await trustOfPullRequest(pr, services.commands)
      : "trusted";
    const approved = approvedShaOf(tags);
    const words = [
      exists ? `${name} exists` : `${name} does not exist`,
      latest ? `latest execution ${latest.pipelineExecutionId}: ${latest.status}` : "no execution",
      `head ${shortSha(pr.headSha)}, ${trust}`,
      ...(approved !== undefined ? [`approved ${shortSha(approved)}`] : []),
      intent.kind !== "ensure"
        ? `not built: ${intent.kind === "ignore" || intent.kind === "remove" ? (intent.reason ?? intent.kind) : intent.kind}`
        : gate && !gate.build
          ? `waiting: ${gate.description}`
          : "nothing waits",
    ];
    return {
      answer: {
        done: true,
        clone: exists ? "exists" : "absent",
        ...(latest
          ? { latestExecution: latest.pipelineExecutionId, latestStatus: latest.status }
          : {}),
        trust,
        waiting: gate !== undefined && !gate.build,
      },
      line: `${words.join("; ")}.`,
    };
  }
  // retest
  if (intent.kind !== "ensure") {
    const reason = intent.kind === "ignore" || intent.kind === "remove" ? intent.reason : undefined;
    return { answer: { done: false, reason }, line: `not built: ${reason ?? intent.kind}.` };
  }
  if (gate && !gate.build) {
    return { answer: { done: false, reason: gate.reason }, line: `${gate.description}.` };
  }
  if (!exists) {
    return { answer: { done: false, clone: "absent" }, line: `${name} does not exist.` };
  }
  const commit = gate?.approvedSha ?? pr.headSha;
  const execution = await pipelines.startPinned(
    source,
    {
      prNumber: pr.number,
      headBranch: pr.headBranch,
      headRepository: intent.headRepository,
      ...(gate?.approvedSha !== undefined ? { approvedSha: gate.approvedSha } : {}),
    },
    commit,
    executionToken(fields["deliveryId"], name),
  );
  return {
    answer: { done: true, execution, commit },
    line: `${name} started on ${shortSha(commit)} (execution ${execution}).`,
  };
}

/**
 * The services whose part of the delivery's answer is `waiting` (a clone limit is full), with the
 * reason: the answer of one service, or each service's part of a routed one.
 */
function waitingServices(
  response: Response,
  targets: readonly ServiceEntry[],
): Map<string, string> {
  const waiting = new Map<string, string>();
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return waiting;
  }
  const parts = (body as { services?: unknown }).services;
  const answers: Record<string, unknown>[] = Array.isArray(parts)
    ? (parts as Record<string, unknown>[])
    : [{ ...(body as Record<string, unknown>), service: targets[0]?.name }];
  for (const part of answers) {
    if (part["outcome"] !== "waiting" || typeof part["service"] !== "string") continue;
    waiting.set(part["service"], String(part["reason"] ?? "no clone slot is free"));
  }
  return waiting;
}

/** The approved head commit's status says it is built (it said it was waiting). Best effort. */
async function approvedStatus(
  services: Services,
  targets: readonly ServiceEntry[],
  pr: PullRequest,
  actor: string,
  logger: Logger,
): Promise<void> {
  if (!services.statuses) return;
  for (const service of targets) {
    try {
      await services.statuses.post(pr.baseRepository, pr.headSha, {
        state: "success",
        context: selectionContext(service.name),
        description:
          `Approved by ${actor}: built in ${cloneName(service.sourcePipelineName, pr.number)}`.slice(
            0,
            140,
          ),
      });
    } catch (error) {
      logger.warn("could not post the commit status of an approval", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

function ignored(reason: string): Response {
  return respond(202, { outcome: "ignored", reason });
}

/** The command's answers on GitHub: a reaction on its comment, replies. Best effort: logged. */
class Answer {
  constructor(
    private readonly ports: GitHubCommandPorts,
    private readonly event: CommandEvent,
    private readonly logger: Logger,
  ) {}

  async done(): Promise<void> {
    if (this.event.source.kind !== "comment") return;
    await this.attempt("reaction", () =>
      this.ports.react(
        this.event.repository,
        (this.event.source as { commentId: number }).commentId,
        "+1",
      ),
    );
  }

  async reply(body: string): Promise<void> {
    if (this.event.source.kind !== "comment") {
      this.logger.info("command not carried out", { answer: body });
      return;
    }
    await this.attempt("reply", () =>
      this.ports.reply(this.event.repository, this.event.prNumber, body),
    );
  }

  private async attempt(what: string, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (error) {
      this.logger.warn(`could not write the command's ${what}`, {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
