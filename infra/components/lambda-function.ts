/**
 * One Lambda of the stack with what it cannot run without: its log group (with a retention), its role
 * (trusting Lambda only) and the role's inline policy (and any additional ones: the previews'), then
 * the function itself (nodejs22.x, arm64, an esbuild bundle whose `index.js` exports `handler`, JSON
 * logs into that log group), created once the policies are in place. IAM counts a role's inline
 * policies together: the program refuses them, naming the role, when they would outgrow its limit.
 *
 * The policy is the caller's statements (built by the pure functions of infra/policies.ts) followed
 * by writing to this log group, which the component always grants and nothing else grants.
 * Writing to the log group is also all the functions' metrics need: they are embedded metric format
 * log lines (functions/adapters/metrics.ts) that CloudWatch Logs turns into metrics, so no role is
 * granted `cloudwatch:PutMetricData`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LAMBDA_HANDLER } from "../bundle";
import {
  assumeRolePolicy,
  documentOf,
  inlinePoliciesJson,
  lambdaRolePolicy,
  type PolicyStatement,
} from "../policies";

export const LAMBDA_RUNTIME = "nodejs22.x";
export const LAMBDA_ARCHITECTURE = "arm64";

export interface LambdaFunctionArgs {
  /** The function's description. */
  description: pulumi.Input<string>;
  /** The role's description. */
  roleDescription: pulumi.Input<string>;
  /** The deployment archive (see `functionArchive`). */
  code: pulumi.Input<pulumi.asset.Archive>;
  /** The function's environment variables (ARNs of secrets, never their values). */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  timeoutSeconds: pulumi.Input<number>;
  memoryMb: pulumi.Input<number>;
  logRetentionDays: pulumi.Input<number>;
  /** What the function may do besides writing its logs (e.g. `webhookRoleStatements(...)`). */
  policyStatements: pulumi.Input<PolicyStatement[]>;
  /**
   * More inline policies of the role, by name suffix: each is the role policy `<name>-role-<suffix>`
   * (e.g. `previews`: `previewManagementStatements(...)`); `undefined`: the role has one policy.
   */
  additionalPolicies?: Record<string, pulumi.Input<PolicyStatement[]>> | undefined;
}

export class LambdaFunction extends pulumi.ComponentResource {
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  /** The role's inline policy: what must outlive anything that invokes the function. */
  public readonly rolePolicy: aws.iam.RolePolicy;
  /** Every inline policy of the role: `rolePolicy`, then the additional ones in their order. */
  public readonly rolePolicies: aws.iam.RolePolicy[];
  public readonly function: aws.lambda.Function;

  /**
   * Components of the stack pass their own `name`, so the children keep their names
   * (`<name>-logs`, `<name>-role`, `<name>-role-policy`, `<name>-function`).
   */
  constructor(name: string, args: LambdaFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:lambda:Function", name, {}, opts);
    const parent: pulumi.CustomResourceOptions = { parent: this };

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { retentionInDays: args.logRetentionDays },
      parent,
    );

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: JSON.stringify(assumeRolePolicy("lambda.amazonaws.com")),
        description: args.roleDescription,
      },
      parent,
    );

    // IAM counts a role's inline policies together: all of them are sized at once.
    const additional = Object.entries(args.additionalPolicies ?? {});
    const texts = pulumi
      .all([
        args.policyStatements,
        this.logGroup.arn,
        pulumi.all(additional.map(([, statements]) => statements)),
      ])
      .apply(([statements, logGroupArn, more]) =>
        inlinePoliciesJson(`the role of ${name}`, [
          lambdaRolePolicy(statements, logGroupArn),
          ...more.map((extra) => documentOf(extra)),
        ]),
      );
    const text = (index: number): pulumi.Output<string> =>
      texts.apply((all) => all[index] as string);

    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      { role: this.role.id, policy: text(0) },
      parent,
    );
    this.rolePolicies = [
      this.rolePolicy,
      ...additional.map(
        ([suffix], index) =>
          new aws.iam.RolePolicy(
            `${name}-role-${suffix}`,
            { role: this.role.id, policy: text(index + 1) },
            parent,
          ),
      ),
    ];

    this.function = new aws.lambda.Function(
      `${name}-function`,
      {
        description: args.description,
        runtime: LAMBDA_RUNTIME,
        architectures: [LAMBDA_ARCHITECTURE],
        handler: LAMBDA_HANDLER,
        code: args.code,
        memorySize: args.memoryMb,
        timeout: args.timeoutSeconds,
        role: this.role.arn,
        environment: { variables: args.environment },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
      },
      { ...parent, dependsOn: this.rolePolicies },
    );

    this.registerOutputs({
      functionName: this.function.name,
      functionArn: this.function.arn,
      roleArn: this.role.arn,
      logGroupName: this.logGroup.name,
    });
  }
}
