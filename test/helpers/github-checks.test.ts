/** The GitHub API double's check runs validate what GitHub validates and list as GitHub lists. */
import { Octokit } from "@octokit/rest";
import { expect } from "chai";
import { GitHubApiDouble } from "./github-api.js";
import { CHECK_OUTPUT_MAX, GitHubChecks } from "./github-checks.js";

const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

describe("GitHub API double: check runs", () => {
  const github = new GitHubApiDouble();
  const checks = new GitHubChecks(github);
  before(() => github.start());
  after(() => github.close());
  beforeEach(() => {
    github.reset();
    checks.reset();
    github.tokens.set("ghs_installation", { app: "branchline-app" });
  });

  const as = (token: string) =>
    new Octokit({
      auth: token,
      baseUrl: github.url,
      request: { retries: 0 },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  const status = (promise: Promise<unknown>) =>
    promise.then(
      () => 200,
      (error: { status?: number }) => error.status,
    );
  const base = { owner: "o", repo: "r", name: "branchline / svc", head_sha: SHA };

  it("refuses a token that is not a GitHub App's", async () => {
    const error = await as("ghp_personal")
      .rest.checks.create(base)
      .catch((e: Error) => e);
    expect(error).to.include({ status: 403 });
    expect((error as Error).message).to.include("You must authenticate via a GitHub App.");
  });

  it("validates the name, the head commit, the conclusion of a completed run and the output's size", async () => {
    const octokit = as("ghs_installation");
    expect(await status(octokit.rest.checks.create({ ...base, head_sha: "" }))).to.equal(422);
    expect(await status(octokit.rest.checks.create({ ...base, status: "completed" }))).to.equal(
      422,
    );
    const long = { title: "t", summary: "s".repeat(CHECK_OUTPUT_MAX + 1) };
    expect(await status(octokit.rest.checks.create({ ...base, output: long }))).to.equal(422);
    const { data } = await octokit.rest.checks.create({ ...base, external_id: "e1" });
    expect(data).to.deep.include({ status: "queued", conclusion: null, external_id: "e1" });
    const done = await octokit.rest.checks.update({
      owner: "o",
      repo: "r",
      check_run_id: data.id,
      conclusion: "success",
    });
    expect(done.data).to.deep.include({ status: "completed", conclusion: "success" });
  });

  it("lists a commit's runs of one name, every page", async () => {
    const octokit = as("ghs_installation");
    for (let i = 0; i < 3; i++) await octokit.rest.checks.create(base);
    await octokit.rest.checks.create({ ...base, name: "other" });
    const runs = await octokit.paginate(octokit.rest.checks.listForRef, {
      owner: "o",
      repo: "r",
      ref: SHA,
      check_name: "branchline / svc",
      filter: "all",
      per_page: 2,
    });
    expect(runs.map((r) => r.name)).to.deep.equal(Array(3).fill("branchline / svc"));
    const latest = await octokit.rest.checks.listForRef({ owner: "o", repo: "r", ref: SHA });
    expect(latest.data.check_runs.map((r) => r.name)).to.deep.equal(["other", "branchline / svc"]);
  });
});
