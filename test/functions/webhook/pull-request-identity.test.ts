/**
 * The webhook and pull request identity, over the wire: deliveries of a pull request whose fork was
 * deleted, of a renamed repository, and of forks refused with a commit status that says why.
 */
import { expect } from "chai";
import { FORK_REFUSED_DESCRIPTION } from "../../../functions/core/classify.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const CLONE = "hello-world-pr-2";
const REPO = "Codertocat/Hello-World";
const FORK = "someone/Hello-World";
const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const TOKEN = "ghp_test-token";
const STATUSES = `/repos/${REPO}/statuses/${SHA}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe("webhook handler: pull request identity (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let statuses: GitHubComments;

  before(() => {
    statuses = new GitHubComments(wire.github);
  });
  beforeEach(() => statuses.reset());

  async function deliver(
    variant: PullRequestVariant | Record<string, unknown>,
    env: Record<string, string | undefined> = {},
  ): Promise<Answer> {
    const payload = "pull_request" in variant ? variant : pullRequestPayload(variant);
    const handler = createHandler(
      defaultWebhookDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          WEBHOOK_SECRET: SECRET,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  }

  const withToken = () => ({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: wire.github.url });
  const operations = () => wire.aws.calls.map((call) => call.operation);
  const imageTags = () =>
    wire.aws
      .images(REPOSITORY)
      .flatMap((image) => image.tags)
      .sort();

  /** The clone as it was made while the fork existed. */
  function seedForkClone(): void {
    const declaration = cloneDeclaration(wire.source, {
      prNumber: 2,
      headBranch: "changes",
      headRepository: FORK,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, 2, "changes"));
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-2", "pr-2-ec26c3e"] });
    wire.aws.seedImage(REPOSITORY, { tags: ["latest"] });
  }

  const DELETED_REASON =
    "pull request #2: its head repository was deleted, so it can never be built again; its clone, if any, is removed";

  describe("a pull request whose fork was deleted", () => {
    it("gets no clone, even with forks allowed: never the base repository's branch", async () => {
      const answer = await deliver(
        { action: "synchronize", headRepo: null },
        { ALLOW_FORK_PULL_REQUESTS: "true", REQUIRE_APPROVAL: "false" },
      );
      expect(answer).to.deep.equal({
        status: 200,
        body: {
          outcome: "absent",
          pipeline: CLONE,
          pullRequest: 2,
          executionsStopped: 0,
          imagesDeleted: 0,
          reason: DELETED_REASON,
        },
      });
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
      expect(operations()).to.not.include("CreatePipeline");
    });

    it("loses the clone it already has, and its images", async () => {
      seedForkClone();
      wire.aws.seedExecution(CLONE, { status: "InProgress" });
      const answer = await deliver(
        { action: "edited", previousBase: "develop", headRepo: null },
        { ALLOW_FORK_PULL_REQUESTS: "true", REQUIRE_APPROVAL: "false" },
      );
      expect(answer).to.deep.equal({
        status: 200,
        body: {
          outcome: "deleted",
          pipeline: CLONE,
          pullRequest: 2,
          executionsStopped: 1,
          imagesDeleted: 2,
          reason: DELETED_REASON,
        },
      });
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
      expect(imageTags()).to.deep.equal(["latest"]);
    });

    it("is removed when GitHub shows the fork deleted since a late delivery", async () => {
      seedForkClone();
      wire.github.addPullRequest({
        number: 2,
        state: "open",
        head: { ref: "changes", sha: SHA, repo: null },
        base: { ref: "master", repo: REPO },
      });
      const answer = await deliver(
        { action: "synchronize", headRepo: FORK },
        { ...withToken(), ALLOW_FORK_PULL_REQUESTS: "true", REQUIRE_APPROVAL: "false" },
      );
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.include({ outcome: "deleted", reason: DELETED_REASON });
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
    });
  });

  describe("a renamed repository", () => {
    function renamed(action: string): Record<string, unknown> {
      const payload = pullRequestPayload({
        action,
        ...(action === "closed" ? { state: "closed" as const } : {}),
      });
      const pr = payload["pull_request"] as {
        head: { repo: { full_name: string } };
        base: { repo: { full_name: string } };
      };
      pr.head.repo.full_name = "Codertocat/Hello-Universe";
      pr.base.repo.full_name = "Codertocat/Hello-Universe";
      (payload["repository"] as { full_name: string }).full_name = "Codertocat/Hello-Universe";
      return payload;
    }

    it("is ignored, never deleting, with a reason that says what to change", async () => {
      seedForkClone();
      for (const action of ["closed", "opened"]) {
        wire.aws.calls.length = 0;
        const answer = await deliver(renamed(action));
        expect(answer).to.deep.equal({
          status: 202,
          body: {
            outcome: "ignored",
            reason:
              "repository Codertocat/Hello-Universe is not Codertocat/Hello-World, the source pipeline's; if Codertocat/Hello-World was renamed or transferred to Codertocat/Hello-Universe, set the stack's branchline:repository to Codertocat/Hello-Universe and run pulumi up",
          },
        });
        expect(operations()).to.deep.equal(["GetPipeline"]);
      }
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, CLONE]);
      expect(imageTags()).to.deep.equal(["latest", "pr-2", "pr-2-ec26c3e"]);
    });
  });

  describe("fork pull requests", () => {
    it("refused: with a token, the head commit gets an error status saying why", async () => {
      for (const action of ["opened", "synchronize", "reopened", "ready_for_review"]) {
        wire.github.requests.length = 0;
        const answer = await deliver({ action, headRepo: FORK }, withToken());
        expect(answer).to.deep.equal({
          status: 202,
          body: {
            outcome: "ignored",
            reason: "pull request #2 comes from a fork; forks are not built",
          },
        });
        expect(
          wire.github.requests.map((r) => [r.method, r.path, r.authorization, r.body]),
          action,
        ).to.deep.equal([
          [
            "POST",
            STATUSES,
            `token ${TOKEN}`,
            { state: "error", context: "branchline", description: FORK_REFUSED_DESCRIPTION },
          ],
        ]);
      }
      expect(FORK_REFUSED_DESCRIPTION.length).to.be.at.most(140);
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
    });

    it("refused without a token: ignored, nothing asked of GitHub", async () => {
      const answer = await deliver({ headRepo: FORK });
      expect(answer.status).to.equal(202);
      expect(wire.github.requests).to.deep.equal([]);
    });

    it("still answers 202 when the status cannot be posted, and logs it", async () => {
      statuses.failStatuses = true;
      const answer = await deliver({ headRepo: FORK }, withToken());
      expect(answer.status).to.equal(202);
      const line = wire.logger.lines.find(
        (l) => l.message === "could not post the commit status of a refused fork",
      );
      expect(line?.level).to.equal("warn");
      expect(wire.logger.text()).not.to.include(TOKEN);
    });

    it("allowed: built from the fork, no refusal status", async () => {
      wire.github.addPullRequest({
        number: 2,
        state: "open",
        head: { ref: "changes", sha: SHA, repo: FORK },
        base: { ref: "master", repo: REPO },
      });
      const answer = await deliver(
        { headRepo: FORK },
        { ...withToken(), ALLOW_FORK_PULL_REQUESTS: "true", REQUIRE_APPROVAL: "false" },
      );
      expect(answer.body["outcome"]).to.equal("created");
      expect(wire.aws.pipeline(CLONE)?.declaration.stages[0]?.actions[0]?.configuration).to.include(
        { FullRepositoryId: FORK, BranchName: "changes" },
      );
      expect(wire.github.requestsTo(STATUSES)).to.deep.equal([]);
    });

    it("not a fork: no refusal status", async () => {
      wire.github.addPullRequest({
        number: 2,
        state: "open",
        head: { ref: "changes", sha: SHA, repo: REPO },
        base: { ref: "master", repo: REPO },
      });
      expect((await deliver({}, withToken())).body["outcome"]).to.equal("created");
      expect(wire.github.requestsTo(STATUSES)).to.deep.equal([]);
    });
  });
});
