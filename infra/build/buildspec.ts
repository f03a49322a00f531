/**
 * Renders templates/buildspec.yml for the configured images.
 *
 * The template is a YAML document whose install phase holds the line `@@BUILD_SCRIPT@@`; the
 * renderer replaces it with the rendered configuration (shell variables `BL_*`, every value
 * shell-quoted) followed by templates/buildspec-lib.sh, adds `env.secrets-manager` when a second
 * registry is configured, and lists the deploy files under `artifacts.files`.
 *
 * Tag scheme (one ECR repository per stack, `$REPOSITORY_URI`; `<sha7>` = first 7 hex digits of
 * `CODEBUILD_RESOLVED_SOURCE_VERSION`):
 * - source pipeline (`IMAGE_TAG_PREFIX` unset or empty): `<sha7>`, `latest` and `<name>-<sha7>`; with
 *   several images `<name>-<sha7>` and `<name>-latest`. Every source image thus carries a tag starting
 *   with `<name>-` ({@link sourceTagPrefix}), which the ECR lifecycle rules select;
 * - clone (`IMAGE_TAG_PREFIX` = `pr-<n>`): `pr-<n>-<sha7>` and `pr-<n>`; with several images
 *   `pr-<n>-<name>-<sha7>` and `pr-<n>-<name>`; never `latest`;
 * - layer cache: inline, in the pushed images (see {@link BUILD_CACHE_MODE}); earlier versions wrote
 *   `buildcache-<name>` and `pr-<n>-buildcache-<name>`.
 * Every tag a clone pushes is exactly `pr-<n>` or starts with `pr-<n>-`, so the pull request cleanup
 * removes all of them; image names `pr`, `pr-*` and `buildcache*` are refused so that no source tag
 * falls into that family or collides with a cache tag, and with several images no name may be another
 * name followed by `-` (`web` and `web-admin`), so that `<name>-` selects one image's tags only.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument, isScalar, isSeq } from "yaml";
import { IMAGE_TAG_PREFIX_VARIABLE } from "../../functions/shared/names";

export interface ImageSpec {
  /**
   * Image name. With one image it only names the layer cache (`buildcache-<name>`); with several
   * it prefixes the image's tags in the stack's single repository. Default container name.
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
  /** Repository under `registry`; default: the last path segment of the ECR repository name. */
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
  /** Push the images to this registry too. */
  secondRegistry?: SecondRegistry;
}

/**
 * Project-level environment variables the buildspec needs and the CodeBuild project must set.
 * `REPOSITORY_URI`: the stack's ECR repository URL (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`).
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

/** Action-level variable that marks a clone's build and prefixes its tags (`pr-<n>`). */
export const IMAGE_TAG_PREFIX_ENVIRONMENT = IMAGE_TAG_PREFIX_VARIABLE;

/** Variables the buildspec's `env.secrets-manager` section fills when a second registry is set. */
export const SECOND_REGISTRY_ENVIRONMENT = {
  username: "SECOND_REGISTRY_USERNAME",
  password: "SECOND_REGISTRY_PASSWORD",
} as const;

/**
 * The layer cache is BuildKit's inline cache: each pushed image carries the cache of its final stage
 * (`--cache-to type=inline`), and a build reads it back from the moving tags (`--cache-from
 * type=registry,ref=<repository>:latest`, for a clone its own `pr-<n>` first). The build uses Docker's
 * default `docker` driver, so it creates no BuildKit container and pulls nothing from Docker Hub (an
 * anonymous `moby/buildkit` pull from CodeBuild's shared addresses fails with `toomanyrequests`). The
 * trade-off: inline cache holds the final stage only (mode=min), so the earlier stages of a
 * multi-stage build are reused only while the final stage's layers still match. The CodeBuild project
 * needs no CodeBuild cache (`NO_CACHE`), privileged mode with Docker Buildx, and ECR push and pull.
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

const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const CONTAINER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const BUILD_ARG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
// Control characters (tab excepted) would break the log and the here-document the script is written by.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** The two tags of an image, as the buildspec computes them (see the scheme at the top). */
export function imageTags(
  imageName: string,
  run: { commit: string; multiImage: boolean; prefix?: string },
): { immutable: string; moving: string } {
  const sha7 = run.commit.toLowerCase().slice(0, 7);
  let stem = run.prefix ? `${run.prefix}-` : "";
  if (run.multiImage) stem += `${imageName}-`;
  return {
    immutable: `${stem}${sha7}`,
    moving: run.prefix ? stem.slice(0, -1) : `${stem}latest`,
  };
}

/**
 * The prefix every tag of a source image of `imageName` starts with (`<name>-<sha7>`, and
 * `<name>-latest` with several images): what the ECR lifecycle rules select the image's source builds by.
 */
export function sourceTagPrefix(imageName: string): string {
  return `${imageName}-`;
}

/** The moving tag a source run gives an image: `latest`, or `<name>-latest` with several images. */
export function sourceMovingTag(imageName: string, multiImage: boolean): string {
  return multiImage ? `${imageName}-latest` : "latest";
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
    if (typeof name !== "string" || !IMAGE_NAME.test(name)) {
      fail(
        `image #${index + 1}: name '${String(name)}' is invalid (1-64 characters: letters, digits, '_', '.', '-'; starting with a letter or digit)`,
      );
    }
    if (/^pr(-|$)/i.test(name) || /^buildcache/i.test(name)) {
      fail(
        `image '${name}': names 'pr', 'pr-*' and 'buildcache*' are reserved (pull request and cache tags start with them)`,
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
  checkNamePrefixes(resolved.map((image) => image.name));
  return resolved;
}

/**
 * With several images, the lifecycle rules select each image's source builds by `<name>-`: no name may
 * start with another name followed by `-` (`web`, `web-admin`), or one image's rule would count the
 * other's builds too.
 */
export function checkNamePrefixes(names: string[]): void {
  if (names.length < 2) return;
  for (const name of names) {
    for (const other of names) {
      if (other !== name && other.startsWith(sourceTagPrefix(name))) {
        fail(
          `images '${name}' and '${other}': with several images no name may start with another name followed by '-' (the ECR lifecycle rules select an image's tags by '${sourceTagPrefix(name)}')`,
        );
      }
    }
  }
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

function checkSecondRegistry(second: SecondRegistry): void {
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
    `BL_MULTI_IMAGE=${images.length > 1 ? 1 : 0}`,
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
  if (options.secondRegistry !== undefined) checkSecondRegistry(options.secondRegistry);

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

  if (options.secondRegistry !== undefined) {
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
