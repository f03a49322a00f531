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
  repositoryName: string;
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
    repositoryName: required(env, ENV.ecrRepositoryName),
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
