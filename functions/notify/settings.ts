/** The notify function's settings, read from an environment record (the handler passes `process.env`). */
import {
  parseJson,
  readGitHubAuth,
  readServicesTable,
  type Environment,
  type GitHubAppSettings,
  type ReadFile,
} from "../app/settings.js";
import { ConfigurationError } from "../core/errors.js";
import { parsePreviewSettings } from "../core/preview.js";
import type { ServiceEntry } from "../core/services.js";
import { ENV } from "../shared/names.js";

export interface NotifySettings {
  /** The services whose source pipelines and clones are reported on (at least one). */
  services: Pick<ServiceEntry, "name" | "sourcePipelineName" | "preview">[];
  /** The first service's source pipeline (the only one without a routing table). */
  sourcePipelineName: string;
  githubToken: { value?: string | undefined; arn?: string | undefined };
  /** A GitHub App instead of a token; never both (a configuration error). */
  githubApp?: GitHubAppSettings;
  githubApiUrl: string | undefined;
  /** Without a topic, no notification is sent. */
  notificationTopicArn: string | undefined;
}

/**
 * The services from the routing table (`BRANCHLINE_SERVICES` or `BRANCHLINE_SERVICES_FILE`), or
 * else the one of `SOURCE_PIPELINE_NAME`.
 */
export function readNotifySettings(env: Environment, readFile?: ReadFile): NotifySettings {
  const table = readServicesTable(env, readFile);
  const [first, ...others] = (table ?? [single(env)]).map(
    ({ name, sourcePipelineName, preview }) => ({
      name,
      sourcePipelineName,
      ...(preview !== undefined ? { preview } : {}),
    }),
  );
  if (first === undefined) throw new ConfigurationError("the routing table has no service");
  return {
    services: [first, ...others],
    sourcePipelineName: first.sourcePipelineName,
    ...readGitHubAuth(env),
    githubApiUrl: env[ENV.githubApiUrl] || undefined,
    notificationTopicArn: env[ENV.notificationTopicArn] || undefined,
  };
}

function single(env: Environment): Pick<ServiceEntry, "name" | "sourcePipelineName" | "preview"> {
  const sourcePipelineName = env[ENV.sourcePipelineName];
  if (!sourcePipelineName) {
    throw new ConfigurationError(`environment variable ${ENV.sourcePipelineName} is not set`);
  }
  const preview = env[ENV.preview];
  return {
    name: sourcePipelineName,
    sourcePipelineName,
    // The preview's URL and cost on the pull request comment, and its deployments.
    ...(preview
      ? {
          preview: parsePreviewSettings(
            parseJson(preview, ENV.preview),
            `environment variable ${ENV.preview}`,
          ),
        }
      : {}),
  };
}
