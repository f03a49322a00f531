/**
 * The reconciler end to end over the wire: the real handler and default dependencies, the real SDK
 * clients against the local CodePipeline/ECR double, and Octokit against the local GitHub API double.
 */
import { expect } from "chai";
import { NO_TOKEN_MESSAGE, type ReconcileSummary } from "../../../functions/app/reconcile.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const TOKEN = "ghs_test-token";
const PULLS = "/repos/Codertocat/Hello-World/pulls";

const SCHEDULED = {
  id: "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
  "detail-type": "Scheduled Event",
  source: "aws.events",
};

describe("reconcile handler (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  function sweep(
    env: Record<string, string | undefined> = {},
    event: Record<string, unknown> = SCHEDULED,
  ): Promise<ReconcileSummary> {
    const handler = createReconcileHandler(
      defaultReconcileDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          GITHUB_TOKEN: TOKEN,
          GITHUB_API_URL: wire.github.url,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
    return handler(event);
  }

  /** A clone as the webhook would have made it, tagged as ours. */
  function seedClone(number: number, from: PipelineDeclaration = wire.source): string {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(from, {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch));
    return declaration.name;
  }

  const count = (operation: string) => wire.aws.callCount(operation);
  const imageTags = () =>
    wire.aws
      .images(REPOSITORY)
      .flatMap((image) => image.tags)
      .sort();
  const empty = {
    created: [],
    updated: [],
    deleted: [],
    imagesDeleted: [],
    unchanged: [],
    errors: [],
  };

  it("heals a lost opened: creates the missing clone in one sweep", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    const summary = await sweep();
    expect(summary).to.deep.equal({ ...empty, created: [2] });
    const clone = wire.aws.pipeline(cloneName(SOURCE, 2));
    expect(clone?.tags).to.deep.equal(cloneTags(SOURCE, 2, "feature-2"));
    expect(clone?.declaration.stages[0]?.actions[0]?.configuration).to.include({
      BranchName: "feature-2",
      FullRepositoryId: REPO,
    });
    expect(wire.aws.calls.map((call) => call.operation).sort()).to.deep.equal([
      "CreatePipeline",
      "GetPipeline",
      "ListImages",
      "ListPipelines",
    ]);
    expect(wire.github.requests.map((r) => [r.path, r.query, r.authorization])).to.deep.equal([
      [PULLS, "state=open&base=master&per_page=100", `token ${TOKEN}`],
    ]);
  });

  it("heals a lost closed: deletes the clone and the pull request's images only", async () => {
    wire.github.addPullRequest(fakePullRequest(2, { state: "closed", merged: true }));
    wire.github.addPullRequest(fakePullRequest(20));
    seedClone(2);
    seedClone(20);
    wire.aws.seedExecution(cloneName(SOURCE, 2), { status: "InProgress" });
    for (const tags of [["pr-2", "pr-2-abc1234"], ["pr-20", "pr-20-abc1234"], ["latest"]]) {
      wire.aws.seedImage(REPOSITORY, { tags });
    }
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-7-abc1234", "pr-2x", "pr-07"] });
    wire.github.addPullRequest(fakePullRequest(7, { state: "closed" }));

    const summary = await sweep();
    expect(summary).to.deep.equal({
      ...empty,
      deleted: [2],
      imagesDeleted: [2, 7],
      unchanged: [20],
    });
    expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, cloneName(SOURCE, 20)]);
    expect(imageTags()).to.deep.equal(["latest", "pr-07", "pr-20", "pr-20-abc1234", "pr-2x"]);
    expect(count("StopPipelineExecution")).to.equal(1);
    expect(count("ListImages")).to.equal(1);
    // Closed pull requests are confirmed one by one before anything is deleted.
    expect(wire.github.requests.map((r) => r.path).sort()).to.deep.equal([
      PULLS,
      `${PULLS}/2`,
      `${PULLS}/7`,
    ]);
  });

  it("removes the clone of a pull request retargeted away from the source branch", async () => {
    wire.github.addPullRequest(fakePullRequest(2, { base: { ref: "develop", repo: REPO } }));
    seedClone(2);
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-2"] });
    const summary = await sweep();
    expect(summary).to.deep.equal({ ...empty, deleted: [2], imagesDeleted: [2] });
  });

  it("updates a stale clone in place", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    seedClone(2);
    const changed = pipelineFixture("v1-ecs");
    const build = changed.stages[1]?.actions[0];
    if (build?.configuration) build.configuration["ProjectName"] = "hello-world-build-v2";
    wire.aws.reset();
    wire.aws.seedPipeline(changed);
    wire.aws.createRepository(REPOSITORY);
    seedClone(2, wire.source);

    const summary = await sweep();
    expect(summary).to.deep.equal({ ...empty, updated: [2] });
    expect(count("UpdatePipeline")).to.equal(1);
    const clone = wire.aws.pipeline(cloneName(SOURCE, 2));
    expect(clone?.declaration.stages[1]?.actions[0]?.configuration?.["ProjectName"]).to.equal(
      "hello-world-build-v2",
    );
  });

  it("leaves unchanged clones alone: no write call at all", async () => {
    for (const n of [2, 3]) {
      wire.github.addPullRequest(fakePullRequest(n));
      seedClone(n);
    }
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-2", "pr-3-abc"] });
    const summary = await sweep();
    expect(summary).to.deep.equal({ ...empty, unchanged: [2, 3] });
    for (const write of ["CreatePipeline", "UpdatePipeline", "DeletePipeline", "BatchDeleteImage"])
      expect(count(write), write).to.equal(0);
    expect(imageTags()).to.deep.equal(["pr-2", "pr-3-abc"]);
  });

  it("never touches unmanaged pipelines, even with a clone's name", async () => {
    const foreign = (name: string) => ({ ...pipelineFixture("v1-ecs"), name });
    // PR 3 is closed, PR 4 open: both names look like clones but carry no branchline tags.
    wire.aws.seedPipeline(foreign(cloneName(SOURCE, 3)), [{ key: "team", value: "payments" }]);
    wire.aws.seedPipeline(foreign(cloneName(SOURCE, 4)));
    // Tagged by branchline for another source pipeline.
    wire.aws.seedPipeline(foreign(cloneName(SOURCE, 5)), cloneTags("another-app", 5, "x"));
    wire.aws.seedPipeline(foreign("another-app"));
    wire.aws.seedPipeline(foreign("hello-world-pr-6-extra"), cloneTags(SOURCE, 6, "x"));
    wire.github.addPullRequest(fakePullRequest(3, { state: "closed" }));
    wire.github.addPullRequest(fakePullRequest(4));
    wire.github.addPullRequest(fakePullRequest(5, { state: "closed" }));
    wire.github.addPullRequest(fakePullRequest(6, { state: "closed" }));
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-3"] });
    const before = wire.aws.pipelineNames().map((name) => wire.aws.pipeline(name));

    const summary = await sweep();
    expect(summary.created).to.deep.equal([]);
    expect(summary.deleted).to.deep.equal([]);
    expect(summary.updated).to.deep.equal([]);
    expect(summary.imagesDeleted).to.deep.equal([]);
    expect(summary.errors).to.deep.equal([
      `pull request #4: pipeline ${cloneName(SOURCE, 4)} exists but is not managed by branchline (its tags do not name this source pipeline); it is left alone`,
    ]);
    expect(wire.aws.pipelineNames().map((name) => wire.aws.pipeline(name))).to.deep.equal(before);
    for (const write of ["CreatePipeline", "UpdatePipeline", "DeletePipeline", "BatchDeleteImage"])
      expect(count(write), write).to.equal(0);
    expect(imageTags()).to.deep.equal(["pr-3"]);
  });

  it("follows the draft and fork settings like the webhook", async () => {
    wire.github.addPullRequest(fakePullRequest(2, { draft: true }));
    wire.github.addPullRequest(fakePullRequest(3, { draft: true }));
    seedClone(3);
    wire.github.addPullRequest(
      fakePullRequest(4, { head: { ref: "f", sha: "b".repeat(40), repo: "someone/Hello-World" } }),
    );
    const summary = await sweep({ BUILD_DRAFT_PULL_REQUESTS: "false" });
    // A draft keeps the clone it has, gets none if it has none; forks are not built.
    expect(summary).to.deep.equal({ ...empty, unchanged: [3] });
    expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, cloneName(SOURCE, 3)]);

    const allowed = await sweep({ ALLOW_FORK_PULL_REQUESTS: "true", REQUIRE_APPROVAL: "false" });
    expect(allowed.created).to.deep.equal([2, 4]);
    expect(
      wire.aws.pipeline(cloneName(SOURCE, 4))?.declaration.stages[0]?.actions[0]?.configuration,
    ).to.include({ FullRepositoryId: "someone/Hello-World", BranchName: "f" });
  });

  it("reconciles 1,000 open pull requests and 1,000 clones across pages", async function () {
    this.timeout(15000);
    // Open: 1..1000. Clones: 11..1010, of which 1001..1010 belong to closed pull requests.
    for (let n = 1; n <= 1000; n++) wire.github.addPullRequest(fakePullRequest(n));
    for (let n = 1001; n <= 1010; n++)
      wire.github.addPullRequest(fakePullRequest(n, { state: "closed" }));
    for (let n = 11; n <= 1010; n++) seedClone(n);
    wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: "zz-unrelated" });

    const summary = await sweep();
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(summary.errors).to.deep.equal([]);
    expect(summary.created).to.deep.equal(range(1, 10));
    expect(summary.deleted).to.deep.equal(range(1001, 1010));
    expect(summary.unchanged).to.deep.equal(range(11, 1000));
    expect(summary.updated).to.deep.equal([]);
    expect(wire.aws.pipelineNames()).to.have.length(1002);

    // 1,002 pipelines in pages of at most 1,000; 1,000 pull requests in pages of 100.
    expect(count("ListPipelines")).to.equal(2);
    expect(wire.github.requestsTo(PULLS)).to.have.length(10);
    expect(
      wire.github.requestsTo(PULLS).map((r) => new URLSearchParams(r.query).get("page")),
    ).to.deep.equal([null, "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    expect(wire.github.requests).to.have.length(20); // the listing, then one check per closed PR
    expect(count("GetPipeline")).to.equal(1 + 990);
    expect(count("CreatePipeline")).to.equal(10);
    expect(count("ListTagsForResource")).to.equal(10); // read once per removal
    expect(count("DeletePipeline")).to.equal(10);
    expect(count("ListImages")).to.equal(1);
    expect(count("UpdatePipeline")).to.equal(0);
    const line = wire.logger.lines.find((l) => l.message === "reconciled");
    expect(line?.fields).to.deep.include({
      trigger: "schedule",
      eventId: SCHEDULED.id,
      created: 10,
      deleted: 10,
      unchanged: 990,
      errors: 0,
    });
  });

  it("reports one pull request's misconfiguration apart from retryable errors and still does the others", async () => {
    for (const n of [2, 3, 4]) wire.github.addPullRequest(fakePullRequest(n));
    wire.github.addPullRequest(fakePullRequest(5, { state: "closed" }));
    seedClone(5);
    wire.aws.inject({
      operation: "CreatePipeline",
      error: { status: 400, type: "InvalidStructureException", message: "stage Build is invalid" },
    });
    const summary = await sweep();
    expect(summary.created).to.have.length(2);
    expect(summary.deleted).to.deep.equal([5]);
    expect(summary.errors).to.deep.equal([]);
    const failed = [2, 3, 4].find((n) => !summary.created.includes(n));
    expect(summary.misconfigured).to.deep.equal([
      `pull request #${failed}: stage Build is invalid`,
    ]);
    const line = wire.logger.lines.find((l) => l.message === "reconciled");
    expect(line?.fields).to.deep.include({ errors: 0, misconfigured: 1 });
    const errorLine = wire.logger.lines.find((l) => l.message === "pull request not reconciled");
    expect(errorLine?.level).to.equal("error");
    expect(errorLine?.fields).to.include({ pullRequest: failed, error: "stage Build is invalid" });
  });

  it("counts a transient failure that outlasts the retries among the errors", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.aws.inject({ operation: "CreatePipeline", error: "InternalFailure", times: 20 });
    const summary = await sweep();
    expect(summary.errors).to.have.length(1);
    expect(summary.errors[0]).to.match(/^pull request #2: /);
    expect(summary.misconfigured).to.equal(undefined);
  });

  describe("without a GitHub token", () => {
    const noToken = { GITHUB_TOKEN: undefined };

    it("deletes what it can show is closed, refreshes what it can see, and says what it could not check", async () => {
      wire.github.addPullRequest(fakePullRequest(2, { state: "closed" }));
      seedClone(2);
      wire.github.addPullRequest(fakePullRequest(3));
      const changed = pipelineFixture("v1-ecs");
      if (changed.stages[1]?.actions[0]?.configuration)
        changed.stages[1].actions[0].configuration["ProjectName"] = "renamed";
      seedClone(3, changed);
      wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
      wire.aws.seedImage(REPOSITORY, { tags: ["pr-4-abc"] });
      seedClone(5); // GitHub does not show #5 (a private repository, anonymously)
      wire.github.addPullRequest(fakePullRequest(6)); // open, no clone: cannot be found without listing

      const summary = await sweep(noToken);
      expect(summary).to.deep.equal({
        ...empty,
        deleted: [2],
        imagesDeleted: [4],
        updated: [3],
        errors: [
          NO_TOKEN_MESSAGE,
          `pull request #5: GitHub answered 404 for pull request #5 of ${REPO} (it does not exist, or the repository is private and needs a token)`,
        ],
      });
      expect(wire.aws.pipeline(cloneName(SOURCE, 6))).to.equal(undefined);
      expect(wire.aws.pipeline(cloneName(SOURCE, 5))).not.to.equal(undefined);
      expect(wire.github.requestsTo(PULLS)).to.deep.equal([]);
      expect(wire.github.requests.map((r) => r.authorization)).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });

    it("stops asking GitHub once its rate limit is used up and lists what was not checked", async () => {
      wire.github.on("GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+$/, () => ({
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-limit": "60" },
        body: { message: "API rate limit exceeded for 127.0.0.1." },
      }));
      for (const n of [2, 3, 4]) seedClone(n);
      const summary = await sweep(noToken);
      expect(summary.deleted).to.deep.equal([]);
      expect(summary.errors).to.deep.equal([
        NO_TOKEN_MESSAGE,
        "GitHub's rate limit is used up: 3 pull request(s) were not checked: #2, #3, #4",
      ]);
      expect(wire.aws.pipelineNames()).to.have.length(4);
    });
  });

  it("reports a configuration problem instead of throwing", async () => {
    const summary = await sweep({ SOURCE_PIPELINE_NAME: undefined }, {});
    expect(summary).to.deep.equal({
      ...empty,
      misconfigured: ["sweep not started: environment variable SOURCE_PIPELINE_NAME is not set"],
    });
    wire.aws.reset();
    const missing = await sweep();
    expect(missing.errors).to.deep.equal([]);
    expect(missing.misconfigured).to.deep.equal([
      "sweep not started: source pipeline hello-world does not exist",
    ]);
    expect(wire.logger.lines.filter((l) => l.message === "reconciled")).to.have.length(2);
    expect(wire.logger.lines.find((l) => l.message === "reconciled")?.fields).to.include({
      trigger: "on-demand",
    });
  });

  it("never logs the token", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    await sweep();
    expect(wire.logger.text()).not.to.include(TOKEN);
  });
});
