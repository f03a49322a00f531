/**
 * Approvals and commands in queue mode, over the wire: the webhook queues a signed example
 * `issue_comment` or `check_suite` delivery as a command message in its pull request's group, and
 * the worker carries it out with the same use case as the inline webhook. A version-1 pull request
 * message written before commands existed is still carried out.
 */
import { expect } from "chai";
import type { SQSEvent } from "aws-lambda";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler } from "../../../functions/worker/handler.js";
import { decodeMessage } from "../../../functions/core/delivery.js";
import { TAG } from "../../../functions/shared/names.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubPermissions } from "../../helpers/github-permissions.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { commentPayload, rerunPayload } from "../../helpers/command-events.js";
import {
  createDeliveryQueues,
  DELIVERY_QUEUE,
  type DeliveryQueues,
} from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
const FORK = "contributor/Hello-World";
const SOURCE = "hello-world-v2";
const CLONE = `${SOURCE}-pr-2`;
const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const PUSHED = "c".repeat(40);

describe("delivery worker: approvals and commands (wire level, queued)", function () {
  const wire = useWireDoubles({ seed: "v2-triggers", repository: "hello-world" });
  let queues: DeliveryQueues;
  let comments: GitHubComments;
  let permissions: GitHubPermissions;

  before(() => {
    comments = new GitHubComments(wire.github);
    permissions = new GitHubPermissions(wire.github);
  });
  beforeEach(async () => {
    comments.reset();
    permissions.permissions.clear();
    permissions.reactions.length = 0;
    permissions.set("maintainer", "maintain").set("reader", "triage");
    queues = await createDeliveryQueues(wire.aws);
  });

  const env = () => ({
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: "hello-world",
    WEBHOOK_SECRET: SECRET,
    GITHUB_TOKEN: "ghs_test-token",
    GITHUB_API_URL: wire.github.url,
    ALLOW_FORK_PULL_REQUESTS: "true",
  });

  function onGitHub(sha = SHA): void {
    wire.github.pullRequests.clear();
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha, repo: FORK },
      base: { ref: "master", repo: REPO },
      author: "contributor",
      authorAssociation: "CONTRIBUTOR",
    });
  }

  /** Delivers to the webhook in queue mode; returns the messages it queued (and takes them off). */
  async function enqueue(payload: Record<string, unknown>, event: string) {
    const webhook = createHandler(
      defaultWebhookDeps({ ...env(), QUEUE_URL: queues.queueUrl }, { logger: wire.logger }),
    );
    const before = wire.aws.queueMessages(DELIVERY_QUEUE).length;
    const response = await webhook(signedEvent(payload, { secret: SECRET, event }));
    expect(response.statusCode).to.equal(202);
    expect(JSON.parse(response.body)).to.deep.equal({ outcome: "queued" });
    return wire.aws.queueMessages(DELIVERY_QUEUE).slice(before);
  }

  /** The worker carries out the queued messages as Lambda's SQS event source hands them over. */
  async function work(messages: { body: string; groupId?: string }[]) {
    wire.aws.calls.length = 0;
    wire.github.requests.length = 0;
    const worker = createWorkerHandler(
      defaultWorkerDeps(
        { ...env(), DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl },
        { logger: wire.logger },
      ),
    );
    const event: SQSEvent = {
      Records: messages.map((message, index) =>
        deliveryRecord(message.body, {
          messageId: `m-${index}`,
          groupId: message.groupId ?? "group",
        }),
      ),
    };
    return worker(event);
  }

  const tagOf = (key: string) =>
    wire.aws.pipeline(CLONE)?.tags.find((tag) => tag.key === key)?.value;
  const revisions = () => wire.aws.executions(CLONE).map((e) => e.sourceRevisions);

  it("queues a command in its pull request's group; the worker approves and starts the approved commit", async () => {
    onGitHub();
    const opened = await enqueue(pullRequestPayload({ headRepo: FORK }), "pull_request");
    const approve = await enqueue(
      commentPayload({ body: `/branchline approve ${SHA.slice(0, 12)}` }),
      "issue_comment",
    );
    expect(approve).to.have.length(1);
    expect(approve[0]?.groupId).to.equal(opened[0]?.groupId);
    expect(approve[0]?.groupId).to.equal("codertocat/hello-world#2");
    const message = decodeMessage(approve[0]?.body ?? "");
    expect(message).to.deep.include({ version: 1, kind: "command", event: "issue_comment" });
    expect("commandEvent" in message && message.commandEvent).to.deep.equal({
      repository: REPO,
      prNumber: 2,
      actor: "maintainer",
      command: { kind: "approve", sha: SHA.slice(0, 12) },
      source: { kind: "comment", commentId: 492700400 },
    });

    // The pull request's event first: it waits; then the approval builds it.
    expect(await work([...opened, ...approve])).to.deep.equal({ batchItemFailures: [] });
    expect(tagOf(TAG.approvedSha)).to.equal(SHA);
    expect(wire.aws.pipeline(CLONE)?.declaration.triggers).to.equal(undefined);
    expect(revisions()).to.deep.equal([[{ actionName: "App", revisionId: SHA }]]);
    expect(permissions.reactions.map((r) => r.content)).to.deep.equal(["+1"]);

    // The same message again (a retry after a lost delete): no second execution.
    expect(await work(approve)).to.deep.equal({ batchItemFailures: [] });
    expect(revisions()).to.have.length(1);
  });

  it("a push after the approval waits; a re-run of its checks by a maintainer does not build it", async () => {
    onGitHub();
    await work(
      await enqueue(commentPayload({ body: `/branchline approve ${SHA}` }), "issue_comment"),
    );
    onGitHub(PUSHED);
    const pushed = await enqueue(
      { ...pullRequestPayload({ action: "synchronize", headRepo: FORK }) },
      "pull_request",
    );
    const rerun = await enqueue(rerunPayload("maintainer", PUSHED, [2]), "check_suite");
    expect(await work([...pushed, ...rerun])).to.deep.equal({ batchItemFailures: [] });
    expect(revisions()).to.have.length(1);
    expect(wire.aws.calls.filter((c) => c.operation === "UpdatePipeline")).to.deep.equal([]);
  });

  it("a refused approval (triage permission) is answered with a reply and deleted from the queue", async () => {
    onGitHub();
    const queued = await enqueue(
      commentPayload({ body: `/branchline approve ${SHA}`, login: "reader" }),
      "issue_comment",
    );
    expect(await work(queued)).to.deep.equal({ batchItemFailures: [] });
    expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
    expect(
      wire.github.requests
        .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/issues/2/comments`)
        .map((r) => (r.body as { body: string }).body),
    ).to.deep.equal([
      `/branchline: reader has triage permission on ${REPO}; only users with write permission may command branchline.`,
    ]);
  });

  it("a check suite of two pull requests is queued as two commands, one in each pull request's group", async () => {
    const queued = await enqueue(rerunPayload("maintainer", SHA, [2, 3]), "check_suite");
    expect(queued.map((m) => m.groupId)).to.deep.equal([
      "codertocat/hello-world#2",
      "codertocat/hello-world#3",
    ]);
    expect(new Set(queued.map((m) => m.deduplicationId)).size).to.equal(2);
  });

  it("still carries out a version-1 pull request message queued before commands existed", async () => {
    const delivery = queuedDelivery({ number: 2 });
    // Written before authors were carried: no author, no association.
    delete delivery.pullRequestEvent.pullRequest.author;
    delete delivery.pullRequestEvent.pullRequest.authorAssociation;
    wire.github.pullRequests.clear();
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: SHA, repo: REPO },
      base: { ref: "master", repo: REPO },
    });
    const result = await createWorkerHandler(
      defaultWorkerDeps(
        { ...env(), DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl },
        { logger: wire.logger },
      ),
    )({ Records: [deliveryRecord(delivery)] });
    expect(result).to.deep.equal({ batchItemFailures: [] });
    expect(wire.aws.pipeline(CLONE)).to.not.equal(undefined);
  });
});
