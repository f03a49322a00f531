/**
 * `npm run synth -- --stack dev`: runs the Pulumi program under mocks (no credentials, no CLI) with the
 * configuration in Pulumi.<stack>.yaml and prints every resource (type, name, key properties, IAM
 * statements) as text, so infrastructure changes can be reviewed in a pull request, like `cdk synth`.
 * Secrets are never decrypted: they print as [secret].
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import {
  BUNDLE_FILE,
  bundleFunctions,
  bundlePreviews,
  functionArchives,
  PREVIEW_FUNCTIONS,
  PREVIEWS_FILE,
} from "./bundle";
import { CONFIG_NAMESPACE, loadConfig } from "./config";
import { createBranchline } from "./program";
import type { PolicyDocument, PolicyStatement } from "./policies";
import {
  archiveFileText,
  MOCK_ACCOUNT,
  MOCK_REGION,
  runWithConfig,
  unwrap,
  type RecordedResource,
} from "../test/helpers/pulumi-mocks";

const ROOT = path.join(__dirname, "..");
const SECRET_KEYS = ["webhookSecret", "githubToken", "githubRegistrationToken", "githubApp"];
const PLACEHOLDER = "synth-placeholder";
/** What a secure value nested in an object key stands for (the App's key must look like a PEM). */
const NESTED_PLACEHOLDERS: Readonly<Record<string, string>> = {
  privateKey: "-----BEGIN RSA PRIVATE KEY-----\nsynth-placeholder\n-----END RSA PRIVATE KEY-----",
};

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && "secure" in value;
}

/** `value` with every nested secure value replaced by a placeholder (never decrypted). */
function withoutSecrets(value: unknown, key: string): unknown {
  if (isSecure(value)) return NESTED_PLACEHOLDERS[key] ?? PLACEHOLDER;
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, key));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([name, item]) => [name, withoutSecrets(item, name)]),
    );
  }
  return value;
}

// Wire-form signatures of special values in resource inputs (see @pulumi/pulumi runtime/rpc).
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";

const USAGE = "usage: synth [--stack <name>] [--file <stack file>]";

/** `--stack` names the stack; `--file` reads its configuration from another file than Pulumi.<stack>.yaml. */
export function parseArgs(argv: string[]): { stack: string; file?: string } {
  let stack = "dev";
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--stack" || arg === "-s") stack = argv[++i] ?? "";
    else if (arg?.startsWith("--stack=")) stack = arg.slice("--stack=".length);
    else if (arg === "--file") file = argv[++i] ?? "";
    else if (arg?.startsWith("--file=")) file = arg.slice("--file=".length);
    else throw new Error(`synth: unknown argument ${arg ?? ""} (${USAGE})`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new Error(`synth: invalid stack name ${stack}`);
  if (file === "") throw new Error(`synth: --file needs a path (${USAGE})`);
  return file === undefined ? { stack } : { stack, file };
}

/** The stack's configuration from Pulumi.<stack>.yaml, secrets replaced by a placeholder. */
export function readStackConfig(file: string): {
  config: Record<string, string | object>;
  notes: string[];
} {
  const document = (parse(readFileSync(file, "utf8")) ?? {}) as {
    config?: Record<string, unknown>;
  };
  const config: Record<string, string | object> = {};
  const notes: string[] = [];
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, value] of Object.entries(document.config ?? {})) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (isSecure(value)) {
      config[key] = PLACEHOLDER;
    } else if (typeof value === "object" && value !== null) {
      config[key] = withoutSecrets(value, key) as object;
    } else {
      config[key] = String(value);
    }
  }
  if (config["webhookSecret"] === undefined) {
    config["webhookSecret"] = PLACEHOLDER;
    notes.push(
      `${prefix}webhookSecret is not set in ${path.basename(file)}: synth uses a placeholder; pulumi up needs it`,
    );
  }
  return { config, notes };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPolicyDocument(value: unknown): value is PolicyDocument {
  return isRecord(value) && Array.isArray(value["Statement"]);
}

function list(value: string | string[] | undefined): string {
  return value === undefined ? "" : Array.isArray(value) ? value.join(", ") : value;
}

function formatStatement(statement: PolicyStatement, indent: string): string[] {
  const lines = [
    `${indent}- ${statement.Sid ? `[${statement.Sid}] ` : ""}${statement.Effect} ${list(statement.Action)}`,
  ];
  if (statement.Principal !== undefined) {
    const principal =
      statement.Principal === "*"
        ? "*"
        : Object.entries(statement.Principal)
            .map(([kind, who]) => `${kind} ${list(who)}`)
            .join("; ");
    lines.push(`${indent}    principal: ${principal}`);
  }
  if (statement.Resource !== undefined) lines.push(`${indent}    on: ${list(statement.Resource)}`);
  for (const [operator, conditions] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(conditions)) {
      lines.push(`${indent}    when: ${operator} ${key} = ${list(expected)}`);
    }
  }
  return lines;
}

function formatValue(key: string, value: unknown, indent: string): string[] {
  if (isRecord(value) && value[SIG] === SECRET_SIG) return [`${indent}${key}: [secret]`];
  if (isRecord(value) && value["__pulumiArchive"] === true && !isRecord(value[SIG])) {
    return [`${indent}${key}: archive (a function bundle, see the header)`];
  }
  if (isRecord(value) && value[SIG] === ARCHIVE_SIG) {
    const assets = isRecord(value["assets"]) ? value["assets"] : {};
    const lines = [`${indent}${key}: archive`];
    for (const [file, asset] of Object.entries(assets)) {
      const text = isRecord(asset) && asset[SIG] === ASSET_SIG ? asset["text"] : undefined;
      lines.push(
        typeof text === "string"
          ? `${indent}  ${file}: ${Buffer.byteLength(text)} bytes, sha256 ${createHash("sha256").update(text).digest("hex")}`
          : `${indent}  ${file}: asset`,
      );
    }
    return lines;
  }
  if (typeof value === "string") {
    if (value.startsWith("{")) {
      try {
        const parsed = JSON.parse(value) as unknown;
        if (isPolicyDocument(parsed)) {
          return [
            `${indent}${key}: policy document`,
            ...parsed.Statement.flatMap((s) => formatStatement(s, `${indent}  `)),
          ];
        }
        return [
          `${indent}${key}:`,
          ...JSON.stringify(parsed, null, 2)
            .split("\n")
            .map((l) => `${indent}  ${l}`),
        ];
      } catch {
        // Not JSON: printed as text below.
      }
    }
    if (value.includes("\n")) {
      const lines = value.split("\n").length;
      const digest = createHash("sha256").update(value).digest("hex");
      return [`${indent}${key}: ${lines} lines, sha256 ${digest}`];
    }
    return [`${indent}${key}: ${value}`];
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) {
      return [`${indent}${key}: [${value.map((v) => String(v)).join(", ")}]`];
    }
    return value.flatMap((item, index) => formatValue(`${key}[${index}]`, item, indent));
  }
  if (isRecord(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${indent}${key}: {}`];
    return [`${indent}${key}:`, ...entries.flatMap(([k, v]) => formatValue(k, v, `${indent}  `))];
  }
  return [`${indent}${key}: ${String(value)}`];
}

/**
 * Replaces every asset archive among a resource's inputs by a line naming the bundle it carries (the
 * mocks receive archives whose contents are promises, which the synchronous formatter cannot read).
 */
function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function describeArchives(
  resource: RecordedResource,
  bundles: Record<string, string>,
): Promise<RecordedResource> {
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource.inputs)) {
    const text = await archiveFileText(value, BUNDLE_FILE);
    if (text === undefined) {
      inputs[key] = value;
      continue;
    }
    const name = Object.entries(bundles).find(([, bundle]) => bundle === text)?.[0];
    const previews = await archiveFileText(value, PREVIEWS_FILE);
    inputs[key] =
      `archive: ${BUNDLE_FILE}, ${name === undefined ? "" : `the ${name} bundle, `}sha256 ${sha256(text)}` +
      (previews === undefined ? "" : `; ${PREVIEWS_FILE}, sha256 ${sha256(previews)}`);
  }
  return { ...resource, inputs };
}

export function formatResource(resource: RecordedResource): string[] {
  const lines = [`${resource.type}  ${resource.name}`];
  for (const [key, value] of Object.entries(resource.inputs)) {
    lines.push(...formatValue(key, value, "    "));
  }
  return lines;
}

export async function synth(stack: string, stackFile?: string): Promise<string> {
  const file =
    stackFile === undefined ? path.join(ROOT, `Pulumi.${stack}.yaml`) : path.resolve(stackFile);
  if (!existsSync(file)) {
    throw new Error(`synth: no ${path.basename(file)} in ${path.dirname(file)}`);
  }
  const { config, notes } = readStackConfig(file);
  const bundles = bundleFunctions();
  const previews = bundlePreviews();
  const { result, resources } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), functionArchives(bundles, previews)),
    SECRET_KEYS,
  );
  const out = [
    `# branchline synth: stack ${stack} (${path.basename(file)}), under mocks`,
    `# account ${MOCK_ACCOUNT} and region ${MOCK_REGION} are placeholders; names AWS generates end in -0000000`,
    ...Object.entries(bundles).map(
      ([name, bundle]) =>
        `# ${name} bundle (index.js): ${Buffer.byteLength(bundle)} bytes, sha256 ${sha256(bundle)}`,
    ),
    `# previews bundle (${PREVIEWS_FILE}, in the ${PREVIEW_FUNCTIONS.join(", ")} archives): ${Buffer.byteLength(previews)} bytes, sha256 ${sha256(previews)}`,
    ...notes.map((note) => `# note: ${note}`),
    `# ${resources.length} resources`,
    "",
  ];
  // Sorted by name, so that the text does not depend on the order of registration.
  const sorted = [...resources].sort(
    (a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type),
  );
  for (const resource of sorted) {
    out.push(...formatResource(await describeArchives(resource, bundles)), "");
  }
  out.push("Outputs");
  for (const [name, output] of Object.entries(result)) {
    const value = await unwrap(output);
    const text =
      typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    out.push(`    ${name}: ${text}`);
  }
  return `${out.join("\n")}\n`;
}

if (require.main === module) {
  Promise.resolve()
    .then(() => {
      const args = parseArgs(process.argv.slice(2));
      return synth(args.stack, args.file);
    })
    .then(
      (text) => {
        process.stdout.write(text);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
}
