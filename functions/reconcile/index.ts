/**
 * Lambda entry for the reconciler: run by an EventBridge schedule or invoked on demand with `{}`.
 * Only wiring: the default dependencies are built on the first invocation and kept for the
 * container's life.
 */
import { defaultReconcileDeps } from "./deps.js";
import { createReconcileHandler } from "./handler.js";

export const handler = createReconcileHandler(defaultReconcileDeps(process.env));
