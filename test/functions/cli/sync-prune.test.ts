/**
 * `branchline sync` and `branchline prune` over the wire: the real CLI, SDK clients against the
 * local CodePipeline/ECR double, and Octokit against the local GitHub API double.
 */
import { expect } from "chai";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { cloneName } from "../../../functions/shared/names.js";
import { emptyDirectory, runCli } from "../../helpers/cli.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { CLONE_ROLE_ARN, PR_ARTIFACT_BUCKET, PR_TIER_ENV } from "../../helpers/tiers.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const TOKEN = "ghs_test-token";
const NAMES = ["--source-pipeline", SOURCE, "--repository", REPOSITORY];
const SINGLE_TIER_WARNING =
  "CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET are not set: clones keep the source pipeline's role, build projects and artifact store (for local runs only: a pull request's code then runs with the source tier's permissions)";
/** The PR tier's repositories of the tier tests; REPOSITORY plays the source tier's. */
const PR_REPOSITORIES = ["hello-world-pr/app", "hello-world-pr/worker"];

describe("cli sync and prune (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  const env = (token: string | null = TOKEN) => ({
    PATH: emptyDirectory(),
    GITHUB_API_URL: wire.github.url,
    ...(token ? { GITHUB_TOKEN: token } : {}),
  });

  function seedClone(number: number): string {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(pipelineFixture("v1-ecs"), {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch));
    return declaration.name;
  }

  const imageTags = () =>
    wire.aws
      .images(REPOSITORY)
      .flatMap((image) => image.tags)
      .sort();
  const writes = () =>
    ["CreatePipeline", "UpdatePipeline", "DeletePipeline", "BatchDeleteImage"].map((op) =>
      wire.aws.callCount(op),
    );

  describe("sync", () => {
    it("heals a lost opened: creates the missing clone and prints the summary", async () => {
      wire.github.addPullRequest(fakePullRequest(2));
      seedClone(3);
      wire.github.addPullRequest(fakePullRequest(3));
      const result = await runCli(["sync", ...NAMES], { env: env() });
      expect(result.stderr).to.equal(`warning: ${SINGLE_TIER_WARNING}\n`);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(
        [
          "created:        #2",
          "updated:        -",
          "deleted:        -",
          "images deleted: -",
          "unchanged:      #3",
          "errors:         none",
          "",
        ].join("\n"),
      );
      expect(wire.aws.pipeline(cloneName(SOURCE, 2))?.tags).to.deep.equal(
        cloneTags(SOURCE, 2, "feature-2"),
      );
    });

    it("prints the reconciler's summary as JSON with --json", async () => {
      wire.github.addPullRequest(fakePullRequest(2));
      wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
      seedClone(4);
      wire.aws.seedImage(REPOSITORY, { tags: ["pr-4"] });
      const result = await runCli(["sync", ...NAMES, "--json"], { env: env() });
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({
        created: [2],
        updated: [],
        deleted: [4],
        imagesDeleted: [4],
        unchanged: [],
        errors: [],
      });
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, cloneName(SOURCE, 2)]);
    });

    it("exits 1 and says what it could not check without a GitHub token", async () => {
      wire.github.addPullRequest(fakePullRequest(2));
      const result = await runCli(["sync", ...NAMES, "--json"], { env: env(null) });
      expect(result.code).to.equal(1);
      const summary = JSON.parse(result.stdout) as { created: number[]; errors: string[] };
      expect(summary.created).to.deep.equal([]);
      expect(summary.errors).to.have.length(1);
      expect(summary.errors[0]).to.match(/^no GitHub token configured/);
    });

    it("takes the token from --github-token", async () => {
      wire.github.addPullRequest(fakePullRequest(2));
      const result = await runCli(["sync", ...NAMES, "--json", "--github-token", "ghs_flag"], {
        env: env(null),
      });
      expect(result.code).to.equal(0);
      expect(wire.github.requests.map((request) => request.authorization)).to.deep.equal([
        "token ghs_flag",
      ]);
    });
  });

  describe("prune", () => {
    beforeEach(() => {
      wire.github.addPullRequest(fakePullRequest(2, { state: "closed", merged: true }));
      wire.github.addPullRequest(fakePullRequest(3));
      wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
      wire.github.addPullRequest(fakePullRequest(5, { state: "closed" }));
      seedClone(2);
      seedClone(3);
      wire.aws.seedExecution(cloneName(SOURCE, 2), { status: "InProgress" });
      // A clone-shaped pipeline without branchline's tags, of a closed pull request, and another.
      wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: cloneName(SOURCE, 4) }, [
        { key: "team", value: "payments" },
      ]);
      wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: "another-app" });
      for (const tags of [["pr-2", "pr-2-abc1234"], ["pr-3"], ["pr-5-abc1234"], ["latest"]]) {
        wire.aws.seedImage(REPOSITORY, { tags });
      }
    });

    it("deletes only closed pull requests' clones and images", async () => {
      const result = await runCli(["prune", ...NAMES, "--json"], { env: env() });
      expect(result.stderr).to.equal("");
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({
        closed: [2, 5],
        deleted: [2],
        imagesDeleted: [2, 5],
        kept: [3],
        errors: [],
      });
      expect(wire.aws.pipelineNames()).to.deep.equal(
        ["another-app", SOURCE, cloneName(SOURCE, 3), cloneName(SOURCE, 4)].sort(),
      );
      expect(imageTags()).to.deep.equal(["latest", "pr-3"]);
      expect(wire.aws.callCount("StopPipelineExecution")).to.equal(1);
      expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
      expect(wire.aws.callCount("UpdatePipeline")).to.equal(0);
      // The unmanaged pipeline's pull request is not even looked up.
      expect(wire.github.requests.map((request) => request.path).sort()).to.deep.equal([
        `/repos/${REPO}/pulls/2`,
        `/repos/${REPO}/pulls/3`,
        `/repos/${REPO}/pulls/5`,
      ]);
    });

    it("prints a summary", async () => {
      const result = await runCli(["prune", ...NAMES], { env: env() });
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(
        [
          "deleted:        #2",
          "images deleted: #2, #5",
          "kept (open):    #3",
          "errors:         none",
          "",
        ].join("\n"),
      );
    });

    it("only reports with --dry-run", async () => {
      const before = wire.aws.pipelineNames();
      const result = await runCli(["prune", ...NAMES, "--dry-run"], { env: env() });
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(
        ["would delete:   #2, #5", "kept (open):    #3", "errors:         none", ""].join("\n"),
      );
      expect(wire.aws.pipelineNames()).to.deep.equal(before);
      expect(writes()).to.deep.equal([0, 0, 0, 0]);
    });

    it("reports a pull request GitHub cannot show, and exits 1", async () => {
      wire.github.pullRequests.clear();
      wire.github.addPullRequest(fakePullRequest(2, { state: "closed" }));
      const result = await runCli(["prune", ...NAMES, "--json"], { env: env() });
      expect(result.code).to.equal(1);
      const summary = JSON.parse(result.stdout) as { deleted: number[]; errors: string[] };
      expect(summary.deleted).to.deep.equal([2]);
      expect(summary.errors).to.deep.equal([
        `pull request #3: GitHub answered 404 for pull request #3 of ${REPO} (it does not exist, or the repository is private and needs a token)`,
        `pull request #5: GitHub answered 404 for pull request #5 of ${REPO} (it does not exist, or the repository is private and needs a token)`,
      ]);
      expect(wire.aws.pipelineNames()).to.include(cloneName(SOURCE, 3));
    });

    it("needs a GitHub token", async () => {
      const result = await runCli(["prune", ...NAMES], { env: env(null) });
      expect(result).to.deep.equal({
        code: 1,
        stdout: "",
        stderr:
          "branchline: error: prune needs a GitHub token to tell closed pull requests from open ones: pass --github-token or set GITHUB_TOKEN\n",
      });
      expect(writes()).to.deep.equal([0, 0, 0, 0]);
    });
  });
  describe("the pull request tier", () => {
    const tagsOf = (repository: string) =>
      wire.aws
        .images(repository)
        .flatMap((image) => image.tags)
        .sort();

    beforeEach(() => {
      for (const repository of PR_REPOSITORIES) wire.aws.createRepository(repository);
      wire.github.addPullRequest(fakePullRequest(2));
      wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
      for (const repository of PR_REPOSITORIES) {
        wire.aws.seedImage(repository, { tags: ["pr-4", "pr-4-abc1234"] });
        wire.aws.seedImage(repository, { tags: ["pr-2"] });
      }
      // The source tier's repository, with a tag that looks like pull request 4's: never touched.
      wire.aws.seedImage(REPOSITORY, { tags: ["latest", "pr-4"] });
    });

    it("sync: clones with CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET, cleans every --repositories one", async () => {
      const result = await runCli(
        [
          "sync",
          "--source-pipeline",
          SOURCE,
          "--repositories",
          PR_REPOSITORIES.join(","),
          "--json",
        ],
        { env: { ...env(), ...PR_TIER_ENV } },
      );
      expect(result.stderr).to.equal("");
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ created: [2], imagesDeleted: [4] });
      const clone = wire.aws.pipeline(cloneName(SOURCE, 2))?.declaration;
      expect(clone?.roleArn).to.equal(CLONE_ROLE_ARN);
      expect(clone?.stages[1]?.actions[0]?.configuration?.["ProjectName"]).to.equal(
        "hello-world-pr",
      );
      expect(clone?.artifactStore).to.deep.equal({ type: "S3", location: PR_ARTIFACT_BUCKET });
      for (const repository of PR_REPOSITORIES) {
        expect(tagsOf(repository), repository).to.deep.equal(["pr-2"]);
      }
      expect(tagsOf(REPOSITORY)).to.deep.equal(["latest", "pr-4"]);
    });

    it("sync: refuses a malformed PR_BUILD_PROJECTS before any AWS call", async () => {
      const result = await runCli(["sync", ...NAMES], {
        env: { ...env(), ...PR_TIER_ENV, PR_BUILD_PROJECTS: "[1]" },
      });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include(
        "environment variable PR_BUILD_PROJECTS must be a JSON object of source build project name -> pull request build project name",
      );
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("prune: --repository and --repositories together name every PR repository", async () => {
      const result = await runCli(
        [
          "prune",
          "--source-pipeline",
          SOURCE,
          "--repository",
          PR_REPOSITORIES[0] ?? "",
          "--repositories",
          ` ${PR_REPOSITORIES[1]} ,`,
          "--json",
        ],
        { env: env() },
      );
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ imagesDeleted: [4], kept: [2] });
      for (const repository of PR_REPOSITORIES) {
        expect(tagsOf(repository), repository).to.deep.equal(["pr-2"]);
      }
      expect(tagsOf(REPOSITORY)).to.deep.equal(["latest", "pr-4"]);
    });

    /** A stand-in for the Pulumi CLI printing these stack outputs. */
    function pulumiPrinting(outputs: Record<string, unknown>): string {
      const bin = emptyDirectory();
      writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho '${JSON.stringify(outputs)}'\n`);
      chmodSync(join(bin, "pulumi"), 0o755);
      return bin;
    }

    it("prune: takes the PR repositories from the stack output prRepositoryNames, not repositoryUri", async () => {
      const bin = pulumiPrinting({
        sourcePipelineName: SOURCE,
        repositoryUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPOSITORY}`,
        prRepositoryNames: PR_REPOSITORIES,
      });
      const result = await runCli(["prune", "--json"], { env: { ...env(), PATH: bin } });
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ imagesDeleted: [4] });
      for (const repository of PR_REPOSITORIES) {
        expect(tagsOf(repository), repository).to.deep.equal(["pr-2"]);
      }
      expect(tagsOf(REPOSITORY)).to.deep.equal(["latest", "pr-4"]);
    });

    it("prune: refuses a prRepositoryNames output that is not a list of names", async () => {
      const bin = pulumiPrinting({ sourcePipelineName: SOURCE, prRepositoryNames: "a,b" });
      const result = await runCli(["prune"], { env: { ...env(), PATH: bin } });
      expect(result).to.deep.equal({
        code: 1,
        stdout: "",
        stderr:
          "branchline: error: the stack output prRepositoryNames is not a list of repository names: pass --repositories\n",
      });
    });
  });
});
