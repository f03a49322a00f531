/**
 * The GitHub API double answers a renamed repository as GitHub does: 301 with a Location under
 * `/repositories/{id}`, which answers with the new name and the same id.
 */
import { expect } from "chai";
import { GitHubApiDouble } from "./github-api.js";

describe("GitHub API double: renamed repositories", () => {
  const github = new GitHubApiDouble();
  before(() => github.start());
  after(() => github.close());
  beforeEach(() => github.reset());

  it("redirects the old name with 301 to /repositories/{id}, keeping the rest of the request", async () => {
    github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "x", sha: "a".repeat(40), repo: "o/old" },
      base: { ref: "main", repo: "o/old" },
    });
    const id = github.repositoryId("o/old");
    github.renameRepository("o/old", "o/new");

    const moved = await fetch(`${github.url}/repos/o/old/pulls?state=open`, {
      redirect: "manual",
    });
    expect(moved.status).to.equal(301);
    expect(moved.headers.get("location")).to.equal(
      `${github.url}/repositories/${id}/pulls?state=open`,
    );

    const answer = (await (await fetch(`${github.url}/repos/O/Old/pulls/2`)).json()) as {
      base: { repo: { id: number; full_name: string } };
      head: { repo: { full_name: string } };
    };
    expect(answer.base.repo).to.deep.include({ id, full_name: "o/new" });
    expect(answer.head.repo.full_name).to.equal("o/new");

    const repository = (await (await fetch(`${github.url}/repos/o/old`)).json()) as unknown;
    expect(repository).to.deep.include({ id, full_name: "o/new" });
    expect(github.requests.map((r) => r.path)).to.deep.equal([
      "/repos/o/old/pulls",
      "/repos/O/Old/pulls/2",
      `/repositories/${id}/pulls/2`,
      "/repos/o/old",
      `/repositories/${id}`,
    ]);
  });

  it("answers the new name directly, and 404 for a repository it does not know", async () => {
    github.repositoryId("o/old");
    github.renameRepository("o/old", "o/new");
    expect((await fetch(`${github.url}/repos/o/new`, { redirect: "manual" })).status).to.equal(200);
    expect((await fetch(`${github.url}/repos/o/other`)).status).to.equal(404);
  });
});
