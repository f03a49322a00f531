/**
 * The reconciler answering the stack's teardown resource (an `aws.lambda.Invocation` with lifecycle
 * scope CRUD), over the wire: the real handler and default dependencies, the real SDK clients against
 * the local CodePipeline/ECR double. The events are what the AWS provider sends: the resource's input
 * plus `tf: { action, prev_input }`.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import {
  createReconcileHandler,
  TeardownIncompleteError,
  type LifecycleEvent,
} from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const INPUT = { branchline: "teardown" };

function lifecycle(action: "create" | "update" | "delete"): LifecycleEvent {
  return { ...INPUT, tf: { action, prev_input: action === "create" ? null : INPUT } };
}

describe("reconcile handler: teardown on pulumi destroy (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  function handler() {
    // No GitHub token and no GitHub URL: the teardown never talks to GitHub.
    return createReconcileHandler(
      defaultReconcileDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          GITHUB_API_URL: wire.github.url,
        },
        { logger: wire.logger },
      ),
    );
  }

  function seedClone(number: number, source = SOURCE): string {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(wire.source, {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(source, number, branch));
    return declaration.name;
  }

  const imageTags = () =>
    wire.aws
      .images(REPOSITORY)
      .flatMap((image) => image.tags)
      .sort();
  const writes = ["CreatePipeline", "UpdatePipeline", "DeletePipeline", "BatchDeleteImage"];

  /** Clones #2 and #3 (ours, #2 running), #5 (ours but of another source), #9 (untagged), images. */
  function seedStack(): void {
    seedClone(2);
    seedClone(3);
    wire.aws.seedExecution(cloneName(SOURCE, 2), { status: "InProgress" });
    seedClone(5, "another-app");
    wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: cloneName(SOURCE, 9) });
    wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: "payments" });
    for (const tags of [
      ["pr-2", "pr-2-abc1234"],
      ["pr-3-def5678"],
      ["pr-7"], // a pull request whose clone is already gone
      ["latest", "abc1234"],
      ["pr-07", "pr-x"],
    ]) {
      wire.aws.seedImage(REPOSITORY, { tags });
    }
  }

  it("on delete: deletes every managed clone of the source and every pull request image, nothing else", async () => {
    seedStack();
    const answer = await handler()(lifecycle("delete"));
    expect(answer).to.deep.equal({
      action: "delete",
      teardown: {
        deleted: [2, 3],
        imagesDeleted: [2, 3, 7],
        leftAlone: [cloneName(SOURCE, 5), cloneName(SOURCE, 9)],
        errors: [],
      },
    });
    expect(wire.aws.pipelineNames()).to.deep.equal([
      SOURCE,
      cloneName(SOURCE, 5),
      cloneName(SOURCE, 9),
      "payments",
    ]);
    expect(imageTags()).to.deep.equal(["abc1234", "latest", "pr-07", "pr-x"]);
    expect(wire.aws.callCount("StopPipelineExecution")).to.equal(1);
    expect(wire.aws.callCount("DeletePipeline")).to.equal(2);
    expect(wire.github.requests).to.deep.equal([]);
    expect(wire.logger.lines.find((line) => line.message === "torn down")?.fields).to.deep.include({
      deleted: 2,
      imagesDeleted: 3,
      errors: 0,
    });
  });

  for (const action of ["create", "update"] as const) {
    it(`on ${action}: does nothing at all`, async () => {
      seedStack();
      const before = wire.aws.pipelineNames();
      const answer = await handler()(lifecycle(action));
      expect(answer).to.deep.equal({ action, teardown: "nothing to do" });
      expect(wire.aws.calls).to.deep.equal([]);
      expect(wire.github.requests).to.deep.equal([]);
      expect(wire.aws.pipelineNames()).to.deep.equal(before);
    });
  }

  it("fails with the reasons when something is left, so that the destroy stops; a second run finishes", async () => {
    seedStack();
    wire.aws.inject({
      operation: "DeletePipeline",
      error: { status: 400, type: "ValidationException", message: "pipeline is being updated" },
    });
    let failure: unknown;
    try {
      await handler()(lifecycle("delete"));
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(TeardownIncompleteError);
    expect((failure as Error).message).to.equal(
      "branchline could not remove everything it created for hello-world; fix the cause and run `pulumi destroy` again: pull request #2: pipeline is being updated",
    );
    // The others were still done.
    expect(wire.aws.pipelineNames()).to.include(cloneName(SOURCE, 2));
    expect(wire.aws.pipelineNames()).to.not.include(cloneName(SOURCE, 3));

    const again = await handler()(lifecycle("delete"));
    expect(again).to.deep.include({ action: "delete" });
    expect(wire.aws.pipelineNames()).to.deep.equal([
      SOURCE,
      cloneName(SOURCE, 5),
      cloneName(SOURCE, 9),
      "payments",
    ]);
    expect(imageTags()).to.deep.equal(["abc1234", "latest", "pr-07", "pr-x"]);
  });

  it("fails when the source pipeline is missing, deleting nothing", async () => {
    seedStack();
    wire.aws.reset();
    wire.aws.createRepository(REPOSITORY);
    wire.aws.seedPipeline(
      { ...pipelineFixture("v1-ecs"), name: cloneName(SOURCE, 2) },
      cloneTags(SOURCE, 2, "x"),
    );
    let failure: unknown;
    try {
      await handler()(lifecycle("delete"));
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal(
      "source pipeline hello-world does not exist, so its clones cannot be told apart: delete the pipelines hello-world-pr-* tagged branchline:source-pipeline=hello-world and the images tagged pr-* by hand, then remove the teardown resource from the stack (`pulumi state delete` of reconciler-teardown) and run `pulumi destroy` again",
    );
    for (const write of writes) expect(wire.aws.callCount(write), write).to.equal(0);
  });

  it("still sweeps on a scheduled event", async () => {
    const summary = await handler()({ "detail-type": "Scheduled Event" });
    expect(summary.errors[0]).to.match(/^no GitHub token configured/);
  });
});
