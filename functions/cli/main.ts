/**
 * The operator CLI, `npx branchline <command>`. `run` takes its streams, environment and clock as
 * arguments and returns the exit code, so tests drive it in-process; `main` wires it to the process.
 *
 * Exit codes: 0 done, 1 failed (or the work reported errors), 2 wrong command line.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isCredentialsError, isRejectedCredentials, NO_CREDENTIALS_MESSAGE } from "./aws.js";
import { COST_USAGE, costCommand } from "./cost.js";
import { DLQ_USAGE, dlqCommand } from "./dlq.js";
import { CliError, helpHint, line, type CliIo } from "./io.js";
import { networkFailure } from "./network.js";
import { LIST_USAGE, listCommand } from "./list.js";
import { PRUNE_USAGE, pruneCommand } from "./prune.js";
import { SERVE_USAGE, serveCommand } from "./serve.js";
import { SYNC_USAGE, syncCommand } from "./sync.js";

export type { CliIo, CliOutput } from "./io.js";

interface Command {
  summary: string;
  usage: string;
  run: (argv: string[], io: CliIo) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  list: {
    summary: "list the managed clones: PR, branch, last execution, age",
    usage: LIST_USAGE,
    run: listCommand,
  },
  sync: { summary: "run the reconciler now", usage: SYNC_USAGE, run: syncCommand },
  prune: {
    summary: "delete the clones and pr- images of closed pull requests",
    usage: PRUNE_USAGE,
    run: pruneCommand,
  },
  cost: {
    summary: "estimate the clones' monthly CodePipeline cost",
    usage: COST_USAGE,
    run: costCommand,
  },
  serve: {
    summary: "serve the webhook handler on a local port (for a tunnel)",
    usage: SERVE_USAGE,
    run: serveCommand,
  },
  dlq: {
    summary: "list or redrive the delivery queue's dead-letter queue",
    usage: DLQ_USAGE,
    run: dlqCommand,
  },
};

export const USAGE = `Usage: branchline <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(8)}${command.summary}`)
  .join("\n")}

Names come from flags (--source-pipeline, --repository) or from the Pulumi stack's outputs
(pulumi stack output, --stack to pick one): list, sync, prune and cost cover every service of the
stack's services output, --service picks one. AWS credentials come from the AWS SDK's default chain
(AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, ...); the GitHub token from --github-token or GITHUB_TOKEN.

Run \`branchline <command> --help\` for a command's options, \`branchline --version\` for the version.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(USAGE);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic =
      name === "help" && rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0])
        ? COMMANDS[rest[0]]
        : undefined;
    io.stdout.write(topic?.usage ?? USAGE);
    return 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    line(io.stdout, `branchline ${version()}`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!command) {
      throw new CliError(`unknown command ${JSON.stringify(name)}`, 2, helpHint());
    }
    return await command.run(rest, io);
  } catch (error) {
    return report(error, io);
  }
}

/**
 * One line, `branchline: error: <message>`, and at most one `hint: ...` line; the stack only with
 * BRANCHLINE_DEBUG set.
 */
function report(error: unknown, io: CliIo): number {
  let message: string;
  let hint: string | undefined;
  const unreachable = networkFailure(error);
  if (error instanceof CliError) {
    message = error.message;
    hint = error.hint;
  } else if (isCredentialsError(error)) message = NO_CREDENTIALS_MESSAGE;
  else if (isRejectedCredentials(error)) {
    message = `AWS refused the credentials (${(error as Error).name})`;
    hint = "refresh them (aws sso login, aws configure) or set AWS_PROFILE";
  } else if (error instanceof Error && error.name === "AbortError") message = "interrupted";
  else if (unreachable) {
    message = unreachable;
    hint = "check the network, a proxy or VPN, and the endpoint's URL";
  } else message = error instanceof Error ? error.message : String(error);
  line(io.stderr, `branchline: error: ${message}`);
  if (hint) line(io.stderr, `hint: ${hint}`);
  if (io.env["BRANCHLINE_DEBUG"] && error instanceof Error && error.stack) {
    line(io.stderr, error.stack);
  }
  return error instanceof CliError ? error.exitCode : 1;
}

/**
 * The version in branchline's package.json, read when asked (the CLI runs from the repository, see
 * bin.cjs): the nearest package.json named branchline above this file, so that a bundle that keeps
 * the file next to it still finds it.
 */
export function version(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (parsed.name === "branchline" && typeof parsed.version === "string") {
        return parsed.version;
      }
    } catch {
      // no package.json here (or not JSON): look further up
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

/** The process entry (functions/cli/bin.cjs): Ctrl-C stops `serve` and aborts calls in flight. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  process.once("SIGINT", () => {
    controller.abort();
    // A second Ctrl-C does not wait.
    process.once("SIGINT", () => process.exit(130));
  });
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  });
}
