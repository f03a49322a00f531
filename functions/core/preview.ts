/**
 * Preview environments, the pure part: a service's `preview` settings, the names of a pull
 * request's preview (see functions/shared/preview-names.ts), the preview's task definition derived
 * from the source service's, listener rule priority allocation and the estimated cost per day.
 *
 * The task definition never carries production's privileges: its task role is the preview role
 * (or none), its execution role the preview execution role, container `secrets`,
 * `repositoryCredentials`, `environmentFiles` and log `secretOptions` are dropped. Plain
 * `environment` values are kept (the application needs them to boot): they may name production
 * endpoints, so they must hold no credentials, and the preview task role must not reach
 * production data. `BRANCHLINE_PREVIEW=true` and `BRANCHLINE_PULL_REQUEST=<n>` are added.
 */
import { createHash } from "node:crypto";
import { ConfigurationError } from "./errors.js";
import { previewHost } from "../shared/preview-names.js";

export {
  PREVIEW_TAG,
  previewHost,
  previewNames,
  previewTargetGroupPrefix,
  targetGroupStems,
  previewEcsNamePrefix,
  type PreviewNames,
} from "../shared/preview-names.js";

export { PREVIEW_DEFAULTS, type PreviewSettings } from "../shared/preview-settings.js";
import {
  PREVIEW_DEFAULTS,
  PREVIEW_FIELDS,
  type PreviewSettings,
} from "../shared/preview-settings.js";

const PREVIEW_KEYS: ReadonlySet<string> = new Set(PREVIEW_FIELDS);

/** Fargate's task sizes: cpu units → the memory (MiB) each accepts. */
const FARGATE_SIZES: Record<string, (memory: number) => boolean> = {
  "256": (m) => [512, 1024, 2048].includes(m),
  "512": (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  "1024": (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  "2048": (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  "4096": (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  "8192": (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  "16384": (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

const LISTENER_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[A-Za-z0-9-]+\/[0-9a-f]+\/[0-9a-f]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const DOMAIN =
  /^(?=.{1,200}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * The settings from a service's `preview` member; `where` names it in every error
 * (`services[2].preview`). Unknown members, wrong types and impossible Fargate sizes are refused.
 */
export function parsePreviewSettings(value: unknown, where: string): PreviewSettings {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${where} must be an object`);
  }
  const raw = value as Record<string, unknown>;
  const fail = (key: string, what: string): ConfigurationError =>
    new ConfigurationError(`${where}.${key} ${what}`);
  for (const key of Object.keys(raw)) {
    if (!PREVIEW_KEYS.has(key)) {
      throw fail(key, `is not a preview setting (known: ${[...PREVIEW_KEYS].join(", ")})`);
    }
  }
  const text = (key: string, pattern?: RegExp, rule?: string): string => {
    const v = raw[key];
    if (typeof v !== "string" || v.trim() === "") throw fail(key, "must be a non-empty string");
    if (pattern && !pattern.test(v)) throw fail(key, `must be ${rule}, got ${JSON.stringify(v)}`);
    return v;
  };
  const optionalText = (key: string, pattern: RegExp, rule: string): string | undefined =>
    raw[key] === undefined ? undefined : text(key, pattern, rule);
  const ids = (key: string, pattern: RegExp, rule: string): string[] => {
    const v = raw[key];
    if (!Array.isArray(v) || v.length === 0) throw fail(key, "must be a non-empty list");
    if (v.length > 16) throw fail(key, "may hold at most 16 entries (ECS's limit)");
    return v.map((item: unknown, i) => {
      if (typeof item !== "string" || !pattern.test(item)) {
        throw fail(`${key}[${i}]`, `must be ${rule}, got ${JSON.stringify(item)}`);
      }
      return item;
    });
  };
  const integer = (key: string, fallback: number, min: number, max: number): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw fail(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const size = (key: string, fallback: string): string => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v === "number" && Number.isInteger(v)) return String(v);
    if (typeof v === "string" && /^\d+$/.test(v)) return v;
    throw fail(key, `must be a whole number (string or number), got ${JSON.stringify(v)}`);
  };
  const cpu = size("cpu", PREVIEW_DEFAULTS.cpu);
  const memory = size("memory", PREVIEW_DEFAULTS.memory);
  const fits = FARGATE_SIZES[cpu];
  if (!fits) {
    throw fail(
      "cpu",
      `must be one of Fargate's sizes ${Object.keys(FARGATE_SIZES).join(", ")}, got ${cpu}`,
    );
  }
  if (!fits(Number(memory))) {
    throw fail("memory", `${memory} MiB is not a Fargate size for ${cpu} cpu units`);
  }
  const healthCheckPath =
    raw.healthCheckPath === undefined
      ? PREVIEW_DEFAULTS.healthCheckPath
      : text(
          "healthCheckPath",
          /^\/[\x21-\x7e]{0,1023}$/,
          "a path starting with / (1-1024 characters)",
        );
  const assignPublicIp = raw.assignPublicIp ?? PREVIEW_DEFAULTS.assignPublicIp;
  if (typeof assignPublicIp !== "boolean") throw fail("assignPublicIp", "must be true or false");
  const settings: PreviewSettings = {
    cluster: text("cluster", /^[A-Za-z0-9_:/.-]{1,2048}$/, "an ECS cluster name or ARN"),
    subnets: ids("subnets", /^subnet-[0-9a-f]{8,17}$/, "a subnet id (subnet-...)"),
    securityGroups: ids("securityGroups", /^sg-[0-9a-f]{8,17}$/, "a security group id (sg-...)"),
    listenerArn: text("listenerArn", LISTENER_ARN, "an Application Load Balancer listener ARN"),
    domain: text("domain", DOMAIN, "a DNS domain such as preview.example.com").toLowerCase(),
    port: integer("port", PREVIEW_DEFAULTS.port, 1, 65535),
    healthCheckPath,
    cpu,
    memory,
    idleHours: integer("idleHours", PREVIEW_DEFAULTS.idleHours, 1, 24 * 30),
    assignPublicIp,
    maxPreviews: integer("maxPreviews", PREVIEW_DEFAULTS.maxPreviews, 1, 1000),
  };
  const taskRoleArn = optionalText("taskRoleArn", ROLE_ARN, "an IAM role ARN");
  if (taskRoleArn !== undefined) settings.taskRoleArn = taskRoleArn;
  const executionRoleArn = optionalText("executionRoleArn", ROLE_ARN, "an IAM role ARN");
  if (executionRoleArn !== undefined) settings.executionRoleArn = executionRoleArn;
  return settings;
}

// ---- the task definition ----

/** The parts of an ECS container definition the derivation reads or changes (others pass through). */
export interface ContainerDefinitionLike {
  name?: string;
  image?: string;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  portMappings?: { containerPort?: number; hostPort?: number; [key: string]: unknown }[];
  environment?: { name?: string; value?: string }[];
  environmentFiles?: unknown[];
  secrets?: unknown[];
  repositoryCredentials?: unknown;
  logConfiguration?: { secretOptions?: unknown[]; [key: string]: unknown };
  mountPoints?: { sourceVolume?: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** A task definition as DescribeTaskDefinition answers it (the members the derivation reads). */
export interface TaskDefinitionLike {
  family?: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  containerDefinitions?: ContainerDefinitionLike[];
  volumes?: {
    name?: string;
    host?: unknown;
    efsVolumeConfiguration?: unknown;
    [key: string]: unknown;
  }[];
  runtimePlatform?: unknown;
  ephemeralStorage?: unknown;
  [key: string]: unknown;
}

/** What RegisterTaskDefinition receives for a preview (tags added by the caller). */
export interface PreviewTaskDefinition {
  family: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  networkMode: "awsvpc";
  requiresCompatibilities: ["FARGATE"];
  cpu: string;
  memory: string;
  containerDefinitions: ContainerDefinitionLike[];
  volumes?: { name: string }[];
  runtimePlatform?: unknown;
  ephemeralStorage?: unknown;
}

export interface PreviewImageSource {
  /** The ECR registry host: `<account>.dkr.ecr.<region>.amazonaws.com`. */
  registry: string;
  /** The pull request tier's repositories (`<prefix>-<service>-pr/<image>`). */
  repositories: string[];
  /** The tag the pull request's build pushed (`pr-<n>`). */
  tag: string;
}

/**
 * The pull request tier's image for a source image: the tier repository whose last path component
 * is the source repository's (`.../shop/web:1.2` → `<registry>/shop-pr/web:pr-7`), or `undefined`
 * for an image the tier does not build (a public sidecar), which the preview runs as it is.
 */
export function previewImage(image: string, source: PreviewImageSource): string | undefined {
  const withoutDigest = image.split("@")[0] ?? image;
  const slash = withoutDigest.indexOf("/");
  const path = slash < 0 ? withoutDigest : withoutDigest.slice(slash + 1);
  const repository = path.replace(/:[^/:]*$/, "");
  const name = repository.split("/").pop() ?? repository;
  const matches = source.repositories.filter((r) => (r.split("/").pop() ?? r) === name);
  if (matches.length > 1) {
    throw new ConfigurationError(
      `image ${image}: the pull request tier has several repositories named ${name} (${matches.join(", ")})`,
    );
  }
  const match = matches[0];
  return match === undefined ? undefined : `${source.registry}/${match}:${source.tag}`;
}

/**
 * The preview's task definition from the source service's: the pull request tier's images, the
 * preview roles, no secrets, Fargate in awsvpc mode at the preview's size. Throws a
 * ConfigurationError when no container maps `settings.port`, or when an image comes from the
 * pull request tier and no preview execution role is set to pull it.
 */
export function previewTaskDefinition(
  source: TaskDefinitionLike,
  options: {
    family: string;
    prNumber: number;
    settings: PreviewSettings;
    images: PreviewImageSource;
  },
): PreviewTaskDefinition {
  const { settings } = options;
  const containers = source.containerDefinitions ?? [];
  if (
    !containers.some((c) => (c.portMappings ?? []).some((p) => p.containerPort === settings.port))
  ) {
    throw new ConfigurationError(
      `no container of task definition ${source.family ?? "(unnamed)"} maps port ${settings.port} (preview.port)`,
    );
  }
  const keptVolumes = (source.volumes ?? [])
    .filter(
      (v) =>
        v.name &&
        Object.keys(v).every((k) => k === "name" || k === "host") &&
        !(v.host as { sourcePath?: string } | undefined)?.sourcePath,
    )
    .map((v) => ({ name: v.name as string }));
  const volumeNames = new Set(keptVolumes.map((v) => v.name));
  const taskMemory = Number(settings.memory);
  const taskCpu = Number(settings.cpu);
  let pullsFromTier = false;
  const containerDefinitions = containers.map((container) => {
    const copy: ContainerDefinitionLike = structuredClone(container);
    delete copy.secrets;
    delete copy.repositoryCredentials;
    delete copy.environmentFiles;
    if (copy.logConfiguration) delete copy.logConfiguration.secretOptions;
    if (copy.image !== undefined) {
      const replaced = previewImage(copy.image, options.images);
      if (replaced !== undefined) {
        copy.image = replaced;
        pullsFromTier = true;
      }
    }
    if (copy.portMappings) {
      copy.portMappings = copy.portMappings.map((p) => {
        const mapping = { ...p };
        delete mapping.hostPort;
        return mapping;
      });
    }
    if (copy.memory !== undefined && copy.memory > taskMemory) delete copy.memory;
    if (copy.memoryReservation !== undefined && copy.memoryReservation > taskMemory) {
      delete copy.memoryReservation;
    }
    if (copy.cpu !== undefined && copy.cpu > taskCpu) delete copy.cpu;
    if (copy.mountPoints) {
      copy.mountPoints = copy.mountPoints.filter((m) => volumeNames.has(m.sourceVolume ?? ""));
    }
    const environment = (copy.environment ?? []).filter(
      (e) => e.name !== "BRANCHLINE_PREVIEW" && e.name !== "BRANCHLINE_PULL_REQUEST",
    );
    copy.environment = [
      ...environment,
      { name: "BRANCHLINE_PREVIEW", value: "true" },
      { name: "BRANCHLINE_PULL_REQUEST", value: String(options.prNumber) },
    ];
    return copy;
  });
  if (pullsFromTier && settings.executionRoleArn === undefined) {
    throw new ConfigurationError(
      "preview.executionRoleArn is required: the preview pulls the pull request tier's images from ECR with it",
    );
  }
  const definition: PreviewTaskDefinition = {
    family: options.family,
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: settings.cpu,
    memory: settings.memory,
    containerDefinitions,
  };
  if (settings.taskRoleArn !== undefined) definition.taskRoleArn = settings.taskRoleArn;
  if (settings.executionRoleArn !== undefined)
    definition.executionRoleArn = settings.executionRoleArn;
  if (keptVolumes.length > 0) definition.volumes = keptVolumes;
  if (source.runtimePlatform !== undefined)
    definition.runtimePlatform = structuredClone(source.runtimePlatform);
  if (source.ephemeralStorage !== undefined)
    definition.ephemeralStorage = structuredClone(source.ephemeralStorage);
  return definition;
}

/** The container the target group sends to: the first one mapping `port`. */
export function previewContainer(
  definition: { containerDefinitions: ContainerDefinitionLike[] },
  port: number,
): string {
  const container = definition.containerDefinitions.find((c) =>
    (c.portMappings ?? []).some((p) => p.containerPort === port),
  );
  if (!container?.name) throw new ConfigurationError(`no container maps port ${port}`);
  return container.name;
}

/**
 * True when the registered definition already says what `wanted` says (the fields the preview
 * sets), so that a repeated ensure registers no new revision.
 */
export function sameTaskDefinition(
  registered: TaskDefinitionLike,
  wanted: PreviewTaskDefinition,
): boolean {
  const pick = (d: TaskDefinitionLike | PreviewTaskDefinition) =>
    canonical({
      taskRoleArn: d.taskRoleArn,
      executionRoleArn: d.executionRoleArn,
      networkMode: d.networkMode,
      cpu: d.cpu,
      memory: d.memory,
      containerDefinitions: d.containerDefinitions,
      volumes: d.volumes && (d.volumes as unknown[]).length > 0 ? d.volumes : undefined,
      runtimePlatform: d.runtimePlatform,
    });
  return pick(registered) === pick(wanted);
}

/** JSON with object keys sorted and empty lists, `undefined` and `null` left out. */
function canonical(value: unknown): string {
  const normal = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(normal);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined && x !== null && !(Array.isArray(x) && x.length === 0))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, x]) => [k, normal(x)]),
      );
    }
    return v;
  };
  return JSON.stringify(normal(value));
}

// ---- listener rule priorities ----

/** ELB's listener rule priorities. */
export const RULE_PRIORITY_MIN = 1;
export const RULE_PRIORITY_MAX = 50000;

/** The priorities previews may take (all of ELB's by default). */
export interface PriorityRange {
  min: number;
  max: number;
}

export const ALL_PRIORITIES: PriorityRange = { min: RULE_PRIORITY_MIN, max: RULE_PRIORITY_MAX };

/** The first priority a preview tries: spread over the range by a hash of service and number. */
export function firstRulePriority(
  service: string,
  prNumber: number,
  range: PriorityRange = ALL_PRIORITIES,
): number {
  const digest = createHash("sha256").update(`${service}#${prNumber}`, "utf8").digest();
  const span = range.max - range.min + 1;
  return range.min + (digest.readUInt32BE(0) % span);
}

/**
 * The priority to try next: the first free one probing upwards (wrapping) from the preview's first
 * choice, skipping `taken` (the listener's rules as last read, and priorities lost to
 * PriorityInUse since). `undefined` when every priority is taken. Concurrent creators start from
 * different first choices; two that pick the same one are told apart by ELB (PriorityInUse), and
 * the loser re-reads the rules and probes on, so every creator ends on a distinct priority.
 */
export function nextRulePriority(
  service: string,
  prNumber: number,
  taken: ReadonlySet<number>,
  range: PriorityRange = ALL_PRIORITIES,
): number | undefined {
  if (
    !Number.isInteger(range.min) ||
    !Number.isInteger(range.max) ||
    range.min < RULE_PRIORITY_MIN ||
    range.max > RULE_PRIORITY_MAX ||
    range.min > range.max
  ) {
    throw new RangeError(
      `rule priorities must lie within ${RULE_PRIORITY_MIN}..${RULE_PRIORITY_MAX}, got ${range.min}..${range.max}`,
    );
  }
  const span = range.max - range.min + 1;
  const first = firstRulePriority(service, prNumber, range);
  for (let i = 0; i < span; i++) {
    const candidate = range.min + ((first - range.min + i) % span);
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The message when the listener takes no more rules: `rules` is how many it holds besides the
 * default rule when ELB said TooManyRules, which is its limit (100 unless the quota was raised).
 */
export function listenerFullMessage(listenerArn: string, rules: number): string {
  return (
    `listener ${listenerArn} is full: it holds ${rules} rules besides its default rule, its limit ` +
    `(Elastic Load Balancing's quota "Rules per Application Load Balancer", 100 by default), so no ` +
    `preview rule can be added. Close previews, lower preview.maxPreviews, or raise the quota.`
  );
}

/** The message when every priority of the range is taken. */
export function prioritiesExhaustedMessage(listenerArn: string, range: PriorityRange): string {
  return `listener ${listenerArn} has no free rule priority within ${range.min}..${range.max}`;
}

/** True when the preview has had no push and no request for `idleHours` at `now`. */
export function isIdle(lastActivity: Date, now: Date, idleHours: number): boolean {
  return now.getTime() - lastActivity.getTime() >= idleHours * 3_600_000;
}

// ---- cost ----

/**
 * Fargate on-demand prices (USD), Linux/x86 and Linux/ARM, per vCPU-hour and per GB-hour, plus the
 * public IPv4 address charge. Source: the AWS Fargate pricing page (aws.amazon.com/fargate/pricing)
 * for US East (N. Virginia), as published in 2025-2026; us-east-2, us-west-2 and eu-west-1 list the
 * same rates. Public IPv4: $0.005 per address-hour (AWS VPC pricing, since February 2024).
 * Regions not listed get no estimate.
 */
export const FARGATE_PRICES: Readonly<
  Record<
    string,
    { x86: { vcpuHour: number; gbHour: number }; arm: { vcpuHour: number; gbHour: number } }
  >
> = {
  "us-east-1": {
    x86: { vcpuHour: 0.04048, gbHour: 0.004445 },
    arm: { vcpuHour: 0.03238, gbHour: 0.00356 },
  },
  "us-east-2": {
    x86: { vcpuHour: 0.04048, gbHour: 0.004445 },
    arm: { vcpuHour: 0.03238, gbHour: 0.00356 },
  },
  "us-west-2": {
    x86: { vcpuHour: 0.04048, gbHour: 0.004445 },
    arm: { vcpuHour: 0.03238, gbHour: 0.00356 },
  },
  "eu-west-1": {
    x86: { vcpuHour: 0.04048, gbHour: 0.004445 },
    arm: { vcpuHour: 0.03238, gbHour: 0.00356 },
  },
};
export const PUBLIC_IPV4_HOUR = 0.005;
export const PRICES_AS_OF = "2026-03";

export interface PreviewCost {
  /** USD per day while the preview runs one task. */
  runningPerDay: number;
  /** USD per day once scaled to zero (ALB rules and target groups cost nothing by themselves). */
  idlePerDay: number;
}

/**
 * The preview's estimated cost per day, or `undefined` for a region without prices. The shared
 * ALB is billed per hour and per LCU whether previews exist or not; a preview's rule only adds rule
 * evaluations for the requests it gets (the first 10 rules per request are free), so next to
 * nothing for a preview's traffic, and is left out.
 */
export function previewCostPerDay(
  settings: Pick<PreviewSettings, "cpu" | "memory" | "assignPublicIp">,
  region: string,
  architecture: "x86" | "arm" = "x86",
): PreviewCost | undefined {
  const prices = FARGATE_PRICES[region]?.[architecture];
  if (!prices) return undefined;
  const vcpu = Number(settings.cpu) / 1024;
  const gb = Number(settings.memory) / 1024;
  const hourly =
    vcpu * prices.vcpuHour + gb * prices.gbHour + (settings.assignPublicIp ? PUBLIC_IPV4_HOUR : 0);
  return { runningPerDay: round(hourly * 24), idlePerDay: 0 };
}

function round(value: number): number {
  return Math.round(value * 10000) / 10000;
}

/** The preview's URL: `https://pr-<n>.<service>.<domain>`. */
export function previewUrl(service: string, prNumber: number, domain: string): string {
  return `https://${previewHost(service, prNumber, domain)}`;
}

/** "$0.2963" style, for the cost per day (cents and their next two digits). */
function dollars(value: number): string {
  return `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

/**
 * What the pull request's comment says of a preview (its table's `Preview` row): its URL, what it
 * costs a day while it runs (where the region's prices are known) and when it scales to zero.
 * Markdown on one line, without `|`.
 */
export function previewCommentLine(
  service: string,
  prNumber: number,
  settings: Pick<
    PreviewSettings,
    "domain" | "cpu" | "memory" | "assignPublicIp" | "idleHours" | "maxPreviews"
  >,
  region: string,
  /** The preview waits for a slot (its clone has no deploy yet). */
  waiting = false,
): string {
  if (waiting) {
    return `${previewHost(service, prNumber, settings.domain)}: waits for a free preview slot (the status branchline/${service}/preview says why)`;
  }
  const cost = previewCostPerDay(settings, region);
  const costText =
    cost === undefined
      ? `no cost estimate for ${region}`
      : `about ${dollars(cost.runningPerDay)} a day while it runs (Fargate ${settings.cpu} CPU units, ${settings.memory} MiB, prices of ${PRICES_AS_OF})`;
  const host = previewHost(service, prNumber, settings.domain);
  return `[${host}](https://${host}): ${costText}; scaled to zero after ${settings.idleHours} h without a push or a request, woken by the next push`;
}

/** The commit status description of a pull request whose preview waits (at most 140 characters). */
export function previewWaitingDescription(reason: string): string {
  const text = `No preview yet: ${reason}`;
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`;
}

// ---- traffic ----

const LISTENER_ARN_PARTS =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/(app\/[A-Za-z0-9-]+\/[0-9a-f]+)\/[0-9a-f]+$/;
const TARGET_GROUP_ARN_PARTS =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:(targetgroup\/[A-Za-z0-9-]+\/[0-9a-f]+)$/;

/**
 * The `LoadBalancer` dimension of the AWS/ApplicationELB metrics for an Application Load Balancer
 * listener: `app/<name>/<id>` from `arn:...:listener/app/<name>/<id>/<listener-id>`.
 */
export function loadBalancerDimension(listenerArn: string): string {
  const match = LISTENER_ARN_PARTS.exec(listenerArn);
  if (!match?.[1]) {
    throw new ConfigurationError(
      `${listenerArn} is not an Application Load Balancer listener ARN (arn:...:listener/app/<name>/<id>/<listener-id>)`,
    );
  }
  return match[1];
}

/**
 * The `TargetGroup` dimension of the AWS/ApplicationELB metrics for a target group:
 * `targetgroup/<name>/<id>` from `arn:...:targetgroup/<name>/<id>`.
 */
export function targetGroupDimension(targetGroupArn: string): string {
  const match = TARGET_GROUP_ARN_PARTS.exec(targetGroupArn);
  if (!match?.[1]) {
    throw new ConfigurationError(
      `${targetGroupArn} is not a target group ARN (arn:...:targetgroup/<name>/<id>)`,
    );
  }
  return match[1];
}
