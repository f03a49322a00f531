/**
 * Clone limits over the wire: signed example deliveries to the webhook (inline), the real SDK
 * clients against the AWS double, Octokit against the GitHub API double. A pull request beyond a
 * service's or the stack's `maxClones` waits with a pending status, a close gives the freed slot to
 * the oldest waiting pull request, concurrent deliveries never leave more clones than the limit, and
 * a draft not built says so.
 */
import { expect } from "chai";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubPermissions } from "../../helpers/github-permissions.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import { seedServices, tableEntry, type TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";

const api: TestService = { name: "api", repository: REPO, branch: "master" };
const web: TestService = { name: "web", repository: REPO, branch: "master" };

/** The example payloads' head commit. */
const EXAMPLE_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

/** Pull request n's head commit. */
const shaOf = (n: number): string => n.toString(16).padStart(40, "0");

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe("webhook: clone limits (wire level)", function () {
  const wire = useWireDoubles({ github: true, seed: false });
  let statuses: GitHubComments;

  before(() => {
    statuses = new GitHubComments(wire.github);
  });
  beforeEach(() => statuses.reset());

  function table(entries: Record<string, unknown>[]): string {
    return JSON.stringify(entries);
  }

  /** Pull request n as GitHub shows it now. */
  function onGitHub(n: number, variant: { state?: "open" | "closed"; draft?: boolean } = {}) {
    wire.github.pullRequests.delete(`${REPO.toLowerCase()}#${n}`);
    wire.github.addPullRequest({
      number: n,
      state: variant.state ?? "open",
      draft: variant.draft ?? false,
      head: { ref: `feature-${n}`, sha: shaOf(n), repo: REPO },
      base: { ref: "master", repo: REPO },
    });
  }

  function handler(services: string, env: Record<string, string> = {}) {
    return createHandler(
      defaultWebhookDeps(
        {
          BRANCHLINE_SERVICES: services,
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
  }

  async function deliver(
    services: string,
    n: number,
    variant: PullRequestVariant = {},
    env: Record<string, string> = {},
  ): Promise<Answer> {
    const payload = pullRequestPayload({ number: n, headRef: `feature-${n}`, ...variant });
    const response = await handler(services, env)(signedEvent(payload, { secret: SECRET }));
    return { status: response.statusCode, body: JSON.parse(response.body) as Answer["body"] };
  }

  const clones = () =>
    wire.aws
      .pipelineNames()
      .filter((name) => name.includes("-pr-"))
      .sort();
  /** The statuses posted on a commit, in order. */
  const statusesAt = (sha: string) =>
    wire.github.requests
      .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/statuses/${sha}`)
      .map((r) => r.body);
  /** The statuses posted on pull request n's head commit, in order. */
  const statusesOf = (n: number) => statusesAt(shaOf(n));

  it("beyond maxClones a pull request waits with a pending status; a close builds the oldest waiting one", async () => {
    seedServices(wire.aws, [api]);
    const services = table([tableEntry(api, { maxClones: 2 })]);
    for (const n of [1, 2, 3, 4]) onGitHub(n);
    expect((await deliver(services, 4)).body).to.deep.include({ outcome: "created" });
    expect((await deliver(services, 3)).body).to.deep.include({ outcome: "created" });

    const waiting = await deliver(services, 2);
    expect(waiting).to.deep.equal({
      status: 202,
      body: {
        outcome: "waiting",
        pullRequest: 2,
        reason: "Waiting: 2 of 2 clones in use for api; builds when one frees",
      },
    });
    expect(statusesOf(2)).to.deep.equal([
      {
        state: "pending",
        context: "branchline/api",
        description: "Waiting: 2 of 2 clones in use for api; builds when one frees",
      },
    ]);
    expect((await deliver(services, 1)).body).to.deep.include({ outcome: "waiting" });
    expect(clones()).to.deep.equal(["shop-api-pr-3", "shop-api-pr-4"]);

    // #4 closes: its slot goes to #1, the oldest waiting; #2 still waits (the limit is full again).
    onGitHub(4, { state: "closed" });
    const closed = await deliver(services, 4, { action: "closed", state: "closed" });
    expect(closed.body).to.deep.include({ outcome: "deleted", pipeline: "shop-api-pr-4" });
    expect(clones()).to.deep.equal(["shop-api-pr-1", "shop-api-pr-3"]);
    expect(statusesOf(1).at(-1)).to.deep.equal({
      state: "success",
      context: "branchline/api",
      description: "Built: shop-api-pr-1",
    });
    expect(statusesOf(2).at(-1)).to.deep.include({ state: "pending" });
    // The filled clone is announced like any other.
    expect(statuses.comments.get(1)).to.have.length(1);
  });

  it("a freed slot never builds an untrusted pull request that is not approved", async () => {
    new GitHubPermissions(wire.github).set("outsider", "read");
    seedServices(wire.aws, [api]);
    const services = table([tableEntry(api, { maxClones: 1 })]);
    onGitHub(1);
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "feature-2", sha: shaOf(2), repo: REPO },
      base: { ref: "master", repo: REPO },
      author: "outsider",
      authorAssociation: "CONTRIBUTOR",
    });
    expect((await deliver(services, 1)).body).to.deep.include({ outcome: "created" });
    expect((await deliver(services, 2)).body).to.deep.include({ awaitingApproval: true });

    // #1 closes: #2 is the only open pull request without a clone, and it is not approved.
    onGitHub(1, { state: "closed" });
    const closed = await deliver(services, 1, { action: "closed", state: "closed" });
    expect(closed.body).to.deep.include({ outcome: "deleted" });
    expect(clones()).to.deep.equal([]);
    const last = statusesOf(2).at(-1) as Record<string, unknown> | undefined;
    expect(last).to.deep.include({ state: "pending", context: "branchline/api" });
    expect(String(last?.["description"])).to.match(/^Waiting for approval/);
  });

  it("an existing clone is never removed to make room: a lowered limit takes effect as clones go", async () => {
    seedServices(wire.aws, [api]);
    for (const n of [1, 2, 3]) onGitHub(n);
    const unlimited = table([tableEntry(api)]);
    for (const n of [1, 2, 3]) await deliver(unlimited, n);
    const lowered = table([tableEntry(api, { maxClones: 1 })]);
    // A push to an existing clone is served; a new pull request waits.
    expect((await deliver(lowered, 3, { action: "synchronize" })).body).to.deep.include({
      outcome: "unchanged",
    });
    onGitHub(5);
    expect((await deliver(lowered, 5)).body).to.deep.include({
      reason: "Waiting: 1 of 1 clones in use for api; builds when one frees",
    });
    // A close frees a slot, but 2 clones remain for a limit of 1: nothing is built.
    onGitHub(1, { state: "closed" });
    await deliver(lowered, 1, { action: "closed", state: "closed" });
    expect(clones()).to.deep.equal(["shop-api-pr-2", "shop-api-pr-3"]);
  });

  it("the stack's limit counts every service's clones", async () => {
    seedServices(wire.aws, [api, web]);
    const services = table([tableEntry(api), tableEntry(web)]);
    const env = { BRANCHLINE_MAX_CLONES: "3" };
    onGitHub(1);
    onGitHub(2);
    await deliver(services, 1, {}, env);
    expect(clones()).to.deep.equal(["shop-api-pr-1", "shop-web-pr-1"]);
    // #2's two clones are created at once; the one created second is beyond 3 and removes itself.
    const second = await deliver(services, 2, {}, env);
    const answers = second.body["services"] as Record<string, unknown>[];
    expect(answers.map((answer) => answer["outcome"]).sort()).to.deep.equal(["created", "waiting"]);
    expect(answers.find((answer) => answer["outcome"] === "waiting")).to.deep.include({
      reason: "Waiting: 3 of 3 clones in use for this stack; builds when one frees",
    });
    expect(clones()).to.have.length(3);
  });

  it("20 pull requests opened at once with maxClones 5: exactly 5 clones, 15 pending statuses", async () => {
    seedServices(wire.aws, [api]);
    const services = table([tableEntry(api, { maxClones: 5 })]);
    const numbers = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const n of numbers) onGitHub(n);
    const answers = await Promise.all(numbers.map((n) => deliver(services, n)));
    const outcomes = answers.map((answer) => answer.body["outcome"]);
    expect(outcomes.filter((o) => o === "created")).to.have.length(5);
    expect(outcomes.filter((o) => o === "waiting")).to.have.length(15);
    expect(clones()).to.have.length(5);
    const built = numbers.filter((_, i) => outcomes[i] === "created");
    // Every clone created beyond the limit removed itself again.
    const count = (operation: string) =>
      wire.aws.calls.filter((call) => call.operation === operation).length;
    expect(count("CreatePipeline") - count("DeletePipeline")).to.equal(5);
    expect(clones()).to.deep.equal(built.map((n) => `shop-api-pr-${n}`).sort());
    const lastStates = numbers.map((n) => statusesOf(n).at(-1) as { state: string });
    expect(lastStates.filter((s) => s.state === "pending")).to.have.length(15);
    expect(lastStates.filter((s) => s.state === "success")).to.have.length(5);

    // Every slot freed goes to the oldest waiting pull request.
    const waiting = numbers.filter((_, i) => outcomes[i] === "waiting");
    const first = built[0] as number;
    onGitHub(first, { state: "closed" });
    await deliver(services, first, { action: "closed", state: "closed" });
    expect(clones()).to.have.length(5);
    expect(clones()).to.include(`shop-api-pr-${waiting[0]}`);
  });

  it("measures the calls: none more without a limit; two ListPipelines with one", async () => {
    seedServices(wire.aws, [api]);
    onGitHub(1);
    const operations = () => wire.aws.calls.map((call) => call.operation);
    wire.aws.calls.length = 0;
    wire.github.requests.length = 0;
    await deliver(table([tableEntry(api)]), 1);
    const without = operations();
    expect(without).to.not.include("ListPipelines");
    const request = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
    const githubWithout = wire.github.requests.map(request);

    wire.aws.reset();
    statuses.reset();
    seedServices(wire.aws, [api]);
    wire.github.requests.length = 0;
    await deliver(table([tableEntry(api, { maxClones: 3 })]), 1);
    const withLimit = operations();
    expect(withLimit.filter((op) => op === "ListPipelines")).to.have.length(2);
    expect(withLimit.filter((op) => op !== "ListPipelines")).to.deep.equal(without);
    // One GitHub call more: the status that says it is built.
    expect(wire.github.requests.map(request).sort()).to.deep.equal(
      [...githubWithout, `POST /repos/${REPO}/statuses/${shaOf(1)}`].sort(),
    );
  });

  it("a draft not built says so on its commit; ready for review builds it and the status yields", async () => {
    seedServices(wire.aws, [api]);
    const services = table([tableEntry(api, { buildDraftPullRequests: false })]);
    onGitHub(7, { draft: true });
    const draft = await deliver(services, 7, { draft: true });
    expect(draft).to.deep.equal({
      status: 202,
      body: {
        outcome: "ignored",
        reason: "pull request #7 is a draft; waiting for ready_for_review",
      },
    });
    // The delivery's own head commit (the example payload's): a draft is not read from GitHub.
    expect(statusesAt(EXAMPLE_SHA)).to.deep.equal([
      {
        state: "success",
        context: "branchline/api",
        description: "Not built: draft; marked ready for review it builds",
      },
    ]);
    onGitHub(7);
    const ready = await deliver(services, 7, { action: "ready_for_review", draft: false });
    expect(ready.body).to.deep.include({ outcome: "created", pipeline: "shop-api-pr-7" });
    expect(statusesOf(7).at(-1)).to.deep.equal({
      state: "success",
      context: "branchline/api",
      description: "Built: shop-api-pr-7",
    });
  });
});
