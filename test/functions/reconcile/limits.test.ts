/**
 * Clone limits and idle expiry on the reconciler's sweep, over the wire (the real handler and
 * default dependencies, the SDK against the AWS double, Octokit against the GitHub API double), and
 * the webhook bringing an idle-expired clone back: a sweep fills the slots a lost `closed` freed,
 * oldest first; removes clones without a push for `idleDays` unless labelled `branchline:keep`; and
 * never brings such a clone back until a push or a reopen.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import {
  seedServices,
  servicePipeline,
  sourceOf,
  tableEntry,
  type TestService,
} from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
const TABLE = "branchline-state";
const DAY = 24 * 60 * 60 * 1000;

const api: TestService = { name: "api", repository: REPO, branch: "master" };

const shaOf = (n: number, push = 0): string =>
  `${push}`.padStart(8, "0") + n.toString(16).padStart(32, "0");

const empty = {
  created: [],
  updated: [],
  deleted: [],
  imagesDeleted: [],
  unchanged: [],
  errors: [],
};

describe("reconcile handler: clone limits and idle expiry (wire level)", function () {
  const wire = useWireDoubles({ seed: false });
  let statuses: GitHubComments;

  before(() => {
    statuses = new GitHubComments(wire.github);
  });
  beforeEach(() => {
    statuses.reset();
    seedServices(wire.aws, [api]);
    wire.aws.createTable(TABLE);
  });

  const env = (entry: Record<string, unknown>) => ({
    BRANCHLINE_SERVICES: JSON.stringify([tableEntry(api, entry)]),
    GITHUB_TOKEN: "ghs_test-token",
    GITHUB_API_URL: wire.github.url,
    STATE_TABLE_NAME: TABLE,
  });

  const sweep = (entry: Record<string, unknown>, now = Date.now()) =>
    createReconcileHandler({
      ...defaultReconcileDeps(env(entry), { logger: wire.logger }),
      now: () => now,
    })();

  /** GitHub's `updated_at`, later each time it is asked for (deliveries and GitHub alike). */
  let updates = 0;
  const nextUpdate = (): string => {
    updates += 1;
    return new Date(Date.UTC(2027, 0, 1) + updates * 1000).toISOString().replace(".000Z", "Z");
  };

  /** A signed delivery to the webhook (inline), with an `updated_at` later than any before it. */
  async function deliver(entry: Record<string, unknown>, n: number, action: string) {
    const payload = pullRequestPayload({ number: n, headRef: `feature-${n}`, action });
    (payload["pull_request"] as Record<string, unknown>)["updated_at"] = nextUpdate();
    const handler = createHandler(
      defaultWebhookDeps({ ...env(entry), WEBHOOK_SECRET: SECRET }, { logger: wire.logger }),
    );
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    return JSON.parse(response.body) as Record<string, unknown>;
  }

  function seedClone(n: number): void {
    const branch = `feature-${n}`;
    const declaration = cloneDeclaration(servicePipeline(api), {
      prNumber: n,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(sourceOf(api), n, branch));
  }

  function onGitHub(
    n: number,
    variant: { state?: "open" | "closed"; labels?: string[]; push?: number } = {},
  ) {
    wire.github.pullRequests.delete(`${REPO.toLowerCase()}#${n}`);
    wire.github.addPullRequest({
      number: n,
      state: variant.state ?? "open",
      head: { ref: `feature-${n}`, sha: shaOf(n, variant.push), repo: REPO },
      base: { ref: "master", repo: REPO },
      labels: variant.labels ?? [],
      updatedAt: nextUpdate(),
    });
  }

  const clones = () =>
    wire.aws
      .pipelineNames()
      .filter((name) => name.includes("-pr-"))
      .sort();
  const statusesAt = (sha: string) =>
    wire.github.requests
      .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/statuses/${sha}`)
      .map((r) => r.body);
  const operations = (name: string) =>
    wire.aws.calls.filter((call) => call.operation === name).length;

  it("fills the slots a lost close freed, oldest first; the others wait with a pending status", async () => {
    seedClone(3);
    seedClone(4);
    for (const n of [1, 2, 3, 5]) onGitHub(n);
    onGitHub(4, { state: "closed" });
    const entry = { maxClones: 2 };
    const summary = await sweep(entry);
    expect(summary).to.deep.equal({
      ...empty,
      created: [1],
      deleted: [4],
      unchanged: [3],
      waiting: [2, 5],
    });
    expect(clones()).to.deep.equal(["shop-api-pr-1", "shop-api-pr-3"]);
    expect(statusesAt(shaOf(2))).to.deep.equal([
      {
        state: "pending",
        context: "branchline/api",
        description: "Waiting: 2 of 2 clones in use for api; builds when one frees",
      },
    ]);
    expect(statusesAt(shaOf(1))).to.deep.equal([
      { state: "success", context: "branchline/api", description: "Built: shop-api-pr-1" },
    ]);
    expect(statusesAt(shaOf(5))).to.deep.equal(statusesAt(shaOf(2)));
    // A second sweep changes nothing: #2 and #5 still wait. Its listings: the sweep's, and the one
    // count that found the limit full for #2 (#5, younger, is not counted again).
    wire.aws.calls.length = 0;
    const again = await sweep(entry);
    expect(again).to.deep.equal({ ...empty, unchanged: [1, 3], waiting: [2, 5] });
    expect(operations("ListPipelines")).to.equal(2);
  });

  it("without a limit or idle days: no extra call (one ListPipelines, no executions, no markers)", async () => {
    seedClone(1);
    onGitHub(1);
    onGitHub(2);
    wire.aws.calls.length = 0;
    const summary = await sweep({});
    expect(summary).to.deep.equal({ ...empty, created: [2], unchanged: [1] });
    expect(operations("ListPipelines")).to.equal(1);
    expect(operations("ListPipelineExecutions")).to.equal(0);
    expect(operations("GetItem")).to.equal(0);
    expect(wire.github.requests.filter((r) => r.path.includes("/statuses/"))).to.deep.equal([]);
  });

  it("idle expiry removes clones without a push for idleDays, except branchline:keep; the sweep never brings them back", async () => {
    const entry = { idleDays: 7 };
    seedClone(1);
    seedClone(2);
    seedClone(3);
    // #3 was pushed to recently: its newest execution started 2 days before the sweep.
    wire.aws.seedExecution("shop-api-pr-3", {
      status: "Succeeded",
      startTime: new Date(Date.now() + 6 * DAY),
    });
    onGitHub(1);
    onGitHub(2, { labels: ["branchline:keep"] });
    onGitHub(3);
    const later = Date.now() + 8 * DAY;
    wire.aws.calls.length = 0;
    const summary = await sweep(entry, later);
    expect(summary).to.deep.equal({ ...empty, deleted: [1], unchanged: [2, 3], idle: [1] });
    expect(clones()).to.deep.equal(["shop-api-pr-2", "shop-api-pr-3"]);
    // Executions read for the two clones that could be idle and are not kept (#1 and #3), and
    // once more by #1's removal (the executions it stops).
    expect(operations("ListPipelineExecutions")).to.equal(3);
    expect(statusesAt(shaOf(1))).to.deep.equal([
      {
        state: "success",
        context: "branchline/api",
        description: "Removed after 7 days without a push: push or reopen to bring it back",
      },
    ]);
    expect(wire.aws.item(TABLE, "shop-api#1#idle")?.["headSha"]).to.deep.equal({ S: shaOf(1) });

    const again = await sweep(entry, later);
    expect(again).to.deep.equal({ ...empty, unchanged: [2, 3], idle: [1] });
    expect(clones()).to.deep.equal(["shop-api-pr-2", "shop-api-pr-3"]);
  });

  it("a push brings an idle-expired clone back, a label does not, a reopen does", async () => {
    const entry = { idleDays: 7, labels: { skip: ["never"] } };
    seedClone(1);
    onGitHub(1);
    const later = Date.now() + 8 * DAY;
    await sweep(entry, later);
    expect(clones()).to.deep.equal([]);

    // A label changed: the head is the same, so it stays removed, and says why.
    onGitHub(1, { labels: ["docs"] });
    const labeled = await deliver(entry, 1, "labeled");
    expect(labeled).to.deep.equal({
      outcome: "ignored",
      pullRequest: 1,
      reason: "Removed after 7 days without a push: push or reopen to bring it back",
    });
    expect(clones()).to.deep.equal([]);

    // A push: a new head commit clears the marker and builds it again.
    onGitHub(1, { push: 1 });
    const pushed = await deliver(entry, 1, "synchronize");
    expect(pushed).to.deep.include({ outcome: "created", pipeline: "shop-api-pr-1" });
    expect(wire.aws.item(TABLE, "shop-api#1#idle")).to.equal(undefined);
    expect(statusesAt(shaOf(1, 1)).at(-1)).to.deep.equal({
      state: "success",
      context: "branchline/api",
      description: "Built: shop-api-pr-1",
    });

    // Idle again (16 days on), then closed and reopened at the same head: back.
    onGitHub(1, { push: 1 });
    await sweep(entry, Date.now() + 16 * DAY);
    expect(clones()).to.deep.equal([]);
    onGitHub(1, { push: 1 });
    const reopened = await deliver(entry, 1, "reopened");
    expect(reopened).to.deep.include({ outcome: "created", pipeline: "shop-api-pr-1" });
  });

  it("a lost push is healed by the sweep: a head other than the marker's is built", async () => {
    const entry = { idleDays: 7 };
    seedClone(1);
    onGitHub(1);
    await sweep(entry, Date.now() + 8 * DAY);
    expect(clones()).to.deep.equal([]);
    onGitHub(1, { push: 2 });
    const summary = await sweep(entry, Date.now() + 8 * DAY);
    expect(summary).to.deep.equal({ ...empty, created: [1] });
    expect(wire.aws.item(TABLE, "shop-api#1#idle")).to.equal(undefined);
  });
});
