/** The notify function's settings, read from an environment record (the handler passes `process.env`). */
import type { Environment } from "../app/settings.js";
import { ConfigurationError } from "../core/errors.js";
import { ENV } from "../shared/names.js";

export interface NotifySettings {
  sourcePipelineName: string;
  githubToken: { value?: string | undefined; arn?: string | undefined };
  githubApiUrl: string | undefined;
  /** Without a topic, no notification is sent. */
  notificationTopicArn: string | undefined;
}

export function readNotifySettings(env: Environment): NotifySettings {
  const sourcePipelineName = env[ENV.sourcePipelineName];
  if (!sourcePipelineName) {
    throw new ConfigurationError(`environment variable ${ENV.sourcePipelineName} is not set`);
  }
  return {
    sourcePipelineName,
    githubToken: {
      value: env[ENV.githubToken] || undefined,
      arn: env[ENV.githubTokenSecretArn] || undefined,
    },
    githubApiUrl: env[ENV.githubApiUrl] || undefined,
    notificationTopicArn: env[ENV.notificationTopicArn] || undefined,
  };
}
