/**
 * The names a command works on: the source pipeline and the ECR repository. Flags win; a name not
 * given as a flag comes from the stack's outputs (`pulumi stack output --json`), read once.
 */
import { execFile } from "node:child_process";
import { CliError, type CliIo } from "./io.js";

export interface NameFlags {
  stack?: string | undefined;
  sourcePipeline?: string | undefined;
  repository?: string | undefined;
}

export interface Names {
  sourcePipelineName: string;
  repositoryName: string;
}

/** Stack outputs the CLI reads (see infra/index.ts). */
const OUTPUT = { sourcePipelineName: "sourcePipelineName", repositoryUri: "repositoryUri" };
const PULUMI_TIMEOUT_MS = 60_000;

/** The source pipeline's name, from `--source-pipeline` or the stack. */
export async function sourcePipelineName(io: CliIo, flags: NameFlags): Promise<string> {
  if (flags.sourcePipeline) return flags.sourcePipeline;
  const outputs = await stackOutputs(io, flags, ["--source-pipeline"]);
  return outputString(outputs, OUTPUT.sourcePipelineName, "--source-pipeline");
}

/** Both names, from `--source-pipeline` and `--repository` or the stack. */
export async function resolveNames(io: CliIo, flags: NameFlags): Promise<Names> {
  if (flags.sourcePipeline && flags.repository) {
    return { sourcePipelineName: flags.sourcePipeline, repositoryName: flags.repository };
  }
  const missing = [
    ...(flags.sourcePipeline ? [] : ["--source-pipeline"]),
    ...(flags.repository ? [] : ["--repository"]),
  ];
  const outputs = await stackOutputs(io, flags, missing);
  return {
    sourcePipelineName:
      flags.sourcePipeline ?? outputString(outputs, OUTPUT.sourcePipelineName, "--source-pipeline"),
    repositoryName:
      flags.repository ??
      repositoryNameOf(outputString(outputs, OUTPUT.repositoryUri, "--repository")),
  };
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

async function stackOutputs(
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
