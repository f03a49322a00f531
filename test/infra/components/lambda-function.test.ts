/**
 * The Lambda component on its own, under Pulumi mocks: exactly four children with the names derived
 * from the component's, their inputs and the role's policy JSON, exactly, and each child's URN under
 * the component's type. Mocks cannot prove that AWS accepts the policy; the whole stack's Lambdas are
 * asserted in program.test.ts and the components' tests. Then statements given as customer managed
 * policies: packed, named, attached and waited for.
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
import { dependenciesOf, recordDependencies } from "../record-dependencies.js";

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

describe("infra/components/lambda-function: statements as customer managed policies", () => {
  /** A statement of about `length` characters of JSON. */
  const statement = (sid: string, length: number): PolicyStatement => ({
    Sid: sid,
    Effect: "Allow",
    Action: "s3:GetObject",
    Resource: `arn:aws:s3:::${"b".repeat(length - 80)}/*`,
  });
  const statements = [statement("First", 4000), statement("Second", 4000), statement("Third", 100)];
  const declare = (bounds: PolicyStatement[]) => () =>
    new LambdaFunction("probe", {
      description: "branchline: a probe",
      roleDescription: "branchline: the probe's role",
      code: stubArchives().notify,
      environment: {},
      timeoutSeconds: 45,
      memoryMb: 384,
      logRetentionDays: 14,
      policyStatements: [publish],
      managedPolicies: {
        extra: {
          description: "branchline: a probe's extra grants",
          statements: pulumi.output(statements),
          bounds,
        },
      },
    });

  it("packs them in order into `<name>-role-<suffix>`, `-2`, ... each attached to the role; the function starts after the attachments", async () => {
    await recordDependencies();
    const { result: component, resources } = await runWithConfig({}, declare(statements));
    expect(resources.map((r) => `${r.type} ${r.name}`).sort()).to.deep.equal([
      "aws:cloudwatch/logGroup:LogGroup probe-logs",
      "aws:iam/policy:Policy probe-role-extra",
      "aws:iam/policy:Policy probe-role-extra-2",
      "aws:iam/role:Role probe-role",
      "aws:iam/rolePolicy:RolePolicy probe-role-policy",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment probe-role-extra-2-attachment",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment probe-role-extra-attachment",
      "aws:lambda/function:Function probe-function",
      "branchline:lambda:Function probe",
    ]);
    const inputs = (name: string) => resources.find((r) => r.name === name)?.inputs;
    expect(inputs("probe-role-extra")).to.deep.equal({
      description: "branchline: a probe's extra grants (part 1)",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: statements.slice(0, 1) }),
    });
    expect(inputs("probe-role-extra-2")).to.deep.equal({
      description: "branchline: a probe's extra grants (part 2)",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: statements.slice(1) }),
    });
    expect(inputs("probe-role-extra-attachment")).to.deep.equal({
      role: "probe-role-id",
      policyArn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/probe-role-extra-0000000`,
    });
    expect(inputs("probe-role-extra-2-attachment")).to.deep.equal({
      role: "probe-role-id",
      policyArn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/probe-role-extra-2-0000000`,
    });
    // The inline policy holds the caller's statements and the logs only.
    expect(
      (JSON.parse(inputs("probe-role-policy")?.["policy"] as string) as { Statement: unknown[] })
        .Statement,
    ).to.have.length(2);
    expect(component.managedPolicies).to.have.length(2);
    expect(component.grants).to.have.length(3);
    expect(dependenciesOf("probe-function")).to.include.members([
      "probe-role-policy",
      "probe-role-extra-attachment",
      "probe-role-extra-2-attachment",
    ]);
    // Parented to the component, as its other children.
    expect(await unwrap(component.managedPolicies[1]?.urn as pulumi.Output<string>)).to.equal(
      `urn:pulumi:${MOCK_STACK}::${MOCK_PROJECT}::branchline:lambda:Function$aws:iam/policy:Policy::probe-role-extra-2`,
    );
  });

  it("lays them out from their bounds: the policies are those the bounds need", async () => {
    // Bounds longer than the statements: each statement in a policy of its own.
    const bounds = statements.map((s) => statement(s.Sid as string, 4000));
    const { resources } = await runWithConfig({}, declare(bounds));
    expect(
      resources
        .filter((r) => r.type === "aws:iam/policy:Policy")
        .map((r) => [
          r.name,
          (
            JSON.parse(r.inputs["policy"] as string) as { Statement: PolicyStatement[] }
          ).Statement.map((s) => s.Sid),
        ]),
    ).to.deep.equal([
      ["probe-role-extra", ["First"]],
      ["probe-role-extra-2", ["Second"]],
      ["probe-role-extra-3", ["Third"]],
    ]);
  });

  it("refuses a role beyond 10 managed policies: the program fails, naming the role and the count", async () => {
    const bounds = Array.from({ length: 11 }, (_, i) => statement(`S${i}`, 4000));
    let failure: unknown;
    await runWithConfig({}, declare(bounds)).catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).message).to.match(
      /^the role of probe would have 11 managed policies attached \(0 \+ 11 of 6144 characters at most\), IAM allows 10 per role by default/,
    );
  });
});
