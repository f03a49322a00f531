/**
 * The notify function's default dependencies, from an environment record. Clients, secrets and the
 * token's GitHub identity are built on the first event and kept for the container's life; so are
 * the source pipeline's facts, refreshed every few minutes.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { CodeBuildClient } from "@aws-sdk/client-codebuild";
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { CodePipelineActionExecutions } from "../adapters/action-executions.js";
import { awsClientConfig } from "../adapters/aws-config.js";
import { CodeBuildLogs } from "../adapters/build-logs.js";
import { CodePipelineStore } from "../adapters/codepipeline.js";
import { RateLimitObserver } from "../adapters/github.js";
import { OctokitCheckRuns } from "../adapters/github-checks.js";
import { OctokitPreviewDeployments } from "../adapters/github-deployments.js";
import { OctokitCommitStatuses, OctokitPullRequestComments } from "../adapters/github-feedback.js";
import { createLogger } from "../adapters/logger.js";
import { functionMetrics } from "../adapters/metrics.js";
import { CodePipelineExecutions } from "../adapters/pipeline-executions.js";
import { gitHubCredentials, lazy } from "../adapters/services.js";
import { SnsNotifications } from "../adapters/sns.js";
import { cachedSourceFacts, type FeedbackPorts } from "../app/feedback.js";
import { MESSAGES } from "../app/messages.js";
import type { Logger, Metrics } from "../app/ports.js";
import type { Environment } from "../app/settings.js";
import { ConfigurationError } from "../core/errors.js";
import { githubWebUrl, sourceFacts, type SourceFacts } from "../core/feedback.js";
import { serviceOfPipeline } from "../core/services.js";
import { METRIC } from "../shared/metrics.js";
import type { NotifyDeps } from "./handler.js";
import { readNotifySettings } from "./settings.js";

export function defaultNotifyDeps(
  env: Environment,
  overrides: { logger?: Logger; metrics?: Metrics; budgetMs?: number } = {},
): NotifyDeps {
  const settings = lazy(() => readNotifySettings(env));
  const metrics = overrides.metrics ?? functionMetrics(env, "branchline-notify");
  const clientOptions = { onThrottle: () => metrics.count(METRIC.throttles) };
  const codepipeline = lazy(() => new CodePipelineClient(awsClientConfig(clientOptions)));
  const sns = lazy(() => new SNSClient(awsClientConfig(clientOptions)));
  const secrets = lazy(() => new SecretsManagerClient(awsClientConfig(clientOptions)));
  const codebuild = lazy(() => new CodeBuildClient(awsClientConfig(clientOptions)));
  const logs = lazy(() => new CloudWatchLogsClient(awsClientConfig(clientOptions)));
  // The token or the App, and whose comments are branchline's: kept for the container.
  const github = lazy(() => gitHubCredentials(settings(), { secretsClient: secrets }));
  const rateLimit = new RateLimitObserver();
  // Each service's source pipeline facts, cached apart.
  const sources = new Map<string, () => Promise<SourceFacts>>();
  const source = (name: string): (() => Promise<SourceFacts>) => {
    let facts = sources.get(name);
    if (facts === undefined) {
      facts = cachedSourceFacts(async () => {
        const stored = await new CodePipelineStore(codepipeline()).get(name);
        if (!stored) throw new ConfigurationError(`source pipeline ${name} does not exist`);
        return sourceFacts(stored.declaration);
      });
      sources.set(name, facts);
    }
    return facts;
  };
  return {
    config: (pipeline) => {
      // Without a routing table every event goes to the one service, which says why it ignores
      // a pipeline that is not its own, as it always did.
      const service =
        settings().services.length === 1
          ? settings().services[0]
          : serviceOfPipeline(settings().services, pipeline);
      if (service === undefined) return undefined;
      return {
        sourcePipelineName: service.sourcePipelineName,
        githubWebUrl: githubWebUrl(settings().githubApiUrl),
        messages: MESSAGES,
        service: service.name,
        ...(service.preview !== undefined ? { preview: service.preview } : {}),
      };
    },
    ports: async (signal, sourcePipelineName) => {
      const ports: FeedbackPorts = {
        pipelines: new CodePipelineStore(codepipeline(), signal),
        executions: new CodePipelineExecutions(codepipeline(), signal),
        source: source(sourcePipelineName),
      };
      const credentials = github();
      if (credentials) {
        const octokit = await credentials.octokit(settings().githubApiUrl, signal);
        rateLimit.watch(octokit);
        const previews = settings().services.some(
          (service) =>
            service.sourcePipelineName === sourcePipelineName && service.preview !== undefined,
        );
        ports.github = {
          statuses: new OctokitCommitStatuses(octokit),
          comments: new OctokitPullRequestComments(octokit, credentials.identity),
          ...(previews ? { deployments: new OctokitPreviewDeployments(octokit) } : {}),
        };
        // Check runs are the GitHub Apps' (a token gets 403): with a token, statuses only.
        if (settings().githubApp !== undefined) {
          ports.checks = {
            runs: new OctokitCheckRuns(octokit),
            actions: new CodePipelineActionExecutions(codepipeline(), signal),
            logs: new CodeBuildLogs(codebuild(), logs(), signal),
          };
        }
      }
      const topic = settings().notificationTopicArn;
      if (topic) ports.notifications = new SnsNotifications(sns(), topic, signal);
      return ports;
    },
    logger: overrides.logger ?? createLogger("branchline-notify"),
    metrics,
    ...(overrides.budgetMs !== undefined ? { budgetMs: overrides.budgetMs } : {}),
  };
}
