/**
 * The reconciler's default dependencies, from an environment record: the same settings and
 * container-wide clients as the webhook. Nothing is read or built until the first sweep needs it.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CloudWatchPreviewTraffic } from "../adapters/cloudwatch-traffic.js";
import { awsClientConfig } from "../adapters/aws-config.js";
import { createLogger } from "../adapters/logger.js";
import { functionMetrics } from "../adapters/metrics.js";
import { DefaultServices, lazy } from "../adapters/services.js";
import type { Logger, Metrics } from "../app/ports.js";
import {
  readSettings,
  warnIfSingleTierPerService,
  warnIfUnprotected,
  type Environment,
} from "../app/settings.js";
import { METRIC } from "../shared/metrics.js";
import type { ReconcileDeps, ReconcileServices } from "./handler.js";

/**
 * A sweep makes a call or more per pull request and has minutes, not GitHub's 10 seconds: its
 * CodePipeline and ECR clients pace themselves to the rate AWS accepts and retry throttled calls
 * until the sweep's deadline, so a throttled sweep still finishes every pull request.
 */
const SWEEP_CLIENT_OPTIONS = { sweep: true, maxAttempts: 10 };

export function defaultReconcileDeps(
  env: Environment,
  overrides: { logger?: Logger; metrics?: Metrics; budgetMs?: number; concurrency?: number } = {},
): ReconcileDeps {
  const settings = lazy(() => readSettings(env));
  const logger = overrides.logger ?? createLogger("branchline-reconcile");
  const metrics = overrides.metrics ?? functionMetrics(env, "branchline-reconcile");
  const onThrottle = () => metrics.count(METRIC.throttles);
  const cloudwatch = lazy(
    () => new CloudWatchClient(awsClientConfig({ ...SWEEP_CLIENT_OPTIONS, onThrottle })),
  );
  const services = lazy(() => {
    warnIfUnprotected(settings(), logger);
    warnIfSingleTierPerService(settings(), logger);
    return new DefaultServices(
      settings(),
      { ...SWEEP_CLIENT_OPTIONS, onThrottle },
      { secretsClient: lazy(() => new SecretsManagerClient(awsClientConfig({ onThrottle }))) },
    );
  });
  return {
    settings,
    services: async (signal): Promise<ReconcileServices> => {
      const aws = await services().forInvocation(signal);
      const github = await services().gitHub(signal);
      const activity = services().activity(signal);
      return {
        pipelines: aws.pipelines,
        images: aws.images,
        pullRequests: github.client,
        ...(github.authenticated ? { openPullRequests: github.client } : {}),
        ...(github.deliveries ? { deliveries: github.deliveries } : {}),
        ...(aws.marks ? { marks: aws.marks } : {}),
        ...(github.statuses ? { statuses: github.statuses } : {}),
        ...(aws.idleMarkers ? { idleMarkers: aws.idleMarkers } : {}),
        ...(activity ? { activity } : {}),
        ...(github.commands ? { commands: github.commands } : {}),
        // Only the reconciler reads request counts (idle previews): its own CloudWatch client.
        ...(aws.previews
          ? {
              previews: {
                ...aws.previews,
                ports: {
                  ...aws.previews.ports,
                  traffic: new CloudWatchPreviewTraffic(cloudwatch(), signal),
                },
              },
            }
          : {}),
        ...(github.deployments ? { deployments: github.deployments } : {}),
      };
    },
    teardownServices: async (signal) => {
      const aws = await services().forInvocation(signal);
      return {
        pipelines: aws.pipelines,
        images: aws.images,
        ...(aws.previews ? { previews: aws.previews } : {}),
      };
    },
    logger,
    metrics,
    ...(overrides.budgetMs !== undefined ? { budgetMs: overrides.budgetMs } : {}),
    ...(overrides.concurrency !== undefined ? { concurrency: overrides.concurrency } : {}),
  };
}
