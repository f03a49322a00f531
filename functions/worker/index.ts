/**
 * Lambda entry for the delivery worker (an SQS event source on the FIFO delivery queue, with
 * ReportBatchItemFailures). Only wiring: the default dependencies are built on the first
 * invocation and kept for the container's life.
 */
import { defaultWorkerDeps } from "./deps.js";
import { createWorkerHandler } from "./handler.js";

export const handler = createWorkerHandler(defaultWorkerDeps(process.env));
