/** Command-line flags: the sets the commands share, and parsing that turns mistakes into usage errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./io.js";

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

export const OUTPUT_FLAGS = {
  json: { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
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
export const OUTPUT_HELP = `  --json                      print JSON for scripts (no progress indicator)
  --verbose                   log what the shared code does, on stderr
  -h, --help                  show this help`;

export function parseFlags<const O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  usage: string,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
}

/** The GitHub token and API URL: flags first, then GITHUB_TOKEN and GITHUB_API_URL. */
export function gitHubAccess(
  values: { "github-token"?: string | undefined; "github-api-url"?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
): { token: string | undefined; apiUrl: string | undefined } {
  return {
    token: values["github-token"] || env["GITHUB_TOKEN"] || undefined,
    apiUrl: values["github-api-url"] || env["GITHUB_API_URL"] || undefined,
  };
}
