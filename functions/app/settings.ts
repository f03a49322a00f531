/**
 * The functions' settings, read from an environment record (the handler passes `process.env`).
 * A missing required variable is a configuration error that names it.
 */
import { ConfigurationError } from "../core/errors.js";
import { ENV } from "../shared/names.js";
import type { Logger } from "./ports.js";

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Settings {
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
  githubApiUrl: string | undefined;
  allowForks: boolean;
  buildDrafts: boolean;
  /** The pull request state table (replay protection); `undefined`: none. */
  stateTableName: string | undefined;
}

export function readSettings(env: Environment): Settings {
  return {
    sourcePipelineName: required(env, ENV.sourcePipelineName),
    repositoryNames: repositoryNames(env),
    ...readCloneTier(env),
    webhookSecret: {
      value: env[ENV.webhookSecret] || undefined,
      arn: env[ENV.webhookSecretArn] || undefined,
    },
    githubToken: {
      value: env[ENV.githubToken] || undefined,
      arn: env[ENV.githubTokenSecretArn] || undefined,
    },
    githubApiUrl: env[ENV.githubApiUrl] || undefined,
    allowForks: flag(env, ENV.allowForks, false),
    buildDrafts: flag(env, ENV.buildDrafts, true),
    stateTableName: env[ENV.stateTableName] || undefined,
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

function parseJson(text: string, name: string): unknown {
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
