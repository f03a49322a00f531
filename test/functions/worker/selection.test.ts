/**
 * The worker applies the one service's label rules (`PULL_REQUEST_LABELS`) to queued deliveries,
 * including version-1 messages queued before labels were carried: their labels are unknown, so the
 * labels GitHub shows now decide with a token, and none without.
 */
import { expect } from "chai";
import type { SQSEvent } from "aws-lambda";
import type { QueuedDelivery } from "../../../functions/core/delivery.js";
import { cloneName } from "../../../functions/shared/names.js";
import { defaultWorkerDeps } from "../../../functions/worker/deps.js";
import { createWorkerHandler } from "../../../functions/worker/handler.js";
import { createDeliveryQueues, type DeliveryQueues } from "../../helpers/delivery-queues.js";
import { deliveryRecord, queuedDelivery } from "../../helpers/delivery-records.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const SHA = "a".repeat(40);
const SKIP = JSON.stringify({ skip: ["branchline:skip"] });

describe("delivery worker: label rules (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let queues: DeliveryQueues;
  let comments: GitHubComments;

  before(() => {
    comments = new GitHubComments(wire.github);
  });
  beforeEach(async () => {
    comments.reset();
    queues = await createDeliveryQueues(wire.aws);
  });

  function worker(env: Record<string, string | undefined>) {
    return createWorkerHandler(
      defaultWorkerDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          DEAD_LETTER_QUEUE_URL: queues.deadLetterQueueUrl,
          PULL_REQUEST_LABELS: SKIP,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
  }
  const withToken = () => ({ GITHUB_TOKEN: "ghs_test-token", GITHUB_API_URL: wire.github.url });
  const batch = (delivery: QueuedDelivery): SQSEvent => ({ Records: [deliveryRecord(delivery)] });
  const clone = () => wire.aws.pipeline(cloneName(SOURCE, 2));

  /** A message as version 1 wrote it before labels were carried. */
  function withoutLabels(delivery: QueuedDelivery): QueuedDelivery {
    const copy = structuredClone(delivery);
    delete copy.pullRequestEvent.pullRequest.labels;
    return copy;
  }

  function gitHubShows(labels: string[]): void {
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: SHA, repo: REPO },
      base: { ref: "master", repo: REPO },
      labels,
    });
  }

  it("an old message without labels, with a token: GitHub's labels decide, and the status says why", async () => {
    gitHubShows(["branchline:skip"]);
    const answer = await worker(withToken())(batch(withoutLabels(queuedDelivery())));
    expect(answer.batchItemFailures).to.deep.equal([]);
    expect(clone()).to.equal(undefined);
    expect(
      wire.github.requests
        .filter((r) => r.method === "POST" && r.path === `/repos/${REPO}/statuses/${SHA}`)
        .map((r) => r.body),
    ).to.deep.equal([
      {
        state: "success",
        context: `branchline/${SOURCE}`,
        description: "Not built: label `branchline:skip`",
      },
    ]);
  });

  it("an old message without labels and no token: no labels, so it is built", async () => {
    const answer = await worker({})(batch(withoutLabels(queuedDelivery())));
    expect(answer.batchItemFailures).to.deep.equal([]);
    expect(clone()).to.not.equal(undefined);
  });

  it("without a token the delivery's labels decide and the decision is only logged", async () => {
    await worker({})(batch(queuedDelivery()));
    expect(clone()).to.not.equal(undefined);
    const skipped = queuedDelivery({ action: "labeled", labels: ["bug", "branchline:skip"] });
    const answer = await worker({})(batch(skipped));
    expect(answer.batchItemFailures).to.deep.equal([]);
    expect(clone()).to.equal(undefined);
    expect(
      wire.logger.lines.find(
        (line) => line.message === "pull request not built by the service's rules",
      )?.fields,
    ).to.include({ reason: "not built: label `branchline:skip`", clone: cloneName(SOURCE, 2) });
    expect(wire.github.requests).to.deep.equal([]);
  });
});
