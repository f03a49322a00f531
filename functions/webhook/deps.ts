/**
 * The webhook's default dependencies, from an environment record. Nothing is read or built until the
 * first delivery needs it; then it is kept for the container's life (secrets are read again on a
 * rotation: see functions/adapters/secrets.ts).
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "../adapters/aws-config.js";
import { createLogger } from "../adapters/logger.js";
import {
  DefaultServices,
  lazy,
  webhookSecretReader,
  type SecretOptions,
} from "../adapters/services.js";
import { verifySignature } from "../adapters/signature.js";
import { deliveryQueueClient, SqsDeliveryQueue } from "../adapters/sqs-delivery-queue.js";
import type { Logger } from "../app/ports.js";
import {
  readSettings,
  warnIfSingleTierPerService,
  warnIfUnprotected,
  type Environment,
} from "../app/settings.js";
import { ENV } from "../shared/names.js";
import type { WebhookDeps } from "./handler.js";

export interface WebhookDepsOverrides {
  logger?: Logger;
  budgetMs?: number;
  /** The clock secrets are re-read by (tests move it past the one-minute limit). */
  now?: () => number;
}

export function defaultWebhookDeps(
  env: Environment,
  overrides: WebhookDepsOverrides = {},
): WebhookDeps {
  const secretOptions: SecretOptions = {
    secretsClient: lazy(() => new SecretsManagerClient(awsClientConfig())),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
  const settings = lazy(() => readSettings(env));
  const logger = overrides.logger ?? createLogger("branchline-webhook");
  const services = lazy(() => {
    warnIfUnprotected(settings(), logger);
    warnIfSingleTierPerService(settings(), logger);
    return new DefaultServices(settings(), {}, secretOptions);
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
    ...(overrides.budgetMs !== undefined ? { budgetMs: overrides.budgetMs } : {}),
    ...(queueUrl !== undefined
      ? {
          queue: new SqsDeliveryQueue(lazy(deliveryQueueClient), queueUrl),
        }
      : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  };
}
