/**
 * The webhook's default dependencies, from an environment record. Nothing is read or built until the
 * first delivery needs it; then it is kept for the container's life.
 */
import { createLogger } from "../adapters/logger.js";
import { DefaultServices, lazy } from "../adapters/services.js";
import { verifySignature } from "../adapters/signature.js";
import type { Logger } from "../app/ports.js";
import { readSettings, warnIfUnprotected, type Environment } from "../app/settings.js";
import type { WebhookDeps } from "./handler.js";

export function defaultWebhookDeps(
  env: Environment,
  overrides: { logger?: Logger; budgetMs?: number } = {},
): WebhookDeps {
  const settings = lazy(() => readSettings(env));
  const logger = overrides.logger ?? createLogger("branchline-webhook");
  const services = lazy(() => {
    warnIfUnprotected(settings(), logger);
    return new DefaultServices(settings());
  });
  return {
    settings,
    webhookSecret: () => services().webhookSecret(),
    services: (signal) => services().forInvocation(signal),
    verify: verifySignature,
    logger,
    ...(overrides.budgetMs !== undefined ? { budgetMs: overrides.budgetMs } : {}),
  };
}
