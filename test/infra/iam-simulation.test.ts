/**
 * The stack's IAM grants proven by simulation: the role policies exactly as the program declares them
 * under Pulumi mocks, evaluated by @cloud-copilot/iam-simulate for the requests the functions and the
 * pipeline make. Which requests AWS checks for a call (e.g. that CreatePipeline of a declaration with
 * a CodeConnections source checks PassConnection) comes from AWS's documentation: a real account must
 * still confirm it; the simulator proves what these documents allow and deny.
 */
import { expect } from "chai";
import { loadConfig } from "../../infra/config.js";
import type { PolicyDocument } from "../../infra/policies.js";
import { createBranchline } from "../../infra/program.js";
import {
  policyDocument,
  simulate,
  simulateAccess,
  SimulationError,
  type Decision,
} from "../helpers/iam.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  runWithConfig,
  stubArchives,
} from "../helpers/pulumi-mocks.js";
import { testApp } from "../helpers/github-app.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const connectionId = "00000000-0000-0000-0000-000000000000";
const stackConnection = `arn:aws:codeconnections:${at}:connection/${connectionId}`;
const otherConnection = `arn:aws:codeconnections:${at}:connection/11111111-1111-1111-1111-111111111111`;
const pipelineRole = `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-role-0000000`;
const cloneRole = `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`;
const repositoryArn = (name: string) => `arn:aws:ecr:${at}:repository/${name}`;
const sourceRepository = repositoryArn("branchline-dev/app");
const prRepository = repositoryArn("branchline-dev-pr/app");
const pipelineAt = (name: string) => `arn:aws:codepipeline:${at}:${name}`;
const projectAt = (name: string) => `arn:aws:codebuild:${at}:project/${name}`;
/** The tags branchline writes on a clone of branchline-dev (as resource tags or request tags). */
const tagsOf = (kind: "ResourceTag" | "RequestTag", source = "branchline-dev") => ({
  [`aws:${kind}/branchline:managed-by`]: "branchline",
  [`aws:${kind}/branchline:source-pipeline`]: source,
});
const cloneTagKeys = [
  "branchline:managed-by",
  "branchline:source-pipeline",
  "branchline:pull-request",
  "branchline:branch",
];
const toCodePipeline = (prefix: string) => ({
  [`${prefix}:PassedToService`]: "codepipeline.amazonaws.com",
});

async function synth(config: Record<string, string | object>): Promise<void> {
  await runWithConfig(config, () => createBranchline(loadConfig(), stubArchives()), [
    "webhookSecret",
    "githubToken",
  ]);
}

function rolePolicy(name: string): PolicyDocument {
  return policyDocument(resourceNamed(name).inputs["policy"]);
}

async function expectDecision(
  policy: PolicyDocument,
  request: Parameters<typeof simulate>[1],
  decision: Decision,
): Promise<void> {
  expect(
    await simulate(policy, request),
    `${request.action} on ${request.resource} ${JSON.stringify(request.context ?? {})}`,
  ).to.equal(decision);
}

/** What a role that manages clones (the worker, the reconciler, the inline webhook) may do. */
function describeCloneManager(role: string): void {
  describe(role, () => {
    it("passes the stack's connection to CodePipeline: allowed", async () => {
      await expectDecision(
        rolePolicy(role),
        {
          action: "codeconnections:PassConnection",
          resource: stackConnection,
          context: toCodePipeline("codeconnections"),
        },
        "Allowed",
      );
    });

    it("passes another connection, or to another service, or under the other prefix: denied", async () => {
      const policy = rolePolicy(role);
      await expectDecision(
        policy,
        {
          action: "codeconnections:PassConnection",
          resource: otherConnection,
          context: toCodePipeline("codeconnections"),
        },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        {
          action: "codeconnections:PassConnection",
          resource: stackConnection,
          context: { "codeconnections:PassedToService": "codebuild.amazonaws.com" },
        },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        { action: "codeconnections:PassConnection", resource: stackConnection },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        {
          action: "codestar-connections:PassConnection",
          resource: stackConnection.replace(":codeconnections:", ":codestar-connections:"),
          context: toCodePipeline("codestar-connections"),
        },
        "ImplicitlyDenied",
      );
    });

    it("creates <source>-pr-1 only with branchline's tags, and no other tag keys", async () => {
      const policy = rolePolicy(role);
      const clone = pipelineAt("branchline-dev-pr-1");
      const create = (resource: string, context: Record<string, string | string[]>) => ({
        action: "codepipeline:CreatePipeline",
        resource,
        context,
      });
      const tagged = { ...tagsOf("RequestTag"), "aws:TagKeys": cloneTagKeys };
      await expectDecision(policy, create(clone, tagged), "Allowed");
      // The tagging that CreatePipeline's tags may need: the same conditions.
      await expectDecision(
        policy,
        { action: "codepipeline:TagResource", resource: clone, context: tagged },
        "Allowed",
      );
      const refused: Record<string, string | string[]>[] = [
        {}, // no tags
        { "aws:TagKeys": cloneTagKeys }, // no managed-by tag
        { ...tagsOf("RequestTag", "payments"), "aws:TagKeys": cloneTagKeys }, // another source
        { ...tagged, "aws:TagKeys": [...cloneTagKeys, "owner"] }, // an extra tag key
      ];
      for (const context of refused) {
        await expectDecision(policy, create(clone, context), "ImplicitlyDenied");
      }
      for (const name of ["branchline-dev", "payments", "payments-pr-1"]) {
        await expectDecision(policy, create(pipelineAt(name), tagged), "ImplicitlyDenied");
        await expectDecision(
          policy,
          { action: "codepipeline:TagResource", resource: pipelineAt(name), context: tagged },
          "ImplicitlyDenied",
        );
      }
    });

    it("records an approval on a clone: TagResource with branchline's tags and branchline:approved-sha only", async () => {
      const policy = rolePolicy(role);
      const clone = pipelineAt("branchline-dev-pr-1");
      const keys = [...cloneTagKeys, "branchline:approved-sha"];
      const tagged = { ...tagsOf("RequestTag"), "aws:TagKeys": keys };
      await expectDecision(
        policy,
        { action: "codepipeline:TagResource", resource: clone, context: tagged },
        "Allowed",
      );
      for (const context of [
        { "aws:TagKeys": ["branchline:approved-sha"] }, // the approval alone: not branchline's tags
        { ...tagged, "aws:TagKeys": [...keys, "owner"] },
      ]) {
        await expectDecision(
          policy,
          { action: "codepipeline:TagResource", resource: clone, context },
          "ImplicitlyDenied",
        );
      }
    });

    it("updates, deletes, starts, stops and lists executions of branchline's clones only: never the source, an untagged <source>-pr-x or another source's clone", async () => {
      const policy = rolePolicy(role);
      for (const action of [
        "codepipeline:UpdatePipeline",
        "codepipeline:DeletePipeline",
        "codepipeline:StartPipelineExecution",
        "codepipeline:StopPipelineExecution",
        "codepipeline:ListPipelineExecutions",
      ]) {
        await expectDecision(
          policy,
          {
            action,
            resource: pipelineAt("branchline-dev-pr-1"),
            context: tagsOf("ResourceTag"),
          },
          "Allowed",
        );
        for (const [name, context] of [
          ["branchline-dev", {}],
          ["branchline-dev", tagsOf("ResourceTag")],
          ["branchline-dev-pr-x", {}],
          ["branchline-dev-pr-x", { "aws:ResourceTag/branchline:managed-by": "branchline" }],
          ["branchline-dev-pr-x", { "aws:ResourceTag/branchline:managed-by": "someone" }],
          ["branchline-dev-pr-1", tagsOf("ResourceTag", "branchline-dev-pr-tools")],
          ["payments-pr-1", tagsOf("ResourceTag")],
        ] as const) {
          await expectDecision(
            policy,
            { action, resource: pipelineAt(name), context },
            "ImplicitlyDenied",
          );
        }
      }
      await expectDecision(
        policy,
        {
          action: "codepipeline:UntagResource",
          resource: pipelineAt("branchline-dev-pr-1"),
          context: tagsOf("ResourceTag"),
        },
        "ImplicitlyDenied",
      );
    });

    it("reads any <source>-pr-* declaration and tags (whether it exists, whose it is), the source's declaration, nothing else", async () => {
      const policy = rolePolicy(role);
      for (const action of ["codepipeline:GetPipeline", "codepipeline:ListTagsForResource"]) {
        await expectDecision(
          policy,
          { action, resource: pipelineAt("branchline-dev-pr-x") },
          "Allowed",
        );
        await expectDecision(
          policy,
          { action, resource: pipelineAt("payments-pr-1") },
          "ImplicitlyDenied",
        );
      }
      await expectDecision(
        policy,
        { action: "codepipeline:GetPipeline", resource: pipelineAt("branchline-dev") },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "codepipeline:GetPipeline", resource: pipelineAt("payments") },
        "ImplicitlyDenied",
      );
    });

    it("passes the clone role to CodePipeline only, and no other role", async () => {
      const policy = rolePolicy(role);
      const to = (service: string) => ({ "iam:PassedToService": service });
      await expectDecision(
        policy,
        {
          action: "iam:PassRole",
          resource: cloneRole,
          context: to("codepipeline.amazonaws.com"),
        },
        "Allowed",
      );
      for (const [resource, service] of [
        [cloneRole, "codebuild.amazonaws.com"],
        [cloneRole, "ecs-tasks.amazonaws.com"],
        [pipelineRole, "codepipeline.amazonaws.com"],
        [`arn:aws:iam::${MOCK_ACCOUNT}:role/build-role-0000000`, "codebuild.amazonaws.com"],
        [`arn:aws:iam::${MOCK_ACCOUNT}:role/admin`, "codepipeline.amazonaws.com"],
      ] as const) {
        await expectDecision(
          policy,
          { action: "iam:PassRole", resource, context: to(service) },
          "ImplicitlyDenied",
        );
      }
    });

    it("lists and deletes images of the PR repositories only: never a source (production) image", async () => {
      const policy = rolePolicy(role);
      for (const action of ["ecr:BatchDeleteImage", "ecr:ListImages"]) {
        await expectDecision(policy, { action, resource: prRepository }, "Allowed");
        for (const name of ["branchline-dev/app", "payments", "payments-pr/app"]) {
          await expectDecision(
            policy,
            { action, resource: repositoryArn(name) },
            "ImplicitlyDenied",
          );
        }
      }
      await expectDecision(
        policy,
        { action: "ecr:PutImage", resource: prRepository },
        "ImplicitlyDenied",
      );
    });
  });
}

describe("IAM grants by simulation (the stack's role policies under Pulumi mocks)", () => {
  describe("the simulator helper", () => {
    const policy: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
    };

    it("rejects an action AWS does not have instead of answering denied", async () => {
      let failure: unknown;
      try {
        await simulate(policy, {
          action: "codeconnections:PassConection",
          resource: stackConnection,
        });
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(SimulationError);
      expect((failure as Error).message).to.include("invalid.action");
    });

    it("rejects a condition key the action does not support", async () => {
      let failure: unknown;
      try {
        await simulate(policy, {
          action: "codeconnections:PassConnection",
          resource: stackConnection,
          context: { "codeconnections:PassedToServices": "codepipeline.amazonaws.com" },
        });
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(SimulationError);
      expect((failure as Error).message).to.include(
        "codeconnections:PassedToServices is not a condition key of that action",
      );
    });

    it("knows PassConnection and PassedToService under both prefixes, and iam:PassedToService", async () => {
      const legacy = stackConnection.replace(":codeconnections:", ":codestar-connections:");
      for (const [action, resource, context] of [
        ["codeconnections:PassConnection", stackConnection, toCodePipeline("codeconnections")],
        ["codestar-connections:PassConnection", legacy, toCodePipeline("codestar-connections")],
        ["codeconnections:UseConnection", stackConnection, {}],
        ["codestar-connections:UseConnection", legacy, {}],
        ["iam:PassRole", pipelineRole, { "iam:PassedToService": "codepipeline.amazonaws.com" }],
      ] as const) {
        await expectDecision(policy, { action, resource, context }, "Allowed");
      }
    });
  });

  describe("a stack that creates its connection (codeconnections ARN)", () => {
    before(async () => {
      await synth(minimal);
    });

    for (const role of ["worker-role-policy", "reconciler-role-policy"]) {
      describeCloneManager(role);
    }

    for (const role of ["pipeline-role-policy", "pipeline-clone-role-policy"]) {
      it(`${role}: uses the stack's connection for the configured repository only`, async () => {
        const policy = rolePolicy(role);
        const repo = (id: string) => ({ "codeconnections:FullRepositoryId": id });
        await expectDecision(
          policy,
          {
            action: "codeconnections:UseConnection",
            resource: stackConnection,
            context: repo("octo/shop"),
          },
          "Allowed",
        );
        for (const [resource, context] of [
          [stackConnection, repo("octo/other")],
          [stackConnection, repo("mallory/shop")],
          [stackConnection, {}],
          [otherConnection, repo("octo/shop")],
        ] as const) {
          await expectDecision(
            policy,
            { action: "codeconnections:UseConnection", resource, context },
            "ImplicitlyDenied",
          );
        }
      });
    }

    it("the clone role runs the PR build project only, and cannot deploy or pass roles", async () => {
      const policy = rolePolicy("pipeline-clone-role-policy");
      for (const action of ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]) {
        await expectDecision(
          policy,
          { action, resource: projectAt("branchline-dev-pr") },
          "Allowed",
        );
        await expectDecision(
          policy,
          { action, resource: projectAt("branchline-dev") },
          "ImplicitlyDenied",
        );
      }
      for (const [action, resource] of [
        ["ecs:UpdateService", `arn:aws:ecs:${at}:service/prod/shop`],
        ["ecs:RegisterTaskDefinition", `arn:aws:ecs:${at}:task-definition/shop:1`],
        ["ecs:RunTask", `arn:aws:ecs:${at}:task-definition/shop:1`],
        ["codedeploy:CreateDeployment", `arn:aws:codedeploy:${at}:deploymentgroup:shop/prod`],
        ["cloudformation:CreateStack", `arn:aws:cloudformation:${at}:stack/shop/1`],
        ["cloudformation:UpdateStack", `arn:aws:cloudformation:${at}:stack/shop/1`],
        ["iam:PassRole", `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-task`],
        ["iam:PassRole", pipelineRole],
        ["ecr:PutImage", sourceRepository],
        ["secretsmanager:GetSecretValue", `arn:aws:secretsmanager:${at}:secret:dockerhub-AbCdEf`],
      ] as const) {
        await expectDecision(policy, { action, resource }, "ImplicitlyDenied");
      }
    });

    it("the PR build role pushes to the PR repositories, only pulls from the source ones, reads no secret", async () => {
      const policy = rolePolicy("pr-build-role-policy");
      const push = [
        "ecr:PutImage",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
      ];
      const pull = [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
      ];
      for (const action of [...push, ...pull]) {
        await expectDecision(policy, { action, resource: prRepository }, "Allowed");
      }
      for (const action of pull) {
        await expectDecision(policy, { action, resource: sourceRepository }, "Allowed");
      }
      for (const action of [...push, "ecr:BatchDeleteImage", "ecr:PutLifecyclePolicy"]) {
        await expectDecision(policy, { action, resource: sourceRepository }, "ImplicitlyDenied");
      }
      await expectDecision(
        policy,
        { action: "ecr:BatchGetImage", resource: repositoryArn("payments/app") },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        {
          action: "secretsmanager:GetSecretValue",
          resource: `arn:aws:secretsmanager:${at}:secret:anything-AbCdEf`,
        },
        "ImplicitlyDenied",
      );
    });

    it("the source build role pushes to the source repositories only", async () => {
      const policy = rolePolicy("build-role-policy");
      await expectDecision(
        policy,
        { action: "ecr:PutImage", resource: sourceRepository },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "ecr:PutImage", resource: prRepository },
        "ImplicitlyDenied",
      );
    });

    it("the notify role reads the tags of any <source>-pr-*, but the declarations and executions of branchline's clones only", async () => {
      const policy = rolePolicy("notifications-role-policy");
      const clone = pipelineAt("branchline-dev-pr-1");
      await expectDecision(
        policy,
        { action: "codepipeline:ListTagsForResource", resource: clone },
        "Allowed",
      );
      for (const action of [
        "codepipeline:GetPipeline",
        "codepipeline:GetPipelineExecution",
        "codepipeline:ListPipelineExecutions",
      ]) {
        await expectDecision(
          policy,
          { action, resource: clone, context: tagsOf("ResourceTag") },
          "Allowed",
        );
        await expectDecision(policy, { action, resource: clone }, "ImplicitlyDenied");
        await expectDecision(policy, { action, resource: pipelineAt("branchline-dev") }, "Allowed");
      }
    });
  });

  describe("the artifact buckets: each tier reaches its own only", () => {
    before(async () => {
      await synth(minimal);
    });

    const sourceBucket = "arn:aws:s3:::artifacts-bucket-0000000";
    const prBucket = "arn:aws:s3:::pr-artifacts-bucket-0000000";
    /** An artifact key as CodePipeline writes it: `<pipeline name, 20 chars>/<artifact>/<random>`. */
    const objectIn = (bucket: string) => `${bucket}/branchline-dev/build_outp/AbCdEf1`;
    const objectActions = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"];
    const tiers = [
      { tier: "source", own: sourceBucket, other: prBucket },
      { tier: "pull request", own: prBucket, other: sourceBucket },
    ] as const;
    const roles = {
      source: ["pipeline-role-policy", "build-role-policy"],
      "pull request": ["pipeline-clone-role-policy", "pr-build-role-policy"],
    } as const;

    for (const { tier, own, other } of tiers) {
      for (const role of roles[tier]) {
        it(`${role} (${tier} tier): reads and writes its tier's artifacts, never the other tier's`, async () => {
          const policy = rolePolicy(role);
          for (const action of objectActions) {
            await expectDecision(policy, { action, resource: objectIn(own) }, "Allowed");
            await expectDecision(policy, { action, resource: objectIn(other) }, "ImplicitlyDenied");
          }
          for (const action of ["s3:GetBucketLocation", "s3:GetBucketAcl"]) {
            await expectDecision(policy, { action, resource: own }, "Allowed");
            await expectDecision(policy, { action, resource: other }, "ImplicitlyDenied");
          }
          for (const action of ["s3:DeleteObject", "s3:ListBucket", "s3:PutBucketPolicy"]) {
            const resource = action === "s3:DeleteObject" ? objectIn(own) : own;
            await expectDecision(policy, { action, resource }, "ImplicitlyDenied");
          }
        });
      }
    }
  });

  describe("the build role's logs", () => {
    before(async () => {
      await synth(minimal);
    });

    it("writes to the stack's own log group /branchline/<project>/build, not CodeBuild's default", async () => {
      const policy = rolePolicy("build-role-policy");
      const group = (name: string) => `arn:aws:logs:${at}:log-group:${name}`;
      for (const action of ["logs:CreateLogStream", "logs:PutLogEvents"]) {
        await expectDecision(
          policy,
          { action, resource: `${group("/branchline/branchline-dev/build")}:log-stream:abc` },
          "Allowed",
        );
        await expectDecision(
          policy,
          { action, resource: `${group("/aws/codebuild/branchline-dev")}:log-stream:abc` },
          "ImplicitlyDenied",
        );
      }
    });
  });

  describe("a stack given an existing codestar-connections ARN", () => {
    const legacy = `arn:aws:codestar-connections:${at}:connection/existing-1`;
    before(async () => {
      await synth({ ...minimal, connectionArn: legacy });
    });

    for (const role of ["worker-role-policy", "reconciler-role-policy"]) {
      it(`${role}: passes it with codestar-connections:PassConnection to CodePipeline only`, async () => {
        const policy = rolePolicy(role);
        await expectDecision(
          policy,
          {
            action: "codestar-connections:PassConnection",
            resource: legacy,
            context: toCodePipeline("codestar-connections"),
          },
          "Allowed",
        );
        await expectDecision(
          policy,
          {
            action: "codestar-connections:PassConnection",
            resource: legacy,
            context: { "codestar-connections:PassedToService": "codebuild.amazonaws.com" },
          },
          "ImplicitlyDenied",
        );
        expect(policy.Statement.find((s) => s.Sid === "PassConnection")).to.deep.equal({
          Sid: "PassConnection",
          Effect: "Allow",
          Action: "codestar-connections:PassConnection",
          Resource: legacy,
          Condition: {
            StringEquals: { "codestar-connections:PassedToService": "codepipeline.amazonaws.com" },
          },
        });
      });
    }

    it("pipeline-role-policy: uses it with codestar-connections:UseConnection only", async () => {
      const policy = rolePolicy("pipeline-role-policy");
      await expectDecision(
        policy,
        {
          action: "codestar-connections:UseConnection",
          resource: legacy,
          context: { "codestar-connections:FullRepositoryId": "octo/shop" },
        },
        "Allowed",
      );
      expect(policy.Statement.find((s) => s.Sid === "UseConnection")).to.deep.equal({
        Sid: "UseConnection",
        Effect: "Allow",
        Action: "codestar-connections:UseConnection",
        Resource: legacy,
        Condition: { StringEquals: { "codestar-connections:FullRepositoryId": "octo/shop" } },
      });
    });
  });

  describe("an ECS deploy", () => {
    const task = `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-task`;
    const toEcsTasks = { "iam:PassedToService": "ecs-tasks.amazonaws.com" };

    it("with deploy.passRoles: the pipeline role passes those roles only, to ECS tasks only", async () => {
      await synth({ ...minimal, deploy: { cluster: "prod", service: "shop", passRoles: [task] } });
      const policy = rolePolicy("pipeline-role-policy");
      await expectDecision(
        policy,
        { action: "iam:PassRole", resource: task, context: toEcsTasks },
        "Allowed",
      );
      await expectDecision(
        policy,
        {
          action: "iam:PassRole",
          resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/admin`,
          context: toEcsTasks,
        },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        {
          action: "iam:PassRole",
          resource: task,
          context: { "iam:PassedToService": "lambda.amazonaws.com" },
        },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        {
          action: "ecs:RegisterTaskDefinition",
          resource: `arn:aws:ecs:${at}:task-definition/shop:7`,
        },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "ecs:UpdateService", resource: `arn:aws:ecs:${at}:service/prod/other` },
        "ImplicitlyDenied",
      );
      // The clones still cannot deploy.
      const clone = rolePolicy("pipeline-clone-role-policy");
      await expectDecision(
        clone,
        { action: "iam:PassRole", resource: task, context: toEcsTasks },
        "ImplicitlyDenied",
      );
      await expectDecision(
        clone,
        { action: "ecs:UpdateService", resource: `arn:aws:ecs:${at}:service/prod/shop` },
        "ImplicitlyDenied",
      );
    });

    it("without deploy.passRoles: any role, to ECS tasks only (the broader default)", async () => {
      await synth({ ...minimal, deploy: { cluster: "prod", service: "shop" } });
      const policy = rolePolicy("pipeline-role-policy");
      await expectDecision(
        policy,
        { action: "iam:PassRole", resource: task, context: toEcsTasks },
        "Allowed",
      );
      await expectDecision(
        policy,
        {
          action: "iam:PassRole",
          resource: task,
          context: { "iam:PassedToService": "codepipeline.amazonaws.com" },
        },
        "ImplicitlyDenied",
      );
    });
  });

  describe("a stack that allows fork pull requests", () => {
    before(async () => {
      await synth({ ...minimal, allowForkPullRequests: "true" });
    });

    it("lets the clone role use the connection for a fork, and the source pipeline role still for the repository only", async () => {
      const fork = { "codeconnections:FullRepositoryId": "mallory/shop" };
      await expectDecision(
        rolePolicy("pipeline-clone-role-policy"),
        { action: "codeconnections:UseConnection", resource: stackConnection, context: fork },
        "Allowed",
      );
      await expectDecision(
        rolePolicy("pipeline-role-policy"),
        { action: "codeconnections:UseConnection", resource: stackConnection, context: fork },
        "ImplicitlyDenied",
      );
    });
  });
});

describe("IAM grants by simulation: durable delivery (branchline:delivery)", () => {
  const queue = `arn:aws:sqs:${at}:delivery-queue-0000000.fifo`;
  const deadLetters = `arn:aws:sqs:${at}:delivery-dead-letter-queue-0000000.fifo`;
  const webhookSecret = `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`;
  const token = `arn:aws:secretsmanager:${at}:secret:webhook-github-token-0000000-AbCdEf`;
  const consume = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
  ];

  describe("queue mode (the default), with a GitHub token", () => {
    before(async () => {
      await synth({ ...minimal, githubToken: "ghp_test" });
    });

    it("the webhook sends to the delivery queue and reads its webhook secret: nothing more", async () => {
      const policy = rolePolicy("webhook-role-policy");
      await expectDecision(policy, { action: "sqs:SendMessage", resource: queue }, "Allowed");
      await expectDecision(
        policy,
        { action: "secretsmanager:GetSecretValue", resource: webhookSecret },
        "Allowed",
      );
      for (const [action, resource] of [
        ["sqs:SendMessage", deadLetters],
        ["sqs:ReceiveMessage", queue],
        ["sqs:DeleteMessage", queue],
        ["secretsmanager:GetSecretValue", token],
        ["codepipeline:CreatePipeline", pipelineAt("branchline-dev-pr-1")],
        ["codepipeline:DeletePipeline", pipelineAt("branchline-dev-pr-1")],
        ["codepipeline:GetPipeline", pipelineAt("branchline-dev")],
        ["iam:PassRole", cloneRole],
        ["ecr:BatchDeleteImage", prRepository],
        ["dynamodb:UpdateItem", `arn:aws:dynamodb:${at}:table/state-table-0000000`],
      ] as const) {
        await expectDecision(policy, { action, resource }, "ImplicitlyDenied");
      }
    });

    it("the worker consumes the delivery queue and sends to the dead-letter queue only", async () => {
      const policy = rolePolicy("worker-role-policy");
      for (const action of consume) {
        await expectDecision(policy, { action, resource: queue }, "Allowed");
        await expectDecision(policy, { action, resource: deadLetters }, "ImplicitlyDenied");
      }
      await expectDecision(policy, { action: "sqs:SendMessage", resource: deadLetters }, "Allowed");
      await expectDecision(
        policy,
        { action: "sqs:SendMessage", resource: queue },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        { action: "sqs:PurgeQueue", resource: deadLetters },
        "ImplicitlyDenied",
      );
    });

    it("the worker reads the GitHub token, never the webhook secret", async () => {
      const policy = rolePolicy("worker-role-policy");
      await expectDecision(
        policy,
        { action: "secretsmanager:GetSecretValue", resource: token },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "secretsmanager:GetSecretValue", resource: webhookSecret },
        "ImplicitlyDenied",
      );
    });

    it("the worker advances this source pipeline's marks only", async () => {
      const policy = rolePolicy("worker-role-policy");
      const table = `arn:aws:dynamodb:${at}:table/state-table-0000000`;
      const keys = (key: string) => ({ "dynamodb:LeadingKeys": [key] });
      await expectDecision(
        policy,
        { action: "dynamodb:UpdateItem", resource: table, context: keys("branchline-dev#7") },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "dynamodb:UpdateItem", resource: table, context: keys("other#7") },
        "ImplicitlyDenied",
      );
    });

    it("both queues refuse any request without TLS, even one the role allows", async () => {
      for (const [name, resource, action] of [
        ["delivery-queue-policy", queue, "sqs:ReceiveMessage"],
        ["delivery-dead-letter-queue-policy", deadLetters, "sqs:SendMessage"],
      ] as const) {
        const resourcePolicy = policyDocument(resourceNamed(name).inputs["policy"]);
        const identityPolicy = rolePolicy("worker-role-policy");
        expect(
          await simulateAccess(
            { identityPolicy, resourcePolicy },
            { action, resource, context: { "aws:SecureTransport": "false" } },
          ),
          `${action} on ${name} without TLS`,
        ).to.equal("ExplicitlyDenied");
        expect(
          await simulateAccess(
            { identityPolicy, resourcePolicy },
            { action, resource, context: { "aws:SecureTransport": "true" } },
          ),
          `${action} on ${name} with TLS`,
        ).to.equal("Allowed");
      }
    });
  });

  describe("the notification topic and its key: CloudWatch publishes for the stack's alarms only", () => {
    const topic = `arn:aws:sns:${at}:notifications-topic-0000000`;
    const key = `arn:aws:kms:${at}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const alarm = (name: string, account = MOCK_ACCOUNT) =>
      `arn:aws:cloudwatch:eu-west-1:${account}:alarm:${name}`;
    const fromAlarm = (name: string, account = MOCK_ACCOUNT) => ({
      "aws:SourceAccount": account,
      "aws:SourceArn": alarm(name, account),
    });
    const cloudwatch = "cloudwatch.amazonaws.com";

    before(async () => {
      await synth(minimal);
    });

    it("the topic policy lets CloudWatch publish for the stack's delivery and error alarms, no other alarm", async () => {
      const resourcePolicy = policyDocument(
        resourceNamed("notifications-topic-policy").inputs["policy"],
      );
      const publish = (context: Record<string, string>) =>
        simulateAccess(
          { resourcePolicy },
          { action: "sns:Publish", resource: topic, principal: cloudwatch, context },
        );
      expect(await publish(fromAlarm("branchline-dev-delivery-dead-letters"))).to.equal("Allowed");
      expect(await publish(fromAlarm("branchline-dev-delivery-oldest-delivery"))).to.equal(
        "Allowed",
      );
      for (const role of ["webhook", "worker", "reconciler", "notify"]) {
        expect(await publish(fromAlarm(`branchline-dev-errors-${role}`))).to.equal("Allowed");
      }
      expect(await publish(fromAlarm("someone-elses-alarm"))).to.equal("ImplicitlyDenied");
      expect(await publish(fromAlarm("branchline-dev-other-alarm"))).to.equal("ImplicitlyDenied");
      expect(await publish(fromAlarm("branchline-dev-errors-webhook", "210987654321"))).to.equal(
        "ImplicitlyDenied",
      );
      expect(
        await publish(fromAlarm("branchline-dev-delivery-dead-letters", "210987654321")),
      ).to.equal("ImplicitlyDenied");
    });

    it("the key lets CloudWatch encrypt for those alarms only, and the account use it through SNS", async () => {
      const resourcePolicy = policyDocument(resourceNamed("notifications-key").inputs["policy"]);
      for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
        const byCloudWatch = (context: Record<string, string>) =>
          simulateAccess(
            { resourcePolicy },
            { action, resource: key, principal: cloudwatch, context },
          );
        expect(await byCloudWatch(fromAlarm("branchline-dev-delivery-dead-letters"))).to.equal(
          "Allowed",
        );
        expect(await byCloudWatch(fromAlarm("branchline-dev-errors-reconciler"))).to.equal(
          "Allowed",
        );
        expect(await byCloudWatch(fromAlarm("someone-elses-alarm"))).to.equal("ImplicitlyDenied");
        // The notify function publishes with no KMS permission of its own, through SNS.
        const viaSns = (service: string) =>
          simulateAccess(
            { resourcePolicy },
            {
              action,
              resource: key,
              principal: `arn:aws:iam::${MOCK_ACCOUNT}:role/notifications-role-0000000`,
              context: { "kms:ViaService": service, "kms:CallerAccount": MOCK_ACCOUNT },
            },
          );
        expect(await viaSns("sns.eu-west-1.amazonaws.com")).to.equal("Allowed");
        expect(await viaSns("s3.eu-west-1.amazonaws.com")).to.equal("ImplicitlyDenied");
      }
    });

    it("the notify role still publishes to the topic under its policy", async () => {
      const resourcePolicy = policyDocument(
        resourceNamed("notifications-topic-policy").inputs["policy"],
      );
      expect(
        await simulateAccess(
          { identityPolicy: rolePolicy("notifications-role-policy"), resourcePolicy },
          { action: "sns:Publish", resource: topic },
        ),
      ).to.equal("Allowed");
    });
  });

  describe("inline mode (branchline:delivery mode inline): the webhook manages the clones as before", () => {
    before(async () => {
      await synth({ ...minimal, delivery: { mode: "inline" } });
    });

    describeCloneManager("webhook-role-policy");

    it("declares no queue and no worker", () => {
      expect(() => resourceNamed("delivery-queue")).to.throw();
      expect(() => resourceNamed("worker-role-policy")).to.throw();
    });

    it("the topic and its key serve the functions' error alarms only: no delivery alarm", async () => {
      const topic = `arn:aws:sns:${at}:notifications-topic-0000000`;
      const resourcePolicy = policyDocument(
        resourceNamed("notifications-topic-policy").inputs["policy"],
      );
      const publish = (name: string) =>
        simulateAccess(
          { resourcePolicy },
          {
            action: "sns:Publish",
            resource: topic,
            principal: "cloudwatch.amazonaws.com",
            context: {
              "aws:SourceAccount": MOCK_ACCOUNT,
              "aws:SourceArn": `arn:aws:cloudwatch:eu-west-1:${MOCK_ACCOUNT}:alarm:${name}`,
            },
          },
        );
      expect(await publish("branchline-dev-errors-webhook")).to.equal("Allowed");
      expect(await publish("branchline-dev-delivery-dead-letters")).to.equal("ImplicitlyDenied");
    });
  });
});

describe("IAM grants by simulation: a GitHub App (branchline:githubApp)", () => {
  const appKey = `arn:aws:secretsmanager:${at}:secret:webhook-github-app-private-key-0000000-AbCdEf`;
  const webhookSecret = `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`;
  const anotherSecret = `arn:aws:secretsmanager:${at}:secret:production-database-AbCdEf`;
  const getSecret = (resource: string) => ({
    action: "secretsmanager:GetSecretValue",
    resource,
  });

  for (const mode of ["queue", "inline"] as const) {
    describe(`${mode} mode`, () => {
      before(async () => {
        await runWithConfig(
          {
            ...minimal,
            githubApp: { appId: 424242, privateKey: testApp().privateKey },
            delivery: { mode },
          },
          () => createBranchline(loadConfig(), stubArchives()),
          ["webhookSecret", "githubApp"],
        );
      });

      const readers =
        mode === "queue"
          ? ["worker-role-policy", "reconciler-role-policy", "notifications-role-policy"]
          : ["webhook-role-policy", "reconciler-role-policy", "notifications-role-policy"];

      for (const role of readers) {
        it(`${role} reads the App's private key and no other secret but its own`, async () => {
          const policy = rolePolicy(role);
          await expectDecision(policy, getSecret(appKey), "Allowed");
          await expectDecision(policy, getSecret(anotherSecret), "ImplicitlyDenied");
          await expectDecision(
            policy,
            { action: "secretsmanager:PutSecretValue", resource: appKey },
            "ImplicitlyDenied",
          );
          if (role !== "webhook-role-policy") {
            await expectDecision(policy, getSecret(webhookSecret), "ImplicitlyDenied");
          }
        });
      }

      if (mode === "queue") {
        it("the queue-mode webhook cannot read the App's private key", async () => {
          await expectDecision(
            rolePolicy("webhook-role-policy"),
            getSecret(appKey),
            "ImplicitlyDenied",
          );
        });
      }

      it("the build and clone roles cannot read the App's private key", async () => {
        for (const role of [
          "build-role-policy",
          "pr-build-role-policy",
          "pipeline-clone-role-policy",
        ]) {
          await expectDecision(rolePolicy(role), getSecret(appKey), "ImplicitlyDenied");
        }
      });
    });
  }
});
