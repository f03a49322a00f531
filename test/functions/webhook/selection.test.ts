/**
 * Who gets a pipeline, over the wire: the services' label and path rules applied by the webhook
 * (inline) to GitHub's example deliveries (opened, labeled, unlabeled, synchronize), with the commit
 * status that says why a pull request is not built, and the GitHub calls each delivery makes.
 */
import { expect } from "chai";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import { seedServices, tableEntry, type TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
/** The example payloads' pull request: #2 from `changes` at this commit. */
const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

const api: TestService = { name: "api", repository: REPO, branch: "master" };
const web: TestService = { name: "web", repository: REPO, branch: "master" };

describe("webhook: label and path rules (wire level)", function () {
  const wire = useWireDoubles({ github: true, seed: false });
  let statuses: GitHubComments;

  before(() => {
    statuses = new GitHubComments(wire.github);
  });
  beforeEach(() => statuses.reset());

  /** The routing table of `api` (with `rules`) and `web` (without), both seeded. */
  function table(rules: Record<string, unknown>, webRules: Record<string, unknown> = {}): string {
    seedServices(wire.aws, [api, web]);
    return JSON.stringify([tableEntry(api, rules), tableEntry(web, webRules)]);
  }

  /** Pull request #2 as GitHub shows it now. */
  function onGitHub(labels: string[], files: string[] = []): void {
    wire.github.pullRequests.clear();
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: SHA, repo: REPO },
      base: { ref: "master", repo: REPO },
      labels,
      files,
    });
  }

  async function deliver(services: string, variant: PullRequestVariant = {}) {
    const handler = createHandler(
      defaultWebhookDeps(
        {
          BRANCHLINE_SERVICES: services,
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
        },
        { logger: wire.logger },
      ),
    );
    const response = await handler(signedEvent(pullRequestPayload(variant), { secret: SECRET }));
    return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
  }

  const postedStatuses = () =>
    wire.github.requests
      .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/statuses/${SHA}`)
      .map((r) => r.body);
  const filesRequests = () => wire.github.requestsTo(`/repos/${REPO}/pulls/2/files`);
  const clones = () => wire.aws.pipelineNames().filter((name) => name.includes("-pr-"));

  it("skip: a labelled pull request gets no clone and a status says why; the other service builds it", async () => {
    const services = table({ labels: { skip: ["branchline:skip"] } });
    onGitHub(["branchline:skip"]);
    const answer = await deliver(services, { labels: ["branchline:skip"] });
    expect(answer).to.deep.equal({
      status: 200,
      body: {
        outcome: "handled",
        services: [
          {
            service: "api",
            outcome: "absent",
            pipeline: "shop-api-pr-2",
            pullRequest: 2,
            executionsStopped: 0,
            imagesDeleted: 0,
            reason: "not built: label `branchline:skip`",
          },
          { service: "web", outcome: "created", pipeline: "shop-web-pr-2", pullRequest: 2 },
        ],
      },
    });
    expect(clones()).to.deep.equal(["shop-web-pr-2"]);
    expect(postedStatuses()).to.deep.include({
      state: "success",
      context: "branchline/api",
      description: "Not built: label `branchline:skip`",
    });
    // No path rules anywhere: the files are never asked for.
    expect(filesRequests()).to.deep.equal([]);
  });

  it("skip pauses and resumes: labeled removes the clone, unlabeled brings it back; a service without label rules is not asked", async () => {
    const services = table({ labels: { skip: ["branchline:skip"] } });
    onGitHub([]);
    await deliver(services, { labels: [] });
    expect(clones().sort()).to.deep.equal(["shop-api-pr-2", "shop-web-pr-2"]);

    onGitHub(["branchline:skip"]);
    wire.aws.calls.length = 0;
    const paused = await deliver(services, { action: "labeled", labels: ["branchline:skip"] });
    expect(paused.status).to.equal(200);
    expect(paused.body).to.deep.equal({
      outcome: "handled",
      services: [
        {
          service: "api",
          outcome: "deleted",
          pipeline: "shop-api-pr-2",
          pullRequest: 2,
          executionsStopped: 0,
          imagesDeleted: 0,
          reason: "not built: label `branchline:skip`",
        },
      ],
    });
    expect(clones()).to.deep.equal(["shop-web-pr-2"]);
    // `web` has no label rules: the labeled delivery never touched its pipelines.
    expect(
      wire.aws.calls.filter((call) => JSON.stringify(call.input).includes("shop-web")),
    ).to.deep.equal([]);

    onGitHub([]);
    const resumed = await deliver(services, { action: "unlabeled", labels: [] });
    expect(resumed.body).to.deep.equal({
      outcome: "handled",
      services: [{ service: "api", outcome: "created", pipeline: "shop-api-pr-2", pullRequest: 2 }],
    });
    expect(clones().sort()).to.deep.equal(["shop-api-pr-2", "shop-web-pr-2"]);
    // The status that said it was not built yields to one that says it is.
    expect(postedStatuses().at(-1)).to.deep.equal({
      state: "success",
      context: "branchline/api",
      description: "Built: shop-api-pr-2",
    });
  });

  it("require: only a pull request with one of the labels is built (as GitHub shows it now)", async () => {
    const services = table({ labels: { require: ["preview", "deploy-preview"] } });
    onGitHub([]);
    const without = await deliver(services, { labels: ["preview"] });
    // The payload says `preview`, GitHub now says none: GitHub wins (the label was removed since).
    expect(without.body).to.deep.include({ outcome: "handled" });
    expect(clones()).to.deep.equal(["shop-web-pr-2"]);
    expect(postedStatuses()).to.deep.include({
      state: "success",
      context: "branchline/api",
      description: "Not built: no label `preview` or `deploy-preview`",
    });
    onGitHub(["Deploy-Preview"]);
    await deliver(services, { action: "labeled", labels: ["Deploy-Preview"] });
    expect(clones().sort()).to.deep.equal(["shop-api-pr-2", "shop-web-pr-2"]);
  });

  it("a labeled delivery no service has label rules for is ignored without an AWS or GitHub call", async () => {
    const services = table({});
    wire.aws.calls.length = 0;
    const answer = await deliver(services, { action: "labeled" });
    expect(answer).to.deep.equal({
      status: 202,
      body: {
        outcome: "ignored",
        reason: `action labeled: no service of ${REPO}:master has label rules`,
      },
    });
    expect(wire.aws.calls).to.deep.equal([]);
    expect(wire.github.requests).to.deep.equal([]);
  });

  it("paths: each service of a monorepo builds only pull requests changing its files; the files are read once", async () => {
    const services = table(
      { paths: { include: ["services/api/**"] } },
      { paths: { include: ["services/web/**"], exclude: ["**/*.md"] } },
    );
    onGitHub([], ["services/web/src/index.ts", "services/api/README.md"]);
    const answer = await deliver(services);
    expect(answer.body).to.deep.equal({
      outcome: "handled",
      services: [
        {
          service: "api",
          outcome: "created",
          pipeline: "shop-api-pr-2",
          pullRequest: 2,
        },
        { service: "web", outcome: "created", pipeline: "shop-web-pr-2", pullRequest: 2 },
      ],
    });
    expect(filesRequests()).to.have.length(1);

    // A new commit that changes only documentation: web's clone goes, api's stays.
    onGitHub([], ["services/web/README.md", "services/api/handler.ts"]);
    wire.github.requests.length = 0;
    const pushed = await deliver(services, { action: "synchronize" });
    expect(pushed.body).to.deep.equal({
      outcome: "handled",
      services: [
        { service: "api", outcome: "unchanged", pipeline: "shop-api-pr-2", pullRequest: 2 },
        {
          service: "web",
          outcome: "deleted",
          pipeline: "shop-web-pr-2",
          pullRequest: 2,
          executionsStopped: 0,
          imagesDeleted: 0,
          reason: "not built: no changed file matches services/web/** outside **/*.md",
        },
      ],
    });
    expect(clones()).to.deep.equal(["shop-api-pr-2"]);
    expect(postedStatuses()).to.deep.equal([
      {
        state: "success",
        context: "branchline/web",
        description: "Not built: no changed file matches services/web/** outside **/*.md",
      },
    ]);
    // GitHub calls of this delivery: the pull request once for both services, its files once.
    expect(
      wire.github.requests.map((r) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ""}`),
    ).to.deep.equal([
      `GET /repos/${REPO}/pulls/2`,
      `GET /repos/${REPO}/pulls/2/files?per_page=100`,
      `POST /repos/${REPO}/statuses/${SHA}`,
    ]);
  });

  it("paths: every page of the files is read, and a list GitHub cut at 3000 files counts as matching", async () => {
    const services = table({ paths: { include: ["services/api/**"] } });
    const many = Array.from({ length: 250 }, (_, i) => `docs/page-${i}.md`);
    onGitHub([], [...many, "services/api/main.go"]);
    await deliver(services);
    expect(filesRequests()).to.have.length(3);
    expect(clones().sort()).to.deep.equal(["shop-api-pr-2", "shop-web-pr-2"]);

    const huge = Array.from({ length: 3500 }, (_, i) => `docs/page-${i}.md`);
    onGitHub([], [...huge, "services/api/main.go"]);
    wire.github.requests.length = 0;
    await deliver(services, { action: "synchronize" });
    expect(filesRequests()).to.have.length(30);
    expect(clones().sort()).to.deep.equal(["shop-api-pr-2", "shop-web-pr-2"]);
    expect(wire.logger.lines.map((line) => line.message)).to.include(
      "GitHub lists at most 3000 changed files and none of those listed matches the path rules; built anyway, as the files beyond the list are unknown",
    );
  });
});
