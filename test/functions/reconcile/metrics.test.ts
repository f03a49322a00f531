/**
 * The reconciler's metrics, over the wire (the real clients against the AWS double, Octokit against
 * the GitHub double), recorded: the sweep's duration and every result (zero too), the clones it
 * changed, its failures by kind and its throttled calls, published by one flush per invocation.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { recordingMetrics, type RecordingMetrics } from "../../helpers/recording-metrics.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPO = "Codertocat/Hello-World";
const SCHEDULED = { id: "e-1", "detail-type": "Scheduled Event", source: "aws.events" };

describe("reconcile handler: metrics (wire level)", function () {
  const wire = useWireDoubles({ repository: "hello-world" });

  async function sweep(
    env: Record<string, string> = {},
    event: Record<string, unknown> = SCHEDULED,
  ): Promise<RecordingMetrics> {
    const metrics = recordingMetrics();
    const handler = createReconcileHandler(
      defaultReconcileDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: "hello-world",
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
          ...env,
        },
        { logger: wire.logger, metrics },
      ),
    );
    await handler(event).catch(() => undefined);
    return metrics;
  }

  function seedClone(number: number): void {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(wire.source, {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch));
  }

  it("publishes the sweep's duration and every result, and the clones it changed", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.github.addPullRequest(fakePullRequest(3, { state: "closed" }));
    seedClone(3);
    wire.aws.seedImage("hello-world", { tags: ["pr-3"] });
    const metrics = await sweep();
    expect(metrics.by("SweepResults", "result")).to.deep.equal({
      created: 1,
      updated: 0,
      deleted: 1,
      imagesDeleted: 1,
      redelivered: 0,
      errors: 0,
      misconfigured: 0,
    });
    expect(metrics.by("Clones", "action")).to.deep.equal({ created: 1, deleted: 1 });
    expect(metrics.durations("SweepDuration")).to.have.length(1);
    expect(metrics.durations("SweepDuration")[0]).to.be.at.least(0);
    expect(metrics.by("Errors", "kind")).to.deep.equal({});
    expect(metrics.flushes).to.equal(1);
  });

  it("counts a pull request's failure by kind, and the throttles the sweep met", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.github.addPullRequest(fakePullRequest(4));
    wire.aws.inject({ operation: "ListPipelines", error: "ThrottlingException", times: 2 });
    wire.aws.inject({
      operation: "CreatePipeline",
      error: { status: 400, type: "InvalidStructureException", message: "refused" },
      times: 1,
    });
    const metrics = await sweep();
    expect(metrics.total("Throttles")).to.equal(2);
    expect(metrics.by("Errors", "kind")).to.deep.equal({ configuration: 1 });
    expect(metrics.total("SweepResults", { result: "misconfigured" })).to.equal(1);
    expect(metrics.total("SweepResults", { result: "created" })).to.equal(1);
  });

  it("a sweep that cannot start: its error by kind, and a summary of it", async () => {
    const metrics = await sweep({ SOURCE_PIPELINE_NAME: "no-such-pipeline" });
    expect(metrics.by("Errors", "kind")).to.deep.equal({ configuration: 1 });
    expect(metrics.total("SweepResults", { result: "misconfigured" })).to.equal(1);
    expect(metrics.flushes).to.equal(1);
  });

  it("the teardown: the clones it deleted, flushed once", async () => {
    seedClone(5);
    const metrics = await sweep({}, { tf: { action: "delete" } });
    expect(metrics.by("Clones", "action")).to.deep.equal({ deleted: 1 });
    expect(metrics.flushes).to.equal(1);
  });
});
