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
import { policyDocument, simulate, SimulationError, type Decision } from "../helpers/iam.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  runWithConfig,
  stubArchives,
} from "../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const connectionId = "00000000-0000-0000-0000-000000000000";
const stackConnection = `arn:aws:codeconnections:${at}:connection/${connectionId}`;
const otherConnection = `arn:aws:codeconnections:${at}:connection/11111111-1111-1111-1111-111111111111`;
const pipelineRole = `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-role-0000000`;
const repository = `arn:aws:ecr:${at}:repository/registry-repository-0000000`;
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

    for (const role of ["webhook-role-policy", "reconciler-role-policy"]) {
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

        it("creates and updates <source>-pr-1 only: not the source, not another pipeline", async () => {
          const policy = rolePolicy(role);
          const arn = (name: string) => `arn:aws:codepipeline:${at}:${name}`;
          for (const action of ["codepipeline:CreatePipeline", "codepipeline:UpdatePipeline"]) {
            await expectDecision(
              policy,
              { action, resource: arn("branchline-dev-pr-1") },
              "Allowed",
            );
            for (const name of ["branchline-dev", "payments", "payments-pr-1"]) {
              await expectDecision(policy, { action, resource: arn(name) }, "ImplicitlyDenied");
            }
          }
          await expectDecision(
            policy,
            { action: "codepipeline:DeletePipeline", resource: arn("branchline-dev") },
            "ImplicitlyDenied",
          );
        });

        it("passes the pipeline role to CodePipeline only, and no other role", async () => {
          const policy = rolePolicy(role);
          const to = (service: string) => ({ "iam:PassedToService": service });
          await expectDecision(
            policy,
            {
              action: "iam:PassRole",
              resource: pipelineRole,
              context: to("codepipeline.amazonaws.com"),
            },
            "Allowed",
          );
          await expectDecision(
            policy,
            {
              action: "iam:PassRole",
              resource: pipelineRole,
              context: to("codebuild.amazonaws.com"),
            },
            "ImplicitlyDenied",
          );
          await expectDecision(
            policy,
            {
              action: "iam:PassRole",
              resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/admin`,
              context: to("codepipeline.amazonaws.com"),
            },
            "ImplicitlyDenied",
          );
        });

        it("deletes images of the stack's repository only", async () => {
          const policy = rolePolicy(role);
          await expectDecision(
            policy,
            { action: "ecr:BatchDeleteImage", resource: repository },
            "Allowed",
          );
          await expectDecision(
            policy,
            { action: "ecr:BatchDeleteImage", resource: `arn:aws:ecr:${at}:repository/payments` },
            "ImplicitlyDenied",
          );
        });
      });
    }

    it("lets the pipeline role use the stack's connection under its own prefix only", async () => {
      const policy = rolePolicy("pipeline-role-policy");
      await expectDecision(
        policy,
        { action: "codeconnections:UseConnection", resource: stackConnection },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "codeconnections:UseConnection", resource: otherConnection },
        "ImplicitlyDenied",
      );
      expect(policy.Statement.find((statement) => statement.Sid === "UseConnection")).to.deep.equal(
        {
          Sid: "UseConnection",
          Effect: "Allow",
          Action: "codeconnections:UseConnection",
          Resource: stackConnection,
        },
      );
    });
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

    for (const role of ["webhook-role-policy", "reconciler-role-policy"]) {
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
        { action: "codestar-connections:UseConnection", resource: legacy },
        "Allowed",
      );
      expect(policy.Statement.find((s) => s.Sid === "UseConnection")).to.deep.equal({
        Sid: "UseConnection",
        Effect: "Allow",
        Action: "codestar-connections:UseConnection",
        Resource: legacy,
      });
    });
  });
});
