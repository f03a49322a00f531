/**
 * The operator CLI, `npx branchline <command>`. `run` takes its streams, environment and clock as
 * arguments and returns the exit code, so tests drive it in-process; `main` wires it to the process.
 *
 * Exit codes: 0 done, 1 failed (or the work reported errors), 2 wrong command line.
 */
import { isCredentialsError, isRejectedCredentials, NO_CREDENTIALS_MESSAGE } from "./aws.js";
import { COST_USAGE, costCommand } from "./cost.js";
import { CliError, line, UsageError, type CliIo } from "./io.js";
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

Run \`branchline <command> --help\` for a command's options.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(USAGE);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" && rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    io.stdout.write(topic?.usage ?? USAGE);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    line(io.stderr, `branchline: unknown command ${JSON.stringify(name)}`);
    line(io.stderr);
    io.stderr.write(USAGE);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    line(io.stderr, `branchline: ${error.message}`);
    line(io.stderr);
    io.stderr.write(error.usage);
    return error.exitCode;
  }
  let message: string;
  if (error instanceof CliError) message = error.message;
  else if (isCredentialsError(error)) message = NO_CREDENTIALS_MESSAGE;
  else if (isRejectedCredentials(error)) {
    message = `AWS refused the credentials (${(error as Error).name}): refresh them (aws sso login, aws configure) or set AWS_PROFILE`;
  } else if (error instanceof Error && error.name === "AbortError") message = "interrupted";
  else message = error instanceof Error ? error.message : String(error);
  line(io.stderr, `branchline: error: ${message}`);
  if (io.env["BRANCHLINE_DEBUG"] && error instanceof Error && error.stack) {
    line(io.stderr, error.stack);
  }
  return error instanceof CliError ? error.exitCode : 1;
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
