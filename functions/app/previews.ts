/**
 * Preview environments of one service: a pull request's ECS service (Fargate) running the pull
 * request tier's images, its target group and its listener rule for `pr-<n>.<service>.<domain>`.
 *
 * - `ensurePreview` is idempotent: it creates what is missing and updates what differs (a new task
 *   definition revision only when the derived one changed). Order: task definition, target group,
 *   rule, service (ECS refuses a service whose target group no rule forwards to). A crash between
 *   steps leaves pieces a retry finds by name (target group, service, family) or host (rule).
 * - `removePreview` deletes rule → target group → service (scaled to 0, then deleted with force)
 *   → task definitions (deregistered, then deleted), so no rule ever forwards to a deleted target
 *   group. Absent pieces are fine; repeating it is harmless.
 * - Every resource carries `branchline:managed-by`, `branchline:stack` (the stack's prefix),
 *   `branchline:service` and `branchline:pull-request`; a rule, target group or service found by
 *   name or host without them is never changed (ConflictError).
 */
import {
  ALL_PRIORITIES,
  isIdle,
  listenerFullMessage,
  nextRulePriority,
  PREVIEW_TAG,
  previewContainer,
  previewHost,
  previewNames,
  prioritiesExhaustedMessage,
  previewTargetGroupPrefix,
  previewTaskDefinition,
  sameTaskDefinition,
  targetGroupStems,
  type PreviewNames,
  type PreviewSettings,
  type PreviewTaskDefinition,
  type TaskDefinitionLike,
  type PriorityRange,
} from "../core/preview.js";
import { ConfigurationError, ConflictError } from "../core/errors.js";
import { imageTagPrefix, MANAGED_BY_VALUE, TAG } from "../shared/names.js";
import {
  isListenerFull,
  isPriorityTaken,
  ListenerFullError,
  type ListenerRuleView,
  type PreviewEcs,
  type PreviewLoadBalancer,
  type PreviewTag,
  type PreviewTraffic,
} from "./preview-ports.js";
import type { Logger } from "./ports.js";

/** A service's previews: enough to find, scale and remove them. */
export interface PreviewScope {
  /** The stack's prefix (`branchline:prefix`): every preview name starts with it. */
  stackPrefix: string;
  /** The service's name in the services table. */
  service: string;
  settings: PreviewSettings;
  /** The listener rule priorities previews take (default 1..50000). */
  priorities?: PriorityRange;
}

/** What creating a preview needs besides: where its task definition and images come from. */
export interface PreviewBuildScope extends PreviewScope {
  /** The production ECS service whose task definition the previews start from. */
  source: { cluster: string; service: string };
  /** The pull request tier's ECR registry host and repositories. */
  images: { registry: string; repositories: string[] };
}

export interface PreviewDeps {
  ecs: PreviewEcs;
  elb: PreviewLoadBalancer;
  logger?: Pick<Logger, "info" | "warn">;
  /** CreateRule attempts lost to PriorityInUse before giving up (default 100). */
  maxPriorityAttempts?: number;
}

/** The service already has `maxPreviews` live previews. */
export class PreviewLimitError extends Error {
  override readonly name = "PreviewLimitError";
}

export interface EnsuredPreview {
  names: PreviewNames;
  taskDefinitionArn: string;
  targetGroupArn: string;
  ruleArn: string;
  priority: number;
  /** What this call created or changed: "task-definition", "target-group", "rule", "service". */
  changed: string[];
}

function previewTags(target: PreviewScope, prNumber: number): PreviewTag[] {
  return [
    { key: TAG.managedBy, value: MANAGED_BY_VALUE },
    { key: PREVIEW_TAG.stack, value: target.stackPrefix },
    { key: PREVIEW_TAG.service, value: target.service },
    { key: TAG.pullRequest, value: String(prNumber) },
  ];
}

function tagValue(tags: PreviewTag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.key === key)?.value;
}

/** True when the tags mark the resource as this stack's preview of this service (and PR, if given). */
function isOurs(tags: PreviewTag[] | undefined, target: PreviewScope, prNumber?: number): boolean {
  return (
    tagValue(tags, TAG.managedBy) === MANAGED_BY_VALUE &&
    tagValue(tags, PREVIEW_TAG.stack) === target.stackPrefix &&
    tagValue(tags, PREVIEW_TAG.service) === target.service &&
    (prNumber === undefined || tagValue(tags, TAG.pullRequest) === String(prNumber))
  );
}

function notOurs(what: string): ConflictError {
  return new ConflictError(
    `${what} exists but is not this stack's preview (its branchline tags differ): left alone`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Matches the hosts of the service's previews and captures the pull request number. */
function hostPattern(target: PreviewScope): RegExp {
  const rest = previewHost(target.service, 1, target.settings.domain).slice("pr-1".length);
  return new RegExp(`^pr-(\\d+)${escapeRegExp(rest)}$`);
}

/**
 * The pull request number of one of the service's preview target group names, or `undefined`
 * (the name must be exactly the one previewNames gives that number).
 */
function targetGroupNumber(target: PreviewScope, name: string): number | undefined {
  for (const stem of targetGroupStems(target.stackPrefix, target.service)) {
    const match = new RegExp(`^${escapeRegExp(stem)}-(\\d+)$`).exec(name);
    const n = match ? Number(match[1]) : NaN;
    if (
      Number.isSafeInteger(n) &&
      n > 0 &&
      previewNames(target.stackPrefix, target.service, n, target.settings.domain)
        .targetGroupName === name
    ) {
      return n;
    }
  }
  return undefined;
}

export async function ensurePreview(
  deps: PreviewDeps,
  target: PreviewBuildScope,
  prNumber: number,
  options: {
    imageTag?: string;
    /**
     * Default true: an existing service is scaled to one task (a push wakes an idle preview).
     * False: it keeps its count (a delivery that is not a push, a sweep).
     */
    wake?: boolean;
  } = {},
): Promise<EnsuredPreview> {
  const { ecs, elb } = deps;
  const { settings } = target;
  const names = previewNames(target.stackPrefix, target.service, prNumber, settings.domain);
  const tags = previewTags(target, prNumber);
  const changed: string[] = [];

  // 0. The listener's rules: a pull request without a rule yet beyond the service's cap waits
  //    before anything is created for it.
  let rules = await elb.listRules(settings.listenerArn);
  let rule = rules.find((r) => r.hosts.includes(names.host));
  if (!rule) {
    const pattern = hostPattern(target);
    const live = rules.filter((r) => r.hosts.some((h) => pattern.test(h))).length;
    if (live >= settings.maxPreviews) {
      throw new PreviewLimitError(
        `service ${target.service} has ${live} previews, its limit (preview.maxPreviews ${settings.maxPreviews}): pull request ${prNumber} gets none until one closes`,
      );
    }
  }

  // 1. The task definition, derived from the production service's.
  const source = await ecs.describeService(target.source.cluster, target.source.service);
  if (!source) {
    throw new ConfigurationError(
      `ECS service ${target.source.service} of cluster ${target.source.cluster} (the preview's source) does not exist`,
    );
  }
  const sourceDefinition = await ecs.describeTaskDefinition(source.taskDefinition);
  if (!sourceDefinition) {
    throw new ConfigurationError(
      `task definition ${source.taskDefinition} of ECS service ${target.source.service} does not exist`,
    );
  }
  const derived = previewTaskDefinition(sourceDefinition.definition, {
    family: names.family,
    prNumber,
    settings,
    images: { ...target.images, tag: options.imageTag ?? imageTagPrefix(prNumber) },
  });
  // The revision the preview service runs, else the family's newest. The clone's ECS deploy action
  // registers revisions of the family with each push's images: without an explicit `imageTag`,
  // the images of the running revision are kept, so an ensure never rolls a deploy back.
  const service = await ecs.describeService(settings.cluster, names.serviceName);
  if (service?.status === "ACTIVE" && !isOurs(service.tags, target, prNumber)) {
    throw notOurs(`ECS service ${names.serviceName}`);
  }
  const running = service?.status === "ACTIVE" ? service.taskDefinition : undefined;
  const current = await ecs.describeTaskDefinition(running ?? names.family);
  const wanted =
    current && options.imageTag === undefined ? withImagesOf(derived, current.definition) : derived;
  let taskDefinitionArn: string;
  if (current && sameTaskDefinition(current.definition, wanted)) {
    taskDefinitionArn = current.arn;
  } else {
    taskDefinitionArn = await ecs.registerTaskDefinition(wanted, tags);
    changed.push("task-definition");
  }

  // 2. The target group, found by name; 3. the rule, found by host (read above).
  let group = await elb.findTargetGroup(names.targetGroupName);
  const known = [group?.arn, rule?.arn].filter((a): a is string => a !== undefined);
  if (known.length > 0) {
    const found = await elb.tags(known);
    if (group && !isOurs(found.get(group.arn), target, prNumber)) {
      throw notOurs(`target group ${names.targetGroupName}`);
    }
    if (rule && !isOurs(found.get(rule.arn), target, prNumber)) {
      throw notOurs(`the rule for ${names.host} on listener ${settings.listenerArn}`);
    }
  }
  if (!group) {
    const vpcId = await elb.listenerVpc(settings.listenerArn);
    const arn = await elb.createTargetGroup({
      name: names.targetGroupName,
      port: settings.port,
      vpcId,
      healthCheckPath: settings.healthCheckPath,
      tags,
    });
    group = { arn, name: names.targetGroupName };
    changed.push("target-group");
  }
  if (rule && !rule.targetGroupArns.includes(group.arn)) {
    // Ours, but forwarding to a target group that was replaced: the rule goes first.
    await elb.deleteRule(rule.arn);
    rules = rules.filter((r) => r !== rule);
    rule = undefined;
  }
  let ruleArn: string;
  let priority: number;
  if (rule) {
    ruleArn = rule.arn;
    priority = rule.priority ?? 0;
  } else {
    ({ ruleArn, priority } = await createRule(
      deps,
      target,
      names.host,
      group.arn,
      tags,
      rules,
      prNumber,
    ));
    changed.push("rule");
  }

  // 4. The service (read above), on the wanted revision; scaled to one task unless told not to wake it.
  if (!service) {
    await ecs.createService({
      cluster: settings.cluster,
      name: names.serviceName,
      taskDefinition: taskDefinitionArn,
      desiredCount: 1,
      subnets: settings.subnets,
      securityGroups: settings.securityGroups,
      assignPublicIp: settings.assignPublicIp,
      targetGroupArn: group.arn,
      containerName: previewContainer(wanted, settings.port),
      containerPort: settings.port,
      tags,
    });
    changed.push("service");
  } else if (service.status !== "ACTIVE") {
    // A plain Error: transient, the next delivery or sweep retries once ECS has drained it.
    throw new Error(
      `ECS service ${names.serviceName} is still ${service.status} after a removal: retry once it is INACTIVE`,
    );
  } else {
    const wake = options.wake !== false && service.desiredCount !== 1;
    if (service.taskDefinition !== taskDefinitionArn || wake) {
      await ecs.updateService(settings.cluster, names.serviceName, {
        ...(wake ? { desiredCount: 1 } : {}),
        taskDefinition: taskDefinitionArn,
      });
      changed.push("service");
    }
  }
  deps.logger?.info("preview ensured", {
    service: target.service,
    pullRequest: prNumber,
    host: names.host,
    priority,
    changed,
  });
  return { names, taskDefinitionArn, targetGroupArn: group.arn, ruleArn, priority, changed };
}

/** `wanted` with each container's image taken from the container of the same name in `current`. */
function withImagesOf(
  wanted: PreviewTaskDefinition,
  current: TaskDefinitionLike,
): PreviewTaskDefinition {
  const images = new Map(
    (current.containerDefinitions ?? []).map((c) => [c.name, c.image] as const),
  );
  return {
    ...wanted,
    containerDefinitions: wanted.containerDefinitions.map((c) => {
      const image = images.get(c.name);
      return image === undefined ? c : { ...c, image };
    }),
  };
}

/**
 * Creates the rule at the first free priority from the preview's first choice; on PriorityInUse
 * re-reads the listener's rules (another creator took it) and probes on.
 */
async function createRule(
  deps: PreviewDeps,
  target: PreviewScope,
  host: string,
  targetGroupArn: string,
  tags: PreviewTag[],
  rules: ListenerRuleView[],
  prNumber: number,
): Promise<{ ruleArn: string; priority: number }> {
  const { elb } = deps;
  const { listenerArn } = target.settings;
  const range = target.priorities ?? ALL_PRIORITIES;
  const lost = new Set<number>();
  let current = rules;
  const attempts = deps.maxPriorityAttempts ?? 100;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const taken = new Set([
      ...lost,
      ...current.flatMap((r) => (r.priority === undefined ? [] : [r.priority])),
    ]);
    const priority = nextRulePriority(target.service, prNumber, taken, range);
    if (priority === undefined)
      throw new ListenerFullError(prioritiesExhaustedMessage(listenerArn, range));
    try {
      const ruleArn = await elb.createRule({ listenerArn, priority, host, targetGroupArn, tags });
      return { ruleArn, priority };
    } catch (error) {
      if (isListenerFull(error)) {
        const count = current.filter((r) => r.priority !== undefined).length;
        throw new ListenerFullError(listenerFullMessage(listenerArn, count));
      }
      if (!isPriorityTaken(error)) throw error;
      lost.add(priority);
      current = await elb.listRules(listenerArn);
      // A repeated ensure of the same preview (a lost answer) may have created our rule meanwhile.
      const mine = current.find(
        (r) => r.hosts.includes(host) && r.targetGroupArns.includes(targetGroupArn),
      );
      if (mine?.priority !== undefined) return { ruleArn: mine.arn, priority: mine.priority };
    }
  }
  throw new Error(
    `no free rule priority on ${listenerArn} after ${attempts} attempts lost to other rules`,
  );
}

export interface RemovedPreview {
  /** What this call removed: "rule", "target-group", "service", "task-definitions". */
  removed: string[];
}

export async function removePreview(
  deps: PreviewDeps,
  target: PreviewScope,
  prNumber: number,
): Promise<RemovedPreview> {
  const { ecs, elb } = deps;
  const { settings } = target;
  const names = previewNames(target.stackPrefix, target.service, prNumber, settings.domain);
  const removed: string[] = [];

  const rules = await elb.listRules(settings.listenerArn);
  const rule = rules.find((r) => r.hosts.includes(names.host));
  const group = await elb.findTargetGroup(names.targetGroupName);
  const known = [rule?.arn, group?.arn].filter((a): a is string => a !== undefined);
  const found = known.length > 0 ? await elb.tags(known) : new Map<string, PreviewTag[]>();
  if (rule && !isOurs(found.get(rule.arn), target, prNumber)) {
    throw notOurs(`the rule for ${names.host} on listener ${settings.listenerArn}`);
  }
  if (group && !isOurs(found.get(group.arn), target, prNumber)) {
    throw notOurs(`target group ${names.targetGroupName}`);
  }
  if (rule) {
    await elb.deleteRule(rule.arn);
    removed.push("rule");
  }
  if (group) {
    await elb.deleteTargetGroup(group.arn);
    removed.push("target-group");
  }

  const service = await ecs.describeService(settings.cluster, names.serviceName);
  if (service?.status === "ACTIVE") {
    if (!isOurs(service.tags, target, prNumber)) throw notOurs(`ECS service ${names.serviceName}`);
    if (service.desiredCount !== 0) {
      await ecs.updateService(settings.cluster, names.serviceName, { desiredCount: 0 });
    }
    await ecs.deleteService(settings.cluster, names.serviceName);
    removed.push("service");
  }

  const active = await ecs.listTaskDefinitions(names.family, "ACTIVE");
  for (const arn of active) await ecs.deregisterTaskDefinition(arn);
  const inactive = await ecs.listTaskDefinitions(names.family, "INACTIVE");
  if (inactive.length > 0) {
    await ecs.deleteTaskDefinitions(inactive);
    removed.push("task-definitions");
  }
  deps.logger?.info("preview removed", { service: target.service, pullRequest: prNumber, removed });
  return { removed };
}

/**
 * Scales the preview's service to `desiredCount` (0: idle, 1: running). Returns false when there is
 * no ACTIVE service or it already has that count.
 */
export async function scalePreview(
  deps: PreviewDeps,
  target: PreviewScope,
  prNumber: number,
  desiredCount: 0 | 1,
): Promise<boolean> {
  const { settings } = target;
  const names = previewNames(target.stackPrefix, target.service, prNumber, settings.domain);
  const service = await deps.ecs.describeService(settings.cluster, names.serviceName);
  if (service?.status !== "ACTIVE") return false;
  if (!isOurs(service.tags, target, prNumber)) throw notOurs(`ECS service ${names.serviceName}`);
  if (service.desiredCount === desiredCount) return false;
  await deps.ecs.updateService(settings.cluster, names.serviceName, { desiredCount });
  return true;
}

/**
 * Scales to zero the previews among `listings` that had neither a push nor a request for the
 * service's `idleHours` up to `now`. A push is the ECS service's PRIMARY deployment: each push's
 * deploy rolls out a new task definition revision, which starts one (a scale does not). Requests
 * are the load balancer's RequestCount for the preview's target group. A preview already at zero,
 * or without a target group, is left as it is. Returns the pull requests scaled down.
 *
 * Calls: DescribeServices per 10 previews; GetMetricData per 500 previews deployed longer ago than
 * `idleHours` (none when there is none); UpdateService per preview scaled down.
 */
export async function scaleDownIdle(
  deps: PreviewDeps,
  traffic: PreviewTraffic,
  target: PreviewScope,
  listings: readonly PreviewListing[],
  now: Date,
): Promise<number[]> {
  const { settings } = target;
  const named = listings.map((listing) => ({
    listing,
    name: previewNames(target.stackPrefix, target.service, listing.prNumber, settings.domain)
      .serviceName,
  }));
  if (named.length === 0) return [];
  const services = await deps.ecs.describeServices(
    settings.cluster,
    named.map(({ name }) => name),
  );
  const candidates = named.filter(({ listing, name }) => {
    const service = services.get(name);
    return (
      service?.status === "ACTIVE" &&
      isOurs(service.tags, target, listing.prNumber) &&
      service.desiredCount > 0 &&
      listing.targetGroupArn !== undefined &&
      service.deployedAt !== undefined &&
      isIdle(service.deployedAt, now, settings.idleHours)
    );
  });
  if (candidates.length === 0) return [];
  const since = new Date(now.getTime() - settings.idleHours * 3_600_000);
  const counts = await traffic.requestCounts(
    settings.listenerArn,
    candidates.flatMap(({ listing }) => listing.targetGroupArn ?? []),
    since,
    now,
  );
  const scaled: number[] = [];
  for (const { listing, name } of candidates) {
    if ((counts.get(listing.targetGroupArn ?? "") ?? 0) > 0) continue;
    await deps.ecs.updateService(settings.cluster, name, { desiredCount: 0 });
    scaled.push(listing.prNumber);
  }
  deps.logger?.info("idle previews scaled to zero", {
    service: target.service,
    pullRequests: scaled,
    idleHours: settings.idleHours,
  });
  return scaled;
}

export interface PreviewListing {
  prNumber: number;
  ruleArn?: string;
  targetGroupArn?: string;
}

/**
 * The service's previews, by pull request number: every rule on the listener for one of its hosts
 * and every target group of its naming, kept when tagged as this stack's. A preview whose rule and
 * target group are both gone (a removal that stopped after them) is not listed: removePreview of
 * that number finishes it.
 */
export async function listPreviews(
  deps: PreviewDeps,
  target: PreviewScope,
): Promise<PreviewListing[]> {
  const { elb } = deps;
  const hosts = hostPattern(target);
  const byNumber = new Map<number, PreviewListing>();
  const entry = (n: number): PreviewListing => {
    let listing = byNumber.get(n);
    if (!listing) {
      listing = { prNumber: n };
      byNumber.set(n, listing);
    }
    return listing;
  };
  const candidates: { arn: string; prNumber: number; kind: "rule" | "group" }[] = [];
  for (const rule of await elb.listRules(target.settings.listenerArn)) {
    for (const host of rule.hosts) {
      const match = hosts.exec(host);
      if (match) candidates.push({ arn: rule.arn, prNumber: Number(match[1]), kind: "rule" });
    }
  }
  for (const group of await elb.listTargetGroups(
    `${previewTargetGroupPrefix(target.stackPrefix)}-`,
  )) {
    const n = targetGroupNumber(target, group.name);
    if (n !== undefined) candidates.push({ arn: group.arn, prNumber: n, kind: "group" });
  }
  const tags = candidates.length > 0 ? await elb.tags(candidates.map((c) => c.arn)) : new Map();
  for (const candidate of candidates) {
    if (!isOurs(tags.get(candidate.arn), target, candidate.prNumber)) continue;
    if (candidate.kind === "rule") entry(candidate.prNumber).ruleArn = candidate.arn;
    else entry(candidate.prNumber).targetGroupArn = candidate.arn;
  }
  return [...byNumber.values()].sort((a, b) => a.prNumber - b.prNumber);
}
