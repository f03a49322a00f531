/**
 * Bundles a Lambda entry with esbuild when the program runs, so `pulumi up` always ships the
 * checked-out code. Deterministic: no source maps, no timestamps, no absolute paths, so an unchanged
 * tree gives an unchanged archive and no update.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";

/** The repository root (infra/ sits at the top level). */
export const REPOSITORY_ROOT = path.join(__dirname, "..");

/** The webhook Lambda's entry module. */
export const WEBHOOK_ENTRY = path.join(REPOSITORY_ROOT, "functions", "webhook", "index.ts");

/** The reconciler Lambda's entry module. */
export const RECONCILE_ENTRY = path.join(REPOSITORY_ROOT, "functions", "reconcile", "index.ts");

/** The notify Lambda's entry module. */
export const NOTIFY_ENTRY = path.join(REPOSITORY_ROOT, "functions", "notify", "index.ts");

/** The delivery worker Lambda's entry module. */
export const WORKER_ENTRY = path.join(REPOSITORY_ROOT, "functions", "worker", "index.ts");

/** Every Lambda the stack deploys, by the name the program knows it under. */
export const FUNCTION_ENTRIES = {
  webhook: WEBHOOK_ENTRY,
  reconcile: RECONCILE_ENTRY,
  notify: NOTIFY_ENTRY,
  worker: WORKER_ENTRY,
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** The deployment archive of every Lambda of the stack. */
export type FunctionArchives = Record<FunctionName, pulumi.Input<pulumi.asset.Archive>>;

/** The file name of the bundle in the archive; the Lambda handler is `index.handler`. */
export const BUNDLE_FILE = "index.js";
export const LAMBDA_HANDLER = "index.handler";

/** Bundles `entry` and its dependencies into one CommonJS file for Node.js 22; returns its text. */
export function bundleFunction(entry: string): string {
  const result = buildSync({
    entryPoints: [entry],
    absWorkingDir: REPOSITORY_ROOT,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    mainFields: ["module", "main"],
    sourcemap: false,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (output === undefined || result.outputFiles.length !== 1) {
    throw new Error(`bundling ${entry} gave ${result.outputFiles.length} files, expected 1`);
  }
  return output.text;
}

/** A Lambda deployment archive holding the bundle as `index.js`. */
export function functionArchive(bundle: string): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundle) });
}

/** Bundles every Lambda of the stack; returns the bundles' text by function. */
export function bundleFunctions(): Record<FunctionName, string> {
  return {
    webhook: bundleFunction(FUNCTION_ENTRIES.webhook),
    reconcile: bundleFunction(FUNCTION_ENTRIES.reconcile),
    notify: bundleFunction(FUNCTION_ENTRIES.notify),
    worker: bundleFunction(FUNCTION_ENTRIES.worker),
  };
}

/** The deployment archives of these bundles. */
export function functionArchives(bundles: Record<FunctionName, string>): FunctionArchives {
  return {
    webhook: functionArchive(bundles.webhook),
    reconcile: functionArchive(bundles.reconcile),
    notify: functionArchive(bundles.notify),
    worker: functionArchive(bundles.worker),
  };
}
