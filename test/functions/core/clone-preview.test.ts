/**
 * The clone transform with a preview environment: the source's first ECS deploy action that no
 * approval gates is kept, aimed at the pull request's own ECS service; every other Deploy action is
 * still dropped; a source without one is refused with the reason. Each clone goes through the real
 * SDK into the AWS double's CreatePipeline, which validates it against the CodePipeline API model.
 */
import {
  CodePipelineClient,
  CreatePipelineCommand,
  type PipelineDeclaration as SdkPipelineDeclaration,
} from "@aws-sdk/client-codepipeline";
import { expect } from "chai";
import { cloneDeclaration, type PreviewTarget } from "../../../functions/core/clone.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import type { ActionDeclaration, PipelineDeclaration } from "../../../functions/core/pipeline.js";
import {
  fastRetryStrategy,
  startAwsDouble,
  type AwsDouble,
} from "../../helpers/aws-double/index.js";
import { fixture, pipelineFixture } from "../../helpers/fixtures.js";

const sdk = (d: PipelineDeclaration): SdkPipelineDeclaration => d as SdkPipelineDeclaration;

const PREVIEW: PreviewTarget = {
  cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/previews",
  service: "shop-pr-7-web",
};
const TARGET = { prNumber: 7, headBranch: "feature-7", headRepository: "Codertocat/Hello-World" };
const CLONE_ROLE = "arn:aws:iam::123456789012:role/branchline-clone-role";

function deployActions(pipeline: PipelineDeclaration): ActionDeclaration[] {
  return pipeline.stages
    .flatMap((stage) => stage.actions)
    .filter((action) => action.actionTypeId.category === "Deploy");
}

/** v1-ecs with a staging deploy, a manual approval and a production deploy after it. */
function stagedSource(): PipelineDeclaration {
  const source = pipelineFixture("v1-ecs");
  const [sourceStage, build, deploy] = source.stages;
  if (!sourceStage || !build || !deploy) throw new Error("v1-ecs has three stages");
  const staging = structuredClone(deploy);
  staging.name = "Staging";
  const stagingAction = staging.actions[0] as ActionDeclaration;
  stagingAction.name = "DeployStaging";
  stagingAction.configuration = { ...stagingAction.configuration, ClusterName: "staging" };
  stagingAction.roleArn = "arn:aws:iam::210987654321:role/cross-account-deploy";
  stagingAction.region = "us-east-1";
  const approval = {
    name: "Approve",
    actions: [
      {
        name: "Approve",
        actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" },
        runOrder: 1,
      },
    ],
  };
  return { ...source, stages: [sourceStage, build, staging, approval, deploy] };
}

describe("cloneDeclaration with a preview environment", () => {
  let aws: AwsDouble;
  let client: CodePipelineClient;

  before(async () => {
    aws = await startAwsDouble();
    const env = aws.env();
    client = new CodePipelineClient({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      },
      retryStrategy: fastRetryStrategy(3),
    });
  });
  after(async () => {
    client.destroy();
    await aws.close();
  });
  beforeEach(() => aws.reset());

  it("keeps the ECS deploy, aimed at the pull request's service; CodePipeline's model accepts it", async () => {
    const source = pipelineFixture("v1-ecs");
    const clone = cloneDeclaration(source, TARGET, { roleArn: CLONE_ROLE, preview: PREVIEW });
    expect(clone.stages.map((stage) => stage.name)).to.deep.equal(["Source", "Build", "Deploy"]);
    const [deploy] = deployActions(clone);
    const [original] = deployActions(source);
    expect(deploy).to.deep.equal({
      ...original,
      configuration: {
        ClusterName: PREVIEW.cluster,
        ServiceName: PREVIEW.service,
        FileName: "imagedefinitions.json",
      },
    });
    // The source is left as it was.
    expect(original?.configuration?.["ClusterName"]).to.equal("main");
    await client.send(new CreatePipelineCommand({ pipeline: sdk(clone) }));
    expect(aws.pipeline(clone.name)?.declaration.stages).to.have.length(3);
  });

  it("without a preview the deploy is dropped, as before", () => {
    const clone = cloneDeclaration(pipelineFixture("v1-ecs"), TARGET, { roleArn: CLONE_ROLE });
    expect(deployActions(clone)).to.deep.equal([]);
  });

  it("only the first ungated ECS deploy: its own role and region go, the gated production deploy stays dropped", async () => {
    const clone = cloneDeclaration(stagedSource(), TARGET, {
      roleArn: CLONE_ROLE,
      preview: PREVIEW,
    });
    expect(clone.stages.map((stage) => stage.name)).to.deep.equal(["Source", "Build", "Staging"]);
    const [kept, ...others] = deployActions(clone);
    expect(others).to.deep.equal([]);
    expect(kept?.name).to.equal("DeployStaging");
    expect(kept?.configuration).to.deep.include({
      ClusterName: PREVIEW.cluster,
      ServiceName: PREVIEW.service,
    });
    // It runs with the clone's role (the pull request tier's), in the pipeline's region.
    expect(kept).to.not.have.property("roleArn");
    expect(kept).to.not.have.property("region");
    await client.send(new CreatePipelineCommand({ pipeline: sdk(clone) }));
  });

  it("the corpus: a standard ECS deploy is kept; blue/green and Terraform pipelines are refused with the reason", () => {
    const load = (name: string) =>
      fixture<{ pipeline: PipelineDeclaration }>(`pipelines/corpus/${name}.json`).pipeline;
    const standard = load("ecs-standard-deploy");
    const clone = cloneDeclaration(
      standard,
      { ...TARGET, headRepository: "example/app" },
      {
        preview: PREVIEW,
      },
    );
    expect(
      deployActions(clone).map((action) => action.configuration?.["ServiceName"]),
    ).to.deep.equal([PREVIEW.service]);
    for (const name of ["aws-docs-ecs-blue-green", "terraform-plan-approve-apply"]) {
      const source = load(name);
      expect(() => cloneDeclaration(source, TARGET, { preview: PREVIEW }))
        .to.throw(ConfigurationError)
        .with.property(
          "message",
          `pipeline ${source.name} has no ECS deploy action (provider ECS) that no approval gates: a preview environment redeploys through one`,
        );
    }
  });
});
