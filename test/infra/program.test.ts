import type * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { parse } from "yaml";
import { readSettings } from "../../functions/app/settings.js";
import { ENV } from "../../functions/shared/names.js";
import { BUILDSPEC_ENVIRONMENT, renderBuildspec } from "../../infra/build/buildspec.js";
import { loadConfig } from "../../infra/config.js";
import { createBranchline, type BranchlineOutputs } from "../../infra/program.js";
import {
  MOCK_ACCOUNT,
  onlyResource,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  unwrap,
  type RecordedResource,
} from "../helpers/pulumi-mocks.js";
import { PR_REPOSITORY_POLICY, SOURCE_REPOSITORY_POLICY } from "../helpers/ecr-lifecycle.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const region = "eu-west-1";
const at = `${region}:${MOCK_ACCOUNT}`;
const registryHost = `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com`;
const connection = `arn:aws:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`;

const clones = `arn:aws:codepipeline:${at}:branchline-dev-pr-*`;
const deliveryQueueName = "delivery-queue-0000000.fifo";
const deadLetterQueueName = "delivery-dead-letter-queue-0000000.fifo";
const deliveryQueueArn = `arn:aws:sqs:${at}:${deliveryQueueName}`;
const deadLetterQueueArn = `arn:aws:sqs:${at}:${deadLetterQueueName}`;
const deliveryQueueUrl = `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${deliveryQueueName}`;
const deadLetterQueueUrl = `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${deadLetterQueueName}`;

/** The one-service form's durable delivery (the default), beyond the inline form's resources. */
const DURABLE_DELIVERY_RESOURCES = [
  "branchline:delivery:DeliveryQueue delivery",
  "aws:sqs/queue:Queue delivery-queue",
  "aws:sqs/queue:Queue delivery-dead-letter-queue",
  "aws:sqs/queuePolicy:QueuePolicy delivery-queue-policy",
  "aws:sqs/queuePolicy:QueuePolicy delivery-dead-letter-queue-policy",
  "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy delivery-dead-letter-redrive-allow",
  "branchline:delivery:DeliveryWorker worker",
  "branchline:lambda:Function worker",
  "aws:cloudwatch/logGroup:LogGroup worker-logs",
  "aws:iam/role:Role worker-role",
  "aws:iam/rolePolicy:RolePolicy worker-role-policy",
  "aws:lambda/function:Function worker-function",
  "aws:lambda/eventSourceMapping:EventSourceMapping worker-deliveries",
  "aws:cloudwatch/metricAlarm:MetricAlarm worker-dead-letters-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm worker-oldest-delivery-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm monitoring-worker-errors-alarm",
];

/** What a clone manager (the worker; the webhook when inline) may do, before its secrets. */
const cloneManagerStatements = [
  {
    Sid: "ReadSourcePipeline",
    Effect: "Allow",
    Action: "codepipeline:GetPipeline",
    Resource: `arn:aws:codepipeline:${at}:branchline-dev`,
  },
  {
    Sid: "FindClones",
    Effect: "Allow",
    Action: ["codepipeline:GetPipeline", "codepipeline:ListTagsForResource"],
    Resource: clones,
  },
  {
    Sid: "CreateClones",
    Effect: "Allow",
    Action: ["codepipeline:CreatePipeline", "codepipeline:TagResource"],
    Resource: clones,
    Condition: {
      StringEquals: {
        "aws:RequestTag/branchline:managed-by": "branchline",
        "aws:RequestTag/branchline:source-pipeline": "branchline-dev",
      },
      "ForAllValues:StringEquals": {
        "aws:TagKeys": [
          "branchline:managed-by",
          "branchline:source-pipeline",
          "branchline:pull-request",
          "branchline:branch",
          "branchline:approved-sha",
        ],
      },
    },
  },
  {
    Sid: "ManageClones",
    Effect: "Allow",
    Action: [
      "codepipeline:DeletePipeline",
      "codepipeline:ListPipelineExecutions",
      "codepipeline:StartPipelineExecution",
      "codepipeline:StopPipelineExecution",
      "codepipeline:UpdatePipeline",
    ],
    Resource: clones,
    Condition: {
      StringEquals: {
        "aws:ResourceTag/branchline:managed-by": "branchline",
        "aws:ResourceTag/branchline:source-pipeline": "branchline-dev",
      },
    },
  },
  {
    Sid: "PassCloneRole",
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: "arn:aws:iam::123456789012:role/pipeline-clone-role-0000000",
    Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
  },
  {
    Sid: "PassConnection",
    Effect: "Allow",
    Action: "codeconnections:PassConnection",
    Resource: connection,
    Condition: {
      StringEquals: { "codeconnections:PassedToService": "codepipeline.amazonaws.com" },
    },
  },
  {
    Sid: "CleanUpImages",
    Effect: "Allow",
    Action: ["ecr:BatchDeleteImage", "ecr:ListImages"],
    Resource: [`arn:aws:ecr:${at}:repository/branchline-dev-pr/app`],
  },
];
const advanceMarks = {
  Sid: "AdvancePullRequestMarks",
  Effect: "Allow",
  Action: "dynamodb:UpdateItem",
  Resource: `arn:aws:dynamodb:${at}:table/state-table-0000000`,
  Condition: {
    "ForAllValues:StringLike": { "dynamodb:LeadingKeys": "branchline-dev#*" },
  },
};
const writeLogs = (name: string) => ({
  Sid: "WriteLogs",
  Effect: "Allow",
  Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
  Resource: `arn:aws:logs:${at}:log-group:${name}-logs-0000000:*`,
});

/** A trust policy for one service, for that resource (or ARN pattern) of the mock account only. */
function trusting(service: string, sourceArn: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
          ArnLike: { "aws:SourceArn": sourceArn },
        },
      },
    ],
  };
}

function variablesOf(project: RecordedResource): Record<string, string> {
  const environment = project.inputs["environment"] as {
    environmentVariables: { name: string; value: string; type: string }[];
  };
  return Object.fromEntries(environment.environmentVariables.map((v) => [v.name, v.value]));
}

async function synth(
  config: Record<string, string | object>,
): Promise<{ outputs: BranchlineOutputs; resources: RecordedResource[] }> {
  const { result, resources } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    ["webhookSecret", "githubToken"],
  );
  return { outputs: result, resources };
}

/** How the engine receives a value marked secret (the mocks see the wire form). */
function secretValue(value: string): Record<string, string> {
  return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

function policyOf(resource: RecordedResource, key = "policy"): unknown {
  const text = resource.inputs[key];
  expect(text, `${resource.name}.${key}`).to.be.a("string");
  return JSON.parse(text as string);
}

interface PipelineAction {
  name: string;
  category: string;
  provider: string;
  inputArtifacts?: string[];
  outputArtifacts?: string[];
  configuration: Record<string, string>;
}

function stagesOf(pipeline: RecordedResource): { name: string; actions: PipelineAction[] }[] {
  return pipeline.inputs["stages"] as { name: string; actions: PipelineAction[] }[];
}

describe("infra/program (whole stack under Pulumi mocks)", () => {
  describe("a default stack", () => {
    let outputs: BranchlineOutputs;
    let resources: RecordedResource[];
    before(async () => {
      ({ outputs, resources } = await synth(minimal));
    });

    it("declares exactly these resources", () => {
      const names = resources.map((r) => `${r.type} ${r.name}`).sort();
      expect(names).to.deep.equal(
        [
          // The whole stack is one component; its children keep the one-service stack's names.
          "branchline:index:Branchline branchline",
          "aws:apigatewayv2/api:Api webhook-api",
          "aws:apigatewayv2/integration:Integration webhook-integration",
          "aws:apigatewayv2/route:Route webhook-route",
          "aws:apigatewayv2/stage:Stage webhook-stage",
          "aws:cloudwatch/logGroup:LogGroup build-logs",
          "aws:cloudwatch/logGroup:LogGroup pr-build-logs",
          "aws:codebuild/project:Project pr-build-project",
          "aws:iam/role:Role pr-build-role",
          "aws:iam/rolePolicy:RolePolicy pr-build-role-policy",
          "branchline:build:BuildProject pr-build",
          "aws:ecr/lifecyclePolicy:LifecyclePolicy pr-registry-app-lifecycle",
          "aws:ecr/repository:Repository pr-registry-app-repository",
          "branchline:registry:Registry pr-registry",
          "aws:iam/role:Role pipeline-clone-role",
          "aws:iam/rolePolicy:RolePolicy pipeline-clone-role-policy",
          "aws:cloudwatch/logGroup:LogGroup webhook-logs",
          "aws:codebuild/project:Project build-project",
          "aws:codeconnections/connection:Connection connection-github",
          "aws:codepipeline/pipeline:Pipeline pipeline-pipeline",
          "aws:ecr/lifecyclePolicy:LifecyclePolicy registry-app-lifecycle",
          "aws:ecr/repository:Repository registry-app-repository",
          "aws:iam/role:Role build-role",
          "aws:iam/role:Role pipeline-role",
          "aws:iam/role:Role webhook-role",
          "aws:iam/rolePolicy:RolePolicy build-role-policy",
          "aws:iam/rolePolicy:RolePolicy pipeline-role-policy",
          "aws:iam/rolePolicy:RolePolicy webhook-role-policy",
          "aws:lambda/function:Function webhook-function",
          "aws:lambda/permission:Permission webhook-invoke-permission",
          "aws:s3/bucket:Bucket artifacts-bucket",
          "aws:s3/bucket:Bucket pr-artifacts-bucket",
          "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration artifacts-lifecycle",
          "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration pr-artifacts-lifecycle",
          "aws:s3/bucketPolicy:BucketPolicy artifacts-policy",
          "aws:s3/bucketPolicy:BucketPolicy pr-artifacts-policy",
          "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock artifacts-public-access-block",
          "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock pr-artifacts-public-access-block",
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration artifacts-encryption",
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration pr-artifacts-encryption",
          "aws:s3/bucketVersioning:BucketVersioning artifacts-versioning",
          "aws:s3/bucketVersioning:BucketVersioning pr-artifacts-versioning",
          "aws:secretsmanager/secret:Secret webhook-webhook-secret",
          "aws:secretsmanager/secretVersion:SecretVersion webhook-webhook-secret-value",
          "branchline:artifacts:ArtifactStore artifacts",
          "branchline:artifacts:ArtifactStore pr-artifacts",
          "branchline:build:BuildProject build",
          "branchline:connection:SourceConnection connection",
          "branchline:pipeline:SourcePipeline pipeline",
          "branchline:registry:Registry registry",
          "branchline:webhook:WebhookReceiver webhook",
          "branchline:lambda:Function webhook",
          "aws:cloudwatch/eventRule:EventRule reconciler-schedule",
          "aws:cloudwatch/eventTarget:EventTarget reconciler-schedule-target",
          "aws:cloudwatch/logGroup:LogGroup reconciler-logs",
          "aws:iam/role:Role reconciler-role",
          "aws:iam/rolePolicy:RolePolicy reconciler-role-policy",
          "aws:lambda/function:Function reconciler-function",
          "aws:lambda/permission:Permission reconciler-schedule-permission",
          "aws:lambda/invocation:Invocation reconciler-teardown",
          "branchline:reconciler:Reconciler reconciler",
          "branchline:lambda:Function reconciler",
          "aws:cloudwatch/eventRule:EventRule notifications-rule",
          "aws:cloudwatch/eventTarget:EventTarget notifications-target",
          "aws:cloudwatch/logGroup:LogGroup notifications-logs",
          "aws:iam/role:Role notifications-role",
          "aws:iam/rolePolicy:RolePolicy notifications-role-policy",
          "aws:lambda/function:Function notifications-function",
          "aws:lambda/permission:Permission notifications-permission",
          "aws:sns/topic:Topic notifications-topic",
          "branchline:notifications:Notifications notifications",
          "branchline:lambda:Function notifications",
          "aws:dynamodb/table:Table state-table",
          "branchline:state:StateTable state",
          // The dashboard and the functions' error alarms, to the topic with its own key.
          "branchline:monitoring:Monitoring monitoring",
          "aws:cloudwatch/dashboard:Dashboard monitoring-dashboard",
          "aws:cloudwatch/metricAlarm:MetricAlarm monitoring-webhook-errors-alarm",
          "aws:cloudwatch/metricAlarm:MetricAlarm monitoring-reconciler-errors-alarm",
          "aws:cloudwatch/metricAlarm:MetricAlarm monitoring-notify-errors-alarm",
          "aws:kms/key:Key notifications-key",
          "aws:sns/topicPolicy:TopicPolicy notifications-topic-policy",
          ...DURABLE_DELIVERY_RESOURCES,
        ].sort(),
      );
    });

    it("protects both artifact buckets (source tier, pull request tier) alike", () => {
      const buckets = resourcesOfType("aws:s3/bucket:Bucket").map((bucket) => bucket.name);
      expect(buckets.sort()).to.deep.equal(["artifacts-bucket", "pr-artifacts-bucket"]);
      for (const store of ["artifacts", "pr-artifacts"]) {
        const bucket = `${store}-bucket-0000000`;
        expect(resourceNamed(`${store}-bucket`).inputs["forceDestroy"], store).to.equal(false);
        expect(
          resourceNamed(`${store}-versioning`).inputs["versioningConfiguration"],
        ).to.deep.equal({ status: "Enabled" });
        expect(resourceNamed(`${store}-encryption`).inputs["rules"]).to.deep.equal([
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" },
            bucketKeyEnabled: true,
          },
        ]);
        expect(resourceNamed(`${store}-public-access-block`).inputs).to.include({
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        });
        expect(resourceNamed(`${store}-policy`).inputs["policy"]).to.equal(
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        );
        expect(resourceNamed(`${store}-lifecycle`).inputs["rules"]).to.deep.equal([
          {
            id: "expire-artifacts",
            status: "Enabled",
            filter: {},
            expiration: { days: 30 },
            noncurrentVersionExpiration: { noncurrentDays: 30 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
          {
            id: "remove-expired-delete-markers",
            status: "Enabled",
            filter: {},
            expiration: { expiredObjectDeleteMarker: true },
          },
        ]);
      }
    });

    it("declares a source and a PR repository per image: scan on push, encrypted, mutable tags, lifecycle per tier", () => {
      for (const [resource, name] of [
        ["registry-app-repository", "branchline-dev/app"],
        ["pr-registry-app-repository", "branchline-dev-pr/app"],
      ] as const) {
        expect(resourceNamed(resource).inputs).to.deep.equal({
          name,
          imageTagMutability: "MUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "AES256" }],
          forceDelete: false,
        });
      }
      expect(resourceNamed("registry-app-lifecycle").inputs).to.deep.equal({
        repository: "branchline-dev/app",
        policy: JSON.stringify(SOURCE_REPOSITORY_POLICY),
      });
      expect(resourceNamed("pr-registry-app-lifecycle").inputs).to.deep.equal({
        repository: "branchline-dev-pr/app",
        policy: JSON.stringify(PR_REPOSITORY_POLICY),
      });
    });

    it("builds in privileged mode with the rendered buildspec and the source tier's environment", () => {
      const project = resourceNamed("build-project");
      expect(project.inputs["name"]).to.equal("branchline-dev");
      expect(project.inputs["buildTimeout"]).to.equal(30);
      expect(project.inputs["source"]).to.deep.equal({
        type: "CODEPIPELINE",
        buildspec: renderBuildspec({
          images: [{ name: "app", context: "." }],
          buildArgs: {},
          noCache: false,
          tier: "source",
        }),
      });
      expect(project.inputs["artifacts"]).to.deep.equal({ type: "CODEPIPELINE" });
      expect(project.inputs["cache"]).to.deep.equal({ type: "NO_CACHE" });
      expect(project.inputs["environment"]).to.deep.equal({
        type: "LINUX_CONTAINER",
        computeType: "BUILD_GENERAL1_SMALL",
        image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        imagePullCredentialsType: "CODEBUILD",
        privilegedMode: true,
        environmentVariables: [
          { name: "BRANCHLINE_TIER", value: "source", type: "PLAINTEXT" },
          {
            name: "CACHE_REPOSITORY_PREFIX",
            value: `${registryHost}/branchline-dev`,
            type: "PLAINTEXT",
          },
          { name: "REPOSITORY_PREFIX", value: `${registryHost}/branchline-dev`, type: "PLAINTEXT" },
        ],
      });
      expect(project.inputs["logsConfig"]).to.deep.equal({
        cloudwatchLogs: { status: "ENABLED", groupName: "/branchline/branchline-dev/build" },
      });
      expect(resourceNamed("build-logs").inputs).to.deep.equal({
        name: "/branchline/branchline-dev/build",
        retentionInDays: 30,
      });
    });

    it("builds pull requests in a project of their own: the buildspec rendered for its tier, the PR tier's environment, its own logs", () => {
      const source = resourceNamed("build-project");
      const project = resourceNamed("pr-build-project");
      expect(project.inputs["name"]).to.equal("branchline-dev-pr");
      expect(project.inputs["serviceRole"]).to.equal(
        "arn:aws:iam::123456789012:role/pr-build-role-0000000",
      );
      expect(project.inputs["source"]).to.deep.equal({
        type: "CODEPIPELINE",
        buildspec: renderBuildspec({
          images: [{ name: "app", context: "." }],
          buildArgs: {},
          noCache: false,
          tier: "pull-request",
        }),
      });
      expect(project.inputs["source"]).to.not.deep.equal(source.inputs["source"]);
      expect(variablesOf(project)).to.deep.equal({
        BRANCHLINE_TIER: "pull-request",
        CACHE_REPOSITORY_PREFIX: `${registryHost}/branchline-dev`,
        REPOSITORY_PREFIX: `${registryHost}/branchline-dev-pr`,
      });
      expect(project.inputs["logsConfig"]).to.deep.equal({
        cloudwatchLogs: { status: "ENABLED", groupName: "/branchline/branchline-dev-pr/build" },
      });
      expect(resourceNamed("pr-build-logs").inputs).to.deep.equal({
        name: "/branchline/branchline-dev-pr/build",
        retentionInDays: 30,
      });
    });

    it("gives both build projects exactly the variables the buildspec needs", () => {
      for (const name of ["build-project", "pr-build-project"]) {
        expect(Object.keys(variablesOf(resourceNamed(name))), name).to.have.members([
          ...BUILDSPEC_ENVIRONMENT,
        ]);
      }
    });

    it("scopes the source build role to its logs, the bucket and the source repositories", () => {
      const statements = (
        policyOf(resourceNamed("build-role-policy")) as {
          Statement: { Sid: string; Resource: unknown }[];
        }
      ).Statement;
      expect(statements.map((s) => [s.Sid, s.Resource])).to.deep.equal([
        ["WriteBuildLogs", `arn:aws:logs:${at}:log-group:/branchline/branchline-dev/build:*`],
        ["ReadWriteArtifacts", "arn:aws:s3:::artifacts-bucket-0000000/*"],
        ["LocateArtifactBucket", "arn:aws:s3:::artifacts-bucket-0000000"],
        ["LogInToRegistry", "*"],
        ["PushAndPullImages", [`arn:aws:ecr:${at}:repository/branchline-dev/app`]],
      ]);
      expect(policyOf(resourceNamed("build-role"), "assumeRolePolicy")).to.deep.equal(
        trusting("codebuild.amazonaws.com", `arn:aws:codebuild:${at}:project/branchline-dev`),
      );
    });

    it("scopes the PR build role to its logs, the PR bucket, pushes to the PR repositories and pulls from the source ones", () => {
      const statements = (
        policyOf(resourceNamed("pr-build-role-policy")) as {
          Statement: { Sid: string; Action: unknown; Resource: unknown }[];
        }
      ).Statement;
      expect(statements.map((s) => [s.Sid, s.Resource])).to.deep.equal([
        ["WriteBuildLogs", `arn:aws:logs:${at}:log-group:/branchline/branchline-dev-pr/build:*`],
        ["ReadWriteArtifacts", "arn:aws:s3:::pr-artifacts-bucket-0000000/*"],
        ["LocateArtifactBucket", "arn:aws:s3:::pr-artifacts-bucket-0000000"],
        ["LogInToRegistry", "*"],
        ["PushAndPullImages", [`arn:aws:ecr:${at}:repository/branchline-dev-pr/app`]],
        ["PullCacheImages", [`arn:aws:ecr:${at}:repository/branchline-dev/app`]],
      ]);
      expect(statements[5]?.Action).to.deep.equal([
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]);
      expect(statements.slice(1, 3)).to.deep.equal([
        {
          Sid: "ReadWriteArtifacts",
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
          Resource: "arn:aws:s3:::pr-artifacts-bucket-0000000/*",
        },
        {
          Sid: "LocateArtifactBucket",
          Effect: "Allow",
          Action: ["s3:GetBucketAcl", "s3:GetBucketLocation"],
          Resource: "arn:aws:s3:::pr-artifacts-bucket-0000000",
        },
      ]);
      expect(policyOf(resourceNamed("pr-build-role"), "assumeRolePolicy")).to.deep.equal(
        trusting("codebuild.amazonaws.com", `arn:aws:codebuild:${at}:project/branchline-dev-pr`),
      );
    });

    it("runs Source -> Build with the artifact flowing from source to build, and no Deploy", () => {
      const pipeline = onlyResource("aws:codepipeline/pipeline:Pipeline");
      expect(pipeline.inputs).to.deep.include({
        name: "branchline-dev",
        pipelineType: "V1",
        roleArn: "arn:aws:iam::123456789012:role/pipeline-role-0000000",
        artifactStores: [{ type: "S3", location: "artifacts-bucket-0000000" }],
      });
      expect(stagesOf(pipeline)).to.deep.equal([
        {
          name: "Source",
          actions: [
            {
              name: "Source",
              category: "Source",
              owner: "AWS",
              provider: "CodeStarSourceConnection",
              version: "1",
              outputArtifacts: ["source_output"],
              configuration: {
                ConnectionArn: `arn:aws:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`,
                FullRepositoryId: "octo/shop",
                BranchName: "main",
                OutputArtifactFormat: "CODE_ZIP",
                DetectChanges: "true",
              },
            },
          ],
        },
        {
          name: "Build",
          actions: [
            {
              name: "Build",
              category: "Build",
              owner: "AWS",
              provider: "CodeBuild",
              version: "1",
              inputArtifacts: ["source_output"],
              outputArtifacts: ["build_output"],
              configuration: { ProjectName: "branchline-dev" },
            },
          ],
        },
      ]);
    });

    it("scopes the pipeline role to the bucket, the source project and the connection for the repository", () => {
      const statements = (
        policyOf(resourceNamed("pipeline-role-policy")) as {
          Statement: { Sid: string; Resource: unknown }[];
        }
      ).Statement;
      expect(statements.map((s) => [s.Sid, s.Resource])).to.deep.equal([
        ["ReadWriteArtifacts", "arn:aws:s3:::artifacts-bucket-0000000/*"],
        ["LocateArtifactBucket", "arn:aws:s3:::artifacts-bucket-0000000"],
        ["RunBuilds", `arn:aws:codebuild:${at}:project/branchline-dev`],
        ["UseConnection", connection],
      ]);
      expect(statements[3]).to.deep.include({
        Condition: { StringEquals: { "codeconnections:FullRepositoryId": "octo/shop" } },
      });
      expect(policyOf(resourceNamed("pipeline-role"), "assumeRolePolicy")).to.deep.equal(
        trusting("codepipeline.amazonaws.com", `arn:aws:codepipeline:${at}:branchline-dev`),
      );
    });

    it("gives clones a role of their own: the PR bucket, the PR project, the connection for the repository", () => {
      expect(policyOf(resourceNamed("pipeline-clone-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ReadWriteArtifacts",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            Resource: "arn:aws:s3:::pr-artifacts-bucket-0000000/*",
          },
          {
            Sid: "LocateArtifactBucket",
            Effect: "Allow",
            Action: ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
            Resource: "arn:aws:s3:::pr-artifacts-bucket-0000000",
          },
          {
            Sid: "RunPullRequestBuilds",
            Effect: "Allow",
            Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
            Resource: `arn:aws:codebuild:${at}:project/branchline-dev-pr`,
          },
          {
            Sid: "UseConnection",
            Effect: "Allow",
            Action: "codeconnections:UseConnection",
            Resource: connection,
            Condition: { StringEquals: { "codeconnections:FullRepositoryId": "octo/shop" } },
          },
        ],
      });
      expect(policyOf(resourceNamed("pipeline-clone-role"), "assumeRolePolicy")).to.deep.equal(
        trusting("codepipeline.amazonaws.com", `arn:aws:codepipeline:${at}:branchline-dev-pr-*`),
      );
    });

    it("creates a GitHub connection and says it is pending", async () => {
      expect(resourceNamed("connection-github").inputs).to.deep.equal({
        name: "branchline-dev",
        providerType: "GitHub",
      });
      expect(await unwrap(outputs.connectionStatus)).to.match(
        /^PENDING: authorise it once in the AWS console/,
      );
    });

    it("runs the webhook Lambda on nodejs22.x arm64 with ARNs of its secrets, never their values", () => {
      const fn = resourceNamed("webhook-function");
      expect(fn.inputs).to.deep.include({
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        handler: "index.handler",
        role: "arn:aws:iam::123456789012:role/webhook-role-0000000",
        loggingConfig: { logFormat: "JSON", logGroup: "webhook-logs-0000000" },
      });
      expect(fn.inputs["environment"]).to.deep.equal({
        variables: {
          [ENV.sourcePipelineName]: "branchline-dev",
          [ENV.ecrRepositoryNames]: '["branchline-dev-pr/app"]',
          [ENV.cloneRoleArn]: "arn:aws:iam::123456789012:role/pipeline-clone-role-0000000",
          [ENV.prBuildProjects]: '{"branchline-dev":"branchline-dev-pr"}',
          [ENV.prArtifactBucket]: "pr-artifacts-bucket-0000000",
          [ENV.webhookSecretArn]: `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`,
          [ENV.allowForks]: "false",
          [ENV.buildDrafts]: "true",
          [ENV.stateTableName]: "state-table-0000000",
          [ENV.queueUrl]: deliveryQueueUrl,
        },
      });
      expect(JSON.stringify(fn.inputs)).to.not.include("s3cret");
      expect(resourceNamed("webhook-webhook-secret-value").inputs["secretString"]).to.deep.equal(
        secretValue("s3cret"),
      );
      expect(resourceNamed("webhook-logs").inputs["retentionInDays"]).to.equal(30);
    });

    it("gives the Lambda an environment the handler's settings reader accepts", () => {
      const env = (
        resourceNamed("webhook-function").inputs["environment"] as {
          variables: Record<string, string>;
        }
      ).variables;
      expect(readSettings(env)).to.deep.equal({
        // No routing table: the one service of the single-service variables.
        services: [
          {
            name: "branchline-dev",
            sourcePipelineName: "branchline-dev",
            ref: undefined,
            repositoryNames: ["branchline-dev-pr/app"],
            cloneRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
            prBuildProjects: { "branchline-dev": "branchline-dev-pr" },
            prArtifactBucket: "pr-artifacts-bucket-0000000",
            allowForks: false,
            buildDrafts: true,
            requireApproval: true,
          },
        ],
        routed: false,
        sourcePipelineName: "branchline-dev",
        repositoryNames: ["branchline-dev-pr/app"],
        cloneRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
        prBuildProjects: { "branchline-dev": "branchline-dev-pr" },
        prArtifactBucket: "pr-artifacts-bucket-0000000",
        webhookSecret: {
          value: undefined,
          arn: `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`,
        },
        githubToken: { value: undefined, arn: undefined },
        githubApiUrl: undefined,
        allowForks: false,
        buildDrafts: true,
        stateTableName: "state-table-0000000",
      });
    });

    it("limits the webhook role to reading its secret and sending to the delivery queue", () => {
      expect(policyOf(resourceNamed("webhook-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [`arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`],
          },
          {
            Sid: "QueueDeliveries",
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: deliveryQueueArn,
          },
          writeLogs("webhook"),
        ],
      });
    });

    it("limits the worker role to branchline's clones, the clone role, the PR repositories, the marks and its queues", () => {
      expect(policyOf(resourceNamed("worker-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...cloneManagerStatements,
          advanceMarks,
          {
            Sid: "ConsumeDeliveries",
            Effect: "Allow",
            Action: [
              "sqs:ChangeMessageVisibility",
              "sqs:DeleteMessage",
              "sqs:GetQueueAttributes",
              "sqs:ReceiveMessage",
            ],
            Resource: deliveryQueueArn,
          },
          {
            Sid: "DeadLetterDeliveries",
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: deadLetterQueueArn,
          },
          writeLogs("worker"),
        ],
      });
    });

    it("routes POST /webhook to the Lambda through a payload 2.0 proxy integration", async () => {
      expect(onlyResource("aws:apigatewayv2/api:Api").inputs["protocolType"]).to.equal("HTTP");
      expect(resourceNamed("webhook-integration").inputs).to.deep.include({
        apiId: "webhook-api-id",
        integrationType: "AWS_PROXY",
        integrationMethod: "POST",
        payloadFormatVersion: "2.0",
        integrationUri: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${at}:function:webhook-function-0000000/invocations`,
      });
      expect(resourceNamed("webhook-route").inputs).to.deep.include({
        apiId: "webhook-api-id",
        routeKey: "POST /webhook",
        target: "integrations/webhook-integration-id",
      });
      expect(resourceNamed("webhook-stage").inputs).to.deep.include({
        name: "$default",
        autoDeploy: true,
      });
      expect(resourceNamed("webhook-invoke-permission").inputs).to.deep.include({
        action: "lambda:InvokeFunction",
        function: "webhook-function-0000000",
        principal: "apigateway.amazonaws.com",
        sourceArn: `arn:aws:execute-api:${at}:abcdef1234/*/POST/webhook`,
      });
      expect(await unwrap(outputs.webhookUrl)).to.equal(
        `https://abcdef1234.execute-api.${region}.amazonaws.com/webhook`,
      );
    });

    it("exports the pipeline name, its console URL, the repositories and the connection", async () => {
      expect(await unwrap(outputs.sourcePipelineName)).to.equal("branchline-dev");
      expect(await unwrap(outputs.sourcePipelineConsoleUrl)).to.equal(
        `https://${region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/branchline-dev/view?region=${region}`,
      );
      expect(await unwrap(outputs.repositoryUri)).to.equal(`${registryHost}/branchline-dev/app`);
      expect(await unwrap(outputs.sourceRepositoryUris)).to.deep.equal({
        app: `${registryHost}/branchline-dev/app`,
      });
      expect(await unwrap(outputs.prRepositoryNames)).to.deep.equal(["branchline-dev-pr/app"]);
      expect(await unwrap(outputs.prArtifactBucketName)).to.equal("pr-artifacts-bucket-0000000");
      expect(await unwrap(outputs.connectionArn)).to.equal(
        `arn:aws:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`,
      );
    });

    it("exports the notification topic and the reconciler's function name", async () => {
      expect(await unwrap(outputs.notificationTopicArn)).to.equal(
        `arn:aws:sns:${at}:notifications-topic-0000000`,
      );
      expect(await unwrap(outputs.reconcilerFunctionName)).to.equal("reconciler-function-0000000");
    });

    it("exports the delivery queue, its dead-letter queue and the worker's function name", async () => {
      expect(await unwrap(outputs.deliveryQueueUrl as pulumi.Output<string>)).to.equal(
        deliveryQueueUrl,
      );
      expect(await unwrap(outputs.deadLetterQueueUrl as pulumi.Output<string>)).to.equal(
        deadLetterQueueUrl,
      );
      expect(await unwrap(outputs.workerFunctionName as pulumi.Output<string>)).to.equal(
        "worker-function-0000000",
      );
    });

    it("renders the buildspec without blue/green files and gives the build role no secret", () => {
      const buildspec = (resourceNamed("build-project").inputs["source"] as { buildspec: string })
        .buildspec;
      expect(buildspec).to.equal(
        renderBuildspec({
          images: [{ name: "app", context: "." }],
          buildArgs: {},
          noCache: false,
          tier: "source",
        }),
      );
      const parsed = parse(buildspec) as { artifacts: { files: string[] }; env: object };
      expect(parsed.artifacts.files).to.deep.equal(["imagedefinitions.json"]);
      expect(parsed.env).to.not.have.property("secrets-manager");
      const actions = (
        policyOf(resourceNamed("build-role-policy")) as { Statement: { Action: unknown }[] }
      ).Statement.flatMap((s) => s.Action);
      expect(actions).to.not.include("secretsmanager:GetSecretValue");
    });
  });

  describe("with blue/green deploy files and a second registry", () => {
    const credentialsSecretArn = `arn:aws:secretsmanager:${at}:secret:dockerhub-AbCdEf`;
    before(async () => {
      await synth({
        ...minimal,
        build: {
          blueGreen: true,
          secondRegistry: { registry: "docker.io/octo", credentialsSecretArn, repository: "shop" },
        },
      });
    });

    it("passes both to the buildspec, which lists imageDetail.json in the build's artifact", () => {
      const buildspec = (resourceNamed("build-project").inputs["source"] as { buildspec: string })
        .buildspec;
      expect(buildspec).to.equal(
        renderBuildspec({
          images: [{ name: "app", context: "." }],
          buildArgs: {},
          noCache: false,
          blueGreen: true,
          secondRegistry: { registry: "docker.io/octo", credentialsSecretArn, repository: "shop" },
          tier: "source",
        }),
      );
      const parsed = parse(buildspec) as {
        artifacts: { files: string[] };
        env: { "secrets-manager": Record<string, string> };
      };
      expect(parsed.artifacts.files).to.deep.equal(["imagedefinitions.json", "imageDetail.json"]);
      expect(parsed.env["secrets-manager"]).to.deep.equal({
        SECOND_REGISTRY_USERNAME: `${credentialsSecretArn}:username`,
        SECOND_REGISTRY_PASSWORD: `${credentialsSecretArn}:password`,
      });
      expect(resourceNamed("build-project").inputs["artifacts"]).to.deep.equal({
        type: "CODEPIPELINE",
      });
    });

    it("lets the source build role read that secret only, and no other role (not the PR build role)", () => {
      const statements = (
        policyOf(resourceNamed("build-role-policy")) as {
          Statement: { Sid: string; Action: unknown; Resource: unknown }[];
        }
      ).Statement;
      expect(statements.map((s) => s.Sid)).to.deep.equal([
        "WriteBuildLogs",
        "ReadWriteArtifacts",
        "LocateArtifactBucket",
        "LogInToRegistry",
        "PushAndPullImages",
        "ReadSecondRegistryCredentials",
      ]);
      expect(statements[5]).to.deep.equal({
        Sid: "ReadSecondRegistryCredentials",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: credentialsSecretArn,
      });
      for (const name of [
        "pr-build-role-policy",
        "pipeline-role-policy",
        "pipeline-clone-role-policy",
        "webhook-role-policy",
        "reconciler-role-policy",
        "notifications-role-policy",
      ]) {
        expect(JSON.stringify(policyOf(resourceNamed(name))), name).to.not.include("dockerhub");
      }
    });
  });

  describe("with deploy, an existing connection, a GitHub token and a custom build image", () => {
    const connectionArn = `arn:aws:codeconnections:${at}:connection/existing-1`;
    const buildImage = `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/tools/builder:1`;
    let outputs: BranchlineOutputs;
    before(async () => {
      ({ outputs } = await synth({
        ...minimal,
        connectionArn,
        pipelineType: "V2",
        githubToken: "ghp_token",
        allowForkPullRequests: "true",
        images: [
          { name: "web", context: "web", container: "frontend" },
          { name: "api", context: "api" },
        ],
        deploy: {
          cluster: "prod",
          service: "shop",
          passRoles: [`arn:aws:iam::${MOCK_ACCOUNT}:role/shop-task`],
        },
        build: { image: buildImage, args: { NODE_ENV: "production" }, timeoutMinutes: 60 },
        sourceImageRetentionCount: "12",
      }));
    });

    it("declares two repositories per image, each with its tier's lifecycle (12 source images kept)", () => {
      const names = resourcesOfType("aws:ecr/repository:Repository").map((r) => r.inputs["name"]);
      expect(names).to.deep.equal([
        "branchline-dev/web",
        "branchline-dev/api",
        "branchline-dev-pr/web",
        "branchline-dev-pr/api",
      ]);
      for (const image of ["web", "api"]) {
        const source = JSON.parse(
          resourceNamed(`registry-${image}-lifecycle`).inputs["policy"] as string,
        ) as { rules: { selection: { countNumber: number } }[] };
        expect(source.rules.map((r) => r.selection.countNumber)).to.deep.equal([1, 7, 12]);
        expect(resourceNamed(`pr-registry-${image}-lifecycle`).inputs["policy"]).to.equal(
          JSON.stringify(PR_REPOSITORY_POLICY),
        );
      }
    });

    it("tells the functions every PR repository, and the outputs every source repository", async () => {
      const variables = (
        resourceNamed("reconciler-function").inputs["environment"] as {
          variables: Record<string, string>;
        }
      ).variables;
      expect(variables[ENV.ecrRepositoryNames]).to.equal(
        '["branchline-dev-pr/web","branchline-dev-pr/api"]',
      );
      expect(variables[ENV.prBuildProjects]).to.equal('{"branchline-dev":"branchline-dev-pr"}');
      expect(variables[ENV.cloneRoleArn]).to.equal(
        "arn:aws:iam::123456789012:role/pipeline-clone-role-0000000",
      );
      expect(await unwrap(outputs.repositoryUri)).to.equal(`${registryHost}/branchline-dev/web`);
      expect(await unwrap(outputs.sourceRepositoryUris)).to.deep.equal({
        web: `${registryHost}/branchline-dev/web`,
        api: `${registryHost}/branchline-dev/api`,
      });
      expect(await unwrap(outputs.prRepositoryNames)).to.deep.equal([
        "branchline-dev-pr/web",
        "branchline-dev-pr/api",
      ]);
    });

    it("adds a Deploy stage reading imagedefinitions.json from the build's output artifact", () => {
      const pipeline = onlyResource("aws:codepipeline/pipeline:Pipeline");
      expect(pipeline.inputs["pipelineType"]).to.equal("V2");
      const stages = stagesOf(pipeline);
      expect(stages.map((s) => s.name)).to.deep.equal(["Source", "Build", "Deploy"]);
      const build = stages[1]?.actions[0];
      const deploy = stages[2]?.actions[0];
      expect(build?.outputArtifacts).to.deep.equal(["build_output"]);
      expect(deploy).to.deep.equal({
        name: "Deploy",
        category: "Deploy",
        owner: "AWS",
        provider: "ECS",
        version: "1",
        inputArtifacts: ["build_output"],
        configuration: {
          ClusterName: "prod",
          ServiceName: "shop",
          FileName: "imagedefinitions.json",
        },
      });
      expect(stages[0]?.actions[0]?.configuration["ConnectionArn"]).to.equal(connectionArn);
    });

    it("renders the buildspec for every image and build arg", () => {
      const project = resourceNamed("build-project");
      expect(project.inputs["buildTimeout"]).to.equal(60);
      expect((project.inputs["source"] as { buildspec: string }).buildspec).to.equal(
        renderBuildspec({
          images: [
            { name: "web", context: "web", container: "frontend" },
            { name: "api", context: "api" },
          ],
          buildArgs: { NODE_ENV: "production" },
          noCache: false,
          tier: "source",
        }),
      );
    });

    it("extends the pipeline role to that ECS service only, passing the configured task roles only", () => {
      const statements = (
        policyOf(resourceNamed("pipeline-role-policy")) as { Statement: { Sid: string }[] }
      ).Statement;
      expect(statements.map((s) => s.Sid)).to.deep.equal([
        "ReadWriteArtifacts",
        "LocateArtifactBucket",
        "RunBuilds",
        "UseConnection",
        "DeployService",
        "WatchDeployment",
        "ReadTaskDefinitions",
        "RegisterTaskDefinitions",
        "TagNewTaskDefinitions",
        "PassTaskRoles",
      ]);
      expect(statements[3]).to.deep.include({ Resource: connectionArn });
      expect(statements[4]).to.deep.include({ Resource: `arn:aws:ecs:${at}:service/prod/shop` });
      expect(statements[5]).to.deep.include({
        Condition: { ArnEquals: { "ecs:cluster": `arn:aws:ecs:${at}:cluster/prod` } },
      });
      expect(statements[9]).to.deep.include({
        Resource: [`arn:aws:iam::${MOCK_ACCOUNT}:role/shop-task`],
      });
    });

    it("with fork pull requests allowed, lets the clone role use the connection for any repository", () => {
      const statements = (
        policyOf(resourceNamed("pipeline-clone-role-policy")) as {
          Statement: { Sid: string }[];
        }
      ).Statement;
      expect(statements.find((s) => s.Sid === "UseConnection")).to.deep.equal({
        Sid: "UseConnection",
        Effect: "Allow",
        Action: "codeconnections:UseConnection",
        Resource: connectionArn,
      });
      expect(
        (
          policyOf(resourceNamed("pipeline-role-policy")) as {
            Statement: { Sid: string; Condition?: unknown }[];
          }
        ).Statement.find((s) => s.Sid === "UseConnection")?.Condition,
      ).to.deep.equal({ StringEquals: { "codeconnections:FullRepositoryId": "octo/shop" } });
    });

    it("creates no connection and says so", async () => {
      expect(resourcesOfType("aws:codeconnections/connection:Connection")).to.have.length(0);
      expect(await unwrap(outputs.connectionArn)).to.equal(connectionArn);
      expect(await unwrap(outputs.connectionStatus)).to.match(/^existing connection/);
    });

    it("stores the GitHub token as a secret and passes its ARN to the worker, not the webhook", () => {
      const variablesOfFunction = (name: string) =>
        (resourceNamed(name).inputs["environment"] as { variables: Record<string, string> })
          .variables;
      const tokenArn = `arn:aws:secretsmanager:${at}:secret:webhook-github-token-0000000-AbCdEf`;
      const worker = variablesOfFunction("worker-function");
      expect(worker[ENV.githubTokenSecretArn]).to.equal(tokenArn);
      expect(worker[ENV.allowForks]).to.equal("true");
      expect(Object.keys(worker)).to.not.include(ENV.githubToken);
      expect(variablesOfFunction("webhook-function")).to.not.have.property(
        ENV.githubTokenSecretArn,
      );
      for (const name of ["webhook-function", "worker-function"]) {
        expect(JSON.stringify(resourceNamed(name).inputs)).to.not.include("ghp_token");
      }
      expect(resourceNamed("webhook-github-token-value").inputs["secretString"]).to.deep.equal(
        secretValue("ghp_token"),
      );
      const secretsOf = (role: string) =>
        (
          policyOf(resourceNamed(role)) as {
            Statement: { Sid: string; Resource: unknown }[];
          }
        ).Statement.find((s) => s.Sid === "ReadSecrets")?.Resource;
      expect(secretsOf("webhook-role-policy")).to.deep.equal([
        `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`,
      ]);
      expect(secretsOf("worker-role-policy")).to.deep.equal([tokenArn]);
    });

    it("lets the two build projects pull the custom build image, with one repository policy", () => {
      expect(resourcesOfType("aws:ecr/repositoryPolicy:RepositoryPolicy")).to.have.length(1);
      const policy = resourceNamed("build-build-image-policy");
      expect(policy.inputs["repository"]).to.equal("tools/builder");
      expect(policyOf(policy)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "CodeBuildPullBuildImage",
            Effect: "Allow",
            Principal: { Service: "codebuild.amazonaws.com" },
            Action: [
              "ecr:BatchCheckLayerAvailability",
              "ecr:BatchGetImage",
              "ecr:GetDownloadUrlForLayer",
            ],
            Condition: {
              ArnLike: {
                "aws:SourceArn": [
                  `arn:aws:codebuild:${at}:project/branchline-dev`,
                  `arn:aws:codebuild:${at}:project/branchline-dev-pr`,
                ],
              },
              StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
            },
          },
        ],
      });
    });
  });

  describe("inline delivery (branchline:delivery mode inline)", () => {
    let outputs: BranchlineOutputs;
    let resources: RecordedResource[];
    let queued: RecordedResource[];
    before(async () => {
      ({ resources: queued } = await synth({ ...minimal, githubToken: "ghp_token" }));
      ({ outputs, resources } = await synth({
        ...minimal,
        githubToken: "ghp_token",
        delivery: { mode: "inline" },
      }));
    });

    it("declares no queue, worker or delivery alarm; the topic keeps its own key for the error alarms", () => {
      const names = (list: RecordedResource[]) => list.map((r) => `${r.type} ${r.name}`).sort();
      expect(names(resources)).to.deep.equal(
        names(queued)
          .filter((name) => !DURABLE_DELIVERY_RESOURCES.includes(name))
          .sort(),
      );
      expect(resourceNamed("notifications-topic").inputs["kmsMasterKeyId"]).to.equal(
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      );
    });

    it("gives the webhook the clone management, its secrets and the marks, as before", () => {
      const tokenArn = `arn:aws:secretsmanager:${at}:secret:webhook-github-token-0000000-AbCdEf`;
      expect(policyOf(resourceNamed("webhook-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...cloneManagerStatements,
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [
              `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`,
              tokenArn,
            ],
          },
          advanceMarks,
          writeLogs("webhook"),
        ],
      });
      const variables = (
        resourceNamed("webhook-function").inputs["environment"] as {
          variables: Record<string, string>;
        }
      ).variables;
      expect(variables[ENV.githubTokenSecretArn]).to.equal(tokenArn);
      expect(variables).to.not.have.property(ENV.queueUrl);
    });

    it("exports no queue and no worker", () => {
      expect(outputs.deliveryQueueUrl).to.equal(undefined);
      expect(outputs.deadLetterQueueUrl).to.equal(undefined);
      expect(outputs.workerFunctionName).to.equal(undefined);
    });
  });

  describe("config errors fail at once, naming the key", () => {
    const cases: [string, Record<string, string | object>, RegExp][] = [
      ["missing repository", { webhookSecret: "s" }, /branchline:repository is required/],
      [
        "malformed images",
        { ...minimal, images: [{ name: "web" }] },
        /branchline:images\[0\]\.context is required/,
      ],
      [
        "unknown pipeline type",
        { ...minimal, pipelineType: "V9" },
        /branchline:pipelineType must be one of V1, V2/,
      ],
      [
        "a reconcile schedule that is not rate() or cron()",
        { ...minimal, reconcileSchedule: "every 15 minutes" },
        /^branchline:reconcileSchedule must be an EventBridge schedule expression/,
      ],
      [
        "a notification email that is not an address",
        { ...minimal, notificationEmail: "ops" },
        /^branchline:notificationEmail must be an email address/,
      ],
      [
        "a blueGreen that is not a boolean",
        { ...minimal, build: { blueGreen: "yes" } },
        /^branchline:build\.blueGreen must be true or false/,
      ],
      [
        "a second registry without credentials",
        { ...minimal, build: { secondRegistry: { registry: "docker.io/octo" } } },
        /^branchline:build\.secondRegistry\.credentialsSecretArn is required/,
      ],
    ];
    for (const [what, config, message] of cases) {
      it(what, async () => {
        let failure: unknown;
        try {
          await synth(config);
        } catch (error) {
          failure = error;
        }
        expect(failure).to.be.instanceOf(Error);
        expect((failure as Error).message).to.match(message);
      });
    }
  });
});
