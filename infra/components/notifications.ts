/**
 * Feedback on executions: an EventBridge rule on the execution state changes of the source pipeline
 * and its clones -> the notify Lambda (nodejs22.x, arm64, an esbuild bundle of functions/notify),
 * which sets the commit status and the pull request comment (with a GitHub token) and publishes a
 * readable message to an SNS topic on success and failure; an optional email subscription.
 *
 * The topic is encrypted with the AWS-managed key `alias/aws/sns` and keeps SNS's default access
 * policy (only principals of this account may publish or subscribe): the stack adds no topic policy.
 * The notify function publishes through its role; EventBridge never publishes to the topic.
 *
 * When the stack's CloudWatch alarms publish to the topic too (`alarms`: the functions' error alarms
 * in every stack, and the delivery alarms with durable delivery), the
 * AWS-managed key will not do: CloudWatch cannot use it and its key policy cannot be changed, so an
 * alarm action on a topic it encrypts fails without a trace. The topic then has its own KMS key
 * (rotated yearly) whose policy lets the account's principals use it through SNS, as the AWS-managed
 * key does, and CloudWatch for the stack's alarms only; and a topic policy granting the account what
 * SNS's default policy grants plus publishing to CloudWatch for the same alarms.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CLONE_INFIX, cloneNameWildcard, ENV } from "../../functions/shared/names";
import {
  type AlarmNamePrefixes,
  notificationKeyPolicy,
  notificationTopicPolicy,
  notifierRoleStatements,
  servicesNotifierRoleStatements,
  type AccountScope,
  type ServiceSet,
} from "../policies";
import type { PreviewConfig } from "../config";
import { gitHubAppVariables, type GitHubAppAccess } from "./clone-manager";
import { LambdaFunction } from "./lambda-function";
import type { ManyServices } from "./webhook";

/** The Lambda's timeout; the handler gives one event at most 20 s. */
export const NOTIFIER_TIMEOUT_SECONDS = 30;

/** The AWS-managed KMS key of SNS. */
export const SNS_MANAGED_KEY = "alias/aws/sns";

export const EXECUTION_STATE_CHANGE = "CodePipeline Pipeline Execution State Change";

/** The stage and action state changes that edit a clone execution's check run (GitHub App only). */
export const STEP_STATE_CHANGES = [
  "CodePipeline Stage Execution State Change",
  "CodePipeline Action Execution State Change",
];

/**
 * The EventBridge pattern matching the stage and action state changes of the clones only (the
 * source pipeline has no check run), in the stack's own account and region: with one service the
 * clones' name stem, with many every `<prefix>-*-pr-*`.
 */
export function stepEventPattern(
  clones: { sourcePipelineName: string } | { prefix: string },
  scope: Pick<AccountScope, "accountId" | "region">,
): object {
  return {
    source: ["aws.codepipeline"],
    "detail-type": STEP_STATE_CHANGES,
    account: [scope.accountId],
    region: [scope.region],
    detail: {
      pipeline: [
        "sourcePipelineName" in clones
          ? { prefix: cloneNameWildcard(clones.sourcePipelineName).slice(0, -1) }
          : { wildcard: `${clones.prefix}-*${CLONE_INFIX}*` },
      ],
    },
  };
}

/**
 * The EventBridge pattern matching the execution state changes of the source pipeline and of its
 * clones (every clone name starts with the clone wildcard's stem), in the stack's own account and
 * region only: events other accounts send to this bus do not invoke the function (which checks
 * the same again against its own ARN).
 */
export function executionEventPattern(
  sourcePipelineName: string,
  scope: Pick<AccountScope, "accountId" | "region">,
): object {
  const wildcard = cloneNameWildcard(sourcePipelineName);
  return {
    source: ["aws.codepipeline"],
    "detail-type": [EXECUTION_STATE_CHANGE],
    account: [scope.accountId],
    region: [scope.region],
    detail: {
      pipeline: [sourcePipelineName, { prefix: wildcard.slice(0, -1) }],
    },
  };
}

export interface NotificationsArgs {
  /** The Lambda deployment archive (see `functionArchive`). */
  code: pulumi.Input<pulumi.asset.Archive>;
  sourcePipelineName: pulumi.Input<string>;
  /** The GitHub token's secret; `undefined`: no commit statuses or comments, notifications only. */
  githubTokenSecretArn: pulumi.Input<string> | undefined;
  /**
   * The GitHub App the function authenticates as instead of a token (never both); `undefined`:
   * none. Its private key's secret is the one GitHub secret the role may read.
   */
  githubApp?: GitHubAppAccess | undefined;
  /** Subscribes this address to the topic (AWS mails a confirmation link); `undefined`: none. */
  email: string | undefined;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
  /**
   * The many-service stack: the routing table file (`BRANCHLINE_SERVICES_FILE`, instead of
   * `SOURCE_PIPELINE_NAME`), and the rule matches every pipeline of the stack's prefix.
   */
  services?: (ManyServices & { prefix: string }) | undefined;
  /**
   * The stack's CloudWatch alarms publish to the topic: their names start with `alarmNamePrefix`
   * (one of them, when several). `undefined`: no alarm does (the topic keeps the AWS-managed key and
   * SNS's default policy).
   */
  alarms?: { alarmNamePrefix: AlarmNamePrefixes } | undefined;
  /**
   * The pull request build projects whose failing builds' logs a clone's check run shows (one
   * service; the many-service stack names them by its prefix). Check runs need the GitHub App:
   * without one, no stage or action events are sent and the role reads no build or log.
   */
  prBuildProjects?: pulumi.Input<string[]> | undefined;
  /**
   * The one service's preview settings (`PREVIEW_SETTINGS`): the comment's Preview row and the
   * preview's deployments; a routing table carries them per service. `undefined`: no previews.
   */
  preview?: pulumi.Input<PreviewConfig> | undefined;
}

/**
 * The many-service pattern: every pipeline named `<prefix>-...` (the services' source pipelines and
 * their clones), in the stack's account and region; the function ignores pipelines of no service.
 */
export function servicesExecutionEventPattern(
  prefix: string,
  scope: Pick<AccountScope, "accountId" | "region">,
): object {
  return {
    source: ["aws.codepipeline"],
    "detail-type": [EXECUTION_STATE_CHANGE],
    account: [scope.accountId],
    region: [scope.region],
    detail: { pipeline: [{ prefix: `${prefix}-` }] },
  };
}

export class Notifications extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  public readonly topicArn: pulumi.Output<string>;
  public readonly function: aws.lambda.Function;
  /** The function's CloudWatch Logs group. */
  public readonly logGroupName: pulumi.Output<string>;
  public readonly rule: aws.cloudwatch.EventRule;
  /** The clones' stage and action state changes (with a GitHub App only). */
  public readonly stepRule: aws.cloudwatch.EventRule | undefined;

  constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:notifications:Notifications", name, {}, opts);
    const parent = { parent: this };
    const alarms = args.alarms;

    let topicKey: aws.kms.Key | undefined;
    if (alarms !== undefined) {
      topicKey = new aws.kms.Key(
        `${name}-key`,
        {
          description: "branchline: encrypts the notification topic (usable by the stack's alarms)",
          enableKeyRotation: true,
          policy: pulumi
            .output(args.scope)
            .apply((scope) => JSON.stringify(notificationKeyPolicy(scope, alarms.alarmNamePrefix))),
        },
        parent,
      );
    }

    this.topic = new aws.sns.Topic(
      `${name}-topic`,
      {
        displayName: "branchline",
        kmsMasterKeyId: topicKey === undefined ? SNS_MANAGED_KEY : topicKey.arn,
      },
      parent,
    );

    if (alarms !== undefined) {
      new aws.sns.TopicPolicy(
        `${name}-topic-policy`,
        {
          arn: this.topic.arn,
          policy: pulumi
            .all([this.topic.arn, args.scope])
            .apply(([topicArn, scope]) =>
              JSON.stringify(notificationTopicPolicy(topicArn, scope, alarms.alarmNamePrefix)),
            ),
        },
        parent,
      );
    }

    if (args.email !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-email`,
        { topic: this.topic.arn, protocol: "email", endpoint: args.email },
        parent,
      );
    }

    const variables: Record<string, pulumi.Input<string>> = {
      [ENV.sourcePipelineName]: args.sourcePipelineName,
      [ENV.notificationTopicArn]: this.topic.arn,
    };
    if (args.preview !== undefined && args.services === undefined) {
      variables[ENV.preview] = pulumi.output(args.preview).apply((p) => JSON.stringify(p));
    }
    if (args.githubTokenSecretArn !== undefined) {
      variables[ENV.githubTokenSecretArn] = args.githubTokenSecretArn;
    }
    Object.assign(variables, gitHubAppVariables(args.githubApp));
    // The one GitHub secret the role reads: the token's, or the App's private key.
    const githubSecretArn = args.githubTokenSecretArn ?? args.githubApp?.privateKeySecretArn;
    const services = args.services;
    const checks = args.githubApp !== undefined;
    if (services !== undefined) {
      Reflect.deleteProperty(variables, ENV.sourcePipelineName);
      variables[ENV.servicesFile] = services.file;
    }

    const lambda = new LambdaFunction(
      name,
      {
        description: "branchline: reports pipeline executions to GitHub and the SNS topic",
        roleDescription: "branchline: the notify function's role",
        code: args.code,
        environment: variables,
        timeoutSeconds: NOTIFIER_TIMEOUT_SECONDS,
        memoryMb: 256,
        logRetentionDays: args.logRetentionDays,
        policyStatements:
          services === undefined
            ? pulumi
                .output({
                  scope: args.scope,
                  sourcePipelineName: args.sourcePipelineName,
                  topicArn: this.topic.arn,
                  githubTokenSecretArn: githubSecretArn,
                  prBuildProjects: args.prBuildProjects ?? [],
                })
                .apply(({ prBuildProjects, ...input }) =>
                  notifierRoleStatements({
                    ...input,
                    ...(checks ? { checks: { prBuildProjects } } : {}),
                  }),
                )
            : pulumi
                .output({
                  set: services.set as pulumi.Input<ServiceSet>,
                  topicArn: this.topic.arn,
                  githubTokenSecretArn: githubSecretArn,
                  ...(checks ? { checks: true } : {}),
                })
                .apply(servicesNotifierRoleStatements),
      },
      parent,
    );
    this.function = lambda.function;
    this.logGroupName = lambda.logGroup.name;

    this.rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      {
        description: "branchline: execution state changes of the source pipeline and its clones",
        eventPattern: pulumi
          .output({ source: args.sourcePipelineName, scope: args.scope })
          .apply(({ source, scope }) =>
            JSON.stringify(
              services === undefined
                ? executionEventPattern(source, scope)
                : servicesExecutionEventPattern(services.prefix, scope),
            ),
          ),
      },
      parent,
    );

    const permission = new aws.lambda.Permission(
      `${name}-permission`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "events.amazonaws.com",
        sourceArn: this.rule.arn,
      },
      parent,
    );

    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      { rule: this.rule.name, arn: this.function.arn },
      { parent: this, dependsOn: [permission] },
    );

    this.stepRule = checks ? this.stepRuleFor(name, args) : undefined;

    this.topicArn = this.topic.arn;
    this.registerOutputs({ topicArn: this.topicArn, functionName: this.function.name });
  }

  /** The clones' stage and action state changes -> the same function (their check runs). */
  private stepRuleFor(name: string, args: NotificationsArgs): aws.cloudwatch.EventRule {
    const services = args.services;
    const rule = new aws.cloudwatch.EventRule(
      `${name}-steps-rule`,
      {
        description: "branchline: stage and action state changes of the clones (check runs)",
        eventPattern: pulumi
          .output({ source: args.sourcePipelineName, scope: args.scope })
          .apply(({ source, scope }) =>
            JSON.stringify(
              stepEventPattern(
                services === undefined
                  ? { sourcePipelineName: source }
                  : { prefix: services.prefix },
                scope,
              ),
            ),
          ),
      },
      { parent: this },
    );
    const permission = new aws.lambda.Permission(
      `${name}-steps-permission`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "events.amazonaws.com",
        sourceArn: rule.arn,
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-steps-target`,
      { rule: rule.name, arn: this.function.arn },
      { parent: this, dependsOn: [permission] },
    );
    return rule;
  }
}
