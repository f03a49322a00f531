/**
 * The routing table of a stack that serves many services: which source pipeline builds which
 * repository and branch, and with which pull request tier. Pure: parsing, validation and routing.
 *
 * The table reaches the functions as JSON (`BRANCHLINE_SERVICES`, or the file named by
 * `BRANCHLINE_SERVICES_FILE`): a list of entries
 *
 *     { "name": "api", "sourcePipeline": "acme-api", "repository": "acme/shop", "branch": "main",
 *       "ecrRepositories": ["acme-api-pr"], "cloneRoleArn": "...", "prBuildProjects": { ... },
 *       "artifactBucket": "...", "allowForkPullRequests": false, "buildDraftPullRequests": true }
 *
 * where the last five members are optional and mean what `CLONE_ROLE_ARN`, `PR_BUILD_PROJECTS`,
 * `PR_ARTIFACT_BUCKET`, `ALLOW_FORK_PULL_REQUESTS` and `BUILD_DRAFT_PULL_REQUESTS` mean for one service.
 * Two more optional members, `labels` (`{ "require"?: [...], "skip"?: [...] }`) and `paths`
 * (`{ "include"?: [globs], "exclude"?: [globs] }`), are the service's selection rules
 * (functions/core/selection.ts), what `PULL_REQUEST_LABELS` and `PULL_REQUEST_PATHS` are for one.
 * `maxClones` and `idleDays` (whole numbers, at least 1) are its clone limit and idle expiry
 * (functions/core/limits.ts), what `SERVICE_MAX_CLONES` and `IDLE_DAYS` are for one.
 */
import { sameRepository } from "./classify.js";
import { ConfigurationError } from "./errors.js";
import { cloneNumberOf } from "./reconcile.js";
import { parsePreviewSettings, type PreviewSettings } from "./preview.js";
import { parseSelection, type Selection } from "./selection.js";
import { positiveWholeNumberProblem, SOURCE_PIPELINE_NAME_MAX_LENGTH } from "../shared/names.js";

/** One service of the table. */
export interface ServiceEntry {
  /** Lower-case, unique within the table. */
  name: string;
  sourcePipelineName: string;
  /**
   * `owner/name` and the branch the source pipeline builds; `undefined` for the one service of the
   * single-service variables, whose source pipeline is read to learn them.
   */
  ref: { repository: string; branch: string } | undefined;
  /** The PR tier's ECR repositories (at least one). */
  repositoryNames: string[];
  cloneRoleArn: string | undefined;
  prBuildProjects: Readonly<Record<string, string>> | undefined;
  prArtifactBucket: string | undefined;
  allowForks: boolean;
  buildDrafts: boolean;
  /**
   * Untrusted pull requests (a fork's, or an author's without write permission) are built only once
   * a maintainer approves their head commit. Absent: true.
   */
  requireApproval?: boolean;
  /** Its label and path rules; absent: every pull request into its branch is built. */
  selection?: Selection;
  /** The most clones it has at once (functions/core/limits.ts); absent: no limit of its own. */
  maxClones?: number;
  /** Days without a push after which a clone is removed; absent: never. */
  idleDays?: number;
  /** Its pull requests' preview environments (functions/core/preview.ts); absent: none. */
  preview?: PreviewSettings;
}

const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const PIPELINE_PATTERN = /^[A-Za-z0-9.@\-_]+$/;
const REPOSITORY_PATTERN = /^[^/\s]+\/[^/\s]+$/;
const KNOWN = new Set([
  "name",
  "sourcePipeline",
  "repository",
  "branch",
  "ecrRepositories",
  "cloneRoleArn",
  "prBuildProjects",
  "artifactBucket",
  "allowForkPullRequests",
  "buildDraftPullRequests",
  "requireApproval",
  "labels",
  "paths",
  "maxClones",
  "idleDays",
  "preview",
]);

/**
 * Parses and validates the table. `origin` names where it came from (the variable or the file) in
 * every error; each error also names the entry and the member.
 */
export function parseServicesTable(text: string, origin: string): ServiceEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new ConfigurationError(`${origin} is not valid JSON`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigurationError(`${origin} must be a JSON list of one or more services`);
  }
  const entries = parsed.map((raw: unknown, index) => parseEntry(raw, index, origin));
  const byName = new Map<string, number>();
  const bySource = new Map<string, string>();
  entries.forEach((entry, index) => {
    const other = byName.get(entry.name);
    if (other !== undefined) {
      throw new ConfigurationError(
        `${origin}: entry ${index} (${entry.name}): name is also entry ${other}'s`,
      );
    }
    byName.set(entry.name, index);
  });
  for (const entry of entries) {
    for (const [source, owner] of bySource) {
      if (
        source === entry.sourcePipelineName ||
        cloneNumberOf(entry.sourcePipelineName, source) !== undefined ||
        cloneNumberOf(source, entry.sourcePipelineName) !== undefined
      ) {
        throw new ConfigurationError(
          `${origin}: service ${entry.name}: sourcePipeline ${entry.sourcePipelineName} names service ${owner}'s source pipeline or one of its clones`,
        );
      }
    }
    bySource.set(entry.sourcePipelineName, entry.name);
  }
  return entries;
}

function parseEntry(raw: unknown, index: number, origin: string): ServiceEntry {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigurationError(`${origin}: entry ${index} must be an object`);
  }
  const entry = raw as Record<string, unknown>;
  const label = typeof entry["name"] === "string" ? `${index} (${entry["name"]})` : `${index}`;
  const fail = (key: string, what: string) =>
    new ConfigurationError(`${origin}: entry ${label}: ${key} ${what}`);
  for (const key of Object.keys(entry)) {
    if (!KNOWN.has(key)) throw fail(key, "is not a member of a service entry");
  }
  const text = (key: string, pattern?: RegExp, rule?: string): string => {
    const value = entry[key];
    if (typeof value !== "string" || value === "") throw fail(key, "must be a non-empty string");
    if (pattern && !pattern.test(value)) throw fail(key, `must be ${rule}, got ${value}`);
    return value;
  };
  const optionalText = (key: string): string | undefined =>
    entry[key] === undefined ? undefined : text(key);
  const flag = (key: string, fallback: boolean): boolean => {
    const value = entry[key];
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw fail(key, "must be true or false");
    return value;
  };
  const name = text("name", NAME_PATTERN, "lower-case letters, digits and inner hyphens");
  const sourcePipelineName = text("sourcePipeline", PIPELINE_PATTERN, "a CodePipeline name");
  if (sourcePipelineName.length > SOURCE_PIPELINE_NAME_MAX_LENGTH) {
    throw fail("sourcePipeline", `must be at most ${SOURCE_PIPELINE_NAME_MAX_LENGTH} characters`);
  }
  const repository = text("repository", REPOSITORY_PATTERN, "owner/name");
  const branch = text("branch");
  const images = entry["ecrRepositories"];
  if (
    !Array.isArray(images) ||
    images.length === 0 ||
    !images.every((image: unknown) => typeof image === "string" && image !== "")
  ) {
    throw fail("ecrRepositories", "must be a list of one or more repository names");
  }
  let selection: Selection;
  try {
    selection = parseSelection(entry["labels"], entry["paths"], (key) => key);
  } catch (error) {
    throw new ConfigurationError(
      `${origin}: entry ${label}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const count = (key: "maxClones" | "idleDays"): { [k in typeof key]?: number } => {
    const value = entry[key];
    if (value === undefined) return {};
    const problem = positiveWholeNumberProblem(value);
    if (problem !== undefined) throw fail(key, problem);
    return { [key]: value as number };
  };
  let preview: PreviewSettings | undefined;
  try {
    preview =
      entry["preview"] === undefined
        ? undefined
        : parsePreviewSettings(entry["preview"], "preview");
  } catch (error) {
    throw new ConfigurationError(
      `${origin}: entry ${label}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    ...(Object.keys(selection).length > 0 ? { selection } : {}),
    ...count("maxClones"),
    ...count("idleDays"),
    ...(preview !== undefined ? { preview } : {}),
    name,
    sourcePipelineName,
    ref: { repository, branch },
    repositoryNames: [...new Set(images as string[])],
    cloneRoleArn: optionalText("cloneRoleArn"),
    prBuildProjects: buildProjects(entry["prBuildProjects"], fail),
    prArtifactBucket: optionalText("artifactBucket"),
    allowForks: flag("allowForkPullRequests", false),
    buildDrafts: flag("buildDraftPullRequests", true),
    requireApproval: flag("requireApproval", true),
  };
}

function buildProjects(
  value: unknown,
  fail: (key: string, what: string) => ConfigurationError,
): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const invalid = () =>
    fail(
      "prBuildProjects",
      "must be an object of source build project name -> pull request build project name",
    );
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid();
  const mapping: Record<string, string> = {};
  for (const [source, target] of Object.entries(value)) {
    if (source === "" || typeof target !== "string" || target === "") throw invalid();
    Object.defineProperty(mapping, source, { value: target, enumerable: true });
  }
  return mapping;
}

/** What a delivery says about where a pull request points. */
export interface DeliveryTarget {
  action: string;
  repository: string;
  baseBranch: string;
  /** For `edited`: the base branch before the edit, when it changed. */
  previousBaseBranch?: string | undefined;
}

/**
 * The services a delivery concerns, by the table alone: those of its repository (GitHub's names
 * are case-insensitive) whose branch is the pull request's base. A `closed` delivery reaches every
 * service of the repository (the pull request may have been retargeted after its clones were made),
 * and a retarget reaches the services of the old base and of the new one.
 */
export function routeDelivery(
  services: readonly ServiceEntry[],
  target: DeliveryTarget,
): ServiceEntry[] {
  return services.filter((service) => {
    if (!service.ref || !sameRepository(service.ref.repository, target.repository)) return false;
    if (target.action === "closed") return true;
    if (service.ref.branch === target.baseBranch) return true;
    return target.action === "edited" && service.ref.branch === target.previousBaseBranch;
  });
}

/**
 * The service a pipeline belongs to: the one whose source pipeline it is, or whose clone it is named
 * like (the caller still checks the clone's tags); `undefined`: none.
 */
export function serviceOfPipeline<T extends Pick<ServiceEntry, "sourcePipelineName">>(
  services: readonly T[],
  pipelineName: string,
): T | undefined {
  return (
    services.find((service) => service.sourcePipelineName === pipelineName) ??
    services.find(
      (service) => cloneNumberOf(pipelineName, service.sourcePipelineName) !== undefined,
    )
  );
}

/**
 * The order a sweep visits the services in: starting at `start` (modulo their count) and wrapping
 * around.
 */
export function rotate<T>(items: readonly T[], start: number): T[] {
  if (items.length === 0) return [];
  const offset = ((Math.trunc(start) % items.length) + items.length) % items.length;
  return [...items.slice(offset), ...items.slice(0, offset)];
}

/**
 * A start position derived from the invocation time: the minute (scheduled events fire on the
 * minute) mixed by an integer hash, so that a schedule whose period is a multiple of the number of
 * services does not start every sweep at the same one.
 */
export function sweepStart(timeMs: number, count: number): number {
  if (count <= 1) return 0;
  let x = Math.floor(timeMs / 60_000) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x % count;
}
