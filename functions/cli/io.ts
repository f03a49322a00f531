/**
 * What a CLI run talks to: its output streams, environment, working directory and clock, all
 * injected so that tests drive `run` in-process. Also the text helpers every command shares: tables,
 * ages, a progress indicator and the errors that carry an exit code.
 */
import type { Logger } from "../app/ports.js";

export interface CliOutput {
  write(chunk: string): unknown;
  /** A terminal: only then is a progress indicator drawn. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  /**
   * branchline's own variables (GITHUB_TOKEN, GITHUB_API_URL, WEBHOOK_SECRET, PATH for the Pulumi
   * CLI). The AWS SDK reads its variables (AWS_PROFILE, AWS_REGION, ...) from the process.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Where `pulumi stack output` runs (default: the process's working directory). */
  cwd?: string;
  /** The clock for ages and the cost window (default: the system clock). */
  now?: () => Date;
  /** Aborts in-flight calls; `serve` stops when it is aborted. */
  signal?: AbortSignal;
  /** Waits between polls (`dlq redrive --wait`); default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** How `serve` learns that the process that started it went away (default: process.ppid). */
  parentCheck?: ParentCheck;
}

export interface ParentCheck {
  /** False once the parent process is gone. */
  alive: () => boolean;
  /** How often to ask. */
  everyMs: number;
}

/** `io.sleep`, or a timer that ends early (without error) when the run is aborted. */
export function sleeper(io: CliIo): (ms: number) => Promise<void> {
  if (io.sleep) return io.sleep;
  return (ms) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        io.signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      io.signal?.addEventListener("abort", done, { once: true });
    });
}

/**
 * An error meant for the operator: printed as `branchline: error: <message>`, never with a stack
 * trace, and at most one `hint: <hint>` line after it.
 */
export class CliError extends Error {
  override readonly name: string = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Wrong command line: exit code 2, with a hint to the command's `--help` (not the whole usage). */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  constructor(message: string, command?: string) {
    super(message, 2, helpHint(command));
  }
}

/** `run 'branchline list --help' for its options`, or the commands' list without a command. */
export function helpHint(command?: string): string {
  return command === undefined
    ? "run 'branchline --help' for the commands"
    : `run 'branchline ${command} --help' for its options`;
}

export function line(out: CliOutput, text = ""): void {
  out.write(`${text}\n`);
}

export function printJson(out: CliOutput, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [render(headers), ...rows.map(render)].map((text) => `${text}\n`).join("");
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** `45m`, `5h`, `12d`: the largest whole unit, rounded down. */
export function formatAge(ms: number): string {
  if (ms < HOUR) return `${Math.max(0, Math.floor(ms / MINUTE))}m`;
  if (ms < 2 * DAY) return `${Math.floor(ms / HOUR)}h`;
  return `${Math.floor(ms / DAY)}d`;
}

export function formatNumbers(numbers: number[]): string {
  return numbers.length === 0 ? "-" : numbers.map((n) => `#${n}`).join(", ");
}

/** Errors a summary prints before `... and N more` (all of them with --verbose or --json). */
export const ERRORS_SHOWN = 10;

/**
 * A summary's error list, one `  - <error>` line each: the first `ERRORS_SHOWN` and a count of the
 * rest, or every one with `all` (--verbose).
 */
export function printErrors(
  out: (text: string) => void,
  errors: readonly string[],
  all: boolean,
): void {
  const shown = all ? errors : errors.slice(0, ERRORS_SHOWN);
  for (const error of shown) out(`  - ${error}`);
  if (shown.length < errors.length) {
    out(`  ... and ${errors.length - shown.length} more (run with --verbose)`);
  }
}

export interface Progress {
  update(text: string): void;
  stop(): void;
}

const FRAMES = ["|", "/", "-", "\\"];
const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined };

/**
 * A spinner with a status text on stderr, redrawn in place. Drawn only on a terminal and never with
 * `--json`, so that scripts and tests see clean output.
 */
export function startProgress(io: CliIo, json: boolean, text: string): Progress {
  if (json || io.stderr.isTTY !== true) return NO_PROGRESS;
  let frame = 0;
  let current = text;
  const draw = () => {
    io.stderr.write(`\r${FRAMES[frame % FRAMES.length]} ${current}\x1b[K`);
    frame++;
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    update(next) {
      current = next;
      draw();
    },
    stop() {
      clearInterval(timer);
      io.stderr.write("\r\x1b[K");
    },
  };
}

/** Log lines of the shared code on stderr, only with `--verbose`. */
export function cliLogger(io: CliIo, verbose: boolean): Logger {
  const write =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (!verbose) return;
      const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
      line(io.stderr, `${level}: ${message}${extra}`);
    };
  return { info: write("info"), warn: write("warn"), error: write("error") };
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of `items`. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      results[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
