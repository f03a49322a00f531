/**
 * The names a command works on: the source pipeline and the PR tier's ECR repositories. Flags win; a
 * name not given as a flag comes from the stack's outputs (`pulumi stack output --json`), read once.
 */
import { execFile } from "node:child_process";
import { CliError, type CliIo } from "./io.js";

export interface NameFlags {
  stack?: string | undefined;
  /** One service of the stack's `services` output (`--service`). */
  service?: string | undefined;
  sourcePipeline?: string | undefined;
  /** One repository (`--repository`). */
  repository?: string | undefined;
  /** Comma-separated repositories (`--repositories`). */
  repositories?: string | undefined;
}

export interface Names {
  sourcePipelineName: string;
  /** The repositories whose `pr-<n>` images go with a closed pull request (at least one). */
  repositoryNames: string[];
}

/**
 * Stack outputs the CLI reads (see infra/index.ts): `prRepositoryNames`, the PR tier's repositories,
 * when the stack has it; otherwise the one repository of `repositoryUri` (stacks from before the
 * two tiers, whose one repository held the pull requests' images too).
 */
const OUTPUT = {
  services: "services",
  reconcilerFunctionName: "reconcilerFunctionName",
  sourcePipelineName: "sourcePipelineName",
  prRepositoryNames: "prRepositoryNames",
  repositoryUri: "repositoryUri",
};
const PULUMI_TIMEOUT_MS = 60_000;

/**
 * One service a command works on. `name` is the service's name in the stack's `services` output;
 * `undefined` when the names came from `--source-pipeline` or the one-service outputs
 * (`sourcePipelineName`, `prRepositoryNames`), which keep today's output exactly.
 */
export interface CliService extends Names {
  name: string | undefined;
}

/**
 * The services a command works on: from `--source-pipeline` (one, unnamed), or from the stack's
 * `services` output (every service, or the one `--service` picks), or else from the one-service
 * outputs. With `repositories: false` (list, cost) the repositories are not looked up and are empty.
 */
export async function resolveServices(
  io: CliIo,
  flags: NameFlags,
  options: { repositories: boolean },
): Promise<CliService[]> {
  if (flags.sourcePipeline) {
    if (flags.service) {
      throw new CliError(
        "--service picks a service of the stack's services output: not with --source-pipeline",
        2,
      );
    }
    const names = options.repositories
      ? await resolveNames(io, flags)
      : { sourcePipelineName: flags.sourcePipeline, repositoryNames: [] };
    return [{ name: undefined, ...names }];
  }
  const given = options.repositories ? repositoryFlags(flags) : [];
  const missing = [
    "--source-pipeline",
    ...(options.repositories && given.length === 0 ? ["--repository"] : []),
  ];
  const outputs = await stackOutputs(io, flags, missing);
  const table = stackServices(outputs);
  if (table === undefined) {
    if (flags.service) {
      throw new CliError(
        `unknown service ${JSON.stringify(flags.service)}: the stack has no services output (a one-service stack from before it)`,
        2,
      );
    }
    return [
      {
        name: undefined,
        sourcePipelineName: outputString(outputs, OUTPUT.sourcePipelineName, "--source-pipeline"),
        repositoryNames: !options.repositories
          ? []
          : given.length > 0
            ? given
            : stackRepositories(outputs),
      },
    ];
  }
  let picked = table;
  if (flags.service) {
    picked = table.filter((service) => service.name === flags.service);
    if (picked.length === 0) {
      throw new CliError(
        `unknown service ${JSON.stringify(flags.service)}: the stack's services are ${table.map((service) => service.name).join(", ")}`,
        2,
      );
    }
  }
  if (given.length > 0) {
    const [only] = picked;
    if (picked.length !== 1 || only === undefined) {
      throw new CliError(
        `--repository and --repositories name one service's repositories: pass --service too (the stack's services are ${table.map((service) => service.name).join(", ")})`,
        2,
      );
    }
    return [{ ...only, repositoryNames: given }];
  }
  return options.repositories
    ? picked
    : picked.map((service) => ({ ...service, repositoryNames: [] }));
}

/**
 * The `services` output (service name -> `{ pipelineName, prRepositoryNames, ... }`, see
 * infra/branchline.ts `ServiceOutput`), sorted by name; `undefined` when the stack has none.
 */
function stackServices(outputs: Record<string, unknown>): CliService[] | undefined {
  const value = outputs[OUTPUT.services];
  if (value === undefined) return undefined;
  const invalid = (detail: string) =>
    new CliError(
      `the stack output ${OUTPUT.services} ${detail}: pass --source-pipeline and --repositories`,
    );
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("is not an object of services");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw invalid("names no service");
  return entries
    .map(([name, raw]): CliService => {
      const entry = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
      const pipelineName = entry["pipelineName"];
      const repositories = entry["prRepositoryNames"];
      if (typeof pipelineName !== "string" || pipelineName === "") {
        throw invalid(`has no pipelineName for service ${name}`);
      }
      if (
        !Array.isArray(repositories) ||
        repositories.length === 0 ||
        !repositories.every((item: unknown) => typeof item === "string" && item !== "")
      ) {
        throw invalid(`has no list of prRepositoryNames for service ${name}`);
      }
      return {
        name,
        sourcePipelineName: pipelineName,
        repositoryNames: [...new Set(repositories as string[])],
      };
    })
    .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "", "en"));
}

/** The deployed reconciler's function name, from `--function` or the stack. */
export async function reconcilerFunctionName(
  io: CliIo,
  flags: NameFlags & { function?: string | undefined },
): Promise<string> {
  if (flags.function) return flags.function;
  const outputs = await stackOutputs(io, flags, ["--function"]);
  return outputString(outputs, OUTPUT.reconcilerFunctionName, "--function");
}

/** The source pipeline's name, from `--source-pipeline` or the stack. */
export async function sourcePipelineName(io: CliIo, flags: NameFlags): Promise<string> {
  if (flags.sourcePipeline) return flags.sourcePipeline;
  const outputs = await stackOutputs(io, flags, ["--source-pipeline"]);
  return outputString(outputs, OUTPUT.sourcePipelineName, "--source-pipeline");
}

/**
 * The names, from `--source-pipeline` and `--repository`/`--repositories` (both may be given: their
 * union) or the stack.
 */
export async function resolveNames(io: CliIo, flags: NameFlags): Promise<Names> {
  const given = repositoryFlags(flags);
  if (flags.sourcePipeline && given.length > 0) {
    return { sourcePipelineName: flags.sourcePipeline, repositoryNames: given };
  }
  const missing = [
    ...(flags.sourcePipeline ? [] : ["--source-pipeline"]),
    ...(given.length > 0 ? [] : ["--repository"]),
  ];
  const outputs = await stackOutputs(io, flags, missing);
  const sourcePipelineName =
    flags.sourcePipeline ?? outputString(outputs, OUTPUT.sourcePipelineName, "--source-pipeline");
  if (given.length > 0) return { sourcePipelineName, repositoryNames: given };
  // The repositories of the service whose pipeline it is, when the stack has the services output.
  const service = stackServices(outputs)?.find(
    (entry) => entry.sourcePipelineName === sourcePipelineName,
  );
  return {
    sourcePipelineName,
    repositoryNames: service ? service.repositoryNames : stackRepositories(outputs),
  };
}

function repositoryFlags(flags: NameFlags): string[] {
  const names = [
    ...(flags.repository ? [flags.repository] : []),
    ...(flags.repositories ?? "").split(",").map((name) => name.trim()),
  ].filter((name) => name !== "");
  return [...new Set(names)];
}

/** `prRepositoryNames` when the stack has it, otherwise the repository of `repositoryUri`. */
function stackRepositories(outputs: Record<string, unknown>): string[] {
  const list = outputs[OUTPUT.prRepositoryNames];
  if (list === undefined) {
    return [repositoryNameOf(outputString(outputs, OUTPUT.repositoryUri, "--repository"))];
  }
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((name: unknown) => typeof name === "string" && name !== "")
  ) {
    throw new CliError(
      `the stack output ${OUTPUT.prRepositoryNames} is not a list of repository names: pass --repositories`,
    );
  }
  return [...new Set(list as string[])];
}

/**
 * The repository name in an ECR repository URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`):
 * everything after the host, which is the last path segment unless the name has slashes itself.
 */
export function repositoryNameOf(uri: string): string {
  const slash = uri.indexOf("/");
  const name = slash < 0 ? "" : uri.slice(slash + 1);
  if (!name) throw new CliError(`the stack output repositoryUri (${uri}) names no repository`);
  return name;
}

/**
 * The stack's outputs (`pulumi stack output --json`); `missing` names the flags that would have made
 * reading them unnecessary, for the error when they cannot be read.
 */
export async function stackOutputs(
  io: CliIo,
  flags: NameFlags,
  missing: string[],
): Promise<Record<string, unknown>> {
  const args = [
    "stack",
    "output",
    "--json",
    "--non-interactive",
    ...(flags.stack ? ["--stack", flags.stack] : []),
  ];
  const hint = `pass ${missing.join(" and ")}`;
  let stdout: string;
  try {
    stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        "pulumi",
        args,
        {
          cwd: io.cwd ?? process.cwd(),
          env: io.env,
          timeout: PULUMI_TIMEOUT_MS,
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, out, err) => {
          if (error) reject(Object.assign(error, { stderrText: String(err) }));
          else resolve(String(out));
        },
      );
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") {
      throw new CliError(
        `the Pulumi CLI was not found, so the stack outputs could not be read: ${hint}`,
      );
    }
    const detail = firstLine((error as { stderrText?: string }).stderrText) ?? String(error);
    throw new CliError(
      `pulumi stack output failed (${detail}): ${hint}, or pick the stack with --stack`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new CliError(`pulumi stack output did not print JSON: ${hint}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`pulumi stack output did not print an object of outputs: ${hint}`);
  }
  return parsed as Record<string, unknown>;
}

function outputString(outputs: Record<string, unknown>, name: string, flag: string): string {
  const value = outputs[name];
  if (typeof value !== "string" || value === "") {
    throw new CliError(`the stack has no output ${name}: pass ${flag}`);
  }
  return value;
}

function firstLine(text: string | undefined): string | undefined {
  return text
    ?.split("\n")
    .map((part) => part.trim())
    .find((part) => part !== "");
}
