/**
 * The notify function's metrics, over the wire (the real clients against the AWS double, Octokit
 * against the GitHub double), recorded: each event's outcome, failed feedback steps and errors by
 * kind, published by one flush per event.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import { createHandler } from "../../../functions/notify/handler.js";
import { fixture, pipelineFixture } from "../../helpers/fixtures.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { recordingMetrics, type RecordingMetrics } from "../../helpers/recording-metrics.js";
import { useWireDoubles } from "../../helpers/wire.js";

const CLONE = "hello-world-pr-2";
const CONTEXT = {
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:branchline-notify",
  getRemainingTimeInMillis: () => 30_000,
};

describe("notify handler: metrics (wire level)", function () {
  const wire = useWireDoubles();
  let store: GitHubComments;

  before(() => {
    store = new GitHubComments(wire.github);
  });

  beforeEach(() => {
    store.reset();
    const declaration = cloneDeclaration(pipelineFixture("v1-ecs"), {
      prNumber: 2,
      headBranch: "changes",
      headRepository: "Codertocat/Hello-World",
    });
    wire.aws.seedPipeline(declaration, cloneTags("hello-world", 2, "changes"));
  });

  function failedEvent(): Record<string, unknown> {
    const id = wire.aws.seedExecution(CLONE, {
      status: "Failed",
      sourceRevisions: [
        { actionName: "GitHub", revisionId: "6dcb09b5b57875f334f61aebed695e2e4193db5e" },
      ],
    });
    const base = fixture<Record<string, unknown>>("events/pipeline-execution-failed.json");
    return {
      ...base,
      resources: [`arn:aws:codepipeline:us-east-1:123456789012:${CLONE}`],
      detail: { ...(base["detail"] as object), pipeline: CLONE, "execution-id": id },
    };
  }

  async function notify(
    event: unknown,
    env: Record<string, string> = {},
  ): Promise<{ thrown: unknown; metrics: RecordingMetrics }> {
    const metrics = recordingMetrics();
    const handler = createHandler(
      defaultNotifyDeps(
        {
          SOURCE_PIPELINE_NAME: "hello-world",
          GITHUB_TOKEN: "ghs_test_token",
          GITHUB_API_URL: wire.github.url,
          NOTIFICATION_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:branchline-dev",
          ...env,
        },
        { logger: wire.logger, metrics },
      ),
    );
    let thrown: unknown;
    await handler(event, CONTEXT).catch((error: unknown) => (thrown = error));
    return { thrown, metrics };
  }

  it("counts a reported event, with no error, flushed once", async () => {
    const { thrown, metrics } = await notify(failedEvent());
    expect(thrown).to.equal(undefined);
    expect(metrics.recorded).to.deep.equal([
      { kind: "count", name: "Events", value: 1, dimensions: { outcome: "reported" } },
    ]);
    expect(metrics.flushes).to.equal(1);
  });

  it("counts the failed feedback step of an event retried, not as an error of a kind", async () => {
    wire.aws.inject({ operation: "Publish", error: { status: 403, type: "AuthorizationError" } });
    const { thrown, metrics } = await notify(failedEvent());
    expect(thrown).to.be.instanceOf(Error);
    expect(metrics.total("FeedbackErrors")).to.equal(1);
    expect(metrics.by("Events", "outcome")).to.deep.equal({ failed: 1 });
    expect(metrics.by("Errors", "kind")).to.deep.equal({});
  });

  it("counts an event that failed before any feedback by its error's kind", async () => {
    const event = failedEvent();
    wire.aws.inject({ operation: "GetPipeline", error: "ServiceUnavailable", times: 100 });
    wire.aws.inject({ operation: "ListTagsForResource", error: "ServiceUnavailable", times: 100 });
    const { thrown, metrics } = await notify(event);
    expect(thrown).to.be.instanceOf(Error);
    expect(metrics.by("Errors", "kind")).to.deep.equal({ transient: 1 });
    expect(metrics.by("Events", "outcome")).to.deep.equal({ failed: 1 });
  });

  it("counts a rejected event", async () => {
    const { metrics } = await notify({ "detail-type": "something else" });
    expect(metrics.recorded).to.deep.equal([
      { kind: "count", name: "Events", value: 1, dimensions: { outcome: "rejected" } },
    ]);
  });
});
