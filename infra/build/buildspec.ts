/**
 * Renders templates/buildspec.yml for the configured images.
 *
 * The template is a YAML document whose install phase holds the line `@@BUILD_SCRIPT@@`; the
 * renderer replaces it with the rendered configuration (shell variables `BL_*`, every value
 * shell-quoted) followed by templates/buildspec-lib.sh, adds `env.secrets-manager` when a second
 * registry is configured (not when rendered for the pull-request tier), and lists the deploy files
 * under `artifacts.files`.
 *
 * Repositories and tags (one ECR repository per image: image `<name>` goes to
 * `$REPOSITORY_PREFIX/<name>`; `<sha7>` = first 7 hex digits of `CODEBUILD_RESOLVED_SOURCE_VERSION`):
 * - source tier (`BRANCHLINE_TIER=source`, `IMAGE_TAG_PREFIX` unset or empty): `<sha7>` and `latest`;
 * - pull-request tier (`BRANCHLINE_TIER=pull-request`, `IMAGE_TAG_PREFIX` = `pr-<n>`, set by the
 *   clone's build action): `pr-<n>-<sha7>` and `pr-<n>`; never `latest`;
 * - a pull-request build without `IMAGE_TAG_PREFIX`, or a source build with it, fails before docker
 *   runs (see {@link BUILDSPEC_ENVIRONMENT});
 * - layer cache: inline, in the pushed images (see {@link BUILD_CACHE_MODE});
 * - the second registry is pushed to by the source tier only.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument, isScalar, isSeq } from "yaml";
import { IMAGE_TAG_PREFIX_VARIABLE } from "../../functions/shared/names";

export interface ImageSpec {
  /**
   * Image name: the image's repository is `<prefix>/<name>` (source tier) or `<prefix>-pr/<name>`
   * (pull-request tier), so it must be a lower-case ECR repository name component (see
   * {@link IMAGE_NAME_PATTERN}). Default container name.
   */
  name: string;
  /** Docker build context, relative to the repository root. */
  context: string;
  /** Dockerfile path relative to the repository root; default `<context>/Dockerfile`. */
  dockerfile?: string;
  /** Container name written to imagedefinitions.json; default `name`. */
  container?: string;
}

/** A registry the images are pushed to as well, with the same tags. */
export interface SecondRegistry {
  /** Registry host and namespace, e.g. `docker.io/myorg` or `ghcr.io/myorg`. */
  registry: string;
  /**
   * Secrets Manager secret (ARN) holding JSON `{"username": ..., "password": ...}`. The CodeBuild
   * role needs `secretsmanager:GetSecretValue` on it.
   */
  credentialsSecretArn: string;
  /**
   * Repository under `registry` (one image only); default: the image name, as in ECR
   * (`<registry>/<name>`). With several images each goes to `<registry>/<name>`.
   */
  repository?: string;
}

export interface BuildspecOptions {
  images: ImageSpec[];
  /** `--build-arg KEY=VALUE` for every image. Not secret: the values appear in the build log. */
  buildArgs?: Record<string, string>;
  /** Build every layer from scratch and neither read nor write the registry layer cache. */
  noCache?: boolean;
  /** Also write imageDetail.json (first image) for the ECS blue/green (CodeDeploy) deploy action. */
  blueGreen?: boolean;
  /** Push the images to this registry too (source tier builds only). */
  secondRegistry?: SecondRegistry;
  /**
   * The tier of the project the buildspec is rendered for. Unset: either, as `BRANCHLINE_TIER` says at
   * run time. `"pull-request"`: the buildspec has no `env.secrets-manager` section (the pull-request
   * tier's role cannot read the second registry's secret, and CodeBuild would fail the build fetching
   * it); render the pull-request project's buildspec so whenever a second registry is configured. Set,
   * the build fails when the project's `BRANCHLINE_TIER` differs.
   */
  tier?: BuildTier;
}

/** The trust tiers a build runs in (`BRANCHLINE_TIER`). */
export const BUILD_TIERS = ["source", "pull-request"] as const;
export type BuildTier = (typeof BUILD_TIERS)[number];

/**
 * Project-level environment variables the buildspec needs and each CodeBuild project must set:
 * - `BRANCHLINE_TIER`: `source` or `pull-request` ({@link BUILD_TIERS}). A pull-request build needs
 *   `IMAGE_TAG_PREFIX` = `pr-<n>` and a source build must not have it; otherwise the build fails
 *   before docker runs.
 * - `REPOSITORY_PREFIX`: `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>` (source project) or
 *   `.../<prefix>-pr` (pull-request project); image `<name>` is pushed to `$REPOSITORY_PREFIX/<name>`.
 * - `CACHE_REPOSITORY_PREFIX`: the source tier's prefix in both projects (same registry): a
 *   pull-request build reads `$CACHE_REPOSITORY_PREFIX/<name>:latest` as its layer cache. In the
 *   source tier it must equal `REPOSITORY_PREFIX`; in the pull-request tier it must differ from it and
 *   is required unless `noCache`.
 * CodeBuild itself provides `AWS_DEFAULT_REGION`, `CODEBUILD_RESOLVED_SOURCE_VERSION` and
 * `CODEBUILD_BUILD_SUCCEEDING` (see {@link CODEBUILD_PROVIDED_ENVIRONMENT}); a clone's build action sets
 * `IMAGE_TAG_PREFIX` (see {@link IMAGE_TAG_PREFIX_ENVIRONMENT}); the secrets come from the buildspec's
 * own `env.secrets-manager` (see {@link SECOND_REGISTRY_ENVIRONMENT}).
 */
export const BUILDSPEC_ENVIRONMENT = [
  "BRANCHLINE_TIER",
  "REPOSITORY_PREFIX",
  "CACHE_REPOSITORY_PREFIX",
] as const;

/** Variables CodeBuild sets on every build that the buildspec reads. */
export const CODEBUILD_PROVIDED_ENVIRONMENT = [
  "AWS_DEFAULT_REGION",
  "CODEBUILD_RESOLVED_SOURCE_VERSION",
  "CODEBUILD_BUILD_SUCCEEDING",
] as const;

/** Action-level variable of a clone's build (`pr-<n>`), required in the pull-request tier. */
export const IMAGE_TAG_PREFIX_ENVIRONMENT = IMAGE_TAG_PREFIX_VARIABLE;

/**
 * Variables the buildspec's `env.secrets-manager` section fills when a second registry is set (never
 * in a buildspec rendered for the pull-request tier; a pull-request build unsets them in any case).
 */
export const SECOND_REGISTRY_ENVIRONMENT = {
  username: "SECOND_REGISTRY_USERNAME",
  password: "SECOND_REGISTRY_PASSWORD",
} as const;

/**
 * The layer cache is BuildKit's inline cache: each pushed image carries the cache of its final stage
 * (`--cache-to type=inline`), and a build reads it back from the image's moving tag in its own
 * repository (`--cache-from type=registry,ref=$REPOSITORY_PREFIX/<name>:latest`, or `:pr-<n>`) and, in
 * the pull-request tier, from the source image (`$CACHE_REPOSITORY_PREFIX/<name>:latest`). The build uses Docker's
 * default `docker` driver, so it creates no BuildKit container and pulls nothing from Docker Hub (an
 * anonymous `moby/buildkit` pull from CodeBuild's shared addresses fails with `toomanyrequests`). The
 * trade-off: inline cache holds the final stage only (mode=min), so the earlier stages of a
 * multi-stage build are reused only while the final stage's layers still match. The CodeBuild project
 * needs no CodeBuild cache (`NO_CACHE`), privileged mode with Docker Buildx, ECR push and pull on its
 * tier's repositories and, in the pull-request tier, pull on the source tier's.
 */
export const BUILD_CACHE_MODE = "inline" as const;

/** The files the build writes for the deploy actions. */
export const DEPLOY_FILES = {
  imageDefinitions: "imagedefinitions.json",
  imageDetail: "imageDetail.json",
} as const;

/** CodePipeline's limit on imagedefinitions.json for the ECS standard deploy action (100 KB). */
export const IMAGE_DEFINITIONS_MAX_BYTES = 100 * 1024;

const TEMPLATE_FILE = path.join(__dirname, "..", "..", "templates", "buildspec.yml");
const LIBRARY_FILE = path.join(__dirname, "..", "..", "templates", "buildspec-lib.sh");
const SCRIPT_PLACEHOLDER = "@@BUILD_SCRIPT@@";
const HEREDOC_END = "BRANCHLINE_BUILD_SCRIPT";

/**
 * An image name: one component of an ECR repository name (lower case; `.`, `_`, `-` only between
 * letters and digits), at most 64 characters. infra/config.ts checks the same pattern.
 */
export const IMAGE_NAME_PATTERN = /^(?=.{1,64}$)[a-z0-9]+([._-][a-z0-9]+)*$/;
const CONTAINER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const BUILD_ARG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
// Control characters (tab excepted) would break the log and the here-document the script is written by.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * The two tags of an image, as the buildspec computes them (see the scheme at the top): `<sha7>` and
 * `latest` in the source tier, `pr-<n>-<sha7>` and `pr-<n>` with the prefix `pr-<n>` (pull-request
 * tier). Every image of a build gets the same tags, each in its own repository.
 */
export function imageTags(run: { commit: string; prefix?: string }): {
  immutable: string;
  moving: string;
} {
  const sha7 = run.commit.toLowerCase().slice(0, 7);
  return run.prefix
    ? { immutable: `${run.prefix}-${sha7}`, moving: run.prefix }
    : { immutable: sha7, moving: "latest" };
}

/** Quotes a string for bash: single quotes, with each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function fail(message: string): never {
  throw new Error(`renderBuildspec: ${message}`);
}

function checkPath(image: string, what: string, value: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    fail(`image '${image}': ${what} must be a non-empty path relative to the repository root`);
  }
  const normalized = path.posix.normalize(value);
  if (
    path.posix.isAbsolute(value) ||
    normalized === ".." ||
    normalized.startsWith("../") ||
    value.startsWith("-") ||
    CONTROL.test(value)
  ) {
    fail(
      `image '${image}': ${what} '${value}' must be a path inside the repository (relative, no '..' out of it, no leading '-', no control characters)`,
    );
  }
  return value;
}

interface ResolvedImage {
  name: string;
  context: string;
  dockerfile: string;
  container: string;
}

function resolveImages(images: unknown): ResolvedImage[] {
  if (!Array.isArray(images) || images.length === 0) {
    fail("at least one image is required (options.images is empty)");
  }
  const names = new Set<string>();
  const containers = new Map<string, string>();
  const resolved = (images as ImageSpec[]).map((image, index) => {
    const name = image?.name;
    if (typeof name !== "string" || !IMAGE_NAME_PATTERN.test(name)) {
      fail(
        `image #${index + 1}: name '${String(name)}' is invalid: it names the image's ECR repository (1-64 characters: lower-case letters and digits, with '.', '_' or '-' only between them)`,
      );
    }
    if (names.has(name)) fail(`duplicate image name '${name}'`);
    names.add(name);
    const context = checkPath(name, "context", image.context);
    const dockerfile =
      image.dockerfile === undefined
        ? path.posix.join(context, "Dockerfile")
        : checkPath(name, "dockerfile", image.dockerfile);
    const container = image.container ?? name;
    if (!CONTAINER_NAME.test(container)) {
      fail(
        `image '${name}': container name '${container}' is invalid for ECS (1-255 letters, digits, '_', '-')` +
          (image.container === undefined ? "; set `container` explicitly" : ""),
      );
    }
    const other = containers.get(container);
    if (other !== undefined) {
      fail(`images '${other}' and '${name}' both use the container name '${container}'`);
    }
    containers.set(container, name);
    return { name, context, dockerfile, container };
  });
  return resolved;
}

function resolveBuildArgs(buildArgs: Record<string, string> | undefined): string[] {
  if (buildArgs === undefined) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(buildArgs)) {
    if (!BUILD_ARG_KEY.test(key)) {
      fail(`build argument key '${key}' is invalid (expected [A-Za-z_][A-Za-z0-9_]*)`);
    }
    if (typeof value !== "string") fail(`build argument '${key}': the value must be a string`);
    if (CONTROL.test(value)) {
      fail(`build argument '${key}': the value contains a newline or another control character`);
    }
    out.push("--build-arg", `${key}=${value}`);
  }
  return out;
}

function checkSecondRegistry(second: SecondRegistry, imageCount: number): void {
  if (typeof second.registry !== "string" || !REGISTRY.test(second.registry)) {
    fail(
      `secondRegistry.registry '${String(second.registry)}' is invalid (expected <host>[/<namespace>], lower case, e.g. docker.io/myorg)`,
    );
  }
  const host = second.registry.split("/")[0] ?? "";
  if (!host.includes(".") && !host.includes(":") && host !== "localhost") {
    fail(
      `secondRegistry.registry '${second.registry}' must start with the registry host (e.g. docker.io/myorg, not myorg)`,
    );
  }
  if (
    typeof second.credentialsSecretArn !== "string" ||
    !SECRET_ARN.test(second.credentialsSecretArn)
  ) {
    fail(
      `secondRegistry.credentialsSecretArn '${String(second.credentialsSecretArn)}' is not a Secrets Manager secret ARN`,
    );
  }
  if (second.repository !== undefined && !REPOSITORY.test(second.repository)) {
    fail(`secondRegistry.repository '${second.repository}' is not a valid repository name`);
  }
  if (second.repository !== undefined && imageCount > 1) {
    fail(
      `secondRegistry.repository '${second.repository}' names one repository, but there are ${imageCount} images: each goes to <registry>/<image name> (put a namespace in secondRegistry.registry instead)`,
    );
  }
}

function shellArray(values: string[]): string {
  return `(${values.map(shellQuote).join(" ")})`;
}

function renderConfig(
  options: BuildspecOptions,
  images: ResolvedImage[],
  buildArgs: string[],
): string {
  const second = options.secondRegistry;
  return [
    "# Rendered configuration.",
    `BL_RENDERED_TIER=${shellQuote(options.tier ?? "")}`,
    `BL_NO_CACHE=${options.noCache ? 1 : 0}`,
    `BL_BLUE_GREEN=${options.blueGreen ? 1 : 0}`,
    `BL_IMAGE_DEFINITIONS_MAX_BYTES=${IMAGE_DEFINITIONS_MAX_BYTES}`,
    `BL_TAG_PREFIX="\${${IMAGE_TAG_PREFIX_VARIABLE}:-}"`,
    `BL_IMAGE_NAMES=${shellArray(images.map((i) => i.name))}`,
    `BL_IMAGE_CONTEXTS=${shellArray(images.map((i) => i.context))}`,
    `BL_IMAGE_DOCKERFILES=${shellArray(images.map((i) => i.dockerfile))}`,
    `BL_IMAGE_CONTAINERS=${shellArray(images.map((i) => i.container))}`,
    `BL_BUILD_ARGS=${shellArray(buildArgs)}`,
    `BL_SECOND_REGISTRY=${shellQuote(second?.registry ?? "")}`,
    `BL_SECOND_REPOSITORY_NAME=${shellQuote(second?.repository ?? "")}`,
    "",
  ].join("\n");
}

/**
 * Renders the buildspec (a YAML string for the CodeBuild project's `source.buildspec`). Throws an
 * Error whose message starts with `renderBuildspec:` when the options are invalid.
 */
export function renderBuildspec(options: BuildspecOptions): string {
  const images = resolveImages(options?.images);
  const buildArgs = resolveBuildArgs(options.buildArgs);
  if (options.tier !== undefined && !BUILD_TIERS.includes(options.tier)) {
    fail(`tier '${String(options.tier)}' is neither 'source' nor 'pull-request'`);
  }
  if (options.secondRegistry !== undefined) {
    checkSecondRegistry(options.secondRegistry, images.length);
  }

  const script =
    renderConfig(options, images, buildArgs) + readFileSync(LIBRARY_FILE, "utf8").trimEnd();
  if (script.split("\n").some((line) => line.trim() === HEREDOC_END)) {
    fail(`the build script may not contain a line '${HEREDOC_END}'`);
  }

  const doc = parseDocument(readFileSync(TEMPLATE_FILE, "utf8"));
  const install = doc.getIn(["phases", "install", "commands", 0], true);
  if (!isScalar(install) || typeof install.value !== "string") {
    fail("templates/buildspec.yml: phases.install.commands[0] must be a string");
  }
  const lines = install.value.split("\n");
  const at = lines.indexOf(SCRIPT_PLACEHOLDER);
  if (at < 0) fail(`templates/buildspec.yml: no line ${SCRIPT_PLACEHOLDER} in the install phase`);
  lines.splice(at, 1, ...script.split("\n"));
  install.value = lines.join("\n");

  if (options.secondRegistry !== undefined && options.tier !== "pull-request") {
    const arn = options.secondRegistry.credentialsSecretArn;
    doc.setIn(["env", "secrets-manager"], {
      [SECOND_REGISTRY_ENVIRONMENT.username]: `${arn}:username`,
      [SECOND_REGISTRY_ENVIRONMENT.password]: `${arn}:password`,
    });
  }

  const files = doc.getIn(["artifacts", "files"], true);
  if (!isSeq(files)) fail("templates/buildspec.yml: artifacts.files must be a list");
  files.flow = false;
  files.items = [];
  files.add(DEPLOY_FILES.imageDefinitions);
  if (options.blueGreen) files.add(DEPLOY_FILES.imageDetail);

  return doc.toString({ lineWidth: 0 });
}
