/** Runs the operator CLI in-process with captured output, an injected environment and clock. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type CliIo } from "../../functions/cli/main.js";

export interface CapturedOutput {
  text: string;
  isTTY?: boolean;
  write(chunk: string): boolean;
}

export function capture(isTTY = false): CapturedOutput {
  return {
    text: "",
    ...(isTTY ? { isTTY } : {}),
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  now?: Date;
  signal?: AbortSignal;
  stdout?: CapturedOutput;
  stderr?: CapturedOutput;
  cwd?: string;
  /** Replaces the waits between polls (`dlq redrive --wait`, `serve`'s parent check). */
  sleep?: (ms: number) => Promise<void>;
  /** Replaces `serve`'s check of its parent process. */
  parentCheck?: CliIo["parentCheck"];
}

/** A directory with nothing in it: as PATH, it hides every program (the Pulumi CLI among them). */
export function emptyDirectory(): string {
  return mkdtempSync(join(tmpdir(), "branchline-cli-"));
}

export async function runCli(argv: string[], options: CliOptions = {}): Promise<CliResult> {
  const stdout = options.stdout ?? capture();
  const stderr = options.stderr ?? capture();
  const io: CliIo = {
    stdout,
    stderr,
    env: options.env ?? { PATH: emptyDirectory() },
    ...(options.now ? { now: () => options.now as Date } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.parentCheck ? { parentCheck: options.parentCheck } : {}),
  };
  const code = await run(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
