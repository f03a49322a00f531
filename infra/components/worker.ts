/**
 * The delivery worker: a Lambda (nodejs22.x, arm64, an esbuild bundle of functions/worker) that an
 * event source mapping feeds from the delivery queue (see `DeliveryQueue`), and does what the webhook
 * did inline: clone, update or delete a pull request's pipeline. Its role is the webhook's former one
 * (clone management, the pull request marks, the GitHub token) plus consuming the queue and sending
 * to the dead-letter queue, where the worker moves at once a delivery that cannot succeed until an
 * operator changes something.
 *
 * The mapping reports partial batch failures (only the failed deliveries return to the queue), has no
 * batching window (a FIFO source takes none) and a maximum concurrency: CodePipeline's API is
 * throttled per account and region, so a burst of deliveries drains at the rate it accepts instead of
 * many workers thrashing against the throttle.
 *
 * Two alarms publish to the notification topic (alarm and OK): a delivery in the dead-letter queue,
 * and a delivery waiting longer than `oldestMessageAlarmSeconds` (the worker is failing or throttled).
 * Both treat missing data as not breaching.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../functions/shared/names";
import { servicesWorkerRoleStatements, workerRoleStatements, type AccountScope } from "../policies";
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

/** The worker's timeout (the delivery queue's visibility timeout is 6 times it). */
export const WORKER_TIMEOUT_SECONDS = 60;
export const WORKER_MEMORY_MB = 256;

/** CloudWatch's period of the alarms' metrics (SQS sends its metrics every minute). */
export const ALARM_PERIOD_SECONDS = 60;

/** The alarms' names: `<alarmNamePrefix><suffix>`. */
export const ALARM_SUFFIX = {
  deadLetters: "dead-letters",
  oldestDelivery: "oldest-delivery",
} as const;

export interface DeliveryWorkerArgs extends CloneManagerArgs {
  /** The Lambda deployment archive (see `functionArchive`). */
  code: pulumi.Input<pulumi.asset.Archive>;
  /** The GitHub token's secret; `undefined`: none (no statuses, anonymous reads). */
  githubTokenSecretArn: pulumi.Input<string> | undefined;
  /**
   * The GitHub App the function authenticates as instead of a token (never both); `undefined`:
   * none. Its private key's secret is the one GitHub secret the role may read.
   */
  githubApp?: GitHubAppAccess | undefined;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
  /** The many-service stack's routing table and services (see the webhook's). */
  services?: ManyServices | undefined;
  queue: {
    url: pulumi.Input<string>;
    arn: pulumi.Input<string>;
    /** The queue's name: the alarm's dimension. */
    name: pulumi.Input<string>;
  };
  deadLetterQueue: {
    url: pulumi.Input<string>;
    arn: pulumi.Input<string>;
    name: pulumi.Input<string>;
  };
  /** Deliveries per invocation. */
  batchSize: number;
  /** The most worker instances at once. */
  maxConcurrency: number;
  /** The alarm on the oldest delivery fires at this age (seconds). */
  oldestMessageAlarmSeconds: number;
  /** The alarms' actions: the notification topic. */
  alarmTopicArn: pulumi.Input<string>;
  /** The alarms' names start with it (the topic lets CloudWatch publish for these names only). */
  alarmNamePrefix: string;
  /** Resources the mapping is created after and deleted before (the reconciler's teardown). */
  pollAfter?: pulumi.Input<pulumi.Resource>[];
}

export class DeliveryWorker extends pulumi.ComponentResource {
  public readonly function: aws.lambda.Function;
  public readonly functionName: pulumi.Output<string>;
  /** The function's CloudWatch Logs group. */
  public readonly logGroupName: pulumi.Output<string>;
  public readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  public readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: DeliveryWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:delivery:DeliveryWorker", name, {}, opts);
    const parent = { parent: this };

    const variables = cloneManagerVariables(args);
    if (args.githubTokenSecretArn !== undefined) {
      variables[ENV.githubTokenSecretArn] = args.githubTokenSecretArn;
    }
    Object.assign(variables, gitHubAppVariables(args.githubApp));
    // The one GitHub secret the role reads: the token's, or the App's private key.
    const githubSecretArn = args.githubTokenSecretArn ?? args.githubApp?.privateKeySecretArn;
    variables[ENV.deadLetterQueueUrl] = args.deadLetterQueue.url;
    const services = args.services;
    if (services !== undefined) replaceWithServicesFile(variables, services.file);

    const queues = { queueArn: args.queue.arn, deadLetterQueueArn: args.deadLetterQueue.arn };
    const lambda = new LambdaFunction(
      name,
      {
        description: "branchline: processes the queued GitHub pull request deliveries",
        roleDescription: "branchline: the delivery worker's role",
        code: args.code,
        environment: variables,
        timeoutSeconds: WORKER_TIMEOUT_SECONDS,
        memoryMb: WORKER_MEMORY_MB,
        logRetentionDays: args.logRetentionDays,
        policyStatements:
          services === undefined
            ? pulumi
                .output({
                  ...queues,
                  ...cloneManagerPolicyInputs(args),
                  githubTokenSecretArn: githubSecretArn,
                })
                .apply(workerRoleStatements)
            : pulumi
                .output({
                  ...queues,
                  ...servicesPolicyInputs(args, services.set),
                  githubTokenSecretArn: githubSecretArn,
                })
                .apply(servicesWorkerRoleStatements),
        managedPolicies: previewRolePolicies(args.previewSet, { traffic: false }),
      },
      parent,
    );
    this.function = lambda.function;

    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      `${name}-deliveries`,
      {
        eventSourceArn: args.queue.arn,
        functionName: this.function.arn,
        batchSize: args.batchSize,
        scalingConfig: { maximumConcurrency: args.maxConcurrency },
        functionResponseTypes: ["ReportBatchItemFailures"],
      },
      // Created once the role may consume the queue; deleted first, so that no delivery is processed
      // while the function, its role or (on destroy) the reconciler's teardown go.
      {
        parent: this,
        dependsOn: [...lambda.grants, ...(args.pollAfter ?? [])],
      },
    );

    const actions = [args.alarmTopicArn];
    const alarm = (
      suffix: string,
      description: string,
      metric: { metricName: string; queueName: pulumi.Input<string>; statistic: string },
      comparisonOperator: string,
      threshold: number,
    ): aws.cloudwatch.MetricAlarm =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${suffix}-alarm`,
        {
          name: `${args.alarmNamePrefix}${suffix}`,
          alarmDescription: description,
          namespace: "AWS/SQS",
          metricName: metric.metricName,
          dimensions: { QueueName: metric.queueName },
          statistic: metric.statistic,
          period: ALARM_PERIOD_SECONDS,
          evaluationPeriods: 1,
          comparisonOperator,
          threshold,
          treatMissingData: "notBreaching",
          alarmActions: actions,
          okActions: actions,
        },
        parent,
      );
    this.alarms = [
      alarm(
        ALARM_SUFFIX.deadLetters,
        "branchline: a delivery is in the dead-letter queue (inspect it, fix the cause, redrive it)",
        {
          metricName: "ApproximateNumberOfMessagesVisible",
          queueName: args.deadLetterQueue.name,
          statistic: "Maximum",
        },
        "GreaterThanThreshold",
        0,
      ),
      alarm(
        ALARM_SUFFIX.oldestDelivery,
        `branchline: a delivery has waited ${args.oldestMessageAlarmSeconds} s or more in the delivery queue (the worker is failing or throttled)`,
        {
          metricName: "ApproximateAgeOfOldestMessage",
          queueName: args.queue.name,
          statistic: "Maximum",
        },
        "GreaterThanOrEqualToThreshold",
        args.oldestMessageAlarmSeconds,
      ),
    ];

    this.functionName = this.function.name;
    this.logGroupName = lambda.logGroup.name;
    this.registerOutputs({ functionName: this.functionName });
  }
}
