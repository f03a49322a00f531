import { runSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import {
  artifactBucketPolicy,
  assumeRolePolicy,
  buildImageRepositoryPolicy,
  buildRolePolicy,
  cloneManagementStatements,
  cloneRolePolicy,
  notifierRolePolicy,
  ecsClusterArn,
  ecsServiceArn,
  pipelineArn,
  pipelineRolePolicy,
  reconcilerRolePolicy,
  registryLifecyclePolicy,
  serviceTrustPolicy,
  webhookRolePolicy,
  notificationKeyPolicy,
  notificationTopicPolicy,
  queueTransportPolicy,
  queueWebhookRoleStatements,
  redriveAllowPolicy,
  redrivePolicy,
  servicesWebhookRoleStatements,
  servicesWorkerRoleStatements,
  webhookRoleStatements,
  workerRoleStatements,
  type AccountScope,
} from "../../infra/policies.js";
import { PR_REPOSITORY_POLICY, SOURCE_REPOSITORY_POLICY } from "../helpers/ecr-lifecycle.js";

const scope: AccountScope = { partition: "aws", region: "eu-west-1", accountId: "123456789012" };
const bucketArn = "arn:aws:s3:::artifacts";
const repositoryArn = "arn:aws:ecr:eu-west-1:123456789012:repository/branchline-dev/app";
const prRepositoryArns = [
  "arn:aws:ecr:eu-west-1:123456789012:repository/branchline-dev-pr/app",
  "arn:aws:ecr:eu-west-1:123456789012:repository/branchline-dev-pr/worker",
];
const cloneRoleArn = "arn:aws:iam::123456789012:role/clone";
const managedClone = {
  StringEquals: {
    "aws:ResourceTag/branchline:managed-by": "branchline",
    "aws:ResourceTag/branchline:source-pipeline": "branchline-dev",
  },
};
const cloneManagement = [
  {
    Sid: "ReadSourcePipeline",
    Effect: "Allow",
    Action: "codepipeline:GetPipeline",
    Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev",
  },
  {
    Sid: "FindClones",
    Effect: "Allow",
    Action: ["codepipeline:GetPipeline", "codepipeline:ListTagsForResource"],
    Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
  },
  {
    Sid: "CreateClones",
    Effect: "Allow",
    Action: ["codepipeline:CreatePipeline", "codepipeline:TagResource"],
    Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
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
    Resource: "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
    Condition: managedClone,
  },
  {
    Sid: "PassCloneRole",
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: cloneRoleArn,
    Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
  },
  {
    Sid: "PassConnection",
    Effect: "Allow",
    Action: "codeconnections:PassConnection",
    Resource: "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc",
    Condition: {
      StringEquals: { "codeconnections:PassedToService": "codepipeline.amazonaws.com" },
    },
  },
  {
    Sid: "CleanUpImages",
    Effect: "Allow",
    Action: ["ecr:BatchDeleteImage", "ecr:ListImages"],
    Resource: prRepositoryArns,
  },
];
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

  it("trusts one service, for one resource (or ARN pattern) of this account only", () => {
    expect(
      serviceTrustPolicy(
        "codepipeline.amazonaws.com",
        "123456789012",
        "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
      ),
    ).to.deep.equal({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "codepipeline.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": "123456789012" },
            ArnLike: {
              "aws:SourceArn": "arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
            },
          },
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

  it("source repositories keep latest and the newest images; PR repositories expire pr- and untagged images", () => {
    // Rule by rule, with an evaluator of ECR's semantics: test/infra/registry-lifecycle.test.ts.
    const retention = {
      sourceImageRetentionCount: 30,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
    };
    expect(registryLifecyclePolicy({ tier: "source", ...retention })).to.deep.equal(
      SOURCE_REPOSITORY_POLICY,
    );
    expect(registryLifecyclePolicy({ tier: "pull-request", ...retention })).to.deep.equal(
      PR_REPOSITORY_POLICY,
    );
  });

  it("lets only the stack's build projects pull a custom build image", () => {
    const prProjectArn = `${projectArn}-pr`;
    expect(buildImageRepositoryPolicy([projectArn, prProjectArn], "123456789012")).to.deep.equal({
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
            ArnLike: { "aws:SourceArn": [projectArn, prProjectArn] },
            StringEquals: { "aws:SourceAccount": "123456789012" },
          },
        },
      ],
    });
  });

  it("scopes the source build role to its logs, the bucket and the source repositories", () => {
    const logGroupArn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/b";
    expect(
      buildRolePolicy({ logGroupArn, bucketArn, pushRepositoryArns: [repositoryArn] }),
    ).to.deep.equal({
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
          Resource: [repositoryArn],
        },
      ],
    });
  });

  it("the PR build role pushes to the PR repositories and only pulls from the source ones", () => {
    const logGroupArn = "arn:aws:logs:eu-west-1:123456789012:log-group:/branchline/x-pr/build";
    const sourceArns = [repositoryArn, repositoryArn.replace("/app", "/worker")];
    const policy = buildRolePolicy({
      logGroupArn,
      bucketArn,
      pushRepositoryArns: prRepositoryArns,
      pullRepositoryArns: sourceArns,
    });
    expect(policy.Statement.slice(4)).to.deep.equal([
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
        Resource: prRepositoryArns,
      },
      {
        Sid: "PullCacheImages",
        Effect: "Allow",
        Action: [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer",
        ],
        Resource: sourceArns,
      },
    ]);
    expect(JSON.stringify(policy)).to.not.include("secretsmanager");
  });

  it("with a second registry: the build role reads that credentials secret only", () => {
    const logGroupArn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/b";
    const secondRegistrySecretArn =
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf";
    const pushRepositoryArns = [repositoryArn];
    const without = buildRolePolicy({ logGroupArn, bucketArn, pushRepositoryArns });
    const withSecret = buildRolePolicy({
      logGroupArn,
      bucketArn,
      pushRepositoryArns,
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
        Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
        Resource: "arn:aws:s3:::artifacts/*",
      },
      {
        Sid: "LocateArtifactBucket",
        Effect: "Allow",
        Action: ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
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
        Condition: { StringEquals: { "codeconnections:FullRepositoryId": "octo/shop" } },
      },
    ];
    const repository = "octo/shop";

    it("without deploy: the bucket, the build project and the connection for the repository only", () => {
      expect(
        pipelineRolePolicy({ bucketArn, projectArn, connectionArn, repository }),
      ).to.deep.equal({
        Version: "2012-10-17",
        Statement: base,
      });
    });

    it("uses the connection with the one service prefix its ARN has", () => {
      const legacy = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/old";
      expect(
        pipelineRolePolicy({ bucketArn, projectArn, connectionArn: legacy, repository })
          .Statement[3],
      ).to.deep.equal({
        Sid: "UseConnection",
        Effect: "Allow",
        Action: "codestar-connections:UseConnection",
        Resource: legacy,
        Condition: { StringEquals: { "codestar-connections:FullRepositoryId": "octo/shop" } },
      });
    });

    const deploy = {
      clusterArn: ecsClusterArn(scope, "c"),
      serviceArn: ecsServiceArn(scope, "c", "s"),
      taskDefinitionArnPattern: "arn:aws:ecs:eu-west-1:123456789012:task-definition/*",
    };

    it("with deploy and deploy.passRoles: passes those roles only, to ECS tasks only", () => {
      const passRoles = [
        "arn:aws:iam::123456789012:role/shop-task",
        "arn:aws:iam::123456789012:role/shop-execution",
      ];
      const policy = pipelineRolePolicy({
        bucketArn,
        projectArn,
        connectionArn,
        repository,
        deploy: { ...deploy, passRoles },
      });
      expect(policy.Statement.at(-1)).to.deep.equal({
        Sid: "PassTaskRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: passRoles,
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      });
    });

    it("with deploy: adds that ECS service and task roles passed to ECS tasks only", () => {
      expect(
        pipelineRolePolicy({ bucketArn, projectArn, connectionArn, repository, deploy }),
      ).to.deep.equal({
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
            Sid: "ReadTaskDefinitions",
            Effect: "Allow",
            Action: "ecs:DescribeTaskDefinition",
            Resource: "*",
          },
          {
            Sid: "RegisterTaskDefinitions",
            Effect: "Allow",
            Action: "ecs:RegisterTaskDefinition",
            Resource: "arn:aws:ecs:eu-west-1:123456789012:task-definition/*",
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

  describe("clone role", () => {
    const prProjectArn = `${projectArn}-pr`;
    const base = [
      {
        Sid: "ReadWriteArtifacts",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
        Resource: "arn:aws:s3:::artifacts/*",
      },
      {
        Sid: "LocateArtifactBucket",
        Effect: "Allow",
        Action: ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
        Resource: bucketArn,
      },
      {
        Sid: "RunPullRequestBuilds",
        Effect: "Allow",
        Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
        Resource: prProjectArn,
      },
    ];

    it("the bucket, the PR build project and the connection for the repository: nothing that deploys", () => {
      expect(
        cloneRolePolicy({ bucketArn, prProjectArn, connectionArn, repository: "octo/shop" }),
      ).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...base,
          {
            Sid: "UseConnection",
            Effect: "Allow",
            Action: "codeconnections:UseConnection",
            Resource: connectionArn,
            Condition: { StringEquals: { "codeconnections:FullRepositoryId": "octo/shop" } },
          },
        ],
      });
    });

    it("with fork pull requests allowed: the connection for any repository (a fork's clone reads the fork)", () => {
      expect(
        cloneRolePolicy({ bucketArn, prProjectArn, connectionArn, repository: undefined }),
      ).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...base,
          {
            Sid: "UseConnection",
            Effect: "Allow",
            Action: "codeconnections:UseConnection",
            Resource: connectionArn,
          },
        ],
      });
    });
  });

  describe("webhook role", () => {
    const input = {
      scope,
      sourcePipelineName: "branchline-dev",
      cloneRoleArn,
      prRepositoryArns,
      connectionArn,
      secretArns: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf"],
      logGroupArn: "arn:aws:logs:eu-west-1:123456789012:log-group:hook",
    };

    it("reads the source, manages branchline's <source>-pr-* only, passes the clone role and the connection to CodePipeline only", () => {
      expect(webhookRolePolicy(input)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...cloneManagement,
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
      expect(policy.Statement[3]?.Resource).to.equal(
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
              contextVariables: {
                "aws:ResourceTag/branchline:managed-by": "branchline",
                "aws:ResourceTag/branchline:source-pipeline": long,
              },
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
      cloneRoleArn,
      prRepositoryArns,
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
      ...cloneManagement,
    ];
    const writeLogs = {
      Sid: "WriteLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:reconciler:*",
    };

    it("without a token: lists pipelines, manages the clones, passes the clone role, cleans up PR images", () => {
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
        cloneRoleArn,
        prRepositoryArns,
        connectionArn,
      };
      expect(reconcilerRolePolicy(input).Statement.slice(1, 8)).to.deep.equal(
        cloneManagementStatements({
          ...shared,
        }),
      );
      expect(
        webhookRolePolicy({ ...shared, secretArns: ["s"], logGroupArn: "l" }).Statement.slice(0, 7),
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
        Sid: "ReadSourcePipeline",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipeline",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListPipelineExecutions",
        ],
        Resource: source,
      },
      {
        Sid: "ReadCloneTags",
        Effect: "Allow",
        Action: "codepipeline:ListTagsForResource",
        Resource: clones,
      },
      {
        Sid: "ReadClones",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipeline",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListPipelineExecutions",
        ],
        Resource: clones,
        Condition: managedClone,
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

  describe("durable delivery", () => {
    const queueArn = "arn:aws:sqs:eu-west-1:123456789012:delivery.fifo";
    const deadLetterQueueArn = "arn:aws:sqs:eu-west-1:123456789012:delivery-dlq.fifo";
    const webhookSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-AbCdEf";
    const tokenArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf";
    const stateTableArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/state";
    const queueStatements = [
      {
        Sid: "ConsumeDeliveries",
        Effect: "Allow",
        Action: [
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:ReceiveMessage",
        ],
        Resource: queueArn,
      },
      {
        Sid: "DeadLetterDeliveries",
        Effect: "Allow",
        Action: "sqs:SendMessage",
        Resource: deadLetterQueueArn,
      },
    ];

    it("the queueing webhook reads its secret and sends to the queue: nothing else", () => {
      expect(queueWebhookRoleStatements({ webhookSecretArn, queueArn })).to.deep.equal([
        {
          Sid: "ReadSecrets",
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: [webhookSecretArn],
        },
        { Sid: "QueueDeliveries", Effect: "Allow", Action: "sqs:SendMessage", Resource: queueArn },
      ]);
    });

    it("the worker has the inline webhook's statements with the token only, then its queues", () => {
      const shared = {
        scope,
        sourcePipelineName: "branchline-dev",
        cloneRoleArn,
        prRepositoryArns,
        connectionArn,
        stateTableArn,
      };
      expect(
        workerRoleStatements({
          ...shared,
          githubTokenSecretArn: tokenArn,
          queueArn,
          deadLetterQueueArn,
        }),
      ).to.deep.equal([
        ...webhookRoleStatements({ ...shared, secretArns: [tokenArn] }),
        ...queueStatements,
      ]);
      expect(
        workerRoleStatements({
          ...shared,
          githubTokenSecretArn: undefined,
          queueArn,
          deadLetterQueueArn,
        }),
      ).to.deep.equal([
        ...cloneManagement,
        {
          Sid: "AdvancePullRequestMarks",
          Effect: "Allow",
          Action: "dynamodb:UpdateItem",
          Resource: stateTableArn,
          Condition: {
            "ForAllValues:StringLike": { "dynamodb:LeadingKeys": "branchline-dev#*" },
          },
        },
        ...queueStatements,
      ]);
    });

    it("the many-service worker has the many-service webhook's statements, then its queues", () => {
      const set = { scope, prefix: "acme", sourcePipelineNames: ["acme-shop", "acme-cart"] };
      const shared = { set, cloneRoleArn, connectionArn, stateTableArn };
      expect(
        servicesWorkerRoleStatements({
          ...shared,
          githubTokenSecretArn: tokenArn,
          queueArn,
          deadLetterQueueArn,
        }),
      ).to.deep.equal([
        ...servicesWebhookRoleStatements({ ...shared, secretArns: [tokenArn] }),
        ...queueStatements,
      ]);
    });

    it("denies every non-TLS request to a queue", () => {
      expect(queueTransportPolicy(queueArn)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "sqs:*",
            Resource: queueArn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      });
    });

    it("redrives to the dead-letter queue, which accepts the delivery queue only", () => {
      expect(redrivePolicy(deadLetterQueueArn, 5)).to.deep.equal({
        deadLetterTargetArn: deadLetterQueueArn,
        maxReceiveCount: 5,
      });
      expect(redriveAllowPolicy(queueArn)).to.deep.equal({
        redrivePermission: "byQueue",
        sourceQueueArns: [queueArn],
      });
    });

    it("lets CloudWatch publish to the topic and use its key for the stack's alarms only", () => {
      const fromAlarms = {
        StringEquals: { "aws:SourceAccount": "123456789012" },
        ArnLike: {
          "aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:acme-delivery-*",
        },
      };
      const topic = notificationTopicPolicy(
        "arn:aws:sns:eu-west-1:123456789012:t",
        scope,
        "acme-delivery-",
      );
      expect(topic.Statement[1]).to.deep.equal({
        Sid: "CloudWatchAlarms",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: "arn:aws:sns:eu-west-1:123456789012:t",
        Condition: fromAlarms,
      });
      const key = notificationKeyPolicy(scope, "acme-delivery-");
      expect(key.Statement.map((statement) => statement.Sid)).to.deep.equal([
        "AccountAdministers",
        "AccountUsesThroughSns",
        "CloudWatchAlarms",
      ]);
      expect(key.Statement[2]).to.deep.include({
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Condition: fromAlarms,
      });
    });
  });
});
