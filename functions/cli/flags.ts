/** Command-line flags: the sets the commands share, and parsing that turns mistakes into usage errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliError, UsageError } from "./io.js";

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** Where the names come from when they are not given: the stack's outputs. */
export const NAME_FLAGS = {
  stack: { type: "string" },
  service: { type: "string" },
  "source-pipeline": { type: "string" },
  repository: { type: "string" },
  repositories: { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

export const GITHUB_FLAGS = {
  "github-token": { type: "string" },
  "github-api-url": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

/** For the commands that only read (list, cost): no --verbose, they have nothing more to say. */
export const JSON_FLAGS = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

export const OUTPUT_FLAGS = {
  ...JSON_FLAGS,
  verbose: { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;

export const NAME_HELP = `  --stack <name>              the Pulumi stack whose outputs name the resources
  --service <name>            one service of the stack's services output (default: every service)
  --source-pipeline <name>    the source pipeline (default: the stack output services, or else
                              sourcePipelineName)`;
export const REPOSITORY_HELP = `  --repositories <a,b,...>    the pull request tier's ECR repositories (default: the stack output
                              prRepositoryNames, or else the repository of repositoryUri)
  --repository <name>         one such repository (may be combined with --repositories)`;
export const GITHUB_HELP = `  --github-token <token>      a GitHub token (default: GITHUB_TOKEN)
  --github-api-url <url>      GitHub's API, for GitHub Enterprise (default: GITHUB_API_URL or api.github.com)`;
export const JSON_HELP = `  --json                      print JSON for scripts (no progress indicator)
  -h, --help                  show this help`;
export const OUTPUT_HELP = `  --json                      print JSON for scripts (no progress indicator)
  --verbose                   print every error (without it: the first 10 and how many more), and
                              log on stderr the pull requests that failed or were left alone
  -h, --help                  show this help`;

/** Flags whose value must be an absolute http(s) URL, checked as soon as they are parsed. */
const URL_FLAGS = ["github-api-url", "dead-letter-queue-url", "delivery-queue-url"];

/**
 * The command's flags, or a `UsageError` (exit 2, a hint to `branchline <command> --help`) for an
 * unknown flag, a missing value or a URL flag that is not an absolute http(s) URL.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  command: string,
) {
  const values = parse(argv, options, command);
  for (const flag of URL_FLAGS) {
    const value = (values as Record<string, unknown>)[flag];
    if (typeof value === "string") {
      const problem = urlProblem(value);
      if (problem) throw new UsageError(`--${flag} ${problem}`, command);
    }
  }
  return values;
}

function parse<const O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  command: string,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), command);
  }
}

/** Why `value` is not an absolute http(s) URL, or `undefined` when it is one. */
export function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be an absolute http(s) URL, got ${JSON.stringify(value)}`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return `must be an http(s) URL, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** node:util parseArgs's messages, shortened to one line in the CLI's words. */
function parseErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1];
  const positional = /^Unexpected argument '(.*)'\./.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) return `unknown option ${flag}`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && positional !== undefined) {
    return `unexpected argument ${JSON.stringify(positional)}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    if (/argument missing/.test(message)) return `${flag} needs a value`;
    if (/does not take an argument/.test(message)) return `${flag} takes no value`;
    if (/ambiguous/.test(message)) {
      return `${flag} needs a value (for a value starting with a dash, write ${flag}=-value)`;
    }
  }
  return message.split("\n")[0] ?? message;
}

/** The GitHub token and API URL: flags first, then GITHUB_TOKEN and GITHUB_API_URL. */
export function gitHubAccess(
  values: { "github-token"?: string | undefined; "github-api-url"?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): { token: string | undefined; apiUrl: string | undefined } {
  const apiUrl = values["github-api-url"] || env["GITHUB_API_URL"] || undefined;
  // The flag is checked when parsed; the variable here, before any call.
  const problem = apiUrl === undefined ? undefined : urlProblem(apiUrl);
  if (problem) {
    throw new CliError(
      `GITHUB_API_URL ${problem}`,
      1,
      "set it to GitHub's API, e.g. https://github.example.com/api/v3, or unset it for api.github.com",
    );
  }
  return { token: values["github-token"] || env["GITHUB_TOKEN"] || undefined, apiUrl };
}
