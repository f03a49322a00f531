import { runSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import {
  artifactBucketPolicy,
  assumeRolePolicy,
  buildImageRepositoryPolicy,
  buildRolePolicy,
  cloneManagementStatements,
  notifierRolePolicy,
  ecsClusterArn,
  ecsServiceArn,
  pipelineArn,
  pipelineRolePolicy,
  reconcilerRolePolicy,
  registryLifecyclePolicy,
  webhookRolePolicy,
  type AccountScope,
} from "../../infra/policies.js";
import { ONE_IMAGE_POLICY } from "../helpers/ecr-lifecycle.js";

const scope: AccountScope = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };
const bucketArn = "arn:aws:s3:::artifacts";
const repositoryArn = "arn:aws:ecr:eu-west-1:123456789012:repository/app";
const projectArn = "arn:aws:codebuild:eu-west-1:123456789012:project/branchline-dev";
const connectionArn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc";

describe("infra/policies", () => {
  it("builds ARNs from the account scope", () => {
    expect(pipelineArn(scope, "p")).to.equal("arn:aws:codepipeline:eu-west-1:123456789012:p");
    expect(ecsClusterArn(scope, "c")).to.equal("arn:aws:ecs:eu-west-1:123456789012:cluster/c");
    expect(ecsServiceArn(scope, "c", "s")).to.equal(
      "arn:aws:ecs:eu-west-1:123456789012:service/c/s",
    );
  });

  it("trusts one service principal", () => {
    expect(assumeRolePolicy("codebuild.amazonaws.com")).to.deep.equal({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "codebuild.amazonaws.com" },
          Action: "sts:AssumeRole",
        },
      ],
    });
  });

  it("denies every non-TLS request to the artifact bucket", () => {
    expect(JSON.stringify(artifactBucketPolicy(bucketArn))).to.equal(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: ["arn:aws:s3:::artifacts", "arn:aws:s3:::artifacts/*"],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    );
  });

  it("keeps latest and the newest source images; expires pr-, old cache and untagged images", () => {
    // Rule by rule, with an evaluator of ECR's semantics: test/infra/registry-lifecycle.test.ts.
    expect(
      registryLifecyclePolicy({
        imageNames: ["app"],
        sourceImageRetentionCount: 30,
        prImageRetentionDays: 14,
        untaggedImageRetentionDays: 7,
      }),
    ).to.deep.equal(ONE_IMAGE_POLICY);
  });

  it("lets only this build project pull a custom build image", () => {
    expect(buildImageRepositoryPolicy(projectArn, "123456789012")).to.deep.equal({
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
            ArnLike: { "aws:SourceArn": projectArn },
            StringEquals: { "aws:SourceAccount": "123456789012" },
          },
        },
      ],
    });
  });

  it("scopes the build role to its logs, the bucket and this repository", () => {
    const logGroupArn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/b";
    expect(buildRolePolicy({ logGroupArn, bucketArn, repositoryArn })).to.deep.equal({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteBuildLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${logGroupArn}:*`,
        },
        {
          Sid: "ReadWriteArtifacts",
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
          Resource: "arn:aws:s3:::artifacts/*",
        },
        {
          Sid: "LocateArtifactBucket",
          Effect: "Allow",
          Action: ["s3:GetBucketAcl", "s3:GetBucketLocation"],
          Resource: bucketArn,
        },
        {
          Sid: "LogInToRegistry",
          Effect: "Allow",
          Action: "ecr:GetAuthorizationToken",
          Resource: "*",
        },
        {
          Sid: "PushAndPullImages",
          Effect: "Allow",
          Action: [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload",
            "ecr:GetDownloadUrlForLayer",
            "ecr:InitiateLayerUpload",
            "ecr:PutImage",
            "ecr:UploadLayerPart",
          ],
          Resource: repositoryArn,
        },
      ],
    });
  });

  it("with a second registry: the build role reads that credentials secret only", () => {
    const logGroupArn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/b";
    const secondRegistrySecretArn =
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf";
    const without = buildRolePolicy({ logGroupArn, bucketArn, repositoryArn });
    const withSecret = buildRolePolicy({
      logGroupArn,
      bucketArn,
      repositoryArn,
      secondRegistrySecretArn,
    });
    expect(withSecret).to.deep.equal({
      Version: "2012-10-17",
      Statement: [
        ...without.Statement,
        {
          Sid: "ReadSecondRegistryCredentials",
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: secondRegistrySecretArn,
        },
      ],
    });
    expect(JSON.stringify(without)).to.not.include("secretsmanager");
  });

  describe("pipeline role", () => {
    const base = [
      {
        Sid: "ReadWriteArtifacts",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"],
        Resource: "arn:aws:s3:::artifacts/*",
      },
      {
        Sid: "LocateArtifactBucket",
        Effect: "Allow",
        Action: [
          "s3:GetBucketAcl",
          "s3:GetBucketLocation",
          "s3:GetBucketVersioning",
          "s3:ListBucket",
        ],
        Resource: bucketArn,
      },
      {
        Sid: "RunBuilds",
        Effect: "Allow",
        Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
        Resource: projectArn,
      },
      {
        Sid: "UseConnection",
        Effect: "Allow",
        Action: "codeconnections:UseConnection",
        Resource: connectionArn,
      },
    ];

    it("without deploy: the bucket, the build project and the connection only", () => {
      expect(pipelineRolePolicy({ bucketArn, projectArn, connectionArn })).to.deep.equal({
        Version: "2012-10-17",
        Statement: base,
      });
    });

    it("uses the connection with the one service prefix its ARN has", () => {
      const legacy = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/old";
      expect(
        pipelineRolePolicy({ bucketArn, projectArn, connectionArn: legacy }).Statement[3],
      ).to.deep.equal({
        Sid: "UseConnection",
        Effect: "Allow",
        Action: "codestar-connections:UseConnection",
        Resource: legacy,
      });
    });

    it("with deploy: adds that ECS service and task roles passed to ECS tasks only", () => {
      const deploy = {
        clusterArn: ecsClusterArn(scope, "c"),
        serviceArn: ecsServiceArn(scope, "c", "s"),
        taskDefinitionArnPattern: "arn:aws:ecs:eu-west-1:123456789012:task-definition/*",
      };
      expect(pipelineRolePolicy({ bucketArn, projectArn, connectionArn, deploy })).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...base,
          {
            Sid: "DeployService",
            Effect: "Allow",
            Action: ["ecs:DescribeServices", "ecs:UpdateService"],
            Resource: "arn:aws:ecs:eu-west-1:123456789012:service/c/s",
          },
          {
            Sid: "WatchDeployment",
            Effect: "Allow",
            Action: ["ecs:DescribeTasks", "ecs:ListTasks"],
            Resource: "*",
            Condition: {
              ArnEquals: { "ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/c" },
            },
          },
          {
            Sid: "RegisterTaskDefinitions",
            Effect: "Allow",
            Action: ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
            Resource: "*",
          },
          {
            Sid: "TagNewTaskDefinitions",
            Effect: "Allow",
            Action: "ecs:TagResource",
            Resource: "arn:aws:ecs:eu-west-1:123456789012:task-definition/*",
            Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
          },
          {
            Sid: "PassTaskRoles",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: "*",
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
          },
        ],
      });
    });
  });

  describe("webhook role", () => {
    const input = {
      scope,
      sourcePipelineName: "branchline-dev",
      pipelineRoleArn: "arn:aws:iam::123456789012:role/pipeline",
      repositoryArn,
      connectionArn,
      secretArns: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf"],
      logGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:hook",
    };

    it("reads the source, manages <source>-pr-* only, passes the pipeline role and the connection to CodePipeline only", () => {
      expect(webhookRolePolicy(input)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ReadSourcePipeline",
            Effect: "Allow",
            Action: "codepipeline:GetPipeline",
            Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev",
          },
          {
            Sid: "ManageClones",
            Effect: "Allow",
            Action: [
              "codepipeline:CreatePipeline",
              "codepipeline:DeletePipeline",
              "codepipeline:GetPipeline",
              "codepipeline:ListPipelineExecutions",
              "codepipeline:ListTagsForResource",
              "codepipeline:StopPipelineExecution",
              "codepipeline:TagResource",
              "codepipeline:UpdatePipeline",
            ],
            Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
          },
          {
            Sid: "PassPipelineRole",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: "arn:aws:iam::123456789012:role/pipeline",
            Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
          },
          {
            Sid: "PassConnection",
            Effect: "Allow",
            Action: "codeconnections:PassConnection",
            Resource: connectionArn,
            Condition: {
              StringEquals: { "codeconnections:PassedToService": "codepipeline.amazonaws.com" },
            },
          },
          {
            Sid: "CleanUpImages",
            Effect: "Allow",
            Action: ["ecr:BatchDeleteImage", "ecr:ListImages"],
            Resource: repositoryArn,
          },
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf"],
          },
          {
            Sid: "WriteLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:hook:*",
          },
        ],
      });
    });

    it("grants nothing on every pipeline (no ListPipelines, no wildcard beyond the clones)", () => {
      const resources = webhookRolePolicy(input).Statement.flatMap((s) =>
        s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource],
      );
      expect(resources).to.not.include("*");
      const actions = webhookRolePolicy(input).Statement.flatMap((s) =>
        Array.isArray(s.Action) ? s.Action : [s.Action],
      );
      expect(actions).to.not.include("codepipeline:ListPipelines");
    });

    it("manages every clone of the longest source name, never the source itself (IAM simulation)", async () => {
      // 86 characters, ending like a clone: the pattern must still be exactly <source>-pr-*.
      const long = `${"a".repeat(81)}-pr-1`;
      const policy = webhookRolePolicy({ ...input, sourcePipelineName: long });
      expect(policy.Statement[1]?.Resource).to.equal(
        `arn:aws:codepipeline:eu-west-1:123456789012:${long}-pr-*`,
      );
      const decide = async (action: string, pipeline: string) => {
        const result = await runSimulation(
          {
            request: {
              principal: "arn:aws:iam::123456789012:role/webhook",
              action,
              resource: {
                resource: `arn:aws:codepipeline:eu-west-1:123456789012:${pipeline}`,
                accountId: "123456789012",
              },
              contextVariables: {},
            },
            identityPolicies: [{ name: "webhook", policy }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        );
        if (result.resultType !== "single") throw new Error(JSON.stringify(result));
        return result.overallResult;
      };
      for (const action of ["codepipeline:DeletePipeline", "codepipeline:UpdatePipeline"]) {
        expect(await decide(action, long), `${action} on the source`).to.equal("ImplicitlyDenied");
        expect(await decide(action, `${long}-pr-1`), `${action} on PR 1`).to.equal("Allowed");
        expect(await decide(action, `${long}-pr-2147483647`)).to.equal("Allowed");
      }
    });
  });

  describe("reconciler role", () => {
    const input = {
      scope,
      sourcePipelineName: "branchline-dev",
      pipelineRoleArn: "arn:aws:iam::123456789012:role/pipeline",
      repositoryArn,
      connectionArn,
      githubTokenSecretArn: undefined,
      logGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:reconciler",
    };
    const statements = [
      {
        Sid: "ListPipelines",
        Effect: "Allow",
        Action: "codepipeline:ListPipelines",
        Resource: "*",
      },
      {
        Sid: "ReadSourcePipeline",
        Effect: "Allow",
        Action: "codepipeline:GetPipeline",
        Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev",
      },
      {
        Sid: "ManageClones",
        Effect: "Allow",
        Action: [
          "codepipeline:CreatePipeline",
          "codepipeline:DeletePipeline",
          "codepipeline:GetPipeline",
          "codepipeline:ListPipelineExecutions",
          "codepipeline:ListTagsForResource",
          "codepipeline:StopPipelineExecution",
          "codepipeline:TagResource",
          "codepipeline:UpdatePipeline",
        ],
        Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
      },
      {
        Sid: "PassPipelineRole",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: "arn:aws:iam::123456789012:role/pipeline",
        Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
      },
      {
        Sid: "PassConnection",
        Effect: "Allow",
        Action: "codeconnections:PassConnection",
        Resource: connectionArn,
        Condition: {
          StringEquals: { "codeconnections:PassedToService": "codepipeline.amazonaws.com" },
        },
      },
      {
        Sid: "CleanUpImages",
        Effect: "Allow",
        Action: ["ecr:BatchDeleteImage", "ecr:ListImages"],
        Resource: repositoryArn,
      },
    ];
    const writeLogs = {
      Sid: "WriteLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:reconciler:*",
    };

    it("without a token: lists pipelines, manages the clones, passes the pipeline role, cleans up images", () => {
      expect(reconcilerRolePolicy(input)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [...statements, writeLogs],
      });
    });

    it("with a token: reads that secret only", () => {
      const githubTokenSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf";
      expect(reconcilerRolePolicy({ ...input, githubTokenSecretArn })).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...statements,
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [githubTokenSecretArn],
          },
          writeLogs,
        ],
      });
    });

    it("shares the webhook role's clone management statements", () => {
      const shared = {
        scope,
        sourcePipelineName: input.sourcePipelineName,
        pipelineRoleArn: input.pipelineRoleArn,
        repositoryArn,
        connectionArn,
      };
      expect(reconcilerRolePolicy(input).Statement.slice(1, 6)).to.deep.equal(
        cloneManagementStatements({
          ...shared,
        }),
      );
      expect(
        webhookRolePolicy({ ...shared, secretArns: ["s"], logGroupArn: "l" }).Statement.slice(0, 5),
      ).to.deep.equal(
        cloneManagementStatements({
          ...shared,
        }),
      );
    });

    it("never grants UntagResource, and a wildcard resource only for ListPipelines", () => {
      const policy = reconcilerRolePolicy(input);
      const wildcards = policy.Statement.filter((s) => s.Resource === "*");
      expect(wildcards.map((s) => s.Action)).to.deep.equal(["codepipeline:ListPipelines"]);
      expect(JSON.stringify(policy)).to.not.include("UntagResource");
    });
  });

  describe("notify role", () => {
    const input = {
      scope,
      sourcePipelineName: "branchline-dev",
      topicArn: "arn:aws:sns:eu-west-1:123456789012:notifications",
      githubTokenSecretArn: undefined,
      logGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:notify",
    };
    const source = "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev";
    const clones = "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*";
    const statements = [
      {
        Sid: "ReadPipelines",
        Effect: "Allow",
        Action: "codepipeline:GetPipeline",
        Resource: [source, clones],
      },
      {
        Sid: "ReadExecutions",
        Effect: "Allow",
        Action: ["codepipeline:GetPipelineExecution", "codepipeline:ListPipelineExecutions"],
        Resource: [source, clones],
      },
      {
        Sid: "ReadCloneTags",
        Effect: "Allow",
        Action: "codepipeline:ListTagsForResource",
        Resource: clones,
      },
      {
        Sid: "PublishNotifications",
        Effect: "Allow",
        Action: "sns:Publish",
        Resource: "arn:aws:sns:eu-west-1:123456789012:notifications",
      },
    ];
    const writeLogs = {
      Sid: "WriteLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:notify:*",
    };

    it("without a token: reads executions and clone tags, publishes to the topic", () => {
      expect(notifierRolePolicy(input)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [...statements, writeLogs],
      });
    });

    it("with a token: reads that secret only", () => {
      const githubTokenSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf";
      expect(notifierRolePolicy({ ...input, githubTokenSecretArn })).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...statements,
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [githubTokenSecretArn],
          },
          writeLogs,
        ],
      });
    });

    it("changes no pipeline", () => {
      const actions = notifierRolePolicy(input).Statement.flatMap((s) =>
        Array.isArray(s.Action) ? s.Action : [s.Action],
      );
      for (const action of actions.filter((a) => a.startsWith("codepipeline:"))) {
        expect(action).to.match(/^codepipeline:(Get|List)/);
      }
    });
  });
});
