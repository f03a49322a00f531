/**
 * The reconciler and the pull request high-water marks over the wire: the real reconcile and webhook
 * handlers with their default dependencies, the AWS double with a state table, and the GitHub API
 * double. The sweep reads pull requests fresh from GitHub, so it advances their marks before acting;
 * it leaves alone a pull request whose mark an event newer than its read has set.
 */
import { expect } from "chai";
import type { ReconcileSummary } from "../../../functions/app/reconcile.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import type { FakePullRequest } from "../../helpers/github-api.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { PR_TIER_ENV } from "../../helpers/tiers.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const TABLE = "branchline-state";
const CLONE = "hello-world-pr-2";
const KEY = "hello-world#2";

/** Pull request #2 of the example payloads, as GitHub's API shows it. */
function pullRequest(variant: Partial<FakePullRequest> = {}): FakePullRequest {
  return {
    number: 2,
    state: "open",
    head: { ref: "changes", sha: "a".repeat(40), repo: REPO },
    base: { ref: "master", repo: REPO },
    ...variant,
  };
}

describe("reconciler: pull request high-water marks (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  beforeEach(() => wire.aws.createTable(TABLE));

  const env = (token: boolean) => ({
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    WEBHOOK_SECRET: SECRET,
    STATE_TABLE_NAME: TABLE,
    GITHUB_API_URL: wire.github.url,
    ...(token ? { GITHUB_TOKEN: "ghs_test-token" } : {}),
  });

  function sweep(token = true): Promise<ReconcileSummary> {
    return createReconcileHandler(defaultReconcileDeps(env(token), { logger: wire.logger }))({});
  }

  /** A signed delivery of the example payload to the webhook (no GitHub token). */
  async function deliver(action: "closed" | "reopened", updatedAt: string) {
    const payload = pullRequestPayload({
      action,
      ...(action === "closed" ? { state: "closed" as const } : {}),
    });
    (payload["pull_request"] as Record<string, unknown>)["updated_at"] = updatedAt;
    const handler = createHandler(
      defaultWebhookDeps(
        { ...env(false), GITHUB_API_URL: undefined },
        {
          logger: wire.logger,
        },
      ),
    );
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    return JSON.parse(response.body) as Record<string, unknown>;
  }

  function seedClone(): void {
    const declaration = cloneDeclaration(wire.source, {
      prNumber: 2,
      headBranch: "changes",
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, 2, "changes"));
  }

  it("advances the mark to what GitHub shows, so a late closed is ignored afterwards", async () => {
    wire.github.addPullRequest(pullRequest({ updatedAt: "2026-03-01T10:00:05Z" }));

    const summary = await sweep();

    expect(summary.created).to.deep.equal([2]);
    expect(wire.aws.item(TABLE, KEY)).to.deep.include({
      updatedAt: { S: "2026-03-01T10:00:05.000Z" },
      deliveryId: { S: "-" },
    });
    const late = await deliver("closed", "2026-03-01T10:00:04Z");
    expect(late["outcome"]).to.equal("ignored");
    expect(wire.aws.pipelineNames()).to.include(CLONE);
  });

  it("creates no clone when a newer closed was processed after GitHub listed the pull request open", async () => {
    // The listing is older than the `closed` the webhook has carried out since.
    wire.github.addPullRequest(pullRequest({ updatedAt: "2026-03-01T10:00:05Z" }));
    expect((await deliver("closed", "2026-03-01T10:00:06Z"))["outcome"]).to.equal("absent");

    const summary = await sweep();

    expect(summary.created).to.deep.equal([]);
    expect(summary.errors).to.deep.equal([]);
    expect(wire.aws.pipelineNames()).to.not.include(CLONE);
    expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
    expect(wire.aws.item(TABLE, KEY)?.["updatedAt"]).to.deep.equal({
      S: "2026-03-01T10:00:06.000Z",
    });
    expect(wire.logger.lines.map((l) => l.message)).to.include(
      "pull request left alone: a newer event was processed since GitHub was read",
    );
  });

  it("without a token, deletes no clone a newer reopened has recreated since GitHub was read", async () => {
    // GitHub's answer (closed) is older than the `reopened` the webhook carried out.
    wire.github.addPullRequest(pullRequest({ state: "closed", updatedAt: "2026-03-01T10:00:05Z" }));
    seedClone();
    expect((await deliver("reopened", "2026-03-01T10:00:06Z"))["outcome"]).to.equal("unchanged");

    const summary = await sweep(false);

    expect(summary.deleted).to.deep.equal([]);
    expect(wire.aws.pipelineNames()).to.include(CLONE);
    expect(wire.aws.callCount("DeletePipeline")).to.equal(0);
  });

  it("with a closed pull request GitHub shows newest, advances the mark and deletes the clone", async () => {
    wire.github.addPullRequest(pullRequest({ state: "closed", updatedAt: "2026-03-01T10:00:07Z" }));
    seedClone();
    expect((await deliver("reopened", "2026-03-01T10:00:06Z"))["outcome"]).to.equal("unchanged");

    const summary = await sweep(false);

    expect(summary.deleted).to.deep.equal([2]);
    expect(wire.aws.pipelineNames()).to.not.include(CLONE);
    expect(wire.aws.item(TABLE, KEY)?.["updatedAt"]).to.deep.equal({
      S: "2026-03-01T10:00:07.000Z",
    });
  });

  it("without STATE_TABLE_NAME: advances nothing, and warns once per container", async () => {
    wire.github.addPullRequest(pullRequest({ updatedAt: "2026-03-01T10:00:05Z" }));
    const handler = createReconcileHandler(
      defaultReconcileDeps(
        { ...env(true), ...PR_TIER_ENV, STATE_TABLE_NAME: undefined },
        { logger: wire.logger },
      ),
    );
    await handler({});
    await handler({});
    expect(wire.aws.callCount("UpdateItem")).to.equal(0);
    expect(wire.logger.lines.filter((l) => l.level === "warn").map((l) => l.message)).to.deep.equal(
      [
        "STATE_TABLE_NAME is not set: no replay protection (a replayed or late delivery can undo a newer state)",
      ],
    );
  });
});
