/**
 * The state table (replay protection) as the whole stack declares it, under Pulumi mocks: the table's
 * inputs exactly, the table name in the webhook, worker and reconciler environments (checked against
 * the handlers' settings reader), and the roles' statement on it, exactly and by simulation with
 * @cloud-copilot/iam-simulate: UpdateItem on this table and this source pipeline's keys only. Mocks
 * cannot prove that AWS accepts the table or the policy.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import { readSettings } from "../../../functions/app/settings.js";
import { ENV } from "../../../functions/shared/names.js";
import { loadConfig } from "../../../infra/config.js";
import { pullRequestMarksStatements, type PolicyDocument } from "../../../infra/policies.js";
import { createBranchline } from "../../../infra/program.js";
import {
  MOCK_ACCOUNT,
  recordedResources,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const TABLE_NAME = "state-table-0000000";
const TABLE_ARN = `arn:aws:dynamodb:${at}:table/${TABLE_NAME}`;

const marksStatement = {
  Sid: "AdvancePullRequestMarks",
  Effect: "Allow",
  Action: "dynamodb:UpdateItem",
  Resource: TABLE_ARN,
  Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": "branchline-dev#*" } },
};

function policyOf(resource: RecordedResource): PolicyDocument {
  const text = resource.inputs["policy"];
  expect(text, `${resource.name}.policy`).to.be.a("string");
  return JSON.parse(text as string) as PolicyDocument;
}

function variablesOf(resource: RecordedResource): Record<string, string> {
  return (resource.inputs["environment"] as { variables: Record<string, string> }).variables;
}

/** The simulator's verdict on one request made by a role with `policy`. */
async function decide(
  policy: PolicyDocument,
  action: string,
  resource: string,
  leadingKeys: string[] | undefined,
): Promise<string> {
  const response = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${MOCK_ACCOUNT}:role/worker-role-0000000`,
        action,
        resource: { resource, accountId: MOCK_ACCOUNT },
        contextVariables: leadingKeys === undefined ? {} : { "dynamodb:LeadingKeys": leadingKeys },
      },
      identityPolicies: [{ name: "role-policy", policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (response.resultType === "error") throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

describe("infra/components/state-table (the stack under Pulumi mocks)", () => {
  before(async () => {
    await runWithConfig(minimal, () => createBranchline(loadConfig(), stubArchives()), [
      "webhookSecret",
    ]);
  });

  it("declares one on-demand table keyed by pk, with TTL on expiresAt and no PITR or deletion protection", () => {
    const tables = resourcesOfType("aws:dynamodb/table:Table");
    expect(tables.map((t) => t.name)).to.deep.equal(["state-table"]);
    expect(resourceNamed("state-table").inputs).to.deep.equal({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      attributes: [{ name: "pk", type: "S" }],
      ttl: { attributeName: "expiresAt", enabled: true },
      pointInTimeRecovery: { enabled: false },
      deletionProtectionEnabled: false,
    });
    // Encryption at rest is DynamoDB's default (an AWS-owned key): no serverSideEncryption input.
    const components = recordedResources().filter((r) => r.type === "branchline:state:StateTable");
    expect(components.map((c) => c.name)).to.deep.equal(["state"]);
  });

  it("gives the webhook, the worker and the reconciler the table's name in the variable the handlers read", () => {
    for (const name of ["webhook-function", "worker-function", "reconciler-function"]) {
      const variables = variablesOf(resourceNamed(name));
      expect(variables[ENV.stateTableName], name).to.equal(TABLE_NAME);
      expect(readSettings({ ...variables, [ENV.webhookSecret]: "x" }).stateTableName).to.equal(
        TABLE_NAME,
      );
    }
    expect(variablesOf(resourceNamed("notifications-function"))).to.not.have.property(
      ENV.stateTableName,
    );
  });

  it("lets the worker and the reconciler update marks of this source pipeline on this table, and nothing more", () => {
    for (const name of ["worker-role-policy", "reconciler-role-policy"]) {
      const statements = policyOf(resourceNamed(name)).Statement;
      expect(
        statements.filter((s) => JSON.stringify(s.Action).includes("dynamodb:")),
      ).to.deep.equal([marksStatement]);
    }
    // The reconciler's right before writing the logs, which stays last.
    const reconciler = policyOf(resourceNamed("reconciler-role-policy")).Statement;
    expect(reconciler[reconciler.length - 2]).to.deep.equal(marksStatement);
    // The webhook only queues deliveries; notify never writes marks.
    for (const name of ["webhook-role-policy", "notifications-role-policy"]) {
      expect(JSON.stringify(policyOf(resourceNamed(name))), name).to.not.include("dynamodb");
    }
  });

  describe("by simulation (@cloud-copilot/iam-simulate)", () => {
    let policy: PolicyDocument;
    before(() => {
      policy = policyOf(resourceNamed("worker-role-policy"));
    });

    it("allows UpdateItem on the table for this source pipeline's keys", async () => {
      expect(await decide(policy, "dynamodb:UpdateItem", TABLE_ARN, ["branchline-dev#2"])).to.equal(
        "Allowed",
      );
    });

    it("denies another source pipeline's keys, including one whose name only starts alike", async () => {
      for (const key of ["other#2", "branchline-dev-2#2", "branchline-dev"]) {
        expect(await decide(policy, "dynamodb:UpdateItem", TABLE_ARN, [key]), key).to.equal(
          "ImplicitlyDenied",
        );
      }
    });

    it("denies another table and other DynamoDB actions", async () => {
      const other = `arn:aws:dynamodb:${at}:table/other-table`;
      expect(await decide(policy, "dynamodb:UpdateItem", other, ["branchline-dev#2"])).to.equal(
        "ImplicitlyDenied",
      );
      for (const action of [
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
      ]) {
        expect(await decide(policy, action, TABLE_ARN, ["branchline-dev#2"]), action).to.equal(
          "ImplicitlyDenied",
        );
      }
      expect(await decide(policy, "dynamodb:Scan", TABLE_ARN, undefined)).to.equal(
        "ImplicitlyDenied",
      );
      expect(await decide(policy, "dynamodb:DeleteTable", TABLE_ARN, undefined)).to.equal(
        "ImplicitlyDenied",
      );
    });
  });

  it("adds no statement without a table", () => {
    expect(pullRequestMarksStatements(undefined, "branchline-dev")).to.deep.equal([]);
  });
});
