/**
 * The reconciler applies the approval rule as the webhook does (wire level): an untrusted pull
 * request without an approval gets no clone and a pending status; one whose approved commit is its
 * head keeps its trigger-less clone; one pushed to since keeps the clone untouched and waits; a
 * clone made before the rule (no approval, a push trigger) is removed.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubPermissions } from "../../helpers/github-permissions.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const FORK = "contributor/Hello-World";
const APPROVED = "a".repeat(40);
const PUSHED = "d".repeat(40);

describe("reconcile handler: approvals (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let permissions: GitHubPermissions;

  before(() => {
    new GitHubComments(wire.github);
    permissions = new GitHubPermissions(wire.github);
  });

  function sweep() {
    return createReconcileHandler(
      defaultReconcileDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
          ALLOW_FORK_PULL_REQUESTS: "true",
        },
        { logger: wire.logger },
      ),
    )({ id: "sweep", "detail-type": "Scheduled Event", source: "aws.events" });
  }

  const fork = (n: number, sha: string) =>
    fakePullRequest(n, {
      head: { ref: `feature-${n}`, sha, repo: FORK },
      author: "contributor",
      authorAssociation: "CONTRIBUTOR",
    });

  /** The untrusted clone the webhook made when `sha` was approved. */
  function seedApproved(n: number, sha: string): void {
    const declaration = cloneDeclaration(wire.source, {
      prNumber: n,
      headBranch: `feature-${n}`,
      headRepository: FORK,
      approvedSha: sha,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, n, `feature-${n}`, sha));
  }

  const pending = () =>
    wire.github.requests
      .filter((r) => r.method === "POST" && r.path.includes("/statuses/"))
      .map((r) => [r.path.split("/").pop(), (r.body as { state: string }).state]);

  it("creates no clone for an unapproved fork, keeps an approved head's, leaves a pushed one waiting, removes an unapproved old clone", async () => {
    wire.github.addPullRequest(fork(1, APPROVED)); // never approved
    wire.github.addPullRequest(fork(2, APPROVED)); // approved, head unchanged
    seedApproved(2, APPROVED);
    wire.github.addPullRequest(fork(3, PUSHED)); // approved, then pushed to
    seedApproved(3, APPROVED);
    wire.github.addPullRequest(fork(4, APPROVED)); // a clone from before approvals
    const old = cloneDeclaration(wire.source, {
      prNumber: 4,
      headBranch: "feature-4",
      headRepository: FORK,
    });
    wire.aws.seedPipeline(old, cloneTags(SOURCE, 4, "feature-4"));
    const before3 = wire.aws.pipeline(cloneName(SOURCE, 3));

    const summary = await sweep();
    expect(summary.created).to.deep.equal([]);
    expect(summary.unchanged).to.deep.equal([2]);
    expect(summary.deleted).to.deep.equal([4]);
    expect(summary.errors).to.deep.equal([]);
    expect(wire.aws.pipelineNames()).to.deep.equal([
      SOURCE,
      cloneName(SOURCE, 2),
      cloneName(SOURCE, 3),
    ]);
    expect(wire.aws.pipeline(cloneName(SOURCE, 3))).to.deep.equal(before3);
    expect(wire.aws.callCount("StartPipelineExecution")).to.equal(0);
    // Pull requests are swept concurrently: the statuses in any order.
    expect(
      pending()
        .map((entry) => entry.join(" "))
        .sort(),
    ).to.deep.equal([`${APPROVED} pending`, `${APPROVED} pending`, `${PUSHED} pending`].sort());
    // Forks are untrusted whoever wrote them: no permission is read.
    expect(permissions.reactions).to.deep.equal([]);
    expect(wire.github.requests.filter((r) => r.path.includes("/collaborators/"))).to.deep.equal(
      [],
    );
  });
});
