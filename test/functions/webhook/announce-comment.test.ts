/**
 * The webhook's announcement comment under the same rules as the notify function's edits, over the
 * wire: a signed `opened` delivery, the AWS double, the GitHub API double with comment authors.
 * Only branchline's own comment with the marker is ever edited, and when an execution event wrote
 * the comment at the same moment, the announcement yields to it.
 */
import { expect } from "chai";
import { createHandler as createNotifyHandler } from "../../../functions/notify/handler.js";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { fixture } from "../../helpers/fixtures.js";
import { BRANCHLINE, GitHubComments, SOMEONE_ELSE } from "../../helpers/github-comments.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const CLONE = "hello-world-pr-2";
const MARKER = `<!-- branchline:${CLONE} -->`;
const HEAD_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const TOKEN = "ghp_test-token";

describe("webhook announcement comment (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let store: GitHubComments;

  before(() => {
    store = new GitHubComments(wire.github);
  });

  beforeEach(() => {
    store.reset();
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: HEAD_SHA, repo: "Codertocat/Hello-World" },
      base: { ref: "master", repo: "Codertocat/Hello-World" },
    });
  });

  const env = () => ({
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    WEBHOOK_SECRET: SECRET,
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: wire.github.url,
  });

  async function opened(): Promise<Record<string, unknown>> {
    const handler = createHandler(defaultWebhookDeps(env(), { logger: wire.logger }));
    const payload = pullRequestPayload({ action: "opened" });
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    expect(response.statusCode).to.equal(200);
    return JSON.parse(response.body) as Record<string, unknown>;
  }

  it("never edits a marker comment someone else wrote; announces in its own", async () => {
    const pasted = `${MARKER}\nAll good, see [here](https://example.com/phish)`;
    store.comments.set(2, [{ id: 1, body: pasted, user: SOMEONE_ELSE }]);
    expect((await opened())["outcome"]).to.equal("created");
    const comments = store.comments.get(2) ?? [];
    expect(comments.map((c) => [c.id, c.user?.login])).to.deep.equal([
      [1, "octocat"],
      [1000, "branchline-bot"],
    ]);
    expect(comments[0]?.body).to.equal(pasted);
    expect(comments[1]?.body).to.include("| Last execution | not run yet |");
    expect(wire.github.requests.filter((r) => r.method === "PATCH")).to.deep.equal([]);
  });

  it("yields to an execution's comment written between its look and its create", async () => {
    const started = `${MARKER}\n[Started] by the notify function`;
    store.afterNextList = (prNumber) => {
      store.write(prNumber, { body: started, user: BRANCHLINE });
    };
    expect((await opened())["outcome"]).to.equal("created");
    const comments = store.comments.get(2) ?? [];
    expect(comments.map((c) => [c.id, c.body])).to.deep.equal([[1000, started]]);
    expect(
      wire.github.requests.filter((r) => r.method === "DELETE").map((r) => r.path),
    ).to.deep.equal(["/repos/Codertocat/Hello-World/issues/comments/1001"]);
    expect(wire.github.requests.filter((r) => r.method === "PATCH")).to.deep.equal([]);
  });

  it("is the comment the notify function edits afterwards", async () => {
    await opened();
    const id = wire.aws.seedExecution(CLONE, {
      status: "InProgress",
      sourceRevisions: [{ actionName: "GitHub", revisionId: HEAD_SHA }],
    });
    const base = fixture<Record<string, unknown>>("events/pipeline-execution-started.json");
    const notify = createNotifyHandler(defaultNotifyDeps(env(), { logger: wire.logger }));
    const result = await notify(
      { ...base, detail: { ...(base["detail"] as object), pipeline: CLONE, "execution-id": id } },
      { invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:notify" },
    );
    expect(result).to.deep.include({ comment: "updated" });
    const comments = store.comments.get(2) ?? [];
    expect(comments).to.have.length(1);
    expect(comments[0]?.body).to.include("[Started]");
    expect(comments[0]?.body).to.include("| Branch | `changes` |");
  });
});
