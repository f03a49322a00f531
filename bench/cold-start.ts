/**
 * Figure 3: the deployed webhook bundle's size and the time to load it and answer one signed ping in
 * a fresh Node.js process, against a bare entry that only constructs the same SDK clients, bundled
 * with the same options. The runs alternate between the two bundles; medians are compared.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { bundleFunction, WEBHOOK_ENTRY } from "../infra/bundle.js";
import { signedEvent } from "../test/helpers/github-events.js";
import { figure, functionEnv, median, SECRET, type Figure } from "./lib.js";

const run = promisify(execFile);

export const BARE_ENTRY = join(__dirname, "bare-entry.ts");
const CHILD = join(__dirname, "cold-start-child.cjs");

async function coldRun(bundle: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await run(process.execPath, [CHILD, bundle], { env, maxBuffer: 1 << 20 });
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH "));
  if (!line) throw new Error(`cold start: no measurement from ${bundle}:\n${stdout}`);
  const result = JSON.parse(line.slice("BENCH ".length)) as { ms: number; status: number };
  if (result.status !== 200) throw new Error(`cold start: ${bundle} answered ${result.status}`);
  return result.ms;
}

export async function measureColdStart(
  runs: number,
): Promise<{ figures: Figure[]; detail: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), "branchline-bench-"));
  try {
    const webhookCode = bundleFunction(WEBHOOK_ENTRY);
    const bareCode = bundleFunction(BARE_ENTRY);
    const webhook = join(dir, "webhook.js");
    const bare = join(dir, "bare.js");
    writeFileSync(webhook, webhookCode);
    writeFileSync(bare, bareCode);

    const ping = signedEvent(
      { zen: "Design for failure.", hook_id: 1 },
      { secret: SECRET, event: "ping" },
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      ...functionEnv(),
      BENCH_EVENT: JSON.stringify(ping),
    };
    // One untimed run each warms the file cache.
    await coldRun(webhook, env);
    await coldRun(bare, env);
    const webhookMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        webhookMs.push(await coldRun(webhook, env));
        bareMs.push(await coldRun(bare, env));
      } else {
        bareMs.push(await coldRun(bare, env));
        webhookMs.push(await coldRun(webhook, env));
      }
    }
    const detail = {
      runs,
      webhookBytes: Buffer.byteLength(webhookCode),
      bareBytes: Buffer.byteLength(bareCode),
      webhookMedianMs: median(webhookMs),
      bareMedianMs: median(bareMs),
    };
    return {
      figures: [
        figure(
          "3 cold start: bundle size",
          detail.webhookBytes / 1024,
          detail.bareBytes / 1024,
          "KiB",
          undefined,
          "bundleFunction(WEBHOOK_ENTRY) against the bare entry with the same esbuild options",
        ),
        figure(
          "3 cold start: load + ping (median)",
          detail.webhookMedianMs,
          detail.bareMedianMs,
          "ms",
          1.3,
          `${runs} fresh node processes each, alternating; from process start to the handler's answer`,
        ),
      ],
      detail,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
