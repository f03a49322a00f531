import { expect } from "chai";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import {
  BUILD_CACHE_MODE,
  BUILDSPEC_ENVIRONMENT,
  CODEBUILD_PROVIDED_ENVIRONMENT,
  DEPLOY_FILES,
  IMAGE_DEFINITIONS_MAX_BYTES,
  IMAGE_TAG_PREFIX_ENVIRONMENT,
  SECOND_REGISTRY_ENVIRONMENT,
  imageTags,
  renderBuildspec,
  shellQuote,
  type BuildspecOptions,
} from "../../../infra/build/buildspec.js";
import { IMAGE_TAG_PREFIX_VARIABLE, imageTagPrefix } from "../../../functions/shared/names.js";

const FAKE_BIN = path.join(__dirname, "..", "..", "helpers", "fake-bin");
const REGISTRY_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
/** The source tier's repositories (`<prefix>/<image>`) and the pull-request tier's (`<prefix>-pr/<image>`). */
const SOURCE_PREFIX = `${REGISTRY_HOST}/shop-dev`;
const PR_PREFIX = `${REGISTRY_HOST}/shop-dev-pr`;
/** What the source tier's CodeBuild project sets (the runner's default). */
const SOURCE_ENV = {
  BRANCHLINE_TIER: "source",
  REPOSITORY_PREFIX: SOURCE_PREFIX,
  CACHE_REPOSITORY_PREFIX: SOURCE_PREFIX,
} as const;
/** What the pull-request tier's CodeBuild project and a clone's build action of PR `n` set. */
function prEnv(n: number): Record<string, string> {
  return {
    BRANCHLINE_TIER: "pull-request",
    REPOSITORY_PREFIX: PR_PREFIX,
    CACHE_REPOSITORY_PREFIX: SOURCE_PREFIX,
    IMAGE_TAG_PREFIX: imageTagPrefix(n),
  };
}
const COMMIT = "3f2a9c1d0b8e7f6a5c4d3e2f1a0b9c8d7e6f5a4b";
const SHA7 = "3f2a9c1";
const ECR_PASSWORD = "ecr-pass-Zq81";
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf";
const PHASES = ["install", "pre_build", "build", "post_build"] as const;

interface Invocation {
  tool: string;
  stdin: string;
  args: string[];
}

interface PhaseResult {
  phase: string;
  status: number | null;
  stdout: string;
  stderr: string;
}

interface RunResult {
  ok: boolean;
  phases: PhaseResult[];
  invocations: Invocation[];
  /** Everything the phases printed (stdout and stderr). */
  output: string;
  /** The source directory the build ran in. */
  src: string;
}

interface Buildspec {
  version: unknown;
  env: { shell?: string; "secrets-manager"?: Record<string, string> };
  phases: Record<string, { "on-failure"?: string; commands: string[] }>;
  artifacts: { files: string[]; "discard-paths"?: string };
}

const tempDirs: string[] = [];

after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A repository checkout with a Dockerfile in each of the given directories. */
function checkout(dockerfileDirs: string[], extraDirs: string[] = []): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "branchline-build-"));
  tempDirs.push(root);
  const src = path.join(root, "src");
  mkdirSync(src);
  for (const dir of dockerfileDirs) {
    mkdirSync(path.join(src, dir), { recursive: true });
    writeFileSync(path.join(src, dir, "Dockerfile"), "FROM scratch\n");
  }
  for (const dir of extraDirs) mkdirSync(path.join(src, dir), { recursive: true });
  return src;
}

function parseLog(file: string): Invocation[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\x1e")
    .filter((record) => record !== "")
    .map((record) => {
      const fields = record.split("\x1f");
      fields.pop(); // every field ends with \x1f
      const [tool = "", stdin = "", ...args] = fields;
      return { tool, stdin, args };
    });
}

/**
 * Runs the buildspec's phases in order the way CodeBuild does: each command of each phase with bash
 * in the checkout, one process per command (nothing but files carries over), stopping at the first
 * failing phase, except that post_build still runs after a failed build with
 * CODEBUILD_BUILD_SUCCEEDING=0. docker and aws are the stand-ins from test/helpers/fake-bin.
 */
function runBuildspec(
  buildspec: string,
  src: string,
  env: Record<string, string | undefined>,
  options: {
    trace?: boolean;
    /** Shell text appended to a phase's (last) command. */
    append?: Partial<Record<(typeof PHASES)[number], string>>;
  } = {},
): RunResult {
  const root = path.dirname(src);
  const bin = path.join(root, "bin");
  const tmp = path.join(root, "tmp");
  mkdirSync(bin, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  for (const tool of ["docker", "aws"]) {
    copyFileSync(path.join(FAKE_BIN, tool), path.join(bin, tool));
    chmodSync(path.join(bin, tool), 0o755);
  }
  const log = path.join(root, "calls.log");
  rmSync(log, { force: true });
  const spec = parse(buildspec) as Buildspec;
  const defaults: Record<string, string | undefined> = {
    PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: root,
    TMPDIR: tmp,
    FAKE_BIN_LOG: log,
    FAKE_ECR_PASSWORD: ECR_PASSWORD,
    AWS_DEFAULT_REGION: "us-east-1",
    CODEBUILD_BUILD_SUCCEEDING: "1",
    ...SOURCE_ENV,
    CODEBUILD_RESOLVED_SOURCE_VERSION: COMMIT,
  };
  // A variable given as undefined is left unset.
  const baseEnv = Object.fromEntries(
    Object.entries({ ...defaults, ...env }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const phases: PhaseResult[] = [];
  let buildFailed = false;
  for (const phase of PHASES) {
    if (buildFailed && phase !== "post_build") break;
    const commands = [...(spec.phases[phase]?.commands ?? [])];
    const extra = options.append?.[phase];
    if (extra !== undefined && commands.length > 0) {
      commands[commands.length - 1] = `${commands[commands.length - 1] ?? ""}\n${extra}`;
    }
    const phaseEnv = { ...baseEnv, CODEBUILD_BUILD_SUCCEEDING: buildFailed ? "0" : "1" };
    let result: PhaseResult = { phase, status: 0, stdout: "", stderr: "" };
    for (const command of commands) {
      const run = spawnSync("bash", options.trace ? ["-x", "-c", command] : ["-c", command], {
        cwd: src,
        env: phaseEnv,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      result = {
        phase,
        status: run.status,
        stdout: result.stdout + run.stdout,
        stderr: result.stderr + run.stderr,
      };
      if (run.status !== 0) break;
    }
    phases.push(result);
    if (result.status !== 0) {
      if (phase === "build") buildFailed = true;
      else break;
    }
  }
  return {
    ok: phases.length === PHASES.length && phases.every((p) => p.status === 0),
    phases,
    invocations: parseLog(log),
    output: phases.map((p) => p.stdout + p.stderr).join("\n"),
    src,
  };
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, "utf8")) as unknown;
}

/** The pull request cleanup's rule: tags `pr-<n>` and `pr-<n>-...` belong to pull request n. */
function belongsToPullRequest(tag: string, pr: number): boolean {
  return tag === `pr-${pr}` || tag.startsWith(`pr-${pr}-`);
}

/** Every image reference a run pushed (`--tag`; the inline cache adds none), in order. */
function pushedRefs(result: RunResult): string[] {
  const refs: string[] = [];
  for (const call of result.invocations) {
    call.args.forEach((arg, i) => {
      if (arg === "--tag") refs.push(call.args[i + 1] ?? "");
    });
  }
  return refs;
}

/** Every tag a run pushed, repository part cut. */
function pushedTags(result: RunResult): string[] {
  return pushedRefs(result).map((ref) => ref.slice(ref.lastIndexOf(":") + 1));
}

/** The values of one flag over every docker call of a run. */
function flagValues(result: RunResult, flag: string): string[] {
  return result.invocations.flatMap((call) =>
    call.args.flatMap((arg, i) => (arg === flag ? [call.args[i + 1] ?? ""] : [])),
  );
}

/** The text of a file the build wrote in the checkout. */
function written(result: RunResult, file: string): string {
  return readFileSync(path.join(result.src, file), "utf8");
}

function ecrLoginCalls(): Invocation[] {
  return [
    { tool: "aws", stdin: "", args: ["ecr", "get-login-password", "--region", "us-east-1"] },
    {
      tool: "docker",
      stdin: ECR_PASSWORD,
      args: ["login", "--username", "AWS", "--password-stdin", REGISTRY_HOST],
    },
  ];
}

function buildCall(opts: {
  dockerfile: string;
  context: string;
  tags: string[];
  cacheFrom?: string[];
  /** Adds `--cache-to type=inline` (the default whenever cacheFrom is given). */
  inlineCache?: boolean;
  extra?: string[];
}): Invocation {
  const args = ["buildx", "build", "--progress=plain", "--provenance=false", "--push"];
  args.push("--file", opts.dockerfile);
  for (const tag of opts.tags) args.push("--tag", tag);
  for (const ref of opts.cacheFrom ?? []) args.push("--cache-from", `type=registry,ref=${ref}`);
  if (opts.inlineCache ?? opts.cacheFrom !== undefined) args.push("--cache-to", "type=inline");
  args.push(...(opts.extra ?? []), opts.context);
  return { tool: "docker", stdin: "", args };
}

const THREE_IMAGES: BuildspecOptions = {
  images: [
    { name: "web", context: "services/web" },
    { name: "api", context: "services/api", container: "api-server" },
    { name: "worker", context: ".", dockerfile: "services/worker/Dockerfile" },
  ],
};

describe("infra/build/buildspec", () => {
  /** The build call of the three images in THREE_IMAGES, in order, with their tags and cache. */
  function threeImageCalls(
    prefix: string,
    tags: (name: string) => string[],
    cacheFrom: (name: string) => string[],
  ): Invocation[] {
    return [
      ["web", "services/web/Dockerfile", "services/web"],
      ["api", "services/api/Dockerfile", "services/api"],
      ["worker", "services/worker/Dockerfile", "."],
    ].map(([name = "", dockerfile = "", context = ""]) =>
      buildCall({
        dockerfile,
        context,
        tags: tags(name).map((tag) => `${prefix}/${name}:${tag}`),
        cacheFrom: cacheFrom(name),
      }),
    );
  }

  describe("a source tier build", () => {
    it("pushes one image to $REPOSITORY_PREFIX/<name> as <sha7> and latest and writes imagedefinitions.json", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        {},
      );
      expect(result.ok, result.output).to.equal(true);
      expect(result.invocations).to.deep.equal([
        ...ecrLoginCalls(),
        buildCall({
          dockerfile: "app/Dockerfile",
          context: "app",
          tags: [`${SOURCE_PREFIX}/app:${SHA7}`, `${SOURCE_PREFIX}/app:latest`],
          cacheFrom: [`${SOURCE_PREFIX}/app:latest`],
        }),
      ]);
      expect(written(result, "imagedefinitions.json")).to.equal(
        `[{"name":"app","imageUri":"${SOURCE_PREFIX}/app:${SHA7}"}]\n`,
      );
      expect(existsSync(path.join(src, "imageDetail.json"))).to.equal(false);
      expect(result.output).to.contain("source tier: logging in to");
    });

    it("pushes each of three images to its own repository with the same two tags", () => {
      const src = checkout(["services/web", "services/api", "services/worker"]);
      const result = runBuildspec(renderBuildspec(THREE_IMAGES), src, {});
      expect(result.ok, result.output).to.equal(true);
      expect(result.invocations).to.deep.equal([
        ...ecrLoginCalls(),
        ...threeImageCalls(
          SOURCE_PREFIX,
          () => [SHA7, "latest"],
          (name) => [`${SOURCE_PREFIX}/${name}:latest`],
        ),
      ]);
      expect(written(result, "imagedefinitions.json")).to.equal(
        `[{"name":"web","imageUri":"${SOURCE_PREFIX}/web:${SHA7}"},` +
          `{"name":"api-server","imageUri":"${SOURCE_PREFIX}/api:${SHA7}"},` +
          `{"name":"worker","imageUri":"${SOURCE_PREFIX}/worker:${SHA7}"}]\n`,
      );
      for (const tag of pushedTags(result)) expect(tag).not.to.match(/^pr-/);
    });

    it("treats an empty IMAGE_TAG_PREFIX as unset and lower-cases the commit", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        {
          IMAGE_TAG_PREFIX: "",
          CODEBUILD_RESOLVED_SOURCE_VERSION: COMMIT.toUpperCase(),
        },
      );
      expect(result.ok, result.output).to.equal(true);
      expect(pushedRefs(result)).to.deep.equal([
        `${SOURCE_PREFIX}/app:${SHA7}`,
        `${SOURCE_PREFIX}/app:latest`,
      ]);
    });

    it("needs no CACHE_REPOSITORY_PREFIX (its cache is its own latest)", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        { CACHE_REPOSITORY_PREFIX: undefined },
      );
      expect(result.ok, result.output).to.equal(true);
      expect(flagValues(result, "--cache-from")).to.deep.equal([
        `type=registry,ref=${SOURCE_PREFIX}/app:latest`,
      ]);
    });

    it("builds images whose names start with another name, 'pr' or 'buildcache' (each has its own repository)", () => {
      const src = checkout(["a", "b", "c", "d"]);
      const result = runBuildspec(
        renderBuildspec({
          images: [
            { name: "web", context: "a" },
            { name: "web-admin", context: "b" },
            { name: "pr-1", context: "c" },
            { name: "buildcache", context: "d" },
          ],
        }),
        src,
        {},
      );
      expect(result.ok, result.output).to.equal(true);
      expect(pushedRefs(result)).to.deep.equal(
        ["web", "web-admin", "pr-1", "buildcache"].flatMap((name) => [
          `${SOURCE_PREFIX}/${name}:${SHA7}`,
          `${SOURCE_PREFIX}/${name}:latest`,
        ]),
      );
    });
  });

  describe("a pull-request tier build (a clone's, IMAGE_TAG_PREFIX=pr-<n>)", () => {
    it("pushes one image to the PR repository as pr-<n>-<sha7> and pr-<n>, reading the source latest as cache", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        prEnv(12),
      );
      expect(result.ok, result.output).to.equal(true);
      expect(result.invocations).to.deep.equal([
        ...ecrLoginCalls(),
        buildCall({
          dockerfile: "app/Dockerfile",
          context: "app",
          tags: [`${PR_PREFIX}/app:pr-12-${SHA7}`, `${PR_PREFIX}/app:pr-12`],
          cacheFrom: [`${PR_PREFIX}/app:pr-12`, `${SOURCE_PREFIX}/app:latest`],
        }),
      ]);
      expect(written(result, "imagedefinitions.json")).to.equal(
        `[{"name":"app","imageUri":"${PR_PREFIX}/app:pr-12-${SHA7}"}]\n`,
      );
      expect(result.output).to.contain("pull-request tier: logging in to");
      // latest is only read (the source tier's image, the layer cache), never written.
      const args = result.invocations.flatMap((c) => c.args);
      expect(args.filter((arg) => arg.includes("latest"))).to.deep.equal([
        `type=registry,ref=${SOURCE_PREFIX}/app:latest`,
      ]);
    });

    it("pushes each of three images to its own PR repository, nothing to a source repository, no latest", () => {
      const src = checkout(["services/web", "services/api", "services/worker"]);
      const result = runBuildspec(renderBuildspec(THREE_IMAGES), src, prEnv(12));
      expect(result.ok, result.output).to.equal(true);
      expect(result.invocations).to.deep.equal([
        ...ecrLoginCalls(),
        ...threeImageCalls(
          PR_PREFIX,
          () => [`pr-12-${SHA7}`, "pr-12"],
          (name) => [`${PR_PREFIX}/${name}:pr-12`, `${SOURCE_PREFIX}/${name}:latest`],
        ),
      ]);
      expect(written(result, "imagedefinitions.json")).to.equal(
        `[{"name":"web","imageUri":"${PR_PREFIX}/web:pr-12-${SHA7}"},` +
          `{"name":"api-server","imageUri":"${PR_PREFIX}/api:pr-12-${SHA7}"},` +
          `{"name":"worker","imageUri":"${PR_PREFIX}/worker:pr-12-${SHA7}"}]\n`,
      );
      const refs = pushedRefs(result);
      expect(refs).to.have.length(6);
      for (const ref of refs) {
        expect(ref.startsWith(`${PR_PREFIX}/`), ref).to.equal(true);
        expect(ref.startsWith(`${SOURCE_PREFIX}/`), ref).to.equal(false);
        const tag = ref.slice(ref.lastIndexOf(":") + 1);
        expect(belongsToPullRequest(tag, 12), tag).to.equal(true);
        for (const other of [1, 2, 120, 121]) {
          expect(belongsToPullRequest(tag, other), `${tag} vs PR ${other}`).to.equal(false);
        }
        expect(tag).not.to.contain("latest");
      }
    });

    it("keeps pr-20's tags out of pull request 2's family", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        prEnv(20),
      );
      expect(result.ok, result.output).to.equal(true);
      expect(pushedTags(result)).to.deep.equal([`pr-20-${SHA7}`, "pr-20"]);
      for (const tag of pushedTags(result)) {
        expect(belongsToPullRequest(tag, 20)).to.equal(true);
        expect(belongsToPullRequest(tag, 2)).to.equal(false);
      }
    });

    it("needs no CACHE_REPOSITORY_PREFIX when the cache is off", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }], noCache: true }),
        src,
        { ...prEnv(3), CACHE_REPOSITORY_PREFIX: undefined },
      );
      expect(result.ok, result.output).to.equal(true);
      expect(pushedRefs(result)).to.deep.equal([
        `${PR_PREFIX}/app:pr-3-${SHA7}`,
        `${PR_PREFIX}/app:pr-3`,
      ]);
    });
  });

  describe("the tier checks (before anything is logged in to or built)", () => {
    const app = (): string => renderBuildspec({ images: [{ name: "app", context: "app" }] });

    function expectRefused(env: Record<string, string | undefined>, message: string): void {
      const src = checkout(["app"]);
      const result = runBuildspec(app(), src, env);
      expect(result.ok).to.equal(false);
      expect(result.phases.map((p) => [p.phase, p.status === 0])).to.deep.equal([
        ["install", false],
      ]);
      expect(result.phases[0]?.stderr).to.contain(`branchline build: error: ${message}`);
      expect(result.invocations).to.deep.equal([]);
      expect(existsSync(path.join(src, "imagedefinitions.json"))).to.equal(false);
    }

    it("refuses a pull-request tier build without IMAGE_TAG_PREFIX (unset or empty)", () => {
      for (const value of [undefined, ""]) {
        expectRefused(
          { ...prEnv(1), IMAGE_TAG_PREFIX: value },
          "a pull-request tier build needs IMAGE_TAG_PREFIX=pr-<n>",
        );
      }
    });

    it("refuses an untrusted clone's build of a commit other than the approved one", () => {
      expectRefused(
        { ...prEnv(7), BRANCHLINE_APPROVED_SHA: "b".repeat(40) },
        `commit ${COMMIT} is not the approved commit ${"b".repeat(40)}`,
      );
    });

    it("builds an untrusted clone's approved commit (compared without case)", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        { ...prEnv(7), BRANCHLINE_APPROVED_SHA: COMMIT.toUpperCase() },
      );
      expect(result.ok, result.output).to.equal(true);
      expect(written(result, "imagedefinitions.json")).to.equal(
        `[{"name":"app","imageUri":"${PR_PREFIX}/app:pr-7-${SHA7}"}]\n`,
      );
    });

    it("refuses a source tier build with BRANCHLINE_APPROVED_SHA", () => {
      expectRefused(
        { BRANCHLINE_APPROVED_SHA: COMMIT },
        "BRANCHLINE_APPROVED_SHA is set in a source tier build",
      );
    });

    it("refuses a source tier build with IMAGE_TAG_PREFIX", () => {
      expectRefused(
        { IMAGE_TAG_PREFIX: "pr-12" },
        "IMAGE_TAG_PREFIX='pr-12' is set in a source tier build",
      );
    });

    it("refuses an IMAGE_TAG_PREFIX that is not pr-<n> in the pull-request tier", () => {
      for (const value of [
        "pr 12",
        "pr-012",
        "pr-0",
        "PR-1",
        "pr-1-x",
        "pr-",
        "latest",
        "pr-1\n",
      ]) {
        expectRefused(
          { ...prEnv(1), IMAGE_TAG_PREFIX: value },
          `IMAGE_TAG_PREFIX='${value}' is not pr-<n>`,
        );
      }
    });

    it("refuses a missing or unknown BRANCHLINE_TIER", () => {
      expectRefused({ BRANCHLINE_TIER: undefined }, "BRANCHLINE_TIER is not set");
      expectRefused({ BRANCHLINE_TIER: "" }, "BRANCHLINE_TIER is not set");
      expectRefused(
        { BRANCHLINE_TIER: "production" },
        "BRANCHLINE_TIER='production' is neither 'source' nor 'pull-request'",
      );
      expectRefused(
        { ...prEnv(1), BRANCHLINE_TIER: "pr" },
        "BRANCHLINE_TIER='pr' is neither 'source' nor 'pull-request'",
      );
    });

    it("refuses a pull-request tier build whose REPOSITORY_PREFIX is the source tier's", () => {
      expectRefused(
        { ...prEnv(1), REPOSITORY_PREFIX: SOURCE_PREFIX },
        `REPOSITORY_PREFIX='${SOURCE_PREFIX}' is the source tier's (CACHE_REPOSITORY_PREFIX): a pull-request build never pushes to the source repositories`,
      );
    });

    it("refuses a pull-request tier build without CACHE_REPOSITORY_PREFIX while the cache is on", () => {
      expectRefused(
        { ...prEnv(1), CACHE_REPOSITORY_PREFIX: undefined },
        "CACHE_REPOSITORY_PREFIX is not set",
      );
    });

    it("refuses a source tier build whose CACHE_REPOSITORY_PREFIX is another prefix", () => {
      expectRefused(
        { CACHE_REPOSITORY_PREFIX: PR_PREFIX },
        `CACHE_REPOSITORY_PREFIX='${PR_PREFIX}' differs from REPOSITORY_PREFIX='${SOURCE_PREFIX}'`,
      );
    });

    it("refuses a CACHE_REPOSITORY_PREFIX in another registry than REPOSITORY_PREFIX", () => {
      const other = "210987654321.dkr.ecr.us-east-1.amazonaws.com/shop-dev";
      expectRefused(
        { ...prEnv(1), CACHE_REPOSITORY_PREFIX: other },
        `CACHE_REPOSITORY_PREFIX='${other}' is not in the registry of REPOSITORY_PREFIX (${REGISTRY_HOST})`,
      );
    });

    it("refuses a missing or malformed REPOSITORY_PREFIX", () => {
      expectRefused({ REPOSITORY_PREFIX: undefined }, "REPOSITORY_PREFIX is not set");
      for (const value of [
        "shop-dev",
        `${REGISTRY_HOST}/Shop-Dev`,
        `${REGISTRY_HOST}/shop-dev:latest`,
        `${REGISTRY_HOST}/shop-dev/`,
        `${REGISTRY_HOST}/shop dev`,
      ]) {
        expectRefused(
          { REPOSITORY_PREFIX: value, CACHE_REPOSITORY_PREFIX: undefined },
          `REPOSITORY_PREFIX='${value}' is not a repository prefix`,
        );
      }
    });

    it("refuses to run a buildspec rendered for one tier in the other tier's project", () => {
      const src = checkout(["app"]);
      const forPullRequests = renderBuildspec({
        images: [{ name: "app", context: "app" }],
        tier: "pull-request",
      });
      const wrong = runBuildspec(forPullRequests, src, {});
      expect(wrong.ok).to.equal(false);
      expect(wrong.output).to.contain(
        "this buildspec was rendered for the pull-request tier, but the project sets BRANCHLINE_TIER='source'",
      );
      expect(wrong.invocations).to.deep.equal([]);
      const right = runBuildspec(forPullRequests, src, prEnv(5));
      expect(right.ok, right.output).to.equal(true);
      const forSource = renderBuildspec({
        images: [{ name: "app", context: "app" }],
        tier: "source",
      });
      expect(runBuildspec(forSource, src, prEnv(5)).output).to.contain(
        "this buildspec was rendered for the source tier, but the project sets BRANCHLINE_TIER='pull-request'",
      );
      expect(runBuildspec(forSource, src, {}).ok).to.equal(true);
    });
  });

  describe("imageTags", () => {
    it("matches the tags the buildspec pushes in each tier", () => {
      expect(imageTags({ commit: COMMIT })).to.deep.equal({ immutable: SHA7, moving: "latest" });
      expect(imageTags({ commit: COMMIT, prefix: "pr-12" })).to.deep.equal({
        immutable: `pr-12-${SHA7}`,
        moving: "pr-12",
      });
      const text = renderBuildspec(THREE_IMAGES);
      for (const [env, prefix] of [
        [{}, undefined],
        [prEnv(12), "pr-12"],
      ] as const) {
        const result = runBuildspec(
          text,
          checkout(["services/web", "services/api", "services/worker"]),
          env,
        );
        expect(result.ok, result.output).to.equal(true);
        const tags = imageTags({ commit: COMMIT.toUpperCase(), prefix });
        expect(pushedTags(result)).to.deep.equal(
          [1, 2, 3].flatMap(() => [tags.immutable, tags.moving]),
        );
      }
    });
  });

  describe("deploy files", () => {
    it("writes imageDetail.json for the first image, in its tier's repository, when blue/green is configured", () => {
      const buildspec = renderBuildspec({ ...THREE_IMAGES, blueGreen: true });
      for (const [env, uri] of [
        [{}, `${SOURCE_PREFIX}/web:${SHA7}`],
        [prEnv(7), `${PR_PREFIX}/web:pr-7-${SHA7}`],
      ] as const) {
        const src = checkout(["services/web", "services/api", "services/worker"]);
        const result = runBuildspec(buildspec, src, env);
        expect(result.ok, result.output).to.equal(true);
        expect(written(result, "imageDetail.json")).to.equal(`{"ImageURI":"${uri}"}\n`);
        expect(readJson(path.join(src, "imagedefinitions.json"))).to.have.length(3);
      }
      expect((parse(buildspec) as Buildspec).artifacts.files).to.deep.equal([
        "imagedefinitions.json",
        "imageDetail.json",
      ]);
    });

    it("fails clearly when imagedefinitions.json would exceed 100 KB", () => {
      // 260 images with 60-character names and 255-character container names: about 104 KB.
      const images = Array.from({ length: 260 }, (_, i) => ({
        name: `svc${i}-`.padEnd(60, "n"),
        context: "app",
        container: `c${i}-`.padEnd(255, "x"),
      }));
      const src = checkout(["app"]);
      const result = runBuildspec(renderBuildspec({ images }), src, {});
      expect(result.ok).to.equal(false);
      const post = result.phases.find((p) => p.phase === "post_build");
      expect(post?.status).to.not.equal(0);
      expect(post?.stderr).to.contain("imagedefinitions.json would be");
      expect(post?.stderr).to.contain(`at most ${IMAGE_DEFINITIONS_MAX_BYTES} bytes`);
      expect(existsSync(path.join(src, "imagedefinitions.json"))).to.equal(false);
    });

    it("writes imagedefinitions.json up to the limit", () => {
      const images = Array.from({ length: 240 }, (_, i) => ({
        name: `svc${i}-`.padEnd(60, "n"),
        context: "app",
        container: `c${i}-`.padEnd(255, "x"),
      }));
      const src = checkout(["app"]);
      const result = runBuildspec(renderBuildspec({ images }), src, {});
      expect(result.ok, result.output).to.equal(true);
      const size = readFileSync(path.join(src, "imagedefinitions.json")).length;
      expect(size)
        .to.be.above(90 * 1024)
        .and.at.most(IMAGE_DEFINITIONS_MAX_BYTES);
      expect(readJson(path.join(src, "imagedefinitions.json"))).to.have.length(240);
    });

    it("writes no deploy files when the build phase failed", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        {
          FAKE_DOCKER_FAIL_ON: "buildx build",
        },
      );
      expect(result.ok).to.equal(false);
      expect(result.phases.map((p) => [p.phase, p.status === 0])).to.deep.equal([
        ["install", true],
        ["pre_build", true],
        ["build", false],
        ["post_build", false],
      ]);
      expect(result.output).to.contain("the build phase failed");
      expect(existsSync(path.join(src, "imagedefinitions.json"))).to.equal(false);
    });
  });

  describe("failures", () => {
    it("fails naming the directory when a Dockerfile is missing, before logging in", () => {
      const src = checkout(["services/web", "services/worker"], ["services/api"]);
      const result = runBuildspec(renderBuildspec(THREE_IMAGES), src, {});
      expect(result.ok).to.equal(false);
      expect(result.phases).to.have.length(1);
      expect(result.phases[0]?.status).to.not.equal(0);
      expect(result.phases[0]?.stderr).to.contain("image 'api'");
      expect(result.phases[0]?.stderr).to.contain("directory 'services/api'");
      expect(result.invocations).to.deep.equal([]);
    });

    it("fails naming the directory when a build context is missing", () => {
      const src = checkout(["services/web", "services/worker"]);
      const result = runBuildspec(renderBuildspec(THREE_IMAGES), src, {});
      expect(result.ok).to.equal(false);
      expect(result.output).to.contain("build context directory 'services/api' does not exist");
    });

    for (const [label, value] of [
      ["unset", undefined],
      ["empty", ""],
    ] as const) {
      it(`fails with a clear message when CODEBUILD_RESOLVED_SOURCE_VERSION is ${label}`, () => {
        const src = checkout(["app"]);
        const result = runBuildspec(
          renderBuildspec({ images: [{ name: "app", context: "app" }] }),
          src,
          { CODEBUILD_RESOLVED_SOURCE_VERSION: value },
        );
        expect(result.ok).to.equal(false);
        expect(result.output).to.contain("CODEBUILD_RESOLVED_SOURCE_VERSION is empty");
        expect(result.output).to.contain("no commit id");
        expect(result.invocations).to.deep.equal([]);
        expect(existsSync(path.join(src, "imagedefinitions.json"))).to.equal(false);
      });
    }

    it("fails when CODEBUILD_RESOLVED_SOURCE_VERSION is not a commit id", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        {
          CODEBUILD_RESOLVED_SOURCE_VERSION: "main",
        },
      );
      expect(result.ok).to.equal(false);
      expect(result.output).to.contain(
        "CODEBUILD_RESOLVED_SOURCE_VERSION='main' is not a git commit id",
      );
    });

    it("stops when the ECR login fails", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
        src,
        {
          FAKE_DOCKER_FAIL_ON: "login",
        },
      );
      expect(result.ok).to.equal(false);
      expect(result.phases.map((p) => p.phase)).to.deep.equal(["install", "pre_build"]);
      expect(result.invocations.some((c) => c.args[1] === "build")).to.equal(false);
    });
  });

  describe("build arguments and cache", () => {
    it("passes build arguments as single, safely quoted arguments", () => {
      const src = checkout(["app"]);
      const tricky = `it's "quoted" $HOME \`id\` $(id) ; rm -rf / \\ end`;
      const result = runBuildspec(
        renderBuildspec({
          images: [{ name: "app", context: "app" }],
          buildArgs: { NODE_ENV: "production", TRICKY: tricky, _EMPTY: "" },
        }),
        src,
        {},
      );
      expect(result.ok, result.output).to.equal(true);
      const build = result.invocations.find((c) => c.args[1] === "build");
      const args = build?.args ?? [];
      expect(args.slice(-7)).to.deep.equal([
        "--build-arg",
        "NODE_ENV=production",
        "--build-arg",
        `TRICKY=${tricky}`,
        "--build-arg",
        "_EMPTY=",
        "app",
      ]);
    });

    it("builds without cache when noCache is set", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }], noCache: true }),
        src,
        prEnv(3),
      );
      expect(result.ok, result.output).to.equal(true);
      const build = result.invocations.find((c) => c.args[1] === "build");
      expect(build).to.deep.equal(
        buildCall({
          dockerfile: "app/Dockerfile",
          context: "app",
          tags: [`${PR_PREFIX}/app:pr-3-${SHA7}`, `${PR_PREFIX}/app:pr-3`],
          extra: ["--no-cache"],
        }),
      );
    });

    it("documents the cache mode", () => {
      expect(BUILD_CACHE_MODE).to.equal("inline");
    });
  });

  describe("sources that resolve outside the checkout", () => {
    /**
     * A checkout with app/Dockerfile, next to a directory outside it (../outside, with a Dockerfile
     * and a subdirectory inner/) that symlinks in the checkout can point at.
     */
    function checkoutWithOutside(): { src: string; outside: string } {
      const src = checkout(["app"]);
      const outside = path.join(path.dirname(src), "outside");
      mkdirSync(path.join(outside, "inner"), { recursive: true });
      writeFileSync(path.join(outside, "Dockerfile"), "FROM scratch\n");
      return { src, outside };
    }

    function expectRefusedBeforeDocker(result: RunResult, fragment: string): void {
      expect(result.ok).to.equal(false);
      expect(result.phases.map((p) => p.phase)).to.deep.equal(["install"]);
      expect(result.phases[0]?.stderr).to.contain(fragment);
      expect(result.phases[0]?.stderr).to.contain("outside the checkout");
      expect(result.invocations).to.deep.equal([]);
      expect(existsSync(path.join(result.src, "imagedefinitions.json"))).to.equal(false);
    }

    it("refuses a build context that is a symlink to a directory outside the checkout", () => {
      const { src, outside } = checkoutWithOutside();
      symlinkSync(outside, path.join(src, "ctx"));
      const result = runBuildspec(
        renderBuildspec({
          images: [{ name: "app", context: "ctx", dockerfile: "app/Dockerfile" }],
        }),
        src,
        {},
      );
      expectRefusedBeforeDocker(result, "image 'app': the build context 'ctx' resolves to");
    });

    it("refuses a Dockerfile that is a symlink to a file outside the checkout", () => {
      const { src, outside } = checkoutWithOutside();
      symlinkSync(path.join(outside, "Dockerfile"), path.join(src, "app", "Outside.Dockerfile"));
      const result = runBuildspec(
        renderBuildspec({
          images: [{ name: "app", context: "app", dockerfile: "app/Outside.Dockerfile" }],
        }),
        src,
        {},
      );
      expectRefusedBeforeDocker(
        result,
        "image 'app': the Dockerfile 'app/Outside.Dockerfile' resolves to",
      );
    });

    it("refuses '..' spellings that leave the checkout through a symlink", () => {
      // `link/..` is `.` to the renderer (lexically), but the kernel follows link first: the parent
      // of outside/inner is outside.
      const { src, outside } = checkoutWithOutside();
      symlinkSync(path.join(outside, "inner"), path.join(src, "link"));
      const context = runBuildspec(
        renderBuildspec({
          images: [{ name: "app", context: "link/..", dockerfile: "app/Dockerfile" }],
        }),
        src,
        {},
      );
      expectRefusedBeforeDocker(context, "the build context 'link/..' resolves to");
      const dockerfile = runBuildspec(
        renderBuildspec({
          images: [{ name: "app", context: "app", dockerfile: "link/../Dockerfile" }],
        }),
        src,
        {},
      );
      expectRefusedBeforeDocker(dockerfile, "the Dockerfile 'link/../Dockerfile' resolves to");
    });

    it("builds with symlinks and '..' that stay inside the checkout", () => {
      const src = checkout(["services/app"]);
      symlinkSync("services/app", path.join(src, "current"));
      symlinkSync("Dockerfile", path.join(src, "services", "app", "Dockerfile.link"));
      const result = runBuildspec(
        renderBuildspec({
          images: [
            { name: "app", context: "current", dockerfile: "current/../app/Dockerfile.link" },
          ],
        }),
        src,
        {},
      );
      expect(result.ok, result.output).to.equal(true);
      const build = result.invocations.find((c) => c.args[1] === "build");
      expect(build?.args.slice(5, 7)).to.deep.equal(["--file", "current/../app/Dockerfile.link"]);
      expect(build?.args.at(-1)).to.equal("current");
    });
  });

  describe("secrets and the trace", () => {
    // A plain value: the trace prints it as it is (a value with quotes would be re-quoted there and
    // hide a leak from a substring check).
    const password = "hunter2PlainSecret";
    const options: BuildspecOptions = {
      images: [{ name: "app", context: "app" }],
      secondRegistry: { registry: "ghcr.io/acme", credentialsSecretArn: SECRET_ARN },
    };

    it("never prints the second registry's password with bash -x, in any phase", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec(options),
        src,
        { SECOND_REGISTRY_USERNAME: "robot", SECOND_REGISTRY_PASSWORD: password },
        { trace: true },
      );
      expect(result.ok, result.output).to.equal(true);
      expect(result.phases.map((p) => p.phase)).to.deep.equal([...PHASES]);
      // The trace is on in every phase, and the password did reach docker (on stdin).
      for (const phase of result.phases) expect(phase.stderr, phase.phase).to.contain("+ bl_init");
      expect(
        result.invocations.find((c) => c.args[0] === "login" && c.stdin === password),
      ).to.not.equal(undefined);
      expect(result.output).not.to.contain(password);
      expect(result.output).not.to.contain(ECR_PASSWORD);
    });

    it("keeps tracing after the login (tracing is restored, not left off)", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec(options),
        src,
        { SECOND_REGISTRY_USERNAME: "robot", SECOND_REGISTRY_PASSWORD: password },
        { trace: true, append: { pre_build: "echo after-login-marker" } },
      );
      expect(result.ok, result.output).to.equal(true);
      const pre = result.phases.find((p) => p.phase === "pre_build");
      expect(pre?.stderr).to.contain("+ echo after-login-marker");
      expect(result.output).not.to.contain(password);
    });

    it("never prints the password when the username is missing either", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec(options),
        src,
        { SECOND_REGISTRY_PASSWORD: password },
        { trace: true },
      );
      expect(result.ok).to.equal(false);
      expect(result.output).to.contain("SECOND_REGISTRY_USERNAME and SECOND_REGISTRY_PASSWORD");
      expect(result.output).not.to.contain(password);
    });
  });

  describe("bash before 4.4 (empty arrays under set -u)", () => {
    /** The shell script the install phase writes (configuration and library). */
    function renderedScript(options: BuildspecOptions): string {
      const spec = parse(renderBuildspec(options)) as Buildspec;
      const install = spec.phases["install"]?.commands[0] ?? "";
      const start = install.indexOf("<<'BRANCHLINE_BUILD_SCRIPT'\n");
      const end = install.indexOf("\nBRANCHLINE_BUILD_SCRIPT\n");
      expect(start).to.be.above(-1);
      expect(end).to.be.above(start);
      return install.slice(start + "<<'BRANCHLINE_BUILD_SCRIPT'\n".length, end);
    }

    /** Array expansions (`${a[@]}`, `${!a[@]}`, `${a[*]}`) not written `${a[@]+"${a[@]}"}`. */
    function unguardedArrayExpansions(script: string): string[] {
      const guarded = /\$\{(\w+)\[@\]\+"\$\{!?\1\[@\]\}"\}/g;
      const stripped = script.replace(guarded, "<guarded>");
      return [...stripped.matchAll(/\$\{!?\w+\[[@*]\]\}/g)].map((m) => m[0]);
    }

    it("guards every array expansion of the rendered script", () => {
      for (const options of [
        { images: [{ name: "app", context: "app" }] },
        { ...THREE_IMAGES, buildArgs: { A: "1" }, noCache: true },
      ]) {
        const script = renderedScript(options);
        expect(script).to.contain("BL_BUILD_ARGS=");
        expect(unguardedArrayExpansions(script)).to.deep.equal([]);
      }
      // The check itself sees the unsafe form.
      expect(unguardedArrayExpansions('docker "${args[@]}" "${!x[@]}" ${y[*]}')).to.deep.equal([
        "${args[@]}",
        "${!x[@]}",
        "${y[*]}",
      ]);
    });

    it("builds with no build arguments under set -u with this machine's bash", () => {
      // Debian ships no bash 4.2/4.3 to run the script with; the static check above covers them.
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({ images: [{ name: "app", context: "app" }], buildArgs: {} }),
        src,
        {},
      );
      expect(result.ok, result.output).to.equal(true);
      const build = result.invocations.find((c) => c.args[1] === "build");
      expect(build?.args).not.to.include("--build-arg");
    });
  });

  describe("no anonymous Docker Hub pull", () => {
    it("creates no BuildKit container builder and uses the inline cache of the repository", () => {
      const text = renderBuildspec(THREE_IMAGES);
      expect(text).not.to.contain("buildx create");
      expect(text).not.to.contain("docker-container");
      expect(text).not.to.contain("moby/buildkit");
      for (const pr of [undefined, 9]) {
        const src = checkout(["services/web", "services/api", "services/worker"]);
        const result = runBuildspec(text, src, pr === undefined ? {} : prEnv(pr));
        expect(result.ok, result.output).to.equal(true);
        expect(result.invocations.map((c) => c.args.slice(0, 2).join(" "))).to.deep.equal([
          "ecr get-login-password",
          "login --username",
          "buildx build",
          "buildx build",
          "buildx build",
        ]);
        for (const call of result.invocations.filter((c) => c.args[1] === "build")) {
          const flags = (name: string): string[] =>
            call.args.flatMap((arg, i) => (arg === name ? [call.args[i + 1] ?? ""] : []));
          expect(flags("--builder")).to.deep.equal([]);
          expect(flags("--cache-to")).to.deep.equal(["type=inline"]);
          // The cache is read from the image's own moving tag in its repository and, for a pull
          // request, from the source tier's image: both in the stack's ECR registry.
          const name = call.args.at(-1) === "." ? "worker" : (call.args.at(-1) ?? "").slice(9);
          expect(flags("--cache-from")).to.deep.equal(
            pr === undefined
              ? [`type=registry,ref=${SOURCE_PREFIX}/${name}:latest`]
              : [
                  `type=registry,ref=${PR_PREFIX}/${name}:pr-${pr}`,
                  `type=registry,ref=${SOURCE_PREFIX}/${name}:latest`,
                ],
          );
        }
      }
    });
  });

  describe("second registry", () => {
    const password = "s3cr3t P@ss'w\"ord $x";
    const username = "hub-robot";
    const secrets = { SECOND_REGISTRY_USERNAME: username, SECOND_REGISTRY_PASSWORD: password };
    const options: BuildspecOptions = {
      images: [{ name: "app", context: "app" }],
      secondRegistry: { registry: "docker.io/myorg", credentialsSecretArn: SECRET_ARN },
    };

    it("source tier: logs in with --password-stdin and pushes the same tags to <registry>/<name>", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(renderBuildspec(options), src, secrets, { trace: true });
      expect(result.ok, result.output).to.equal(true);
      expect(result.invocations).to.deep.equal([
        ...ecrLoginCalls(),
        {
          tool: "docker",
          stdin: password,
          args: ["login", "--username", username, "--password-stdin", "docker.io"],
        },
        buildCall({
          dockerfile: "app/Dockerfile",
          context: "app",
          tags: [
            `${SOURCE_PREFIX}/app:${SHA7}`,
            `${SOURCE_PREFIX}/app:latest`,
            `docker.io/myorg/app:${SHA7}`,
            "docker.io/myorg/app:latest",
          ],
          cacheFrom: [`${SOURCE_PREFIX}/app:latest`],
        }),
      ]);
      for (const call of result.invocations) {
        for (const arg of call.args) expect(arg).not.to.contain(password);
      }
    });

    it("source tier: pushes each of three images to its own repository there", () => {
      const src = checkout(["services/web", "services/api", "services/worker"]);
      const result = runBuildspec(
        renderBuildspec({ ...THREE_IMAGES, secondRegistry: options.secondRegistry }),
        src,
        secrets,
      );
      expect(result.ok, result.output).to.equal(true);
      expect(pushedRefs(result)).to.deep.equal(
        ["web", "api", "worker"].flatMap((name) => [
          `${SOURCE_PREFIX}/${name}:${SHA7}`,
          `${SOURCE_PREFIX}/${name}:latest`,
          `docker.io/myorg/${name}:${SHA7}`,
          `docker.io/myorg/${name}:latest`,
        ]),
      );
    });

    it("pull-request tier: never logs in there, never pushes there, never passes its secret on, and says so", () => {
      // The buildspec rendered with no tier (as the source project's) and, as if CodeBuild had
      // fetched them, the secret's values in the environment: the pull-request build ignores both.
      const src = checkout(["services/web", "services/api", "services/worker"]);
      const result = runBuildspec(
        renderBuildspec({ ...THREE_IMAGES, secondRegistry: options.secondRegistry }),
        src,
        { ...prEnv(4), ...secrets },
        { trace: true, append: { build: 'echo "user=${SECOND_REGISTRY_USERNAME:-unset}"' } },
      );
      expect(result.ok, result.output).to.equal(true);
      expect(result.invocations).to.deep.equal([
        ...ecrLoginCalls(),
        ...threeImageCalls(
          PR_PREFIX,
          () => [`pr-4-${SHA7}`, "pr-4"],
          (name) => [`${PR_PREFIX}/${name}:pr-4`, `${SOURCE_PREFIX}/${name}:latest`],
        ),
      ]);
      expect(result.output).to.contain(
        "branchline build: second registry docker.io: skipped (pull-request tier",
      );
      expect(result.output).to.contain("user=unset");
      for (const secret of [password, username, ECR_PASSWORD]) {
        expect(result.output).not.to.contain(secret);
        for (const call of result.invocations) {
          for (const arg of call.args) expect(arg).not.to.contain(secret);
        }
      }
    });

    it("a buildspec rendered for the pull-request tier has no secrets-manager section", () => {
      const text = renderBuildspec({ ...options, tier: "pull-request" });
      expect((parse(text) as Buildspec).env).to.deep.equal({ shell: "bash" });
      expect(text).not.to.contain(SECRET_ARN);
      const src = checkout(["app"]);
      const result = runBuildspec(text, src, prEnv(4));
      expect(result.ok, result.output).to.equal(true);
      expect(result.output).to.contain("second registry docker.io: skipped (pull-request tier");
      expect(pushedRefs(result)).to.deep.equal([
        `${PR_PREFIX}/app:pr-4-${SHA7}`,
        `${PR_PREFIX}/app:pr-4`,
      ]);
      // The source tier's rendering keeps the section.
      const source = parse(renderBuildspec({ ...options, tier: "source" })) as Buildspec;
      expect(source.env["secrets-manager"]).to.deep.equal({
        [SECOND_REGISTRY_ENVIRONMENT.username]: `${SECRET_ARN}:username`,
        [SECOND_REGISTRY_ENVIRONMENT.password]: `${SECRET_ARN}:password`,
      });
    });

    it("uses the configured repository name (one image)", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(
        renderBuildspec({
          ...options,
          secondRegistry: {
            registry: "docker.io/myorg",
            credentialsSecretArn: SECRET_ARN,
            repository: "shop-frontend",
          },
        }),
        src,
        secrets,
      );
      expect(result.ok, result.output).to.equal(true);
      expect(pushedRefs(result).slice(2)).to.deep.equal([
        `docker.io/myorg/shop-frontend:${SHA7}`,
        "docker.io/myorg/shop-frontend:latest",
      ]);
    });

    it("fails before building when the secret values are missing (source tier)", () => {
      const src = checkout(["app"]);
      const result = runBuildspec(renderBuildspec(options), src, {});
      expect(result.ok).to.equal(false);
      expect(result.output).to.contain("SECOND_REGISTRY_USERNAME and SECOND_REGISTRY_PASSWORD");
      expect(result.invocations.some((c) => c.args[1] === "build")).to.equal(false);
    });
  });

  describe("structure", () => {
    it("is a version 0.2 buildspec with bash, four fail-fast phases and the deploy artifacts", () => {
      const text = renderBuildspec(THREE_IMAGES);
      const spec = parse(text) as Buildspec;
      expect(spec.version).to.equal(0.2);
      expect(spec.env).to.deep.equal({ shell: "bash" });
      expect(Object.keys(spec.phases)).to.deep.equal([...PHASES]);
      for (const phase of PHASES) {
        const commands = spec.phases[phase]?.commands ?? [];
        expect(commands, phase).to.have.length(1);
        expect(commands[0]?.startsWith("set -euo pipefail\n"), phase).to.equal(true);
      }
      for (const phase of ["install", "pre_build", "build"]) {
        expect(spec.phases[phase]?.["on-failure"]).to.equal("ABORT");
      }
      expect(spec.artifacts).to.deep.equal({
        files: [DEPLOY_FILES.imageDefinitions],
        "discard-paths": "yes",
      });
      expect(text).not.to.contain("@@BUILD_SCRIPT@@");
    });

    it("has a secrets-manager section only with a second registry", () => {
      const spec = parse(
        renderBuildspec({
          images: [{ name: "app", context: "app" }],
          secondRegistry: { registry: "ghcr.io/acme", credentialsSecretArn: SECRET_ARN },
        }),
      ) as Buildspec;
      expect(spec.env).to.deep.equal({
        shell: "bash",
        "secrets-manager": {
          [SECOND_REGISTRY_ENVIRONMENT.username]: `${SECRET_ARN}:username`,
          [SECOND_REGISTRY_ENVIRONMENT.password]: `${SECRET_ARN}:password`,
        },
      });
      const plain = parse(
        renderBuildspec({ images: [{ name: "app", context: "app" }] }),
      ) as Buildspec;
      expect(plain.env).not.to.have.property("secrets-manager");
    });

    it("reads the environment it declares", () => {
      expect(BUILDSPEC_ENVIRONMENT).to.deep.equal([
        "BRANCHLINE_TIER",
        "REPOSITORY_PREFIX",
        "CACHE_REPOSITORY_PREFIX",
      ]);
      expect(IMAGE_TAG_PREFIX_ENVIRONMENT).to.equal(IMAGE_TAG_PREFIX_VARIABLE);
      const text = renderBuildspec({ images: [{ name: "app", context: "app" }] });
      for (const name of [
        ...BUILDSPEC_ENVIRONMENT,
        ...CODEBUILD_PROVIDED_ENVIRONMENT,
        IMAGE_TAG_PREFIX_ENVIRONMENT,
      ]) {
        expect(text, name).to.contain(`\${${name}`);
      }
    });
  });

  describe("input validation", () => {
    const bad: [string, unknown, RegExp][] = [
      ["no images", { images: [] }, /at least one image/],
      ["images missing", {}, /at least one image/],
      [
        "duplicate names",
        {
          images: [
            { name: "web", context: "a" },
            { name: "web", context: "b" },
          ],
        },
        /duplicate image name 'web'/,
      ],
      [
        "duplicate containers",
        {
          images: [
            { name: "web", context: "a" },
            { name: "api", context: "b", container: "web" },
          ],
        },
        /images 'web' and 'api' both use the container name 'web'/,
      ],
      [
        "a build-arg key with a dash",
        { images: [{ name: "web", context: "a" }], buildArgs: { "NODE-ENV": "x" } },
        /build argument key 'NODE-ENV' is invalid/,
      ],
      [
        "a build-arg key starting with a digit",
        { images: [{ name: "web", context: "a" }], buildArgs: { "1X": "x" } },
        /build argument key '1X' is invalid/,
      ],
      [
        "a build-arg key with a space",
        { images: [{ name: "web", context: "a" }], buildArgs: { "A B": "x" } },
        /build argument key 'A B' is invalid/,
      ],
      [
        "a build-arg value with a newline",
        { images: [{ name: "web", context: "a" }], buildArgs: { A: "x\nBRANCHLINE_BUILD_SCRIPT" } },
        /build argument 'A': the value contains a newline/,
      ],
      [
        "a name with a slash",
        { images: [{ name: "a/b", context: "a" }] },
        /name 'a\/b' is invalid: it names the image's ECR repository/,
      ],
      ...["Web", "web-", "_web", "web__api", "web.-api", "x".repeat(65), ""].map(
        (name): [string, unknown, RegExp] => [
          `the name ${JSON.stringify(name)}, which no ECR repository may have`,
          { images: [{ name, context: "a" }] },
          /image #1: name '.*' is invalid: it names the image's ECR repository \(1-64 characters: lower-case letters and digits, with '\.', '_' or '-' only between them\)/,
        ],
      ),
      [
        "a default container name ECS refuses",
        { images: [{ name: "web.v2", context: "a" }] },
        /container name 'web.v2' is invalid.*set `container`/,
      ],
      ["an absolute context", { images: [{ name: "web", context: "/etc" }] }, /context '\/etc'/],
      [
        "a context out of the repository",
        { images: [{ name: "web", context: "../x" }] },
        /context '..\/x'/,
      ],
      [
        "a dockerfile out of the repository",
        { images: [{ name: "web", context: "a", dockerfile: "a/../../Dockerfile" }] },
        /dockerfile 'a\/..\/..\/Dockerfile'/,
      ],
      [
        "a second registry repository with several images",
        {
          images: [
            { name: "web", context: "a" },
            { name: "api", context: "b" },
          ],
          secondRegistry: {
            registry: "docker.io/myorg",
            credentialsSecretArn: SECRET_ARN,
            repository: "shop",
          },
        },
        /secondRegistry\.repository 'shop' names one repository, but there are 2 images: each goes to <registry>\/<image name>/,
      ],
      [
        "an unknown tier",
        { images: [{ name: "web", context: "a" }], tier: "production" },
        /tier 'production' is neither 'source' nor 'pull-request'/,
      ],
      [
        "a second registry without host",
        {
          images: [{ name: "web", context: "a" }],
          secondRegistry: { registry: "myorg", credentialsSecretArn: SECRET_ARN },
        },
        /must start with the registry host/,
      ],
      [
        "a second registry secret that is no ARN",
        {
          images: [{ name: "web", context: "a" }],
          secondRegistry: { registry: "docker.io/myorg", credentialsSecretArn: "my-secret" },
        },
        /credentialsSecretArn 'my-secret' is not a Secrets Manager secret ARN/,
      ],
    ];
    for (const [label, options, message] of bad) {
      it(`refuses ${label}`, () => {
        expect(() => renderBuildspec(options as BuildspecOptions)).to.throw(Error, message);
        expect(() => renderBuildspec(options as BuildspecOptions)).to.throw(/^renderBuildspec: /);
      });
    }
  });

  describe("shellQuote", () => {
    it("round-trips through bash", () => {
      for (const value of ["", "plain", "it's", "'''", 'a "b" $c `d` \\e', "tab\there"]) {
        const run = spawnSync("bash", ["-c", `printf '%s' ${shellQuote(value)}`], {
          encoding: "utf8",
        });
        expect(run.stdout).to.equal(value);
      }
    });
  });
});
