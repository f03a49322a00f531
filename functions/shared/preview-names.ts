/**
 * The names of a pull request's preview environment, shared by the functions (which create the
 * resources) and the Pulumi program (whose IAM policies allow only these names). Pure functions.
 *
 * Every name starts with the stack's prefix, or for target groups (32 characters at most) with
 * {@link previewTargetGroupPrefix}: the prefix itself when it is short enough, else a shortened
 * prefix plus a hash of the whole prefix.
 */
import { createHash } from "node:crypto";

/** Elastic Load Balancing's limit on target group names. */
export const TARGET_GROUP_NAME_MAX_LENGTH = 32;
/** The longest target group prefix: leaves room for `-<6 hex>-<10-digit PR number>`. */
export const TARGET_GROUP_PREFIX_MAX_LENGTH = 14;
/** ECS's limit on service names and task definition families. */
export const ECS_NAME_MAX_LENGTH = 255;

function hash(text: string, length: number): string {
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, length);
}

function checkPullRequest(prNumber: number): void {
  if (!Number.isSafeInteger(prNumber) || prNumber < 1 || String(prNumber).length > 10) {
    throw new RangeError(
      `pull request number must be a positive integer of at most 10 digits, got ${prNumber}`,
    );
  }
}

/** A DNS label from a name: lower case, `[a-z0-9-]`, no leading or trailing hyphen, ≤ 63. */
export function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (label.length === 0 || label.length > 63) {
    throw new RangeError(`${JSON.stringify(name)} does not make a DNS label of 1-63 characters`);
  }
  return label;
}

/**
 * The prefix of every preview target group of the stack: the stack's prefix when at most
 * {@link TARGET_GROUP_PREFIX_MAX_LENGTH} characters, else its first 7 characters and 6 hex
 * characters of its hash (`branchl-1a2b3c`).
 */
export function previewTargetGroupPrefix(stackPrefix: string): string {
  if (stackPrefix.length === 0) throw new RangeError("the stack prefix is empty");
  if (stackPrefix.length <= TARGET_GROUP_PREFIX_MAX_LENGTH) return stackPrefix;
  return `${stackPrefix.slice(0, 7).replace(/-+$/, "")}-${hash(stackPrefix, 6)}`;
}

/** The ECS service name and task definition family prefix of the stack's previews: `<prefix>-`. */
export function previewEcsNamePrefix(stackPrefix: string): string {
  return `${stackPrefix}-`;
}

/**
 * The two stems of a service's preview target group names (`<stem>-<n>`): `<tg-prefix>-<service>`,
 * used while the name fits 32 characters, and `<tg-prefix>-<6 hex of prefix/service>` beyond.
 */
export function targetGroupStems(stackPrefix: string, service: string): [string, string] {
  const tgPrefix = previewTargetGroupPrefix(stackPrefix);
  return [
    `${tgPrefix}-${dnsLabel(service)}`,
    `${tgPrefix}-${hash(`${stackPrefix}/${service}`, 6)}`,
  ];
}

export interface PreviewNames {
  /** `pr-<n>.<service>.<domain>`, lower case. */
  host: string;
  /** The ECS service: `<prefix>-<service>-pr-<n>`. */
  serviceName: string;
  /** The task definition family, the same as the service's name. */
  family: string;
  /**
   * `<tg-prefix>-<service>-<n>`, or `<tg-prefix>-<6 hex of prefix+service>-<n>` when that is longer
   * than 32 characters. The preview's tags tell two previews apart if two services' hashes met.
   */
  targetGroupName: string;
}

/** The preview's host, `pr-<n>.<service>.<domain>` (lower case): it does not name the stack. */
export function previewHost(service: string, prNumber: number, domain: string): string {
  checkPullRequest(prNumber);
  const domainName = domain.toLowerCase().replace(/\.$/, "");
  const labels = domainName.split(".");
  if (labels.some((l) => !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) {
    throw new RangeError(`preview domain ${JSON.stringify(domain)} is not a valid DNS name`);
  }
  const host = `pr-${prNumber}.${dnsLabel(service)}.${domainName}`;
  if (host.length > 253) {
    throw new RangeError(`preview host ${host} is longer than DNS's 253 characters`);
  }
  return host;
}

export function previewNames(
  stackPrefix: string,
  service: string,
  prNumber: number,
  domain: string,
): PreviewNames {
  const host = previewHost(service, prNumber, domain);
  const ecsName = `${previewEcsNamePrefix(stackPrefix)}${service}-pr-${prNumber}`.replace(
    /[^A-Za-z0-9_-]/g,
    "-",
  );
  if (!/^[A-Za-z]/.test(ecsName) || ecsName.length > ECS_NAME_MAX_LENGTH) {
    throw new RangeError(
      `preview service name ${ecsName} must start with a letter and have at most ${ECS_NAME_MAX_LENGTH} characters`,
    );
  }
  const [plainStem, hashedStem] = targetGroupStems(stackPrefix, service);
  const plain = `${plainStem}-${prNumber}`;
  const targetGroupName =
    plain.length <= TARGET_GROUP_NAME_MAX_LENGTH ? plain : `${hashedStem}-${prNumber}`;
  if (targetGroupName.startsWith("internal-")) {
    throw new RangeError(`target group names may not start with internal-: ${targetGroupName}`);
  }
  return { host, serviceName: ecsName, family: ecsName, targetGroupName };
}

/** Tags every preview resource carries besides `branchline:managed-by` and the pull request's. */
export const PREVIEW_TAG = {
  /** The stack's prefix: a preview of another stack sharing the listener is never touched. */
  stack: "branchline:stack",
  /** The service (services table name) the preview belongs to. */
  service: "branchline:service",
} as const;
