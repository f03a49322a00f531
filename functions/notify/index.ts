/**
 * Lambda entry for CodePipeline execution state changes (an EventBridge rule's target). Only wiring:
 * the default dependencies are built on the first event and kept for the container's life.
 */
import { defaultNotifyDeps } from "./deps.js";
import { createHandler } from "./handler.js";

export const handler = createHandler(defaultNotifyDeps(process.env));
