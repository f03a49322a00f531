/**
 * The routing table: both forms (`BRANCHLINE_SERVICES` inline, `BRANCHLINE_SERVICES_FILE` a file),
 * the single-service variables as a one-entry table, and every validation error naming its entry
 * and member.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { readSettings, readServicesTable } from "../../../functions/app/settings.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { ENV } from "../../../functions/shared/names.js";
import { readNotifySettings } from "../../../functions/notify/settings.js";

const API = {
  name: "api",
  sourcePipeline: "shop-api",
  repository: "acme/shop",
  branch: "main",
  ecrRepositories: ["shop-api-pr/app", "shop-api-pr/worker", "shop-api-pr/app"],
};
const WEB = {
  name: "web",
  sourcePipeline: "shop-web",
  repository: "acme/shop",
  branch: "main",
  ecrRepositories: ["shop-web-pr"],
  cloneRoleArn: "arn:aws:iam::123456789012:role/shop-clone",
  prBuildProjects: { "shop-web-build": "shop-web-build-pr" },
  artifactBucket: "shop-pr-artifacts",
  allowForkPullRequests: true,
  buildDraftPullRequests: false,
};

const table = (...entries: unknown[]) => ({ BRANCHLINE_SERVICES: JSON.stringify(entries) });

describe("app/settings: the routing table", () => {
  it("names the two variables in shared/names", () => {
    expect(ENV.services).to.equal("BRANCHLINE_SERVICES");
    expect(ENV.servicesFile).to.equal("BRANCHLINE_SERVICES_FILE");
  });

  it("reads BRANCHLINE_SERVICES: every member, its defaults and the tiers", () => {
    const settings = readSettings(table(API, WEB));
    expect(settings.routed).to.equal(true);
    expect(settings.services).to.deep.equal([
      {
        name: "api",
        sourcePipelineName: "shop-api",
        ref: { repository: "acme/shop", branch: "main" },
        repositoryNames: ["shop-api-pr/app", "shop-api-pr/worker"],
        cloneRoleArn: undefined,
        prBuildProjects: undefined,
        prArtifactBucket: undefined,
        allowForks: false,
        buildDrafts: true,
        requireApproval: true,
      },
      {
        name: "web",
        sourcePipelineName: "shop-web",
        ref: { repository: "acme/shop", branch: "main" },
        repositoryNames: ["shop-web-pr"],
        cloneRoleArn: "arn:aws:iam::123456789012:role/shop-clone",
        prBuildProjects: { "shop-web-build": "shop-web-build-pr" },
        prArtifactBucket: "shop-pr-artifacts",
        allowForks: true,
        buildDrafts: false,
        requireApproval: true,
      },
    ]);
  });

  it("reads BRANCHLINE_SERVICES_FILE once, from the file it names", () => {
    const dir = mkdtempSync(join(tmpdir(), "branchline-table-"));
    try {
      const path = join(dir, "services.json");
      writeFileSync(path, JSON.stringify([API]));
      const reads: string[] = [];
      const settings = readSettings({ BRANCHLINE_SERVICES_FILE: path }, (file) => {
        reads.push(file);
        return JSON.stringify([API]);
      });
      expect(reads).to.deep.equal([path]);
      expect(settings.services.map((s) => s.name)).to.deep.equal(["api"]);
      // And with the real file system.
      expect(
        readServicesTable({ BRANCHLINE_SERVICES_FILE: path })?.[0]?.sourcePipelineName,
      ).to.equal("shop-api");
      expect(() => readSettings({ BRANCHLINE_SERVICES_FILE: join(dir, "missing.json") })).to.throw(
        ConfigurationError,
        /^BRANCHLINE_SERVICES_FILE names .*missing\.json, which cannot be read \(ENOENT\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("makes a one-entry table of the single-service variables, its repository and branch unknown", () => {
    const settings = readSettings({
      SOURCE_PIPELINE_NAME: "shop-dev",
      ECR_REPOSITORY_NAME: "shop-dev-pr/app",
      CLONE_ROLE_ARN: "arn:aws:iam::123456789012:role/clone",
      ALLOW_FORK_PULL_REQUESTS: "true",
    });
    expect(settings.routed).to.equal(false);
    expect(settings.services).to.deep.equal([
      {
        name: "shop-dev",
        sourcePipelineName: "shop-dev",
        ref: undefined,
        repositoryNames: ["shop-dev-pr/app"],
        cloneRoleArn: "arn:aws:iam::123456789012:role/clone",
        prBuildProjects: undefined,
        prArtifactBucket: undefined,
        allowForks: true,
        buildDrafts: true,
        requireApproval: true,
      },
    ]);
    expect(settings.sourcePipelineName).to.equal("shop-dev");
  });

  it("refuses both table variables at once, and the table with a single-service variable", () => {
    expect(() =>
      readSettings({ ...table(API), BRANCHLINE_SERVICES_FILE: "/var/task/services.json" }),
    ).to.throw(
      ConfigurationError,
      "environment variables BRANCHLINE_SERVICES and BRANCHLINE_SERVICES_FILE are both set: set one",
    );
    expect(() =>
      readSettings({ ...table(API), SOURCE_PIPELINE_NAME: "shop-dev", PR_ARTIFACT_BUCKET: "b" }),
    ).to.throw(
      ConfigurationError,
      "environment variable BRANCHLINE_SERVICES (the routing table) and the single-service SOURCE_PIPELINE_NAME, PR_ARTIFACT_BUCKET are both set",
    );
    expect(() =>
      readNotifySettings({ BRANCHLINE_SERVICES_FILE: "/x.json", SOURCE_PIPELINE_NAME: "shop-dev" }),
    ).to.throw(ConfigurationError, "BRANCHLINE_SERVICES_FILE (the routing table)");
  });

  const refusals: [string, unknown[], string][] = [
    ["not JSON", [], "environment variable BRANCHLINE_SERVICES is not valid JSON"],
    ["an empty list", [[]], "must be a JSON list of one or more services"],
    ["an entry that is no object", [["api"]], "BRANCHLINE_SERVICES: entry 0 must be an object"],
    ["an unknown member", [[{ ...API, images: [] }]], "entry 0 (api): images is not a member"],
    ["an upper-case name", [[{ ...API, name: "Api" }]], "entry 0 (Api): name must be lower-case"],
    ["a missing name", [[{ ...API, name: undefined }]], "entry 0: name must be a non-empty string"],
    [
      "a name given twice",
      [[API, { ...WEB, name: "api" }]],
      "entry 1 (api): name is also entry 0's",
    ],
    [
      "a numeric branch",
      [[{ ...API, branch: 1 }]],
      "entry 0 (api): branch must be a non-empty string",
    ],
    [
      "a repository without owner",
      [[{ ...API, repository: "shop" }]],
      "entry 0 (api): repository must be owner/name",
    ],
    [
      "no ECR repository",
      [[{ ...API, ecrRepositories: [] }]],
      "entry 0 (api): ecrRepositories must be a list",
    ],
    [
      "an ECR repository that is no string",
      [[{ ...API, ecrRepositories: [1] }]],
      "entry 0 (api): ecrRepositories must be a list",
    ],
    [
      "a pipeline name CodePipeline refuses",
      [[{ ...API, sourcePipeline: "shop api" }]],
      "entry 0 (api): sourcePipeline must be a CodePipeline name",
    ],
    [
      "a source pipeline too long for its clones",
      [[{ ...API, sourcePipeline: "p".repeat(87) }]],
      "entry 0 (api): sourcePipeline must be at most 86 characters",
    ],
    [
      "a flag that is a string",
      [[{ ...API, allowForkPullRequests: "true" }]],
      "entry 0 (api): allowForkPullRequests must be true or false",
    ],
    [
      "a draft flag that is a number",
      [[{ ...API, buildDraftPullRequests: 0 }]],
      "entry 0 (api): buildDraftPullRequests must be true or false",
    ],
    [
      "an empty clone role",
      [[{ ...API, cloneRoleArn: "" }]],
      "entry 0 (api): cloneRoleArn must be a non-empty string",
    ],
    [
      "a bucket that is no string",
      [[{ ...API, artifactBucket: 3 }]],
      "entry 0 (api): artifactBucket must be a non-empty string",
    ],
    [
      "build projects as a list",
      [[{ ...API, prBuildProjects: ["a"] }]],
      "entry 0 (api): prBuildProjects must be an object",
    ],
    [
      "a build project mapped to nothing",
      [[{ ...API, prBuildProjects: { a: "" } }]],
      "entry 0 (api): prBuildProjects must be an object",
    ],
    [
      "another's source pipeline",
      [[API, { ...WEB, sourcePipeline: "shop-api" }]],
      "service web: sourcePipeline shop-api names service api's source pipeline or one of its clones",
    ],
    [
      "a source pipeline named like another's clone",
      [[API, { ...WEB, sourcePipeline: "shop-api-pr-7" }]],
      "service web: sourcePipeline shop-api-pr-7 names service api's source pipeline or one of its clones",
    ],
  ];
  for (const [what, [entries], message] of refusals) {
    it(`refuses ${what}, naming the entry and the member`, () => {
      const env =
        entries === undefined ? { BRANCHLINE_SERVICES: "[{" } : table(...(entries as unknown[]));
      expect(() => readSettings(env)).to.throw(ConfigurationError, message);
    });
  }

  it("gives notify every service's source pipeline", () => {
    expect(readNotifySettings(table(API, WEB)).services).to.deep.equal([
      { name: "api", sourcePipelineName: "shop-api" },
      { name: "web", sourcePipelineName: "shop-web" },
    ]);
    expect(readNotifySettings({ SOURCE_PIPELINE_NAME: "shop-dev" }).services).to.deep.equal([
      { name: "shop-dev", sourcePipelineName: "shop-dev" },
    ]);
  });
});

describe("app/settings: label and path rules", () => {
  it("reads a table entry's labels and paths, and leaves an entry without them unselected", () => {
    const settings = readSettings(
      table(
        {
          ...API,
          labels: { require: ["preview"], skip: ["branchline:skip"] },
          paths: { include: ["services/api/**"], exclude: ["**/*.md"] },
        },
        WEB,
      ),
    );
    expect(settings.services[0]?.selection).to.deep.equal({
      labels: { require: ["preview"], skip: ["branchline:skip"] },
      paths: { include: ["services/api/**"], exclude: ["**/*.md"] },
    });
    expect(settings.services[1]).to.not.have.property("selection");
  });

  it("refuses a malformed entry, naming the origin, the entry and the member", () => {
    expect(() => readSettings(table({ ...API, labels: { skip: "branchline:skip" } })))
      .to.throw(ConfigurationError)
      .with.property(
        "message",
        "environment variable BRANCHLINE_SERVICES: entry 0 (api): labels.skip must be a list of non-empty strings",
      );
    expect(() => readSettings(table({ ...API, paths: { include: ["src/[ab]/**"] } })))
      .to.throw(ConfigurationError)
      .with.property(
        "message",
        'environment variable BRANCHLINE_SERVICES: entry 0 (api): paths: glob "src/[ab]/**" uses [ ] or { }, which are not supported (only *, ** and ?)',
      );
  });

  it("reads the one service's PULL_REQUEST_LABELS and PULL_REQUEST_PATHS", () => {
    expect(ENV.pullRequestLabels).to.equal("PULL_REQUEST_LABELS");
    expect(ENV.pullRequestPaths).to.equal("PULL_REQUEST_PATHS");
    const settings = readSettings({
      SOURCE_PIPELINE_NAME: "shop-dev",
      ECR_REPOSITORY_NAME: "shop-dev-pr/app",
      PULL_REQUEST_LABELS: JSON.stringify({ skip: ["wip"] }),
      PULL_REQUEST_PATHS: JSON.stringify({ exclude: ["docs/**"] }),
    });
    expect(settings.services[0]?.selection).to.deep.equal({
      labels: { skip: ["wip"] },
      paths: { exclude: ["docs/**"] },
    });
    expect(() =>
      readSettings({
        SOURCE_PIPELINE_NAME: "shop-dev",
        ECR_REPOSITORY_NAME: "shop-dev-pr/app",
        PULL_REQUEST_PATHS: JSON.stringify({ include: "services/**" }),
      }),
    )
      .to.throw(ConfigurationError)
      .with.property(
        "message",
        "environment variable PULL_REQUEST_PATHS.include must be a list of non-empty strings",
      );
    expect(() =>
      readSettings({
        SOURCE_PIPELINE_NAME: "shop-dev",
        ECR_REPOSITORY_NAME: "shop-dev-pr/app",
        PULL_REQUEST_LABELS: "{",
      }),
    ).to.throw(ConfigurationError, "environment variable PULL_REQUEST_LABELS is not valid JSON");
  });

  it("refuses PULL_REQUEST_LABELS with the routing table (its entries carry the rules)", () => {
    expect(() =>
      readSettings({ ...table(API), PULL_REQUEST_LABELS: JSON.stringify({ skip: ["wip"] }) }),
    ).to.throw(ConfigurationError, /PULL_REQUEST_LABELS/);
  });
});
