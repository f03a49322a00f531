/**
 * The webhook's default dependencies, from an environment record. Nothing is read or built until the
 * first delivery needs it; then it is kept for the container's life (secrets are read again on a
 * rotation: see functions/adapters/secrets.ts).
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "../adapters/aws-config.js";
import { createLogger } from "../adapters/logger.js";
import { functionMetrics } from "../adapters/metrics.js";
import {
  DefaultServices,
  lazy,
  webhookSecretReader,
  type SecretOptions,
} from "../adapters/services.js";
import { verifySignature } from "../adapters/signature.js";
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
import type { WebhookDeps } from "./handler.js";

export interface WebhookDepsOverrides {
  logger?: Logger;
  /** Default: EMF through Powertools, `service` the function's name (see adapters/metrics.ts). */
  metrics?: Metrics;
  budgetMs?: number;
  /** The clock secrets are re-read by (tests move it past the one-minute limit). */
  now?: () => number;
}

export function defaultWebhookDeps(
  env: Environment,
  overrides: WebhookDepsOverrides = {},
): WebhookDeps {
  const metrics = overrides.metrics ?? functionMetrics(env, "branchline-webhook");
  const clientOptions = { onThrottle: () => metrics.count(METRIC.throttles) };
  const secretOptions: SecretOptions = {
    secretsClient: lazy(() => new SecretsManagerClient(awsClientConfig(clientOptions))),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
  const settings = lazy(() => readSettings(env));
  const logger = overrides.logger ?? createLogger("branchline-webhook");
  const services = lazy(() => {
    warnIfUnprotected(settings(), logger);
    warnIfSingleTierPerService(settings(), logger);
    return new DefaultServices(settings(), clientOptions, secretOptions);
  });
  const webhookSecret = lazy(() =>
    webhookSecretReader(
      { value: env[ENV.webhookSecret] || undefined, arn: env[ENV.webhookSecretArn] || undefined },
      secretOptions,
    ),
  );
  // Durable delivery: with QUEUE_URL set, a wanted delivery is queued for the worker; the ingest
  // then makes no AWS call but the secret read and SendMessage.
  const queueUrl = env[ENV.queueUrl] || undefined;
  return {
    settings,
    webhookSecret: () => webhookSecret()(),
    refreshWebhookSecret: () => webhookSecret().refresh(),
    services: (signal) => services().forInvocation(signal),
    verify: verifySignature,
    logger,
    metrics,
    ...(overrides.budgetMs !== undefined ? { budgetMs: overrides.budgetMs } : {}),
    ...(queueUrl !== undefined
      ? {
          queue: new SqsDeliveryQueue(
            lazy(() => deliveryQueueClient(clientOptions)),
            queueUrl,
          ),
        }
      : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}
