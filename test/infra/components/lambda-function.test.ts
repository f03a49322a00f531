/**
 * The Lambda component on its own, under Pulumi mocks: exactly four children with the names derived
 * from the component's, their inputs and the role's policy JSON, exactly, and each child's URN under
 * the component's type. Mocks cannot prove that AWS accepts the policy; the whole stack's Lambdas are
 * asserted in program.test.ts and the components' tests.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { LambdaFunction } from "../../../infra/components/lambda-function.js";
import type { PolicyStatement } from "../../../infra/policies.js";
import {
  archiveFileText,
  MOCK_ACCOUNT,
  MOCK_PROJECT,
  MOCK_STACK,
  runWithConfig,
  stubArchives,
  stubBundle,
  unwrap,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";

const at = `eu-west-1:${MOCK_ACCOUNT}`;
const publish: PolicyStatement = {
  Sid: "PublishNotifications",
  Effect: "Allow",
  Action: "sns:Publish",
  Resource: `arn:aws:sns:${at}:probe-topic`,
};

describe("infra/components/lambda-function (on its own, under Pulumi mocks)", () => {
  let component: LambdaFunction;
  let resources: RecordedResource[];
  before(async () => {
    ({ result: component, resources } = await runWithConfig({}, () => {
      return new LambdaFunction("probe", {
        description: "branchline: a probe",
        roleDescription: "branchline: the probe's role",
        code: stubArchives().notify,
        environment: { PLAIN: "value", FROM_OUTPUT: pulumi.output("resolved") },
        timeoutSeconds: 45,
        memoryMb: 384,
        logRetentionDays: 14,
        policyStatements: pulumi.output([publish]),
      });
    }));
  });

  function inputsOf(name: string): Record<string, unknown> {
    const found = resources.filter((r) => r.name === name && !r.type.startsWith("branchline:"));
    expect(found, name).to.have.length(1);
    return (found[0] as RecordedResource).inputs;
  }

  it("declares the component and four children named after it", () => {
    expect(resources.map((r) => `${r.type} ${r.name}`).sort()).to.deep.equal([
      "aws:cloudwatch/logGroup:LogGroup probe-logs",
      "aws:iam/role:Role probe-role",
      "aws:iam/rolePolicy:RolePolicy probe-role-policy",
      "aws:lambda/function:Function probe-function",
      "branchline:lambda:Function probe",
    ]);
  });

  it("parents every child to the component", async () => {
    const urns = await Promise.all(
      [component.logGroup, component.role, component.function].map((child) => unwrap(child.urn)),
    );
    const prefix = `urn:pulumi:${MOCK_STACK}::${MOCK_PROJECT}::branchline:lambda:Function$`;
    expect(urns).to.deep.equal([
      `${prefix}aws:cloudwatch/logGroup:LogGroup::probe-logs`,
      `${prefix}aws:iam/role:Role::probe-role`,
      `${prefix}aws:lambda/function:Function::probe-function`,
    ]);
  });

  it("keeps the logs for the given days and lets Lambda alone assume the role", () => {
    expect(inputsOf("probe-logs")).to.deep.equal({ retentionInDays: 14 });
    expect(inputsOf("probe-role")).to.deep.equal({
      description: "branchline: the probe's role",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      }),
    });
  });

  it("grants the caller's statements, then writing to its own log group only", () => {
    expect(inputsOf("probe-role-policy")).to.deep.equal({
      role: "probe-role-id",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          publish,
          {
            Sid: "WriteLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `arn:aws:logs:${at}:log-group:probe-logs-0000000:*`,
          },
        ],
      }),
    });
  });

  it("runs the archive on nodejs22.x arm64 with JSON logs into its log group", async () => {
    const { code, ...rest } = inputsOf("probe-function");
    expect(await archiveFileText(code, "index.js")).to.equal(stubBundle("notify"));
    expect(rest).to.deep.equal({
      description: "branchline: a probe",
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      memorySize: 384,
      timeout: 45,
      role: `arn:aws:iam::${MOCK_ACCOUNT}:role/probe-role-0000000`,
      environment: { variables: { PLAIN: "value", FROM_OUTPUT: "resolved" } },
      loggingConfig: { logFormat: "JSON", logGroup: "probe-logs-0000000" },
    });
  });
});
