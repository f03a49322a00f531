/**
 * The two trust tiers at the reconciler, over the wire: a sweep creates clones in the PR tier (clone
 * role, PR build projects, PR artifact bucket, read back with GetPipeline) and moves older clones
 * into it, and cleans a closed pull request's images in every PR repository
 * (each listed once a sweep) and in no source repository; the teardown does the same.
 */
import { CodePipelineClient, GetPipelineCommand } from "@aws-sdk/client-codepipeline";
import { expect } from "chai";
import type { ReconcileSummary } from "../../../functions/app/reconcile.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import {
  createReconcileHandler,
  type LifecycleEvent,
} from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { CLONE_ROLE_ARN, PR_ARTIFACT_BUCKET, PR_TIER_ENV } from "../../helpers/tiers.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPO = "Codertocat/Hello-World";
const SOURCE_REPOSITORIES = ["hello-world/app", "hello-world/worker"];
const PR_REPOSITORIES = ["hello-world-pr/app", "hello-world-pr/worker", "hello-world-pr/jobs"];
const WARNING =
  "CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET are not set: clones keep the source pipeline's role, build projects and artifact store (for local runs only: a pull request's code then runs with the source tier's permissions)";

async function getPipeline(name: string) {
  const client = new CodePipelineClient({});
  try {
    return (await client.send(new GetPipelineCommand({ name }))).pipeline;
  } finally {
    client.destroy();
  }
}

describe("reconciler: the pull request tier (wire level)", function () {
  const wire = useWireDoubles();

  function handler(env: Record<string, string | undefined> = {}) {
    return createReconcileHandler(
      defaultReconcileDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAMES: JSON.stringify(PR_REPOSITORIES),
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
          ...PR_TIER_ENV,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
  }
  const sweep = (env: Record<string, string | undefined> = {}): Promise<ReconcileSummary> =>
    handler(env)({ "detail-type": "Scheduled Event" });

  /** A clone as the webhook made it before the tiers: the source's role and projects. */
  function seedOldClone(number: number): string {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(wire.source, {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch));
    return declaration.name;
  }

  const tagsOf = (repository: string) =>
    wire.aws
      .images(repository)
      .flatMap((image) => image.tags)
      .sort();

  /** Images of #2 (open), #3 and #4 (closed, no clone) in the PR repositories; look-alikes in the source ones. */
  function seedImages(): void {
    for (const repository of [...SOURCE_REPOSITORIES, ...PR_REPOSITORIES]) {
      wire.aws.createRepository(repository);
    }
    wire.aws.seedImage("hello-world-pr/app", { tags: ["pr-2", "pr-2-abc1234"] });
    wire.aws.seedImage("hello-world-pr/app", { tags: ["pr-3", "pr-3-abc1234"] });
    wire.aws.seedImage("hello-world-pr/worker", { tags: ["pr-3-def5678"] });
    wire.aws.seedImage("hello-world-pr/jobs", { tags: ["pr-4", "nightly"] });
    for (const repository of SOURCE_REPOSITORIES) {
      wire.aws.seedImage(repository, { tags: ["latest", "abc1234"] });
      wire.aws.seedImage(repository, { tags: ["pr-3", "pr-3-abc1234", "pr-4"] });
    }
  }

  it("creates a missing clone in the PR tier and moves an older clone into it", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.github.addPullRequest(fakePullRequest(5));
    seedOldClone(5);
    for (const repository of PR_REPOSITORIES) wire.aws.createRepository(repository);
    const summary = await sweep();
    expect(summary).to.deep.include({ created: [2], updated: [5], errors: [] });
    for (const n of [2, 5]) {
      const clone = await getPipeline(cloneName(SOURCE, n));
      expect(clone?.roleArn, `#${n}`).to.equal(CLONE_ROLE_ARN);
      expect(clone?.stages?.[1]?.actions?.[0]?.configuration?.["ProjectName"], `#${n}`).to.equal(
        "hello-world-pr",
      );
      expect(clone?.artifactStore, `#${n}`).to.deep.equal({
        type: "S3",
        location: PR_ARTIFACT_BUCKET,
      });
    }
    expect((await getPipeline(SOURCE))?.artifactStore?.location).to.equal(
      "hello-world-artifacts-0a1b2c3d",
    );
    expect(wire.logger.text()).not.to.include("CLONE_ROLE_ARN");
  });

  it("heals across repositories: each PR repository listed once, closed pull requests' images deleted there only", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.github.addPullRequest(fakePullRequest(3, { state: "closed" }));
    wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
    seedImages();
    const summary = await sweep();
    expect(summary).to.deep.include({ created: [2], imagesDeleted: [3, 4], errors: [] });
    expect(tagsOf("hello-world-pr/app")).to.deep.equal(["pr-2", "pr-2-abc1234"]);
    expect(tagsOf("hello-world-pr/worker")).to.deep.equal([]);
    expect(tagsOf("hello-world-pr/jobs")).to.deep.equal(["nightly"]);
    for (const repository of SOURCE_REPOSITORIES) {
      expect(tagsOf(repository), repository).to.deep.equal([
        "abc1234",
        "latest",
        "pr-3",
        "pr-3-abc1234",
        "pr-4",
      ]);
    }
    const listed = wire.aws.calls
      .filter((call) => call.operation === "ListImages")
      .map((call) => (call.input as { repositoryName: string }).repositoryName)
      .sort();
    expect(listed).to.deep.equal([...PR_REPOSITORIES].sort());
    // Only the repositories holding a closed pull request's images get a BatchDeleteImage.
    const deletes = wire.aws.calls
      .filter((call) => call.operation === "BatchDeleteImage")
      .map((call) => (call.input as { repositoryName: string }).repositoryName)
      .sort();
    expect(deletes).to.deep.equal([
      "hello-world-pr/app",
      "hello-world-pr/jobs",
      "hello-world-pr/worker",
    ]);
  });

  it("reports a PR repository it cannot list and still cleans the others", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.github.addPullRequest(fakePullRequest(3, { state: "closed" }));
    wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
    seedImages();
    wire.aws.inject({
      operation: "ListImages",
      error: { status: 400, type: "ValidationException", message: "listing refused" },
      times: 1,
    });
    const summary = await sweep();
    expect(summary.errors).to.have.length(1);
    expect(summary.errors[0]).to.match(
      /^images of hello-world-pr\/(app|worker|jobs) could not be listed: listing refused$/,
    );
    // The unlisted repository was listed again for #3's removal (the injected failure was spent).
    expect(summary.imagesDeleted).to.include(3);
    expect(tagsOf("hello-world-pr/app")).to.not.include("pr-3");
    expect(tagsOf("hello-world-pr/worker")).to.deep.equal([]);
  });

  it("warns once per container when the tier is unset; clones keep the source's store", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    const unset = handler({
      CLONE_ROLE_ARN: undefined,
      PR_BUILD_PROJECTS: undefined,
      PR_ARTIFACT_BUCKET: undefined,
    });
    await unset({ "detail-type": "Scheduled Event" });
    await unset({ "detail-type": "Scheduled Event" });
    expect((await getPipeline(cloneName(SOURCE, 2)))?.artifactStore?.location).to.equal(
      "hello-world-artifacts-0a1b2c3d",
    );
    expect(wire.logger.lines.filter((line) => line.message === WARNING)).to.have.length(1);
    expect(wire.logger.lines.find((line) => line.message === WARNING)?.level).to.equal("warn");
  });

  it("tears down every PR repository's pull request images on delete, and nothing in the source ones", async () => {
    seedImages();
    seedOldClone(5);
    const input = { branchline: "teardown" };
    const event: LifecycleEvent = { ...input, tf: { action: "delete", prev_input: input } };
    const answer = await handler()(event);
    expect(answer).to.deep.equal({
      action: "delete",
      teardown: { deleted: [5], imagesDeleted: [2, 3, 4], leftAlone: [], errors: [] },
    });
    for (const repository of PR_REPOSITORIES) {
      expect(
        tagsOf(repository).filter((tag) => /^pr-[234](-|$)/.test(tag)),
        repository,
      ).to.deep.equal([]);
    }
    expect(tagsOf("hello-world-pr/jobs")).to.deep.equal(["nightly"]);
    for (const repository of SOURCE_REPOSITORIES) {
      expect(tagsOf(repository), repository).to.have.length(5);
    }
  });
});
