/**
 * The sweep and GitHub's rate limit, over the wire: the GitHub API double reports its budget in the
 * `x-ratelimit-*` headers of every answer; the sweep stops before it would spend the reserve (10%
 * of the limit) and says so, and asks for the open pull requests again with the last answer's ETag,
 * whose 304 does not count against the budget.
 */
import { expect } from "chai";
import type { ReconcileSummary } from "../../../functions/app/reconcile.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { appEnv, installApp } from "../../helpers/github-app.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const PULLS = `/repos/${REPO}/pulls`;

describe("reconcile handler and GitHub's rate limit (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  /** One container's handler: the sweeps it runs share its caches. */
  function container(env: Record<string, string>, concurrency = 1) {
    const handler = createReconcileHandler(
      defaultReconcileDeps(
        { SOURCE_PIPELINE_NAME: SOURCE, ECR_REPOSITORY_NAME: REPOSITORY, ...env },
        { logger: wire.logger, concurrency },
      ),
    );
    return (): Promise<ReconcileSummary> => handler({});
  }
  const withToken = () => ({ GITHUB_TOKEN: "ghp_test-token", GITHUB_API_URL: wire.github.url });

  function seedClone(number: number): void {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(wire.source, {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch));
  }

  it("stops before it would spend the last 10% and says how much is left until when", async () => {
    // Five clones of pull requests GitHub shows closed: each needs one read before its deletion.
    for (const n of [2, 3, 4, 5, 6]) {
      seedClone(n);
      wire.github.addPullRequest(fakePullRequest(n, { state: "closed" }));
    }
    // An hour from now, whole minutes: the reserve holds until then.
    const resetAt = new Date(Math.ceil((Date.now() + 3_600_000) / 60_000) * 60_000);
    const until = resetAt.toISOString().slice(11, 16);
    wire.github.setRateLimit(100, 13, resetAt);
    const summary = await container(withToken())();
    // The listing leaves 12, two reads leave 10: the reserve (10 of 100) is reached.
    expect(summary.deleted).to.deep.equal([2, 3]);
    expect(summary.errors).to.deep.equal([
      `GitHub rate limit: 10 left until ${until} UTC, sweep stopped: 3 pull request(s) were not checked: #4, #5, #6`,
    ]);
    expect(wire.github.rateLimit.remaining).to.equal(10);
    expect(wire.github.requests.map((r) => r.path)).to.deep.equal([
      PULLS,
      `${PULLS}/2`,
      `${PULLS}/3`,
    ]);
    expect(wire.aws.pipeline(cloneName(SOURCE, 4))).not.to.equal(undefined);
    const logged = wire.logger.lines.find((line) => line.message === "reconcile error");
    expect(logged?.fields["error"]).to.match(
      new RegExp(`^GitHub rate limit: 10 left until ${until} UTC`),
    );
  });

  it("the reserve holds only until the budget's reset time", async () => {
    for (const n of [2, 3, 4]) {
      seedClone(n);
      wire.github.addPullRequest(fakePullRequest(n, { state: "closed" }));
    }
    // The headers name a reset time that has passed: the budget is whole again.
    wire.github.setRateLimit(100, 12, new Date(Date.now() - 60_000));
    const summary = await container(withToken())();
    expect(summary).to.deep.include({ deleted: [2, 3, 4], errors: [] });
    expect(wire.github.rateLimit.remaining).to.equal(8);
  });

  for (const [name, env] of [
    ["a token", withToken],
    ["a GitHub App", () => appEnv(installApp(wire.github), wire.github.url)],
  ] as const) {
    it(`with ${name}: lists open pull requests again with the ETag; the 304 is not counted`, async () => {
      wire.github.addPullRequest(fakePullRequest(2));
      const sweep = container(env());
      expect((await sweep()).created).to.deep.equal([2]);
      const before = wire.github.rateLimit.remaining;
      const lists = wire.github.requestsTo(PULLS).length;

      expect(await sweep()).to.deep.include({ created: [], unchanged: [2], errors: [] });
      expect(wire.github.requestsTo(PULLS)).to.have.length(lists + 1);
      expect(wire.github.rateLimit.remaining).to.equal(before);

      // A new pull request changes the answer: 200, counted, and the new one is seen.
      wire.github.addPullRequest(fakePullRequest(3));
      expect(await sweep()).to.deep.include({ created: [3], unchanged: [2] });
      expect(wire.github.rateLimit.remaining).to.equal(before - 1);
    });
  }
});
