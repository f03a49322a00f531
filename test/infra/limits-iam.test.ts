/**
 * What clone limits and idle expiry add to the roles, proven by simulation (the role policies as the
 * program declares them under Pulumi mocks, evaluated by @cloud-copilot/iam-simulate): counting the
 * clones (ListPipelines) for the functions that create clones, and the idle markers (GetItem,
 * DeleteItem, UpdateItem) on this stack's keys of the state table only; none of it without the keys.
 */
import { expect } from "chai";
import { loadConfig } from "../../infra/config.js";
import type { PolicyDocument } from "../../infra/policies.js";
import { createBranchline } from "../../infra/program.js";
import { policyDocument, simulate, type Decision } from "../helpers/iam.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  runWithConfig,
  stubArchives,
} from "../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret", githubToken: "ghp_test" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const table = `arn:aws:dynamodb:${at}:table/state-table-0000000`;
const keys = (key: string) => ({ "dynamodb:LeadingKeys": [key] });

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

describe("IAM grants by simulation: clone limits and idle expiry", () => {
  describe("branchline:maxClones and branchline:idleDays set", () => {
    before(async () => {
      await synth({ ...minimal, maxClones: "10", idleDays: "14" });
    });

    for (const role of ["worker-role-policy", "reconciler-role-policy"]) {
      it(`${role}: counts the clones (ListPipelines, names only)`, async () => {
        await expectDecision(
          rolePolicy(role),
          { action: "codepipeline:ListPipelines", resource: "*" },
          "Allowed",
        );
      });

      it(`${role}: reads, writes and clears this source pipeline's idle markers only`, async () => {
        const policy = rolePolicy(role);
        for (const action of ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"]) {
          await expectDecision(
            policy,
            { action, resource: table, context: keys("branchline-dev#7#idle") },
            "Allowed",
          );
          await expectDecision(
            policy,
            { action, resource: table, context: keys("other#7#idle") },
            "ImplicitlyDenied",
          );
        }
        await expectDecision(
          policy,
          { action: "dynamodb:PutItem", resource: table, context: keys("branchline-dev#7#idle") },
          "ImplicitlyDenied",
        );
        await expectDecision(
          policy,
          { action: "dynamodb:Scan", resource: table },
          "ImplicitlyDenied",
        );
      });
    }

    it("the queue mode's webhook (no clones) gets none of it", async () => {
      const policy = rolePolicy("webhook-role-policy");
      await expectDecision(
        policy,
        { action: "codepipeline:ListPipelines", resource: "*" },
        "ImplicitlyDenied",
      );
      await expectDecision(
        policy,
        { action: "dynamodb:GetItem", resource: table, context: keys("branchline-dev#7#idle") },
        "ImplicitlyDenied",
      );
    });
  });

  describe("inline mode with a clone limit: the webhook counts the clones", () => {
    before(async () => {
      await synth({ ...minimal, maxClones: "10", delivery: { mode: "inline" } });
    });

    it("ListPipelines allowed; no idle markers without idleDays", async () => {
      const policy = rolePolicy("webhook-role-policy");
      await expectDecision(
        policy,
        { action: "codepipeline:ListPipelines", resource: "*" },
        "Allowed",
      );
      await expectDecision(
        policy,
        { action: "dynamodb:GetItem", resource: table, context: keys("branchline-dev#7#idle") },
        "ImplicitlyDenied",
      );
    });
  });

  describe("neither set", () => {
    before(async () => {
      await synth(minimal);
    });

    it("the worker gets no ListPipelines and no GetItem or DeleteItem", async () => {
      const policy = rolePolicy("worker-role-policy");
      await expectDecision(
        policy,
        { action: "codepipeline:ListPipelines", resource: "*" },
        "ImplicitlyDenied",
      );
      for (const action of ["dynamodb:GetItem", "dynamodb:DeleteItem"]) {
        await expectDecision(
          policy,
          { action, resource: table, context: keys("branchline-dev#7#idle") },
          "ImplicitlyDenied",
        );
      }
    });
  });
});
