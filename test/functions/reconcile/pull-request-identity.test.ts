/**
 * The reconciler and pull request identity, over the wire: deleted forks, a renamed repository
 * (GitHub's 301 to `/repositories/{id}`, followed by Octokit), and pull requests GitHub answers for
 * the configured name that cannot be matched to it.
 */
import { expect } from "chai";
import type { ReconcileSummary } from "../../../functions/app/reconcile.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const RENAMED = "Codertocat/Hello-Universe";
const FORK = "someone/Hello-World";
const TOKEN = "ghs_test-token";

describe("reconcile handler: pull request identity (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  function sweep(env: Record<string, string | undefined> = {}): Promise<ReconcileSummary> {
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
    return handler({});
  }

  /** A clone as the webhook would have made it, reading `headRepository`. */
  function seedClone(number: number, headRepository = REPO): void {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(wire.source, {
      prNumber: number,
      headBranch: branch,
      headRepository,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch));
  }

  const sourceAction = (n: number) =>
    wire.aws.pipeline(cloneName(SOURCE, n))?.declaration.stages[0]?.actions[0]?.configuration;
  const imageTags = () =>
    wire.aws
      .images(REPOSITORY)
      .flatMap((image) => image.tags)
      .sort();
  const writes = () =>
    ["CreatePipeline", "UpdatePipeline", "DeletePipeline", "BatchDeleteImage"].map((operation) =>
      wire.aws.callCount(operation),
    );
  const empty = {
    created: [],
    updated: [],
    deleted: [],
    imagesDeleted: [],
    unchanged: [],
    errors: [],
  };

  describe("a pull request whose fork was deleted", () => {
    for (const allowForks of ["true", "false"]) {
      it(`loses the clone it has and never gets one (forks allowed: ${allowForks})`, async () => {
        const deleted = { ref: "feature-2", sha: "b".repeat(40), repo: null };
        wire.github.addPullRequest(fakePullRequest(2, { head: deleted }));
        wire.github.addPullRequest(fakePullRequest(3, { head: { ...deleted, ref: "feature-3" } }));
        seedClone(2, FORK); // made while the fork still existed
        wire.aws.seedImage(REPOSITORY, { tags: ["pr-2", "pr-2-bbbbbbb"] });
        wire.aws.seedImage(REPOSITORY, { tags: ["latest"] });

        const summary = await sweep({ ALLOW_FORK_PULL_REQUESTS: allowForks });
        expect(summary).to.deep.equal({ ...empty, deleted: [2], imagesDeleted: [2] });
        expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
        expect(imageTags()).to.deep.equal(["latest"]);
        expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
      });
    }
  });

  describe("a renamed repository", () => {
    const renamedMessage = (id: number) =>
      `GitHub now calls repository ${REPO} ${RENAMED} (renamed or transferred; same id ${id}): set the stack's branchline:repository to ${RENAMED} and run pulumi up. Until then the webhook ignores its deliveries; this sweep matched its pull requests by id`;

    it("never deletes the clones of its open pull requests, and says what to change", async () => {
      for (const n of [2, 3]) {
        wire.github.addPullRequest(fakePullRequest(n));
        seedClone(n);
      }
      wire.github.addPullRequest(fakePullRequest(4)); // open, no clone yet
      wire.github.addPullRequest(fakePullRequest(5, { state: "closed" }));
      seedClone(5);
      wire.aws.seedImage(REPOSITORY, { tags: ["pr-2", "pr-3-abc", "pr-5"] });
      const id = wire.github.repositoryId(REPO);
      wire.github.renameRepository(REPO, RENAMED);
      const before = wire.aws.pipeline(cloneName(SOURCE, 2));

      const summary = await sweep();
      expect(summary).to.deep.equal({
        ...empty,
        created: [4],
        deleted: [5],
        imagesDeleted: [5],
        unchanged: [2, 3],
        misconfigured: [renamedMessage(id)],
      });
      expect(wire.aws.pipeline(cloneName(SOURCE, 2))).to.deep.equal(before);
      // The new clone reads the repository as the source pipeline names it, like the others.
      expect(sourceAction(4)).to.include({ FullRepositoryId: REPO, BranchName: "feature-4" });
      expect(imageTags()).to.deep.equal(["pr-2", "pr-3-abc"]);

      // Octokit followed GitHub's redirects; the repository was looked up once.
      expect(wire.github.requests.map((r) => [r.path, r.authorization])).to.deep.equal([
        ["/repos/Codertocat/Hello-World/pulls", `token ${TOKEN}`],
        [`/repositories/${id}/pulls`, `token ${TOKEN}`],
        ["/repos/Codertocat/Hello-World", `token ${TOKEN}`],
        [`/repositories/${id}`, `token ${TOKEN}`],
        ["/repos/Codertocat/Hello-World/pulls/5", `token ${TOKEN}`],
        [`/repositories/${id}/pulls/5`, `token ${TOKEN}`],
      ]);
      const logged = wire.logger.lines.filter((l) => l.message === "reconcile misconfiguration");
      expect(logged.map((l) => [l.level, l.fields["error"]])).to.deep.equal([
        ["error", renamedMessage(id)],
      ]);
    });

    it("follows the redirect across pages of the listing", async () => {
      for (let n = 1; n <= 150; n++)
        wire.github.addPullRequest(fakePullRequest(n, { draft: true }));
      seedClone(7);
      const id = wire.github.repositoryId(REPO);
      wire.github.renameRepository(REPO, RENAMED);

      const summary = await sweep({ BUILD_DRAFT_PULL_REQUESTS: "false" });
      expect(summary).to.deep.equal({
        ...empty,
        unchanged: [7],
        misconfigured: [renamedMessage(id)],
      });
      expect(wire.github.requestsTo(`/repositories/${id}/pulls`).map((r) => r.query)).to.deep.equal(
        ["state=open&base=master&per_page=100", "state=open&base=master&per_page=100&page=2"],
      );
      expect(writes()).to.deep.equal([0, 0, 0, 0]);
    });

    it("without a token, still deletes nothing it cannot match", async () => {
      seedClone(2);
      seedClone(3);
      wire.github.addPullRequest(fakePullRequest(2));
      wire.github.addPullRequest(fakePullRequest(3, { state: "closed" }));
      const id = wire.github.repositoryId(REPO);
      wire.github.renameRepository(REPO, RENAMED);

      const summary = await sweep({ GITHUB_TOKEN: undefined });
      expect(summary.deleted).to.deep.equal([3]);
      expect(summary.unchanged).to.deep.equal([2]);
      expect(summary.misconfigured).to.include(renamedMessage(id));
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, cloneName(SOURCE, 2)]);
    });
  });

  describe("pull requests of another repository it cannot match", () => {
    // GitHub answering for the configured name with another repository's pull requests, and
    // (when `unreadable`) refusing to show the configured repository itself.
    let answerForeign = false;
    let unreadable = false;
    const foreign = (n: number) => wire.github.pullRequests.get(`else/where#${n}`);
    before(() => {
      wire.github.on("GET", /^\/repos\/Codertocat\/Hello-World\/pulls$/, () => {
        const pr = foreign(2);
        return answerForeign && pr
          ? { status: 200, body: [wire.github.renderListItem(pr)] }
          : undefined;
      });
      wire.github.on("GET", /^\/repos\/Codertocat\/Hello-World\/pulls\/(\d+)$/, (m) => {
        const pr = foreign(Number(m[1]));
        return answerForeign && pr ? { status: 200, body: wire.github.render(pr) } : undefined;
      });
      wire.github.on("GET", /^\/repos\/Codertocat\/Hello-World$/, () =>
        unreadable ? { status: 404, body: { message: "Not Found" } } : undefined,
      );
    });
    beforeEach(() => {
      answerForeign = true;
      unreadable = false;
      wire.github.addPullRequest(
        fakePullRequest(2, { base: { ref: "master", repo: "else/where" } }),
      );
      wire.github.addPullRequest(
        fakePullRequest(3, { state: "closed", base: { ref: "master", repo: "else/where" } }),
      );
      wire.github.repositoryId(REPO);
      for (const n of [2, 3]) seedClone(n);
      wire.aws.seedImage(REPOSITORY, { tags: ["pr-2", "pr-3"] });
    });
    after(() => {
      answerForeign = false;
      unreadable = false;
    });

    const problem = (why: string) =>
      `GitHub answered for ${REPO} with pull request(s) of another repository, left alone (nothing deleted): #2, #3; ${why}. Check the stack's branchline:repository: it must name the source pipeline's repository as GitHub names it now`;

    it("touches nothing and reports a configuration problem when the id cannot be read", async () => {
      unreadable = true;
      const summary = await sweep();
      expect(summary).to.deep.equal({
        ...empty,
        misconfigured: [
          problem(
            `the repository's id could not be read (GitHub answered 404 for repository ${REPO} (it does not exist, or the repository is private and needs a token))`,
          ),
        ],
      });
      expect(wire.aws.pipelineNames()).to.have.length(3);
      expect(imageTags()).to.deep.equal(["pr-2", "pr-3"]);
      expect(writes()).to.deep.equal([0, 0, 0, 0]);
      expect(wire.github.requestsTo(`/repos/${REPO}`)).to.have.length(1);
    });

    it("touches nothing when the ids differ", async () => {
      const summary = await sweep();
      expect(summary).to.deep.equal({
        ...empty,
        misconfigured: [problem(`their repository's id is not ${REPO}'s`)],
      });
      expect(imageTags()).to.deep.equal(["pr-2", "pr-3"]);
      expect(writes()).to.deep.equal([0, 0, 0, 0]);
    });
  });
});
