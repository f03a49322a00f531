/**
 * The delivery worker's default dependencies, from an environment record: the webhook's settings
 * and container-wide clients (clone manager variables, state table, GitHub token), plus the
 * dead-letter queue (DEAD_LETTER_QUEUE_URL). Nothing is read or built until the first record needs it.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "../adapters/aws-config.js";
import { createLogger } from "../adapters/logger.js";
import { functionMetrics } from "../adapters/metrics.js";
import { DefaultServices, lazy, type SecretOptions } from "../adapters/services.js";
import { deliveryQueueClient, SqsDeliveryQueue } from "../adapters/sqs-delivery-queue.js";
import type { Logger, Metrics } from "../app/ports.js";
import {
  readSettings,
  warnIfSingleTierPerService,
  warnIfUnprotected,
  type Environment,
} from "../app/settings.js";
import { METRIC } from "../shared/metrics.js";
import { ENV } from "../shared/names.js";
import type { WorkerDeps } from "./handler.js";

export interface WorkerDepsOverrides {
  logger?: Logger;
  /** Default: EMF through Powertools, `service` the function's name (see adapters/metrics.ts). */
  metrics?: Metrics;
  recordBudgetMs?: number;
  marginMs?: number;
  /**
   * The clock secrets are re-read by (tests move it past the one-minute limit) and records' queue
   * age is measured by.
   */
  now?: () => number;
}

/**
 * A record has its own deadline (tens of seconds, not GitHub's 10): a throttled call is retried
 * until that deadline ends it rather than after a fixed number of attempts.
 */
const WORKER_CLIENT_OPTIONS = { maxThrottledAttempts: 100 };

export function defaultWorkerDeps(
  env: Environment,
  overrides: WorkerDepsOverrides = {},
): WorkerDeps {
  const metrics = overrides.metrics ?? functionMetrics(env, "branchline-worker");
  const onThrottle = () => metrics.count(METRIC.throttles);
  const secretOptions: SecretOptions = {
    secretsClient: lazy(() => new SecretsManagerClient(awsClientConfig({ onThrottle }))),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
  const settings = lazy(() => readSettings(env));
  const logger = overrides.logger ?? createLogger("branchline-worker");
  const services = lazy(() => {
    warnIfUnprotected(settings(), logger);
    warnIfSingleTierPerService(settings(), logger);
    return new DefaultServices(settings(), { ...WORKER_CLIENT_OPTIONS, onThrottle }, secretOptions);
  });
  const deadLetterQueueUrl = env[ENV.deadLetterQueueUrl] || undefined;
  return {
    settings,
    services: (signal) => services().forInvocation(signal),
    logger,
    metrics,
    ...(deadLetterQueueUrl !== undefined
      ? {
          deadLetters: new SqsDeliveryQueue(
            lazy(() => deliveryQueueClient({ onThrottle })),
            deadLetterQueueUrl,
          ),
        }
      : {}),
    ...(overrides.recordBudgetMs !== undefined ? { recordBudgetMs: overrides.recordBudgetMs } : {}),
    ...(overrides.marginMs !== undefined ? { marginMs: overrides.marginMs } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}
