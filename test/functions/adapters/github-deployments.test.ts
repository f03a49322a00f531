/**
 * A preview's GitHub deployments over the wire: Octokit against the GitHub API double's deployments.
 * One deployment per commit and environment (a retry reuses it), the URL on its success status,
 * GitHub's auto-inactivation of the older one, retirement on close, and the requests each takes.
 */
import { expect } from "chai";
import { OctokitPreviewDeployments } from "../../../functions/adapters/github-deployments.js";
import { createOctokit } from "../../../functions/adapters/github.js";
import { previewEnvironment } from "../../../functions/app/preview-deployments.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { GitHubApiDouble } from "../../helpers/github-api.js";
import { GitHubDeployments } from "../../helpers/github-deployments.js";

const REPO = "Codertocat/Hello-World";
const FIRST = "a".repeat(40);
const SECOND = "b".repeat(40);
const URL_7 = "https://pr-7.web.preview.example.com";

describe("adapters/github-deployments: a preview's deployments (wire level)", () => {
  const github = new GitHubApiDouble();
  let deployments: GitHubDeployments;
  let adapter: OctokitPreviewDeployments;
  const environment = previewEnvironment(7, "web");

  before(async () => {
    await github.start();
    deployments = new GitHubDeployments(github);
  });
  after(() => github.close());
  beforeEach(() => {
    github.reset();
    deployments.reset();
    adapter = new OctokitPreviewDeployments(createOctokit("ghs_test-token", github.url));
  });

  const calls = () => github.requests.map((r) => `${r.method} ${r.path}`);

  it("names the environment pr-<n>-<service>", () => {
    expect(environment).to.equal("pr-7-web");
  });

  it("creates the commit's deployment once, with the URL on its success status; a retry reuses it", async () => {
    const report = {
      sha: FIRST,
      environment,
      state: "success" as const,
      url: URL_7,
      description: "Preview of web for #7 (about 0.33 USD a day)",
    };
    await adapter.report(REPO, report);
    expect(calls()).to.deep.equal([
      `GET /repos/${REPO}/deployments`,
      `POST /repos/${REPO}/deployments`,
      `POST /repos/${REPO}/deployments/500000/statuses`,
    ]);
    const [created] = deployments.of(REPO);
    expect(created).to.deep.include({
      sha: FIRST,
      ref: FIRST,
      environment,
      transientEnvironment: true,
      productionEnvironment: false,
    });
    expect(created?.statuses.map((s) => [s.state, s.environmentUrl])).to.deep.equal([
      ["success", URL_7],
    ]);

    await adapter.report(REPO, report);
    expect(deployments.of(REPO)).to.have.length(1);
    expect(calls().slice(3)).to.deep.equal([
      `GET /repos/${REPO}/deployments`,
      `POST /repos/${REPO}/deployments/500000/statuses`,
    ]);
  });

  it("a push deploys the new commit; GitHub marks the older deployment inactive", async () => {
    await adapter.report(REPO, {
      sha: FIRST,
      environment,
      state: "success",
      url: URL_7,
      description: "up",
    });
    await adapter.report(REPO, {
      sha: SECOND,
      environment,
      state: "in_progress",
      description: "deploying",
    });
    await adapter.report(REPO, {
      sha: SECOND,
      environment,
      state: "success",
      url: URL_7,
      description: "up",
    });
    expect(deployments.states(REPO, environment)).to.deep.equal(["inactive", "success"]);
    // Another service's preview of the same pull request is left alone.
    await adapter.report(REPO, {
      sha: SECOND,
      environment: previewEnvironment(7, "api"),
      state: "success",
      url: "https://pr-7.api.preview.example.com",
      description: "up",
    });
    expect(deployments.states(REPO, environment)).to.deep.equal(["inactive", "success"]);
  });

  it("never waits for the commit's status checks (a pending build does not refuse the deployment)", async () => {
    deployments.failingContexts.add(FIRST);
    await adapter.report(REPO, {
      sha: FIRST,
      environment,
      state: "queued",
      description: "waiting",
    });
    expect(deployments.states(REPO, environment)).to.deep.equal(["queued"]);
  });

  it("retire: the newest deployment inactive; none: one request and nothing else", async () => {
    expect(await adapter.retire(REPO, environment, "closed")).to.equal(false);
    expect(calls()).to.deep.equal([`GET /repos/${REPO}/deployments`]);
    await adapter.report(REPO, {
      sha: FIRST,
      environment,
      state: "success",
      url: URL_7,
      description: "up",
    });
    expect(await adapter.retire(REPO, environment, "pull request closed")).to.equal(true);
    expect(deployments.states(REPO, environment)).to.deep.equal(["inactive"]);
  });

  it("a token without the Deployments permission: a configuration error that names it", async () => {
    let refusing = true;
    github.on("POST", /\/deployments$/, () =>
      refusing
        ? { status: 403, body: { message: "Resource not accessible by integration" } }
        : undefined,
    );
    const error = await adapter
      .report(REPO, { sha: FIRST, environment, state: "success", url: URL_7, description: "up" })
      .catch((e: unknown) => e);
    refusing = false;
    expect(error).to.be.instanceOf(ConfigurationError);
    expect((error as Error).message).to.match(
      /^GitHub answered 403 for the deployment of pr-7-web in Codertocat\/Hello-World: the token or GitHub App needs the Deployments permission \(read and write\)/,
    );
  });

  it("long descriptions are cut to GitHub's 140 characters", async () => {
    await adapter.report(REPO, {
      sha: FIRST,
      environment,
      state: "queued",
      description: "x".repeat(300),
    });
    const [deployment] = deployments.of(REPO);
    expect(deployment?.statuses[0]?.description).to.have.length(140);
  });
});
