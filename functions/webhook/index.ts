/**
 * Lambda entry for the GitHub webhook (API Gateway HTTP API, payload format 2.0). Only wiring: the
 * default dependencies are built on the first invocation and kept for the container's life.
 */
import { defaultWebhookDeps } from "./deps.js";
import { createHandler } from "./handler.js";

export const handler = createHandler(defaultWebhookDeps(process.env));
