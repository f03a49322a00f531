/**
 * Lambda entry for the GitHub webhook (API Gateway HTTP API, payload format 2.0). Only wiring: the
 * default dependencies are built on the first invocation and kept for the container's life.
 */
import { DefaultServices, lazy } from "../adapters/services.js";
import { createLogger } from "../adapters/logger.js";
import { verifySignature } from "../adapters/signature.js";
import { readSettings } from "../app/settings.js";
import { createHandler } from "./handler.js";

const settings = lazy(() => readSettings(process.env));
const services = lazy(() => new DefaultServices(settings()));

export const handler = createHandler({
  settings,
  webhookSecret: () => services().webhookSecret(),
  services: (signal) => services().forInvocation(signal),
  verify: verifySignature,
  logger: createLogger("branchline-webhook"),
});

export { createHandler } from "./handler.js";
