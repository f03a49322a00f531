/**
 * Approvals for untrusted pull requests and `/branchline` commands, over the wire: GitHub's example
 * deliveries (pull_request, issue_comment created, check_suite rerequested), signed, through the
 * webhook carrying them out inline, against the AWS double (CodePipeline) and the GitHub API double
 * (pull requests, permissions, reactions, comments, statuses). The calls each event makes are
 * counted.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { TAG } from "../../../functions/shared/names.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubPermissions } from "../../helpers/github-permissions.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { commentPayload, rerunPayload } from "../../helpers/command-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
const FORK = "contributor/Hello-World";
const SOURCE = "hello-world-v2";
const CLONE = `${SOURCE}-pr-2`;
/** The example pull request's head commit, and a push after it. */
const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const PUSHED = "b".repeat(40);

describe("webhook: approvals and commands (wire level, inline)", function () {
  const wire = useWireDoubles({ seed: "v2-triggers", repository: "hello-world" });
  let comments: GitHubComments;
  let permissions: GitHubPermissions;

  before(() => {
    comments = new GitHubComments(wire.github);
    permissions = new GitHubPermissions(wire.github);
  });
  beforeEach(() => {
    comments.reset();
    permissions.permissions.clear();
    permissions.reactions.length = 0;
    permissions.set("maintainer", "write").set("reader", "read").set("owner", "admin");
  });

  function handler(env: Record<string, string> = {}) {
    return createHandler(
      defaultWebhookDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: "hello-world",
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
          ALLOW_FORK_PULL_REQUESTS: "true",
          ...env,
        },
        { logger: wire.logger },
      ),
    );
  }

  /** Pull request #2 as GitHub shows it now: from the fork (default) or the repository itself. */
  function onGitHub(
    variant: { sha?: string; fork?: boolean; author?: string; association?: string } = {},
  ): void {
    wire.github.pullRequests.clear();
    const fork = variant.fork ?? true;
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: variant.sha ?? SHA, repo: fork ? FORK : REPO },
      base: { ref: "master", repo: REPO },
      author: variant.author ?? "contributor",
      authorAssociation: variant.association ?? (fork ? "CONTRIBUTOR" : "COLLABORATOR"),
    });
  }

  async function deliver(payload: Record<string, unknown>, event: string, env = {}) {
    wire.github.requests.length = 0;
    wire.aws.calls.length = 0;
    const response = await handler(env)(signedEvent(payload, { secret: SECRET, event }));
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  }

  /** The example `opened` (or `synchronize`) delivery as the fork's, by `contributor`. */
  function pullRequest(action = "opened", sha = SHA, fork = true): Record<string, unknown> {
    const payload = pullRequestPayload({ action, headRepo: fork ? FORK : REPO });
    const pr = payload["pull_request"] as Record<string, Record<string, unknown>>;
    (pr["head"] as Record<string, unknown>)["sha"] = sha;
    pr["user"] = { ...pr["user"], login: "contributor" };
    (pr as Record<string, unknown>)["author_association"] = fork ? "CONTRIBUTOR" : "COLLABORATOR";
    return payload;
  }

  const comment = (body: string, login = "maintainer") =>
    deliver(commentPayload({ body, login }), "issue_comment");

  const statusesOn = (sha: string) =>
    wire.github.requests
      .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/statuses/${sha}`)
      .map((r) => r.body);
  const replies = () =>
    wire.github.requests
      .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/issues/2/comments`)
      .map((r) => (r.body as { body: string }).body);
  const permissionReads = () =>
    wire.github.requests.filter((r) => r.path.includes("/collaborators/")).length;
  const calls = (operation: string) => wire.aws.calls.filter((c) => c.operation === operation);
  /** StartPipelineExecution's inputs, the idempotency token (a hash of the delivery) checked apart. */
  const starts = () =>
    calls("StartPipelineExecution").map((c) => {
      const { clientRequestToken, ...input } = c.input as { clientRequestToken?: string };
      expect(clientRequestToken).to.match(/^[0-9a-f]{64}$/);
      return input;
    });
  const clone = () => wire.aws.pipeline(CLONE);
  const tagOf = (key: string) => clone()?.tags.find((tag) => tag.key === key)?.value;
  const action = (declaration: PipelineDeclaration | undefined, name: string) =>
    declaration?.stages.flatMap((stage) => stage.actions).find((a) => a.name === name);

  it("a fork's pull request gets no clone: a pending status says how to approve it", async () => {
    onGitHub();
    const answer = await deliver(pullRequest(), "pull_request");
    expect(answer.status).to.equal(202);
    expect(answer.body).to.deep.equal({
      outcome: "ignored",
      reason: "pull request #2 is untrusted and waits for a maintainer's approval of ec26c3e",
      awaitingApproval: true,
    });
    expect(clone()).to.equal(undefined);
    expect(statusesOn(SHA)).to.deep.equal([
      {
        state: "pending",
        context: `branchline/${SOURCE}`,
        description: "Waiting for approval: a maintainer comments /branchline approve ec26c3e",
      },
    ]);
    // A fork is untrusted whoever wrote it: no permission is read. GitHub: the pull request, the
    // status; AWS: the source pipeline, the clone's tags (none: it does not exist).
    expect(permissionReads()).to.equal(0);
    expect(wire.github.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal([
      `GET /repos/${REPO}/pulls/2`,
      `POST /repos/${REPO}/statuses/${SHA}`,
    ]);
    expect(wire.aws.calls.map((c) => c.operation)).to.deep.equal([
      "GetPipeline",
      "ListTagsForResource",
    ]);
  });

  it("approve <sha7> by a maintainer: the clone is made without triggers and runs the approved commit only", async () => {
    onGitHub();
    await deliver(pullRequest(), "pull_request");
    const answer = await comment("/branchline approve ec26c3e\n\nLooks safe.");
    expect(answer.status).to.equal(200);
    expect(answer.body).to.include({ outcome: "created", pipeline: CLONE, approvedSha: SHA });
    const made = clone();
    expect(tagOf(TAG.approvedSha)).to.equal(SHA);
    expect(made?.declaration.triggers).to.equal(undefined);
    expect(action(made?.declaration, "App")?.configuration).to.include({
      FullRepositoryId: FORK,
      BranchName: "changes",
      DetectChanges: "false",
    });
    const variables = JSON.parse(
      action(made?.declaration, "Image")?.configuration?.["EnvironmentVariables"] ?? "[]",
    ) as { name: string; value: string }[];
    expect(variables).to.deep.include({
      name: "BRANCHLINE_APPROVED_SHA",
      value: SHA,
      type: "PLAINTEXT",
    });
    // One execution, pinned to the approved commit on the source action that reads the fork.
    expect(wire.aws.executions(CLONE).map((e) => e.sourceRevisions)).to.deep.equal([
      [{ actionName: "App", revisionId: SHA }],
    ]);
    expect(starts()).to.deep.equal([
      {
        name: CLONE,
        sourceRevisions: [{ actionName: "App", revisionType: "COMMIT_ID", revisionValue: SHA }],
      },
    ]);
    expect(permissions.reactions).to.deep.equal([
      { repository: REPO, commentId: 492700400, content: "+1" },
    ]);
    expect(statusesOn(SHA)).to.deep.include({
      state: "success",
      context: `branchline/${SOURCE}`,
      description: `Approved by maintainer: built in ${CLONE}`,
    });
    // The commenter's permission is read once; the fork's author's never.
    expect(permissionReads()).to.equal(1);
  });

  it("a push after the approval is not built: the clone is left alone until the new head is approved", async () => {
    onGitHub();
    await comment(`/branchline approve ${SHA}`);
    const before = clone();
    onGitHub({ sha: PUSHED });
    const pushed = await deliver(pullRequest("synchronize", PUSHED), "pull_request");
    expect(pushed.body).to.include({ outcome: "ignored", awaitingApproval: true });
    expect(pushed.body["reason"]).to.equal(
      "pull request #2 is untrusted: ec26c3e was approved, its head bbbbbbb is not",
    );
    expect(clone()).to.deep.equal(before);
    expect(calls("StartPipelineExecution")).to.deep.equal([]);
    expect(calls("UpdatePipeline")).to.deep.equal([]);
    expect(statusesOn(PUSHED)).to.deep.equal([
      {
        state: "pending",
        context: `branchline/${SOURCE}`,
        description: "Waiting for approval: a maintainer comments /branchline approve bbbbbbb",
      },
    ]);

    // The old commit named again: refused with a reply that names the head.
    const stale = await comment("/branchline approve ec26c3e");
    expect(stale.body).to.deep.equal({
      outcome: "ignored",
      reason: "the approval does not name the head commit",
    });
    expect(replies()).to.deep.equal([
      `/branchline: \`approve\` needs the head commit of #2, ${PUSHED} (its full sha or at least its first 7 hex digits): \`/branchline approve bbbbbbb\`.`,
    ]);
    expect(calls("StartPipelineExecution")).to.deep.equal([]);

    // The new head approved: the clone is updated (its approved commit), tagged and started on it.
    const approved = await comment("/branchline approve bbbbbbb");
    expect(approved.body).to.include({ outcome: "updated", approvedSha: PUSHED });
    expect(tagOf(TAG.approvedSha)).to.equal(PUSHED);
    expect(wire.aws.executions(CLONE).map((e) => e.sourceRevisions)).to.deep.equal([
      [{ actionName: "App", revisionId: SHA }],
      [{ actionName: "App", revisionId: PUSHED }],
    ]);
  });

  it("a too short or foreign sha is refused with a reply naming the head", async () => {
    onGitHub();
    for (const body of [
      "/branchline approve ec26c3",
      "/branchline approve",
      "/branchline approve zzzzzzz",
    ]) {
      const answer = await comment(body);
      expect(answer.status).to.equal(202);
      expect(replies()[0]).to.contain(`/branchline approve ec26c3e`);
    }
    expect(clone()).to.equal(undefined);
  });

  it("approve while the clone limit is full: no clone, no 'built' status, a reply that says why", async () => {
    // Another pull request's clone takes the only slot.
    const other = cloneDeclaration(wire.source, {
      prNumber: 9,
      headBranch: "feature-9",
      headRepository: REPO,
    });
    wire.aws.seedPipeline(other, cloneTags(SOURCE, 9, "feature-9"));
    const limited = { SERVICE_MAX_CLONES: "1" };
    onGitHub();
    await deliver(pullRequest(), "pull_request", limited);

    const approved = await deliver(
      commentPayload({ body: "/branchline approve ec26c3e", login: "maintainer" }),
      "issue_comment",
      limited,
    );
    expect(approved.status).to.equal(202);
    expect(clone()).to.equal(undefined);
    expect(starts()).to.deep.equal([]);
    // The waiting status stands: nothing says it was built.
    const posted = statusesOn(SHA) as { state: string; description: string }[];
    expect(posted.map((status) => status.description)).to.not.include.members([
      `Approved by maintainer: built in ${CLONE}`,
    ]);
    expect(posted.every((status) => !status.description.startsWith("Approved by"))).to.equal(true);
    expect(replies()).to.deep.equal([
      `/branchline: ec26c3e is approved, but Waiting: 1 of 1 clones in use for ${SOURCE}; builds when one frees. An approval is kept on the clone, and there is none yet: approve again once a clone slot is free.`,
    ]);
    expect(permissions.reactions).to.deep.equal([]);
  });

  it("approve by a user with read permission only is refused with a reply; nothing is built", async () => {
    onGitHub();
    const answer = await comment(`/branchline approve ${SHA}`, "reader");
    expect(answer).to.deep.equal({
      status: 202,
      body: { outcome: "ignored", reason: "reader has read permission; write is needed" },
    });
    expect(replies()).to.deep.equal([
      `/branchline: reader has read permission on ${REPO}; only users with write permission may command branchline.`,
    ]);
    expect(permissions.reactions).to.deep.equal([]);
    expect(clone()).to.equal(undefined);
    expect(wire.aws.calls).to.deep.equal([]);
  });

  it("a trusted author needs no approval: the repository's own branch by a writer is built with its triggers", async () => {
    onGitHub({ fork: false, author: "contributor" });
    permissions.set("contributor", "write");
    const answer = await deliver(pullRequest("opened", SHA, false), "pull_request");
    expect(answer.body).to.include({ outcome: "created", pipeline: CLONE });
    expect(clone()?.declaration.triggers).to.have.length(2);
    expect(tagOf(TAG.approvedSha)).to.equal(undefined);
    expect(calls("StartPipelineExecution")).to.deep.equal([]);
    expect(permissionReads()).to.equal(1);
  });

  it("the same branch by an author with read permission waits for approval", async () => {
    onGitHub({ fork: false, author: "contributor" });
    const answer = await deliver(pullRequest("opened", SHA, false), "pull_request");
    expect(answer.body).to.include({ outcome: "ignored", awaitingApproval: true });
    expect(clone()).to.equal(undefined);
  });

  it("a service that requires no approval builds a fork as before", async () => {
    onGitHub();
    const answer = await deliver(pullRequest(), "pull_request", { REQUIRE_APPROVAL: "false" });
    expect(answer.body).to.include({ outcome: "created", pipeline: CLONE });
  });

  it("retest starts the clone pinned to its head; cancel stops what runs; status replies", async () => {
    onGitHub({ fork: false, author: "owner", association: "OWNER" });
    await deliver(pullRequest("opened", SHA, false), "pull_request");
    expect(clone()).to.not.equal(undefined);

    const retest = await comment("/branchline retest");
    expect(retest.status).to.equal(200);
    expect(starts()).to.deep.equal([
      {
        name: CLONE,
        sourceRevisions: [{ actionName: "App", revisionType: "COMMIT_ID", revisionValue: SHA }],
      },
    ]);
    expect(permissions.reactions.map((r) => r.content)).to.deep.equal(["+1"]);

    const status = await comment("/branchline status");
    expect(status.status).to.equal(200);
    const [reply] = replies();
    expect(reply).to.match(
      new RegExp(
        `^/branchline status:\\n${CLONE} exists; latest execution [0-9a-f-]+: InProgress; head ec26c3e, trusted; nothing waits\\.$`,
      ),
    );

    const cancel = await comment("/branchline cancel");
    expect(cancel.body).to.deep.include({ outcome: "handled", command: "cancel" });
    expect(wire.aws.executions(CLONE).map((e) => e.status)).to.deep.equal(["Stopped"]);
    expect(permissions.reactions.map((r) => r.content)).to.deep.equal(["+1", "+1", "+1"]);
  });

  it("retest of an untrusted pull request whose head is not approved is refused with a reply", async () => {
    onGitHub();
    await comment(`/branchline approve ${SHA}`);
    onGitHub({ sha: PUSHED });
    const retest = await comment("/branchline retest");
    expect(retest.status).to.equal(200);
    expect(calls("StartPipelineExecution")).to.deep.equal([]);
    // The clone's tags (its approval) are read once for the command and its approval rule.
    expect(calls("ListTagsForResource")).to.have.length(1);
    expect(replies()).to.deep.equal([
      "/branchline retest:\nWaiting for approval: a maintainer comments /branchline approve bbbbbbb.",
    ]);
  });

  it("GitHub's Re-run of the checks is a retest of the suite's pull requests", async () => {
    onGitHub({ fork: false, author: "owner", association: "OWNER" });
    await deliver(pullRequest("opened", SHA, false), "pull_request");
    const answer = await deliver(rerunPayload("maintainer", SHA, [2]), "check_suite");
    expect(answer.status).to.equal(200);
    expect(calls("StartPipelineExecution")).to.have.length(1);
    // No comment to react on or reply to.
    expect(permissions.reactions).to.deep.equal([]);
    expect(replies()).to.deep.equal([]);
  });

  it("ignores a bot's comment, an edited comment, a comment on an issue and a comment without a command, without a call", async () => {
    onGitHub();
    const cases = [
      commentPayload({ body: "/branchline approve ec26c3e", login: "branchline-bot", type: "Bot" }),
      commentPayload({ body: "/branchline approve ec26c3e", action: "edited" }),
      commentPayload({ body: "/branchline approve ec26c3e", onIssue: true }),
      commentPayload({ body: "LGTM, /branchline approve later" }),
    ];
    const reasons: unknown[] = [];
    for (const payload of cases) {
      const answer = await deliver(payload, "issue_comment");
      expect(answer.status).to.equal(202);
      reasons.push(answer.body["reason"]);
      expect(wire.github.requests).to.deep.equal([]);
      expect(wire.aws.calls).to.deep.equal([]);
    }
    expect(reasons).to.deep.equal([
      "a comment by a bot",
      "comment edited is not handled",
      "a comment on an issue, not a pull request",
      "the comment is no command",
    ]);
  });

  it("an unknown command gets a reply with the usage", async () => {
    onGitHub();
    const answer = await comment("/branchline deploy");
    expect(answer.body).to.deep.equal({ outcome: "ignored", reason: "unknown command" });
    expect(replies()[0]).to.contain("unknown command `/branchline deploy`");
  });
});
