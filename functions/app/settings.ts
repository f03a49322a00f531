/**
 * The functions' settings, read from an environment record (the handler passes `process.env`).
 * A missing required variable is a configuration error that names it.
 */
import { readFileSync } from "node:fs";
import { ConfigurationError } from "../core/errors.js";
import { parseServicesTable, type ServiceEntry } from "../core/services.js";
import { parseSelection } from "../core/selection.js";
import { parsePreviewSettings } from "../core/preview.js";
import { ENV, positiveWholeNumberProblem } from "../shared/names.js";
import { withFields, type Logger } from "./ports.js";

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Settings {
  /**
   * The services this stack serves (the routing table), at least one. Without `BRANCHLINE_SERVICES`
   * and `BRANCHLINE_SERVICES_FILE`: one entry named after the source pipeline, from the
   * single-service variables, whose repository and branch are read from the source pipeline.
   */
  services: ServiceEntry[];
  /** Whether `services` came from the routing table (true) or the single-service variables. */
  routed: boolean;
  /** The first service's (the only one without a routing table); the handlers use `services`. */
  sourcePipelineName: string;
  /**
   * The PR tier's ECR repositories (at least one): a closed pull request's `pr-<n>` images are
   * deleted from each, and from nothing else.
   */
  repositoryNames: string[];
  /** The role every clone runs with; `undefined` (local runs): the source pipeline's. */
  cloneRoleArn: string | undefined;
  /**
   * Source CodeBuild project name -> the PR build project that mirrors it; `undefined` (local runs):
   * the clone's actions keep the source's projects.
   */
  prBuildProjects: Readonly<Record<string, string>> | undefined;
  /**
   * The pull request tier's artifact bucket, every clone's artifact store; `undefined` (local runs):
   * the clone keeps the source's artifact store.
   */
  prArtifactBucket: string | undefined;
  webhookSecret: { value?: string | undefined; arn?: string | undefined };
  githubToken: { value?: string | undefined; arn?: string | undefined };
  /** A GitHub App instead of a token; never both (a configuration error). */
  githubApp?: GitHubAppSettings;
  githubApiUrl: string | undefined;
  allowForks: boolean;
  buildDrafts: boolean;
  /** The pull request state table (replay protection); `undefined`: none. */
  stateTableName: string | undefined;
  /**
   * The webhook's URL (reconciler): with a GitHub token, the hook with this URL has its failed
   * deliveries redelivered before each sweep; absent: no redelivery (present only when set, so
   * that the other functions' settings do not change).
   */
  webhookUrl?: string;
  /**
   * The most clones of every service together (`BRANCHLINE_MAX_CLONES`); present only when set.
   */
  maxClones?: number;
  /**
   * The stack's prefix (`BRANCHLINE_PREFIX`), which preview resources are named and tagged with;
   * present only when set. A service with previews needs it.
   */
  stackPrefix?: string;
}

/** How the functions authenticate to GitHub as an App. */
export interface GitHubAppSettings {
  /** The App's id (digits). */
  appId: string;
  /** The App's private key (PEM): a plain value (local runs) or a Secrets Manager secret. */
  privateKey: { value?: string | undefined; arn?: string | undefined };
  /** The installation to act as; `undefined`: each repository's, asked of GitHub. */
  installationId: number | undefined;
}

/**
 * The GitHub credentials: a token (`GITHUB_TOKEN` or `GITHUB_TOKEN_SECRET_ARN`), a GitHub App
 * (`GITHUB_APP_ID` with `GITHUB_APP_PRIVATE_KEY_SECRET_ARN` or `GITHUB_APP_PRIVATE_KEY`, optional
 * `GITHUB_APP_INSTALLATION_ID`), or neither (anonymous). Both is a configuration error naming both.
 */
export function readGitHubAuth(env: Environment): {
  githubToken: { value?: string | undefined; arn?: string | undefined };
  githubApp?: GitHubAppSettings;
} {
  const githubToken = {
    value: env[ENV.githubToken] || undefined,
    arn: env[ENV.githubTokenSecretArn] || undefined,
  };
  const appId = env[ENV.githubAppId]?.trim() || undefined;
  const privateKey = {
    value: env[ENV.githubAppPrivateKey] || undefined,
    arn: env[ENV.githubAppPrivateKeySecretArn] || undefined,
  };
  const installation = env[ENV.githubAppInstallationId]?.trim() || undefined;
  const appVariables = [
    ...(appId !== undefined ? [ENV.githubAppId] : []),
    ...(privateKey.arn !== undefined ? [ENV.githubAppPrivateKeySecretArn] : []),
    ...(privateKey.value !== undefined ? [ENV.githubAppPrivateKey] : []),
    ...(installation !== undefined ? [ENV.githubAppInstallationId] : []),
  ];
  if (appVariables.length === 0) return { githubToken };
  const tokenVariables = [
    ...(githubToken.value !== undefined ? [ENV.githubToken] : []),
    ...(githubToken.arn !== undefined ? [ENV.githubTokenSecretArn] : []),
  ];
  if (tokenVariables.length > 0) {
    throw new ConfigurationError(
      `both a GitHub token (${tokenVariables.join(", ")}) and a GitHub App (${appVariables.join(", ")}) are configured: configure one`,
    );
  }
  if (appId === undefined || !/^[1-9]\d*$/.test(appId)) {
    throw new ConfigurationError(
      appId === undefined
        ? `environment variable ${ENV.githubAppId} is not set (a GitHub App is configured: ${appVariables.join(", ")})`
        : `environment variable ${ENV.githubAppId} must be the App's numeric id, got ${appId}`,
    );
  }
  if (privateKey.arn === undefined && privateKey.value === undefined) {
    throw new ConfigurationError(
      `environment variable ${ENV.githubAppPrivateKeySecretArn} (or ${ENV.githubAppPrivateKey}) is not set: the GitHub App ${appId} needs its private key`,
    );
  }
  if (installation !== undefined && !/^[1-9]\d*$/.test(installation)) {
    throw new ConfigurationError(
      `environment variable ${ENV.githubAppInstallationId} must be a numeric installation id, got ${installation}`,
    );
  }
  return {
    githubToken,
    githubApp: {
      appId,
      privateKey,
      installationId: installation === undefined ? undefined : Number(installation),
    },
  };
}

/** Reads a file of the deployment archive (the routing table); tests pass their own. */
export type ReadFile = (path: string) => string;

const readFileText: ReadFile = (path) => readFileSync(path, "utf8");

export function readSettings(env: Environment, readFile: ReadFile = readFileText): Settings {
  const table = readServicesTable(env, readFile);
  const services = table ?? [singleService(env)];
  const first = services[0] as ServiceEntry;
  return {
    services,
    routed: table !== undefined,
    sourcePipelineName: first.sourcePipelineName,
    repositoryNames: first.repositoryNames,
    cloneRoleArn: first.cloneRoleArn,
    prBuildProjects: first.prBuildProjects,
    prArtifactBucket: first.prArtifactBucket,
    webhookSecret: {
      value: env[ENV.webhookSecret] || undefined,
      arn: env[ENV.webhookSecretArn] || undefined,
    },
    ...readGitHubAuth(env),
    githubApiUrl: env[ENV.githubApiUrl] || undefined,
    allowForks: first.allowForks,
    buildDrafts: first.buildDrafts,
    stateTableName: env[ENV.stateTableName] || undefined,
    ...(env[ENV.webhookUrl] ? { webhookUrl: env[ENV.webhookUrl] } : {}),
    ...count(env, ENV.maxClones, "maxClones"),
    ...stackPrefix(env),
  };
}

/**
 * `BRANCHLINE_PREFIX`, when set. A service with previews needs it: without it that service's
 * deliveries fail with a configuration error naming the variable (app/preview-lifecycle.ts), and
 * the other services are served as before.
 */
function stackPrefix(env: Environment): { stackPrefix?: string } {
  const value = env[ENV.stackPrefix]?.trim();
  if (!value) return {};
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(value)) {
    throw new ConfigurationError(
      `environment variable ${ENV.stackPrefix} must start with a letter and hold letters, digits and hyphens only, got ${value}`,
    );
  }
  return { stackPrefix: value };
}

/** A whole-number variable (at least 1) as `{ [member]: value }`, or `{}` when it is unset. */
function count<K extends string>(
  env: Environment,
  name: string,
  member: K,
): Partial<Record<K, number>> {
  const text = env[name]?.trim();
  if (!text) return {};
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  const problem = positiveWholeNumberProblem(value);
  if (problem !== undefined) {
    throw new ConfigurationError(
      `environment variable ${name} must be a whole number of at least 1, got ${text}`,
    );
  }
  return { [member]: value } as Partial<Record<K, number>>;
}

/**
 * The routing table from `BRANCHLINE_SERVICES` (inline JSON) or `BRANCHLINE_SERVICES_FILE` (a JSON
 * file, read once per container: the settings are), or `undefined` when neither is set. Both at
 * once, or either with the single-service `SOURCE_PIPELINE_NAME`, is a configuration error.
 */
export function readServicesTable(
  env: Environment,
  readFile: ReadFile = readFileText,
): ServiceEntry[] | undefined {
  const inline = env[ENV.services] || undefined;
  const file = env[ENV.servicesFile] || undefined;
  if (inline !== undefined && file !== undefined) {
    throw new ConfigurationError(
      `environment variables ${ENV.services} and ${ENV.servicesFile} are both set: set one`,
    );
  }
  const table =
    inline !== undefined ? ENV.services : file !== undefined ? ENV.servicesFile : undefined;
  const single = SINGLE_SERVICE_VARIABLES.filter((name) => env[name]);
  if (table !== undefined && single.length > 0) {
    throw new ConfigurationError(
      `environment variable ${table} (the routing table) and the single-service ${single.join(", ")} are both set: set one form (the table's entries carry these per service)`,
    );
  }
  if (inline !== undefined)
    return parseServicesTable(inline, `environment variable ${ENV.services}`);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError(
      `${ENV.servicesFile} names ${file}, which cannot be read${typeof code === "string" ? ` (${code})` : ""}`,
    );
  }
  return parseServicesTable(text, `${ENV.servicesFile} (${file})`);
}

/** The variables that describe one service; the routing table replaces them all. */
const SINGLE_SERVICE_VARIABLES = [
  ENV.sourcePipelineName,
  ENV.ecrRepositoryNames,
  ENV.ecrRepositoryName,
  ENV.cloneRoleArn,
  ENV.prBuildProjects,
  ENV.prArtifactBucket,
  ENV.allowForks,
  ENV.buildDrafts,
  ENV.requireApproval,
  ENV.pullRequestLabels,
  ENV.pullRequestPaths,
  ENV.serviceMaxClones,
  ENV.idleDays,
  ENV.preview,
];

/** The one service of the single-service variables; its repository and branch are the source pipeline's. */
function singleService(env: Environment): ServiceEntry {
  const sourcePipelineName = required(env, ENV.sourcePipelineName);
  const json = (name: string): unknown => (env[name] ? parseJson(env[name], name) : undefined);
  const selection = parseSelection(
    json(ENV.pullRequestLabels),
    json(ENV.pullRequestPaths),
    (key) =>
      `environment variable ${key === "labels" ? ENV.pullRequestLabels : ENV.pullRequestPaths}`,
  );
  const preview = json(ENV.preview);
  return {
    ...(Object.keys(selection).length > 0 ? { selection } : {}),
    ...count(env, ENV.serviceMaxClones, "maxClones"),
    ...count(env, ENV.idleDays, "idleDays"),
    ...(preview !== undefined
      ? { preview: parsePreviewSettings(preview, `environment variable ${ENV.preview}`) }
      : {}),
    name: sourcePipelineName,
    sourcePipelineName,
    ref: undefined,
    repositoryNames: repositoryNames(env),
    ...readCloneTier(env),
    allowForks: flag(env, ENV.allowForks, false),
    buildDrafts: flag(env, ENV.buildDrafts, true),
    requireApproval: flag(env, ENV.requireApproval, true),
  };
}

/** What {@link readCloneTier} reads: the pull request tier of the clones. */
export type CloneTierSettings = Pick<
  Settings,
  "cloneRoleArn" | "prBuildProjects" | "prArtifactBucket"
>;

/**
 * The pull request tier of the clones: `CLONE_ROLE_ARN`, `PR_BUILD_PROJECTS` and
 * `PR_ARTIFACT_BUCKET` (all optional).
 */
export function readCloneTier(env: Environment): CloneTierSettings {
  return {
    cloneRoleArn: env[ENV.cloneRoleArn] || undefined,
    prBuildProjects: buildProjects(env),
    prArtifactBucket: env[ENV.prArtifactBucket] || undefined,
  };
}

/**
 * Logged once per container by the webhook and the reconciler: without a state table a replayed or
 * late delivery can undo a newer state.
 */
export function warnIfUnprotected(settings: Settings, logger: Logger): void {
  if (settings.stateTableName !== undefined) return;
  logger.warn(
    `${ENV.stateTableName} is not set: no replay protection (a replayed or late delivery can undo a newer state)`,
  );
}

/**
 * Logged once per container by the webhook and the reconciler: without the clone role, the PR build
 * projects and the PR artifact bucket a clone runs with the source tier's role, builds in the
 * source's projects and writes to the source's artifact store.
 */
export function warnIfSingleTier(settings: CloneTierSettings, logger: Pick<Logger, "warn">): void {
  const unset = [
    ...(settings.cloneRoleArn === undefined ? [ENV.cloneRoleArn] : []),
    ...(settings.prBuildProjects === undefined ? [ENV.prBuildProjects] : []),
    ...(settings.prArtifactBucket === undefined ? [ENV.prArtifactBucket] : []),
  ];
  if (unset.length === 0) return;
  const names =
    unset.length === 1 ? unset[0] : `${unset.slice(0, -1).join(", ")} and ${unset.at(-1)}`;
  logger.warn(
    `${names} ${unset.length === 1 ? "is" : "are"} not set: clones keep the source pipeline's role, build projects and artifact store (for local runs only: a pull request's code then runs with the source tier's permissions)`,
  );
}

/** {@link warnIfSingleTier} for each service; with a routing table each warning names its service. */
export function warnIfSingleTierPerService(settings: Settings, logger: Logger): void {
  if (!settings.routed) return warnIfSingleTier(settings, logger);
  for (const service of settings.services) {
    warnIfSingleTier(service, withFields(logger, { service: service.name }));
  }
}

/** `ECR_REPOSITORY_NAMES` (a JSON list), or else the one name of `ECR_REPOSITORY_NAME`. */
function repositoryNames(env: Environment): string[] {
  const list = env[ENV.ecrRepositoryNames];
  if (!list) {
    const one = env[ENV.ecrRepositoryName];
    if (!one) {
      throw new ConfigurationError(
        `environment variable ${ENV.ecrRepositoryNames} (or ${ENV.ecrRepositoryName}) is not set`,
      );
    }
    return [one];
  }
  const parsed = parseJson(list, ENV.ecrRepositoryNames);
  if (
    !Array.isArray(parsed) ||
    parsed.length === 0 ||
    !parsed.every((name: unknown) => typeof name === "string" && name !== "")
  ) {
    throw new ConfigurationError(
      `environment variable ${ENV.ecrRepositoryNames} must be a JSON list of one or more repository names`,
    );
  }
  return [...new Set(parsed as string[])];
}

/** `PR_BUILD_PROJECTS`: a JSON object of source project name -> PR project name. */
function buildProjects(env: Environment): Record<string, string> | undefined {
  const text = env[ENV.prBuildProjects];
  if (!text) return undefined;
  const parsed = parseJson(text, ENV.prBuildProjects);
  const invalid = () =>
    new ConfigurationError(
      `environment variable ${ENV.prBuildProjects} must be a JSON object of source build project name -> pull request build project name`,
    );
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalid();
  const mapping: Record<string, string> = {};
  for (const [source, target] of Object.entries(parsed)) {
    if (source === "" || typeof target !== "string" || target === "") throw invalid();
    // A key named `__proto__` stays a key (JSON.parse makes it one too).
    Object.defineProperty(mapping, source, { value: target, enumerable: true });
  }
  return mapping;
}

export function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigurationError(`environment variable ${name} is not valid JSON`);
  }
}

function required(env: Environment, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

function flag(env: Environment, name: string, fallback: boolean): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === "") return fallback;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigurationError(
    `environment variable ${name} must be true or false, got ${env[name]}`,
  );
}
