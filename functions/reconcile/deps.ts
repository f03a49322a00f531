/**
 * The reconciler's default dependencies, from an environment record: the same settings and
 * container-wide clients as the webhook. Nothing is read or built until the first sweep needs it.
 */
import { createLogger } from "../adapters/logger.js";
import { DefaultServices, lazy } from "../adapters/services.js";
import type { Logger } from "../app/ports.js";
import { readSettings, type Environment } from "../app/settings.js";
import type { ReconcileDeps, ReconcileServices } from "./handler.js";

export function defaultReconcileDeps(
  env: Environment,
  overrides: { logger?: Logger; budgetMs?: number; concurrency?: number } = {},
): ReconcileDeps {
  const settings = lazy(() => readSettings(env));
  const services = lazy(() => new DefaultServices(settings()));
  return {
    settings,
    services: async (signal): Promise<ReconcileServices> => {
      const aws = await services().forInvocation(signal);
      const github = await services().gitHub(signal);
      return {
        pipelines: aws.pipelines,
        images: aws.images,
        pullRequests: github.client,
        ...(github.authenticated ? { openPullRequests: github.client } : {}),
      };
    },
    logger: overrides.logger ?? createLogger("branchline-reconcile"),
    ...(overrides.budgetMs !== undefined ? { budgetMs: overrides.budgetMs } : {}),
    ...(overrides.concurrency !== undefined ? { concurrency: overrides.concurrency } : {}),
  };
}
