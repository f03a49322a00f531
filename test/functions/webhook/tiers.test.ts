/**
 * The two trust tiers at the webhook, over the wire: a clone created by the webhook runs with the
 * clone role, builds in the PR build projects and stores its artifacts in the PR artifact bucket
 * (read back with GetPipeline from the AWS double), and a closed pull request's images go from every PR tier repository and from nothing else.
 */
import { CodePipelineClient, GetPipelineCommand } from "@aws-sdk/client-codepipeline";
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { cloneName } from "../../../functions/shared/names.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { CLONE_ROLE_ARN, PR_ARTIFACT_BUCKET, PR_TIER_ENV } from "../../helpers/tiers.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
/** The source tier's repositories, then the PR tier's (contract: `<prefix>/<image>`, `<prefix>-pr/<image>`). */
const SOURCE_REPOSITORIES = ["hello-world/app", "hello-world/worker"];
const PR_REPOSITORIES = ["hello-world-pr/app", "hello-world-pr/worker"];
const REPO = "Codertocat/Hello-World";

const WARNING =
  "CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET are not set: clones keep the source pipeline's role, build projects and artifact store (for local runs only: a pull request's code then runs with the source tier's permissions)";

/** The source's artifact store in the fixtures. */
const SOURCE_STORE = { type: "S3", location: "hello-world-artifacts-0a1b2c3d" };

/**
 * v1-ecs made cross-region (the AWS double's region is us-east-1): a KMS-encrypted store in each
 * region, the ECS deploy in eu-west-1, and the build naming the pipeline's own region, as
 * GetPipeline answers; with `smokeRegion`, a Lambda action after the build runs there.
 */
function crossRegion(smokeRegion?: string): PipelineDeclaration {
  const source = pipelineFixture("v1-ecs");
  delete source.artifactStore;
  source.artifactStores = {
    "us-east-1": {
      ...SOURCE_STORE,
      encryptionKey: { id: "arn:aws:kms:us-east-1:123456789012:key/source", type: "KMS" },
    },
    "eu-west-1": { type: "S3", location: "hello-world-artifacts-eu-west-1" },
  };
  const [build, deploy] = [source.stages[1]?.actions[0], source.stages[2]?.actions[0]];
  if (build) build.region = "us-east-1";
  if (deploy) deploy.region = "eu-west-1";
  if (smokeRegion !== undefined) {
    source.stages[1]?.actions.push({
      name: "Smoke",
      actionTypeId: { category: "Invoke", owner: "AWS", provider: "Lambda", version: "1" },
      configuration: { FunctionName: "smoke" },
      inputArtifacts: [{ name: "imagedefinitions" }],
      runOrder: 2,
      region: smokeRegion,
    });
  }
  return source;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe("webhook: the pull request tier (wire level)", function () {
  for (const seed of ["v1-ecs", "v2-triggers"] as const) {
    describe(`a clone of the ${seed} fixture`, () => {
      const wire = useWireDoubles({ github: false, seed });
      const source = () => wire.source.name;

      function handler(env: Record<string, string | undefined> = {}) {
        return createHandler(
          defaultWebhookDeps(
            {
              SOURCE_PIPELINE_NAME: source(),
              ECR_REPOSITORY_NAMES: JSON.stringify(PR_REPOSITORIES),
              WEBHOOK_SECRET: SECRET,
              ...PR_TIER_ENV,
              ...env,
            },
            { logger: wire.logger },
          ),
        );
      }

      async function getPipeline(name: string) {
        const client = new CodePipelineClient({});
        try {
          return (await client.send(new GetPipelineCommand({ name }))).pipeline;
        } finally {
          client.destroy();
        }
      }

      const projects = (pipeline: Awaited<ReturnType<typeof getPipeline>>) =>
        (pipeline?.stages ?? [])
          .flatMap((stage) => stage.actions ?? [])
          .filter((action) => action.actionTypeId?.provider === "CodeBuild")
          .map((action) => `${action.name}: ${action.configuration?.["ProjectName"]}`);

      it("carries the clone role and the PR projects; the source keeps its own", async () => {
        const response = await handler()(signedEvent(pullRequestPayload(), { secret: SECRET }));
        expect(response.statusCode).to.equal(200);
        const clone = await getPipeline(cloneName(source(), 2));
        expect(clone?.roleArn).to.equal(CLONE_ROLE_ARN);
        expect(projects(clone)).to.deep.equal(
          seed === "v1-ecs"
            ? ["Image: hello-world-pr"]
            : ["Image: hello-world-pr", "UnitTests: hello-world-pr-test"],
        );
        const original = await getPipeline(source());
        expect(original?.roleArn).to.equal(
          "arn:aws:iam::123456789012:role/hello-world-pipeline-role",
        );
        expect(projects(original)).to.deep.equal(
          seed === "v1-ecs"
            ? ["Image: hello-world-build"]
            : ["Image: hello-world-build", "UnitTests: hello-world-test"],
        );
        expect(wire.logger.text()).not.to.include("CLONE_ROLE_ARN");
      });

      it("stores its artifacts in the PR artifact bucket; the source keeps its own store", async () => {
        const response = await handler()(signedEvent(pullRequestPayload(), { secret: SECRET }));
        expect(response.statusCode).to.equal(200);
        const clone = await getPipeline(cloneName(source(), 2));
        expect(clone?.artifactStore).to.deep.equal({ type: "S3", location: PR_ARTIFACT_BUCKET });
        expect(clone?.artifactStores).to.equal(undefined);
        expect((await getPipeline(source()))?.artifactStore).to.deep.equal(SOURCE_STORE);
      });

      it("moves a clone made before the tiers into the PR tier on its next event", async () => {
        const old = cloneDeclaration(wire.source, {
          prNumber: 2,
          headBranch: "changes",
          headRepository: REPO,
        });
        wire.aws.seedPipeline(old, cloneTags(source(), 2, "changes"));
        const response = await handler()(
          signedEvent(pullRequestPayload({ action: "synchronize" }), { secret: SECRET }),
        );
        expect(JSON.parse(response.body)).to.include({ outcome: "updated" });
        const clone = await getPipeline(old.name);
        expect(clone?.roleArn).to.equal(CLONE_ROLE_ARN);
        expect(projects(clone).every((line) => /: hello-world-pr(-test)?$/.test(line))).to.equal(
          true,
        );
        expect(clone?.artifactStore).to.deep.equal({ type: "S3", location: PR_ARTIFACT_BUCKET });
      });
    });
  }

  describe("configuration", () => {
    const wire = useWireDoubles({ github: false });

    function handler(env: Record<string, string | undefined>) {
      return createHandler(
        defaultWebhookDeps(
          {
            SOURCE_PIPELINE_NAME: "hello-world",
            ECR_REPOSITORY_NAME: PR_REPOSITORIES[0],
            WEBHOOK_SECRET: SECRET,
            ...env,
          },
          { logger: wire.logger },
        ),
      );
    }

    it("without CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET: the source's role, projects and store, one warning per container", async () => {
      const unset = handler({});
      for (const action of ["opened", "synchronize"]) {
        const response = await unset(
          signedEvent(pullRequestPayload({ action }), { secret: SECRET }),
        );
        expect(response.statusCode).to.equal(200);
      }
      const clone = wire.aws.pipeline(cloneName("hello-world", 2))?.declaration;
      expect(clone?.roleArn).to.equal("arn:aws:iam::123456789012:role/hello-world-pipeline-role");
      expect(clone?.stages[1]?.actions[0]?.configuration?.["ProjectName"]).to.equal(
        "hello-world-build",
      );
      expect(clone?.artifactStore).to.deep.equal(SOURCE_STORE);
      expect(
        wire.logger.lines.filter((l) => l.level === "warn").map((l) => l.message),
      ).to.include.members([WARNING]);
      expect(wire.logger.lines.filter((l) => l.message === WARNING)).to.have.length(1);
    });

    it("refuses to clone a CodeBuild action whose project has no PR project: 422, nothing created", async () => {
      const response = await handler({
        ...PR_TIER_ENV,
        PR_BUILD_PROJECTS: JSON.stringify({ "hello-world-test": "hello-world-pr-test" }),
      })(signedEvent(pullRequestPayload(), { secret: SECRET }));
      expect(response.statusCode).to.equal(422);
      expect(JSON.parse(response.body)).to.deep.include({ outcome: "misconfigured" });
      expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
      const failed = wire.logger.lines.find((l) => l.message === "delivery failed");
      expect(JSON.stringify(failed?.fields)).to.include(
        "pipeline hello-world, action Image: its CodeBuild project hello-world-build has no pull request build project in PR_BUILD_PROJECTS",
      );
    });

    it("gives a cross-region source's clone the PR bucket alone once the other region's deploy is dropped", async () => {
      wire.aws.reset();
      wire.aws.seedPipeline(crossRegion());
      const response = await handler(PR_TIER_ENV)(
        signedEvent(pullRequestPayload(), { secret: SECRET }),
      );
      expect(response.statusCode).to.equal(200);
      const clone = wire.aws.pipeline(cloneName("hello-world", 2))?.declaration;
      expect(clone?.artifactStore).to.deep.equal({ type: "S3", location: PR_ARTIFACT_BUCKET });
      expect(clone).not.to.have.property("artifactStores");
      expect(clone?.stages.map((stage) => stage.name)).to.deep.equal(["Source", "Build"]);
      expect(clone?.stages[1]?.actions[0]?.region).to.equal("us-east-1");
    });

    it("refuses a clone that keeps an action in another region: 422, naming the action and region", async () => {
      wire.aws.reset();
      wire.aws.seedPipeline(crossRegion("eu-west-1"));
      const response = await handler(PR_TIER_ENV)(
        signedEvent(pullRequestPayload(), { secret: SECRET }),
      );
      expect(response.statusCode).to.equal(422);
      expect(JSON.parse(response.body)).to.deep.include({ outcome: "misconfigured" });
      expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
      expect(wire.logger.text()).to.include(
        "pipeline hello-world, action Smoke: its pull request clone would keep this action in region eu-west-1",
      );
    });

    it("refuses a malformed PR_BUILD_PROJECTS: 422, naming the variable in the log", async () => {
      const response = await handler({ ...PR_TIER_ENV, PR_BUILD_PROJECTS: "hello-world-pr" })(
        signedEvent(pullRequestPayload(), { secret: SECRET }),
      );
      expect(response.statusCode).to.equal(422);
      expect(wire.aws.callCount("CreatePipeline")).to.equal(0);
      expect(wire.logger.text()).to.include(
        "environment variable PR_BUILD_PROJECTS is not valid JSON",
      );
    });
  });

  describe("closed: the images of every PR repository, and of no source repository", () => {
    const wire = useWireDoubles({ github: false });
    const CLONE = cloneName("hello-world", 2);

    function handler() {
      return createHandler(
        defaultWebhookDeps(
          {
            SOURCE_PIPELINE_NAME: "hello-world",
            ECR_REPOSITORY_NAMES: JSON.stringify(PR_REPOSITORIES),
            WEBHOOK_SECRET: SECRET,
            ...PR_TIER_ENV,
          },
          { logger: wire.logger },
        ),
      );
    }

    async function deliver(variant: PullRequestVariant): Promise<Answer> {
      const response = await handler()(
        signedEvent(pullRequestPayload(variant), { secret: SECRET }),
      );
      return {
        status: response.statusCode,
        body: JSON.parse(response.body) as Record<string, unknown>,
      };
    }

    const tagsOf = (repository: string) =>
      wire.aws
        .images(repository)
        .flatMap((image) => image.tags)
        .sort();

    beforeEach(async () => {
      await deliver({ action: "opened" });
      for (const repository of [...SOURCE_REPOSITORIES, ...PR_REPOSITORIES]) {
        wire.aws.createRepository(repository);
      }
      for (const repository of PR_REPOSITORIES) {
        wire.aws.seedImage(repository, { tags: ["pr-2", "pr-2-abc1234"] });
        wire.aws.seedImage(repository, { tags: ["pr-20", "pr-20-abc1234"] });
      }
      wire.aws.seedImage(PR_REPOSITORIES[1] ?? "", { tags: ["pr-2-def5678"] });
      // Source-tier images whose tags look like a pull request's: not in the list, so they stay.
      for (const repository of SOURCE_REPOSITORIES) {
        wire.aws.seedImage(repository, { tags: ["latest", "abc1234"] });
        wire.aws.seedImage(repository, { tags: ["pr-2", "pr-2-abc1234"] });
      }
      wire.aws.calls.length = 0;
    });

    it("deletes pr-2 and pr-2-* in each PR repository, with one ListImages and one BatchDeleteImage each", async () => {
      const answer = await deliver({ action: "closed", state: "closed" });
      expect(answer).to.deep.equal({
        status: 200,
        body: {
          outcome: "deleted",
          pipeline: CLONE,
          pullRequest: 2,
          executionsStopped: 0,
          imagesDeleted: 5,
        },
      });
      expect(tagsOf("hello-world-pr/app")).to.deep.equal(["pr-20", "pr-20-abc1234"]);
      expect(tagsOf("hello-world-pr/worker")).to.deep.equal(["pr-20", "pr-20-abc1234"]);
      for (const repository of SOURCE_REPOSITORIES) {
        expect(tagsOf(repository), repository).to.deep.equal([
          "abc1234",
          "latest",
          "pr-2",
          "pr-2-abc1234",
        ]);
      }
      const ecr = wire.aws.calls
        .filter((call) => call.operation === "ListImages" || call.operation === "BatchDeleteImage")
        .map(
          (call) =>
            `${call.operation} ${(call.input as { repositoryName: string }).repositoryName}`,
        );
      expect(ecr).to.deep.equal([
        "ListImages hello-world-pr/app",
        "BatchDeleteImage hello-world-pr/app",
        "ListImages hello-world-pr/worker",
        "BatchDeleteImage hello-world-pr/worker",
      ]);
    });

    it("goes on with the other repositories when one fails, and reports the failure", async () => {
      wire.aws.failImageDeletes({ repository: "hello-world-pr/app", tags: ["pr-2"] });
      const answer = await deliver({ action: "closed", state: "closed" });
      expect(answer.status).to.equal(503);
      expect(tagsOf("hello-world-pr/app")).to.deep.equal(["pr-2", "pr-20", "pr-20-abc1234"]);
      expect(tagsOf("hello-world-pr/worker")).to.deep.equal(["pr-20", "pr-20-abc1234"]);
      const warning = wire.logger.lines.find(
        (l) => l.message === "some images could not be deleted",
      );
      expect(warning?.fields).to.deep.include({ prNumber: 2, deleted: 4 });
      expect(JSON.stringify(warning?.fields["failures"])).to.include(
        '"repository":"hello-world-pr/app"',
      );
    });

    it("goes on with the other repositories when one is missing, and answers misconfigured", async () => {
      wire.aws.reset();
      wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
      await deliver({ action: "opened" });
      wire.aws.createRepository("hello-world-pr/worker");
      wire.aws.seedImage("hello-world-pr/worker", { tags: ["pr-2"] });
      const answer = await deliver({ action: "closed", state: "closed" });
      expect(answer.status).to.equal(422);
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
      expect(tagsOf("hello-world-pr/worker")).to.deep.equal([]);
      expect(wire.logger.text()).to.include("ECR repository hello-world-pr/app does not exist");
    });
  });
});
