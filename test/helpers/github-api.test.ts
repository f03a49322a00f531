/**
 * The GitHub API double answers a renamed repository as GitHub does: 301 with a Location under
 * `/repositories/{id}`, which answers with the new name and the same id. A webhook's deliveries are
 * listed and redelivered as GitHub's API does it.
 */
import { Octokit } from "@octokit/rest";
import { expect } from "chai";
import { nextCursor } from "../../functions/adapters/github-hooks.js";
import { GitHubApiDouble } from "./github-api.js";
import { GitHubHooks, gitHubTime } from "./github-hooks.js";

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

describe("GitHub API double: a webhook's deliveries", () => {
  const github = new GitHubApiDouble();
  const hooks = new GitHubHooks(github);
  const REPO = "o/r";
  before(() => github.start());
  after(() => github.close());
  beforeEach(() => {
    github.reset();
    hooks.reset();
  });

  const octokit = () => new Octokit({ baseUrl: github.url, auth: "ghs_test" });

  it("lists deliveries newest first with GitHub's members, paged by the Link header's cursor", async () => {
    const hookId = hooks.add(REPO, { url: "https://example.test/webhook" });
    const start = Date.parse("2026-03-01T10:00:00Z");
    const seeded = Array.from({ length: 5 }, (_, i) =>
      hooks.seedDelivery(hookId, {
        deliveredAt: gitHubTime(start + i * 60_000),
        statusCode: i === 2 ? 0 : 200,
        action: i === 4 ? "closed" : "opened",
      }),
    );

    const first = await octokit().rest.repos.listWebhookDeliveries({
      owner: "o",
      repo: "r",
      hook_id: hookId,
      per_page: 2,
    });
    expect(first.data.map((d) => d.id)).to.deep.equal([seeded[4]?.id, seeded[3]?.id]);
    expect(first.data[0]).to.deep.equal({
      id: seeded[4]?.id,
      guid: seeded[4]?.guid,
      delivered_at: "2026-03-01T10:04:00Z",
      redelivery: false,
      duration: 0.03,
      status: "OK",
      status_code: 200,
      event: "pull_request",
      action: "closed",
      installation_id: null,
      repository_id: github.repositoryId(REPO),
      throttled_at: null,
    });
    const cursor = nextCursor(first.headers.link);
    expect(cursor).to.equal(`v1_${seeded[3]?.id}`);

    const second = await octokit().rest.repos.listWebhookDeliveries({
      owner: "o",
      repo: "r",
      hook_id: hookId,
      per_page: 2,
      ...(cursor ? { cursor } : {}),
    });
    expect(second.data.map((d) => [d.id, d.status_code, d.status])).to.deep.equal([
      [seeded[2]?.id, 0, "timed out"],
      [seeded[1]?.id, 200, "OK"],
    ]);
    const third = await octokit().rest.repos.listWebhookDeliveries({
      owner: "o",
      repo: "r",
      hook_id: hookId,
      per_page: 2,
      cursor: nextCursor(second.headers.link) ?? "",
    });
    expect(third.data.map((d) => d.id)).to.deep.equal([seeded[0]?.id]);
    expect(third.headers.link).to.equal(undefined);
  });

  it("redelivers: 202, the attempt recorded, a new delivery of the same guid with the webhook's status", async () => {
    const hookId = hooks.add(REPO, { url: "https://example.test/webhook" });
    const failed = hooks.seedDelivery(hookId, { statusCode: 502, payload: { action: "opened" } });
    const sent: unknown[] = [];
    hooks.deliver = async (delivery) => {
      sent.push(delivery);
      return 201;
    };
    const answer = await octokit().rest.repos.redeliverWebhookDelivery({
      owner: "o",
      repo: "r",
      hook_id: hookId,
      delivery_id: failed.id,
    });
    expect(answer.status).to.equal(202);
    expect(sent).to.deep.equal([
      {
        repository: REPO,
        hookId,
        guid: failed.guid,
        event: "pull_request",
        payload: { action: "opened" },
      },
    ]);
    const [newest] = hooks.deliveriesOf(hookId);
    expect(newest).to.deep.include({ guid: failed.guid, redelivery: true, statusCode: 201 });
    expect(hooks.attempts).to.deep.equal([
      { repository: REPO, hookId, deliveryId: failed.id, newDeliveryId: newest?.id },
    ]);
  });

  it("answers 404 for an unknown hook or delivery, and 403 where the token is denied", async () => {
    const hookId = hooks.add(REPO, { url: "https://example.test/webhook" });
    const delivery = hooks.seedDelivery(hookId);
    const status = (path: string, method = "GET") =>
      fetch(`${github.url}${path}`, { method }).then((r) => r.status);
    expect(await status(`/repos/o/r/hooks/${hookId + 1}/deliveries`)).to.equal(404);
    expect(await status(`/repos/o/r/hooks/${hookId}/deliveries/1/attempts`, "POST")).to.equal(404);
    hooks.denyWrites(REPO);
    expect(await status(`/repos/o/r/hooks/${hookId}/deliveries`)).to.equal(200);
    expect(
      await status(`/repos/o/r/hooks/${hookId}/deliveries/${delivery.id}/attempts`, "POST"),
    ).to.equal(403);
    hooks.deny(REPO);
    expect(await status(`/repos/o/r/hooks/${hookId}/deliveries`)).to.equal(403);
    expect(hooks.attempts).to.deep.equal([]);
  });
});
