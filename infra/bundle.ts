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

/**
 * The preview environments' ECS and Elastic Load Balancing clients, bundled apart from the
 * functions' main bundles: `DefaultServices` (functions/adapters/services.ts) imports this module
 * only when some service has previews, so a stack without previews neither loads nor initialises
 * these SDK clients when a function starts.
 */
export const PREVIEWS_ENTRY = path.join(
  REPOSITORY_ROOT,
  "functions",
  "adapters",
  "preview-clients.ts",
);

/**
 * The file name of the preview clients' bundle, next to `index.js` in the archives of
 * `PREVIEW_FUNCTIONS`. It is the path `DefaultServices` imports the module by: the main bundle
 * keeps that import, as a `require` run on first use, instead of inlining the module.
 */
export const PREVIEWS_FILE = "preview-clients.js";

/** The functions that manage previews (through `DefaultServices`): their archives hold PREVIEWS_FILE. */
export const PREVIEW_FUNCTIONS: readonly FunctionName[] = ["webhook", "reconcile", "worker"];

/** The bundle of `entry` and the source files it holds (relative to the repository root). */
function build(entry: string): { text: string; inputs: string[] } {
  const result = buildSync({
    entryPoints: [entry],
    absWorkingDir: REPOSITORY_ROOT,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    mainFields: ["module", "main"],
    // The preview clients stay out of the main bundle (a pattern of the import's text: esbuild's
    // synchronous API takes no plugins, so the text is the file name in the archive).
    external: [`./${PREVIEWS_FILE}`],
    // `import()` becomes `require()`: the preview clients' bundle is CommonJS, loaded without
    // Node's ES module loader (the SDK's lazy imports of Node's built-in modules likewise).
    supported: { "dynamic-import": false },
    sourcemap: false,
    legalComments: "none",
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (output === undefined || result.outputFiles.length !== 1) {
    throw new Error(`bundling ${entry} gave ${result.outputFiles.length} files, expected 1`);
  }
  return { text: output.text, inputs: Object.keys(result.metafile.inputs).sort() };
}

/** Bundles `entry` and its dependencies into one CommonJS file for Node.js 22; returns its text. */
export function bundleFunction(entry: string): string {
  return build(entry).text;
}

/** The source files (repository-relative, node_modules included) the bundle of `entry` holds. */
export function bundleInputs(entry: string): string[] {
  return build(entry).inputs;
}

/** Bundles the preview clients (`PREVIEWS_ENTRY`) with the same options; returns its text. */
export function bundlePreviews(): string {
  return bundleFunction(PREVIEWS_ENTRY);
}

/**
 * A Lambda deployment archive holding the bundle as `index.js`, and the preview clients' bundle as
 * PREVIEWS_FILE when given.
 */
export function functionArchive(bundle: string, previews?: string): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({
    [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundle),
    ...(previews === undefined ? {} : { [PREVIEWS_FILE]: new pulumi.asset.StringAsset(previews) }),
  });
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

/**
 * The deployment archives of these bundles; those of PREVIEW_FUNCTIONS also hold `previews`, the
 * preview clients' bundle (`bundlePreviews()`).
 */
export function functionArchives(
  bundles: Record<FunctionName, string>,
  previews: string,
): FunctionArchives {
  const archive = (name: FunctionName) =>
    functionArchive(bundles[name], PREVIEW_FUNCTIONS.includes(name) ? previews : undefined);
  return {
    webhook: archive("webhook"),
    reconcile: archive("reconcile"),
    notify: archive("notify"),
    worker: archive("worker"),
  };
}
