/**
 * The reconciler: a Lambda (nodejs22.x, arm64, an esbuild bundle of functions/reconcile) that an
 * EventBridge schedule runs every few minutes and operators may invoke on demand with `{}`. One sweep
 * makes the clones match the repository's open pull requests, so a lost webhook delivery heals by
 * itself. Its role is the webhook handler's clone management plus ListPipelines.
 *
 * It also tears down on `pulumi destroy`: an `aws.lambda.Invocation` with lifecycle scope CRUD invokes
 * the function when the stack is destroyed (`{"branchline":"teardown","tf":{"action":"delete",...}}`),
 * and the function removes every managed clone and pull request image, or fails, which stops the
 * destroy with the reason. The invocation depends on the function, its role policy and its log group,
 * so it is deleted (and the teardown runs) while they, the clone role and the pull request repositories
 * still exist (the role policy names them); the schedule's target depends on it, so no sweep is
 * scheduled any more when it runs. On create and update the function does nothing.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../functions/shared/names";
import {
  reconcilerRoleStatements,
  servicesReconcilerRoleStatements,
  type AccountScope,
} from "../policies";
import {
  cloneManagerVariables,
  type CloneManagerArgs,
  gitHubAppVariables,
  type GitHubAppAccess,
  cloneManagerPolicyInputs,
  servicesPolicyInputs,
  previewRolePolicies,
} from "./clone-manager";
import { LambdaFunction } from "./lambda-function";
import { replaceWithServicesFile, type ManyServices } from "./webhook";

/**
 * The member the invocation resource adds to its input with lifecycle scope CRUD (its
 * `terraformKey`); functions/reconcile/handler.ts reads the same key (`LIFECYCLE_KEY`).
 */
export const TEARDOWN_LIFECYCLE_KEY = "tf";

/** The teardown invocation's input (the lifecycle member is added by the provider). */
export const TEARDOWN_INPUT = JSON.stringify({ branchline: "teardown" });

/** The Lambda's timeout; the handler keeps 5 s of it back to log and answer. */
export const RECONCILER_TIMEOUT_SECONDS = 300;

export interface ReconcilerArgs extends CloneManagerArgs {
  /** The Lambda deployment archive (see `functionArchive`). */
  code: pulumi.Input<pulumi.asset.Archive>;
  /**
   * The GitHub token's secret; `undefined`: none (the sweep then reads pull requests anonymously and
   * reports what it could not check).
   */
  githubTokenSecretArn: pulumi.Input<string> | undefined;
  /**
   * The GitHub App the function authenticates as instead of a token (never both); `undefined`:
   * none. Its private key's secret is the one GitHub secret the role may read.
   */
  githubApp?: GitHubAppAccess | undefined;
  /**
   * The webhook's URL (`WEBHOOK_URL`): the function finds the repository's GitHub hook by it, to
   * redeliver the hook's failed deliveries.
   */
  webhookUrl: pulumi.Input<string>;
  /** An EventBridge schedule expression: `rate(...)` or `cron(...)`. */
  schedule: pulumi.Input<string>;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
  /** The many-service stack's routing table and services (see the webhook's). */
  services?: ManyServices | undefined;
}

export class Reconciler extends pulumi.ComponentResource {
  public readonly function: aws.lambda.Function;
  public readonly functionName: pulumi.Output<string>;
  /** The function's CloudWatch Logs group. */
  public readonly logGroupName: pulumi.Output<string>;
  public readonly scheduleRule: aws.cloudwatch.EventRule;
  /**
   * Invokes the function on `pulumi destroy` to remove the clones and pull request images. Resources
   * that must not act after the teardown (the GitHub webhook) should depend on it.
   */
  public readonly teardown: aws.lambda.Invocation;

  constructor(name: string, args: ReconcilerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:reconciler:Reconciler", name, {}, opts);
    const parent = { parent: this };

    const variables = cloneManagerVariables(args);
    variables[ENV.webhookUrl] = args.webhookUrl;
    if (args.githubTokenSecretArn !== undefined) {
      variables[ENV.githubTokenSecretArn] = args.githubTokenSecretArn;
    }
    Object.assign(variables, gitHubAppVariables(args.githubApp));
    // The one GitHub secret the role reads: the token's, or the App's private key.
    const githubSecretArn = args.githubTokenSecretArn ?? args.githubApp?.privateKeySecretArn;
    const services = args.services;
    if (services !== undefined) replaceWithServicesFile(variables, services.file);

    const lambda = new LambdaFunction(
      name,
      {
        description: "branchline: makes the clones match the open pull requests",
        roleDescription: "branchline: the reconciler's role",
        code: args.code,
        environment: variables,
        timeoutSeconds: RECONCILER_TIMEOUT_SECONDS,
        memoryMb: 512,
        logRetentionDays: args.logRetentionDays,
        policyStatements:
          services === undefined
            ? pulumi
                .output({
                  ...cloneManagerPolicyInputs(args),
                  githubTokenSecretArn: githubSecretArn,
                })
                .apply(reconcilerRoleStatements)
            : pulumi
                .output({
                  ...servicesPolicyInputs(args, services.set),
                  githubTokenSecretArn: githubSecretArn,
                })
                .apply((input) =>
                  servicesReconcilerRoleStatements({
                    ...input,
                    secretArns:
                      input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
                  }),
                ),
        // It removes the previews of closed pull requests and scales idle ones to zero.
        managedPolicies: previewRolePolicies(args.previewSet, { traffic: true }),
      },
      parent,
    );
    this.function = lambda.function;

    this.teardown = new aws.lambda.Invocation(
      `${name}-teardown`,
      {
        functionName: this.function.name,
        input: TEARDOWN_INPUT,
        lifecycleScope: "CRUD",
        terraformKey: TEARDOWN_LIFECYCLE_KEY,
      },
      { parent: this, dependsOn: [this.function, ...lambda.grants, lambda.logGroup] },
    );

    this.scheduleRule = new aws.cloudwatch.EventRule(
      `${name}-schedule`,
      {
        description: "branchline: runs the reconciler",
        scheduleExpression: args.schedule,
      },
      parent,
    );

    const permission = new aws.lambda.Permission(
      `${name}-schedule-permission`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "events.amazonaws.com",
        sourceArn: this.scheduleRule.arn,
      },
      parent,
    );

    new aws.cloudwatch.EventTarget(
      `${name}-schedule-target`,
      { rule: this.scheduleRule.name, arn: this.function.arn },
      // Removed before the teardown runs: no sweep recreates clones while they are being deleted.
      { parent: this, dependsOn: [permission, this.teardown] },
    );

    this.functionName = this.function.name;
    this.logGroupName = lambda.logGroup.name;
    this.registerOutputs({
      functionName: this.functionName,
      scheduleRuleArn: this.scheduleRule.arn,
    });
  }
}
