/**
 * One Lambda of the stack with what it cannot run without: its log group (with a retention), its role
 * (trusting Lambda only) and the role's inline policy (and any customer managed ones: the previews',
 * see managed-policies.ts), then the function itself (nodejs22.x, arm64, an esbuild bundle whose
 * `index.js` exports `handler`, JSON logs into that log group), created once the policies are in
 * place. The program refuses the inline policy, naming the role, when it would outgrow IAM's limit,
 * and the managed ones when the role would have more than IAM's quota of them.
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
  inlinePolicyJson,
  lambdaRolePolicy,
  type PolicyStatement,
} from "../policies";
import { declareManagedPolicies, type ManagedPolicyStatements } from "./managed-policies";

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
   * Statements the role gets as customer managed policies, by name suffix: `<name>-role-<suffix>`,
   * `<name>-role-<suffix>-2`, ... each attached to the role (e.g. `previews`:
   * `previewManagementStatements(...)`); `undefined`: the role has its inline policy only.
   */
  managedPolicies?: Record<string, ManagedPolicyStatements> | undefined;
}

/** The role has no managed policy besides the ones of `managedPolicies`. */
const OTHER_MANAGED_POLICIES = 0;

export class LambdaFunction extends pulumi.ComponentResource {
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  /** The role's inline policy: what must outlive anything that invokes the function. */
  public readonly rolePolicy: aws.iam.RolePolicy;
  /** The role's customer managed policies (`managedPolicies`), in their order. */
  public readonly managedPolicies: aws.iam.Policy[];
  /**
   * Every grant of the role, what the function starts after (and anything that invokes it should):
   * `rolePolicy`, then each managed policy's attachment.
   */
  public readonly grants: pulumi.Resource[];
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

    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([args.policyStatements, this.logGroup.arn])
          .apply(([statements, logGroupArn]) =>
            inlinePolicyJson(`the role of ${name}`, lambdaRolePolicy(statements, logGroupArn)),
          ),
      },
      parent,
    );
    // IAM's quota counts every managed policy of the role: each suffix's after the ones before it.
    this.managedPolicies = [];
    this.grants = [this.rolePolicy];
    for (const [suffix, statements] of Object.entries(args.managedPolicies ?? {})) {
      const declared = declareManagedPolicies(
        `${name}-role-${suffix}`,
        {
          ...statements,
          role: this.role,
          roleLabel: `the role of ${name}`,
          attached: OTHER_MANAGED_POLICIES + this.managedPolicies.length,
        },
        parent,
      );
      this.managedPolicies.push(...declared.policies);
      this.grants.push(...declared.attachments);
    }

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
      { ...parent, dependsOn: this.grants },
    );

    this.registerOutputs({
      functionName: this.function.name,
      functionArn: this.function.arn,
      roleArn: this.role.arn,
      logGroupName: this.logGroup.name,
    });
  }
}
