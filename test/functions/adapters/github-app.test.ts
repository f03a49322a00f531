/**
 * GitHub App authentication over the wire: Octokit with @octokit/auth-app against the GitHub API
 * double, which verifies the App's RS256 JWTs with the App's public key, issues installation tokens
 * with an `expires_at` and refuses them (401) once they expired by its clock.
 */
import { expect } from "chai";
import { OctokitPullRequests } from "../../../functions/adapters/github.js";
import { gitHubCredentials, type GitHubCredentials } from "../../../functions/adapters/services.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { fakePullRequest, GitHubApiDouble } from "../../helpers/github-api.js";
import { installApp, otherPrivateKey, type TestApp } from "../../helpers/github-app.js";

const REPO = "Codertocat/Hello-World";
const MINUTE = 60_000;

describe("GitHub App authentication (wire level)", () => {
  const github = new GitHubApiDouble();
  let app: TestApp;
  let clock: number;

  before(() => github.start());
  after(() => github.close());
  beforeEach(() => {
    github.reset();
    app = installApp(github);
    github.addPullRequest(fakePullRequest(2));
    clock = Date.parse("2026-12-02T10:00:00Z");
    github.now = () => clock;
  });

  function credentials(
    options: { installationId?: number; privateKey?: string } = {},
  ): GitHubCredentials {
    const made = gitHubCredentials(
      {
        githubToken: {},
        githubApp: {
          appId: String(app.id),
          privateKey: { value: options.privateKey ?? app.privateKey },
          installationId: options.installationId,
        },
      },
      { now: () => clock },
    );
    if (!made) throw new Error("no credentials");
    return made;
  }

  /** One invocation: a new Octokit from the container's credentials, reading pull request #n. */
  async function read(from: GitHubCredentials, repository = REPO, n = 2): Promise<number> {
    const octokit = await from.octokit(github.url, AbortSignal.timeout(10_000));
    return (await new OctokitPullRequests(octokit).get(repository, n)).number;
  }

  const calls = () =>
    github.requests.map((r) => [r.method, r.path, r.authorization?.split(" ")[0]]);
  const tokenOf = (path: string) =>
    github.requestsTo(path).map((r) => r.authorization?.replace(/^token /, ""));
  const issued = () => [...github.installationTokens.keys()];

  it("acts as the repository's installation: the JWT to find it and make a token, the token for the rest", async () => {
    const container = credentials();
    expect(await read(container)).to.equal(2);
    expect(calls()).to.deep.equal([
      ["GET", `/repos/${REPO}/installation`, "bearer"],
      ["POST", "/app/installations/7/access_tokens", "bearer"],
      ["GET", `/repos/${REPO}/pulls/2`, "token"],
    ]);
    expect(tokenOf(`/repos/${REPO}/pulls/2`)).to.deep.equal(issued());
    expect(github.whoIs(github.requests[2]?.authorization)).to.deep.equal({ app: app.slug });

    // The next invocation of the container: installation and token are kept.
    github.requests.length = 0;
    expect(await read(container)).to.equal(2);
    expect(calls()).to.deep.equal([["GET", `/repos/${REPO}/pulls/2`, "token"]]);
    expect(issued()).to.have.length(1);
  });

  it("replaces the token five minutes before its expires_at, before GitHub would refuse it", async () => {
    const container = credentials();
    await read(container);
    const [first] = issued();

    clock += 54 * MINUTE;
    github.requests.length = 0;
    await read(container);
    expect(tokenOf(`/repos/${REPO}/pulls/2`)).to.deep.equal([first]);

    clock += 2 * MINUTE; // 56 minutes: within five minutes of the hour's expiry
    github.requests.length = 0;
    await read(container);
    expect(calls()).to.deep.equal([
      ["POST", "/app/installations/7/access_tokens", "bearer"],
      ["GET", `/repos/${REPO}/pulls/2`, "token"],
    ]);
    const [, second] = issued();
    expect(second).to.be.a("string").and.not.equal(first);
    expect(tokenOf(`/repos/${REPO}/pulls/2`)).to.deep.equal([second]);
  });

  it("a token GitHub refuses as expired (401) is replaced and the request retried once", async () => {
    const container = credentials();
    await read(container);
    const [first] = issued();
    // GitHub's clock says the token expired; the function's does not know yet.
    github.now = () => clock + 61 * MINUTE;
    github.requests.length = 0;
    expect(await read(container)).to.equal(2);
    expect(calls()).to.deep.equal([
      ["GET", `/repos/${REPO}/pulls/2`, "token"],
      ["POST", "/app/installations/7/access_tokens", "bearer"],
      ["GET", `/repos/${REPO}/pulls/2`, "token"],
    ]);
    const [, second] = issued();
    expect(tokenOf(`/repos/${REPO}/pulls/2`)).to.deep.equal([first, second]);
  });

  it("with an installation id configured: no look-up", async () => {
    await read(credentials({ installationId: 7 }));
    expect(calls().map(([method, path]) => `${method} ${path}`)).to.deep.equal([
      "POST /app/installations/7/access_tokens",
      `GET /repos/${REPO}/pulls/2`,
    ]);
  });

  it("each repository gets its own installation's token", async () => {
    github.addInstallation({ id: 8, account: "acme", repositories: ["acme/docs"] });
    github.addPullRequest(fakePullRequest(5, { base: { ref: "main", repo: "acme/docs" } }));
    const container = credentials();
    await read(container);
    expect(await read(container, "acme/docs", 5)).to.equal(5);
    expect(github.requests.filter((r) => r.method === "POST").map((r) => r.path)).to.deep.equal([
      "/app/installations/7/access_tokens",
      "/app/installations/8/access_tokens",
    ]);
    const docsToken = github.requestsTo("/repos/acme/docs/pulls/5")[0]?.authorization;
    expect(github.installationTokens.get(docsToken?.replace(/^token /, "") ?? "")).to.include({
      installationId: 8,
    });
  });

  it("the App not installed on the repository is a configuration error that says so", async () => {
    github.installations.clear();
    const error = await read(credentials()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ConfigurationError);
    expect((error as Error).message).to.equal(
      `the GitHub App ${app.id} is not installed on ${REPO} (GitHub answered 404 for its installation): install it there`,
    );
  });

  it("a private key GitHub does not know for the App is a configuration error", async () => {
    const error = await read(credentials({ privateKey: otherPrivateKey() })).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ConfigurationError);
    expect((error as Error).message).to.equal(
      `GitHub refused the JWT of the GitHub App ${app.id} (401): check GITHUB_APP_ID and the App's private key`,
    );
    expect(github.requests.filter((r) => r.path.includes("/pulls/"))).to.deep.equal([]);
  });

  it("a value that is no RSA private key is a configuration error that does not show it", async () => {
    const garbage =
      "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-but-secret\n-----END RSA PRIVATE KEY-----";
    const error = await read(credentials({ privateKey: garbage })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ConfigurationError);
    expect((error as Error).message).to.equal(
      `the private key of the GitHub App ${app.id} is not an RSA private key in PEM form (the .pem file GitHub generates for the App)`,
    );
    expect(github.requests).to.deep.equal([]);
  });

  it("the double refuses a JWT that is not RS256-signed by the App's key", async () => {
    const response = await fetch(`${github.url}/app`, {
      headers: { authorization: "bearer eyJhbGciOiJub25lIn0.eyJpc3MiOjQyNDI0Mn0.e30" },
    });
    expect(response.status).to.equal(401);
    const token = await fetch(`${github.url}/app/installations/7/access_tokens`, {
      method: "POST",
      headers: { authorization: "token ghp_a-user-token" },
    });
    expect(token.status).to.equal(401);
  });
});
