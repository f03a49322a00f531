/**
 * The CLI on a stack that serves many services, over the wire: the names from the stack's
 * `services` output (a stand-in for the Pulumi CLI prints it), `list`, `sync`, `prune` and `cost`
 * across services (two of them on one repository and branch), `--service`, the JSON shapes, the
 * unknown-service error and the one-service outputs of before.
 */
import { expect } from "chai";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { cloneName } from "../../../functions/shared/names.js";
import { emptyDirectory, runCli } from "../../helpers/cli.js";
import type { FakePullRequest } from "../../helpers/github-api.js";
import {
  imagesOf,
  seedServices,
  servicePipeline,
  sourceOf,
  type TestService,
} from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const REPO = "Codertocat/Hello-World";
const DOCS = "acme/docs";
const TOKEN = "ghs_test-token";
const NOW = new Date("2026-03-01T12:00:00Z");

// Two services on one repository and branch (a monorepo), and one on another repository.
const api: TestService = { name: "api", repository: REPO, branch: "master" };
const web: TestService = { name: "web", repository: REPO, branch: "master" };
const docs: TestService = { name: "docs", repository: DOCS, branch: "main" };
const SERVICES = [web, api, docs];

/** The `services` output as infra/branchline.ts declares it (ServiceOutput). */
function servicesOutput(services: readonly TestService[]): Record<string, unknown> {
  return Object.fromEntries(
    services.map((service) => [
      service.name,
      {
        pipelineName: sourceOf(service),
        repository: service.repository,
        branch: service.branch,
        sourceRepositoryUris: {
          app: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-${service.name}/app`,
        },
        prRepositoryNames: [imagesOf(service)],
      },
    ]),
  );
}

/** A directory whose `pulumi` prints these stack outputs. */
function pulumiPrinting(outputs: Record<string, unknown>): string {
  const bin = emptyDirectory();
  writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho '${JSON.stringify(outputs)}'\n`);
  chmodSync(join(bin, "pulumi"), 0o755);
  return bin;
}

/** The outputs of a many-services stack (the first service's one-service outputs too). */
const STACK = {
  sourcePipelineName: sourceOf(api),
  prRepositoryNames: [imagesOf(api)],
  services: servicesOutput(SERVICES),
};

function pullRequest(
  repo: string,
  number: number,
  base: string,
  variant: Partial<FakePullRequest> = {},
): FakePullRequest {
  return {
    number,
    state: "open",
    head: { ref: `feature-${number}`, sha: "a".repeat(40), repo },
    base: { ref: base, repo },
    ...variant,
  };
}

describe("cli across services (wire level)", function () {
  const wire = useWireDoubles({ seed: false });

  beforeEach(() => {
    seedServices(wire.aws, SERVICES);
  });

  const env = (outputs: Record<string, unknown> = STACK) => ({
    PATH: pulumiPrinting(outputs),
    GITHUB_API_URL: wire.github.url,
    GITHUB_TOKEN: TOKEN,
  });
  const cli = (args: string[], outputs?: Record<string, unknown>) =>
    runCli(args, { env: env(outputs), now: NOW });

  function seedClone(service: TestService, number: number): string {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(servicePipeline(service), {
      prNumber: number,
      headBranch: branch,
      headRepository: service.repository,
    });
    wire.aws.seedPipeline(declaration, cloneTags(sourceOf(service), number, branch), {
      created: new Date(NOW.getTime() - 3_600_000),
    });
    return declaration.name;
  }

  const pipelineNames = () =>
    wire.aws
      .pipelineNames()
      .filter((name) => name.includes("-pr-"))
      .sort();
  const tagsOf = (repository: string) =>
    wire.aws
      .images(repository)
      .flatMap((image) => image.tags)
      .sort();

  describe("list", () => {
    beforeEach(() => {
      seedClone(api, 2);
      seedClone(web, 2);
      seedClone(web, 3);
    });

    it("lists every service's clones with a service member each (--json), the account's pipelines listed once", async () => {
      const result = await cli(["list", "--json"]);
      expect(result.stderr).to.equal("");
      expect(result.code).to.equal(0);
      const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
      expect(
        rows.map((row) => [row["service"], row["pullRequest"], row["pipeline"]]),
      ).to.deep.equal([
        ["api", 2, cloneName(sourceOf(api), 2)],
        ["web", 2, cloneName(sourceOf(web), 2)],
        ["web", 3, cloneName(sourceOf(web), 3)],
      ]);
      // Today's members, plus `service`.
      expect(Object.keys(rows[0] ?? {})).to.deep.equal([
        "service",
        "pullRequest",
        "pipeline",
        "branch",
        "pipelineType",
        "created",
        "ageSeconds",
        "lastExecution",
      ]);
      expect(wire.aws.callCount("ListPipelines")).to.equal(1);
    });

    it("prints a SERVICE column for people", async () => {
      const result = await cli(["list"]);
      expect(result.code).to.equal(0);
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines[0]).to.match(/^SERVICE {2}PR {2}PIPELINE/);
      expect(lines.slice(1).map((text) => text.split(/\s+/).slice(0, 3))).to.deep.equal([
        ["api", "#2", cloneName(sourceOf(api), 2)],
        ["web", "#2", cloneName(sourceOf(web), 2)],
        ["web", "#3", cloneName(sourceOf(web), 3)],
      ]);
    });

    it("--service picks one service: today's table, rows with their service in --json", async () => {
      const json = await cli(["list", "--service", "web", "--json"]);
      expect(json.code).to.equal(0);
      const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
      expect(rows.map((row) => [row["service"], row["pullRequest"]])).to.deep.equal([
        ["web", 2],
        ["web", 3],
      ]);
      const text = await cli(["list", "--service", "web"]);
      expect(text.stdout.split("\n")[0]).to.match(/^PR {2}PIPELINE/);
      expect(text.stdout).not.to.contain(cloneName(sourceOf(api), 2));
    });

    it("an unknown --service: one line naming the known ones, exit 2, no AWS call", async () => {
      const result = await cli(["list", "--service", "shop"]);
      expect(result).to.deep.equal({
        code: 2,
        stdout: "",
        stderr:
          'branchline: error: unknown service "shop": the stack\'s services are api, docs, web\n',
      });
      expect(wire.aws.callCount("ListPipelines")).to.equal(0);
      expect(wire.aws.callCount("GetPipeline")).to.equal(0);
    });

    it("a one-service stack without the services output: today's JSON, no service member", async () => {
      const result = await cli(["list", "--json"], {
        sourcePipelineName: sourceOf(web),
        prRepositoryNames: [imagesOf(web)],
      });
      expect(result.code).to.equal(0);
      const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
      expect(rows.map((row) => row["pullRequest"])).to.deep.equal([2, 3]);
      for (const row of rows) expect(row).not.to.have.property("service");
      const unknown = await cli(["list", "--service", "web"], {
        sourcePipelineName: sourceOf(web),
      });
      expect(unknown).to.deep.equal({
        code: 2,
        stdout: "",
        stderr:
          'branchline: error: unknown service "web": the stack has no services output (a one-service stack from before it)\n',
      });
    });

    it("--source-pipeline still wins over the stack, and --service with it is refused", async () => {
      const result = await runCli(["list", "--source-pipeline", sourceOf(web), "--json"], {
        env: { PATH: emptyDirectory() },
        now: NOW,
      });
      expect(result.code).to.equal(0);
      const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
      expect(rows.map((row) => row["pullRequest"])).to.deep.equal([2, 3]);
      for (const row of rows) expect(row).not.to.have.property("service");
      const both = await cli(["list", "--source-pipeline", sourceOf(web), "--service", "web"]);
      expect(both).to.deep.equal({
        code: 2,
        stdout: "",
        stderr:
          "branchline: error: --service picks a service of the stack's services output: not with --source-pipeline\n",
      });
    });
  });

  describe("sync", () => {
    beforeEach(() => {
      wire.github.addPullRequest(pullRequest(REPO, 2, "master"));
      wire.github.addPullRequest(pullRequest(DOCS, 5, "main"));
    });

    it("sweeps every service in one run: a clone per service of the repository, a summary per service", async () => {
      const result = await cli(["sync", "--json"]);
      expect(result.code).to.equal(0);
      expect(pipelineNames()).to.deep.equal([
        cloneName(sourceOf(api), 2),
        cloneName(sourceOf(docs), 5),
        cloneName(sourceOf(web), 2),
      ]);
      const none = { updated: [], deleted: [], imagesDeleted: [], unchanged: [], errors: [] };
      expect(JSON.parse(result.stdout)).to.deep.equal({
        created: [2, 5],
        ...none,
        services: [
          { service: "api", created: [2], ...none },
          { service: "docs", created: [5], ...none },
          { service: "web", created: [2], ...none },
        ],
      });
      // The reconciler's multi-service sweep: open pull requests listed once per repository.
      expect(wire.github.requestsTo(`/repos/${REPO}/pulls`)).to.have.length(1);
      expect(wire.github.requestsTo(`/repos/${DOCS}/pulls`)).to.have.length(1);
      expect(wire.aws.callCount("ListPipelines")).to.equal(1);
    });

    it("prints a heading per service for people", async () => {
      const result = await cli(["sync"]);
      expect(result.code).to.equal(0);
      const block = (service: TestService, created: string) => [
        `service ${service.name} (${sourceOf(service)}):`,
        `  created:        ${created}`,
        "  updated:        -",
        "  deleted:        -",
        "  images deleted: -",
        "  unchanged:      -",
        "  errors:         none",
      ];
      expect(result.stdout).to.equal(
        [...block(api, "#2"), ...block(docs, "#5"), ...block(web, "#2"), ""].join("\n"),
      );
    });

    it("--service sweeps one service: today's summary plus its service member", async () => {
      const result = await cli(["sync", "--service", "web", "--json"]);
      expect(result.code).to.equal(0);
      expect(pipelineNames()).to.deep.equal([cloneName(sourceOf(web), 2)]);
      expect(JSON.parse(result.stdout)).to.deep.equal({
        service: "web",
        created: [2],
        updated: [],
        deleted: [],
        imagesDeleted: [],
        unchanged: [],
        errors: [],
      });
      const text = await cli(["sync", "--service", "web"]);
      expect(text.stdout.split("\n")[0]).to.equal("created:        -");
    });

    it("--repositories names one service's: refused without --service when there are several", async () => {
      const result = await cli(["sync", "--repositories", "x"]);
      expect(result).to.deep.equal({
        code: 2,
        stdout: "",
        stderr:
          "branchline: error: --repository and --repositories name one service's repositories: pass --service too (the stack's services are api, docs, web)\n",
      });
      expect(pipelineNames()).to.deep.equal([]);
    });
  });

  describe("prune", () => {
    beforeEach(() => {
      // #2 is closed and has a clone and images in both services of the repository; #3 is open.
      wire.github.addPullRequest(pullRequest(REPO, 2, "master", { state: "closed" }));
      wire.github.addPullRequest(pullRequest(REPO, 3, "master"));
      for (const service of [api, web]) {
        seedClone(service, 2);
        wire.aws.seedImage(imagesOf(service), { tags: ["pr-2"] });
      }
      seedClone(web, 3);
      wire.aws.seedImage(imagesOf(web), { tags: ["pr-3"] });
    });

    it("prunes every service, each pull request looked up once, a summary per service", async () => {
      const result = await cli(["prune", "--json"]);
      expect(result.code).to.equal(0);
      const none = { closed: [], deleted: [], imagesDeleted: [], kept: [], errors: [] };
      expect(JSON.parse(result.stdout)).to.deep.equal({
        closed: [2],
        deleted: [2],
        imagesDeleted: [2],
        kept: [3],
        errors: [],
        services: [
          { service: "api", ...none, closed: [2], deleted: [2], imagesDeleted: [2] },
          { service: "docs", ...none },
          { service: "web", ...none, closed: [2], deleted: [2], imagesDeleted: [2], kept: [3] },
        ],
      });
      expect(pipelineNames()).to.deep.equal([cloneName(sourceOf(web), 3)]);
      expect(tagsOf(imagesOf(api))).to.deep.equal([]);
      expect(tagsOf(imagesOf(web))).to.deep.equal(["pr-3"]);
      expect(wire.github.requestsTo(`/repos/${REPO}/pulls/2`)).to.have.length(1);
    });

    it("--service prunes one service only, and prints today's summary", async () => {
      const result = await cli(["prune", "--service", "api"]);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(
        [
          "deleted:        #2",
          "images deleted: #2",
          "kept (open):    -",
          "errors:         none",
          "",
        ].join("\n"),
      );
      expect(pipelineNames()).to.deep.equal([
        cloneName(sourceOf(web), 2),
        cloneName(sourceOf(web), 3),
      ]);
      expect(tagsOf(imagesOf(web))).to.deep.equal(["pr-2", "pr-3"]);
    });

    it("--source-pipeline without --repositories: that service's repositories from the services output", async () => {
      const result = await cli(["prune", "--source-pipeline", sourceOf(web), "--json"]);
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ imagesDeleted: [2], kept: [3] });
      expect(tagsOf(imagesOf(web))).to.deep.equal(["pr-3"]);
      // Not the first service's (the one-service outputs sourcePipelineName, prRepositoryNames).
      expect(tagsOf(imagesOf(api))).to.deep.equal(["pr-2"]);
    });

    it("a one-service stack without the services output: today's JSON", async () => {
      const result = await cli(["prune", "--json"], {
        sourcePipelineName: sourceOf(web),
        prRepositoryNames: [imagesOf(web)],
      });
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({
        closed: [2],
        deleted: [2],
        imagesDeleted: [2],
        kept: [3],
        errors: [],
      });
      expect(pipelineNames()).to.deep.equal([
        cloneName(sourceOf(api), 2),
        cloneName(sourceOf(web), 3),
      ]);
    });
  });

  describe("cost", () => {
    it("estimates every service's clones, with a service member each and a total per service", async () => {
      seedClone(api, 2);
      seedClone(web, 2);
      seedClone(web, 3);
      const result = await cli(["cost", "--json"]);
      expect(result.code).to.equal(0);
      const report = JSON.parse(result.stdout) as {
        clones: Record<string, unknown>[];
        byService: unknown;
        totalUsd: number;
      };
      expect(report.clones.map((clone) => [clone["service"], clone["pullRequest"]])).to.deep.equal([
        ["api", 2],
        ["web", 2],
        ["web", 3],
      ]);
      expect(report.byService).to.deep.equal({
        api: { clones: 1, usd: 0 },
        web: { clones: 2, usd: 0 },
      });
      const text = await cli(["cost"]);
      expect(text.stdout.split("\n")[0]).to.match(/^SERVICE {2}PR {2}PIPELINE/);
      expect(text.stdout).to.contain("service api: 1 clone(s): 0.000 USD a month\n");
      expect(text.stdout).to.contain("service docs: 0 clone(s): 0.000 USD a month\n");
      expect(text.stdout).to.contain("service web: 2 clone(s): 0.000 USD a month\n");
    });

    it("a one-service stack without the services output: no service members", async () => {
      seedClone(web, 2);
      const result = await cli(["cost", "--json"], { sourcePipelineName: sourceOf(web) });
      expect(result.code).to.equal(0);
      const report = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(Object.keys(report)).to.deep.equal(["clones", "byType", "totalUsd", "note"]);
      expect(report["clones"]).to.have.length(1);
      expect((report["clones"] as object[])[0]).not.to.have.property("service");
    });
  });

  describe("serve", () => {
    it("serves one service: asks for --service on a stack of several", async () => {
      const result = await runCli(["serve", "--webhook-secret", "s", "--port", "0"], {
        env: env(),
      });
      expect(result).to.deep.equal({
        code: 2,
        stdout: "",
        stderr:
          "branchline: error: serve serves one service: pass --service (the stack's services are api, docs, web)\n",
      });
    });
  });
});
