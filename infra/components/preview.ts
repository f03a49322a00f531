/**
 * What one service's preview environments need from the stack (`preview` of a service): the log group
 * of its preview tasks (`/branchline/<source>-pr/preview`), and, unless the configuration names them,
 * a preview task role (trusted by ECS tasks of this account only, with no permissions: the team
 * attaches what a pull request's code may use) and a task execution role (pulls the service's pull
 * request tier images, writes to that log group; no secrets). The per-pull-request ECS services,
 * target groups and listener rules are the functions' (functions/app); this component declares none.
 *
 * Its outputs: the settings the functions read (the routing table entry's `preview`, or
 * `PREVIEW_SETTINGS`), with the roles' ARNs filled in, and the service as the preview IAM statements
 * see it ({@link PreviewTarget}).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkPreviewScope, type PreviewConfig } from "../config";
import {
  assumeRolePolicy,
  ecsServiceArn,
  previewClusterArn,
  previewExecutionRolePolicy,
  previewTaskRoleTrustPolicy,
  roleArnBound,
  scopeOfArn,
  type AccountScope,
  type PreviewTarget,
} from "../policies";

export interface PreviewEnvironmentArgs {
  /** The configuration key of the service's preview (`preview`, `services[1].preview`), for errors. */
  configKey: string;
  /** The service's source pipeline: names the log group and the roles' descriptions. */
  sourcePipelineName: string;
  preview: PreviewConfig;
  /**
   * The service's production ECS service (its `deploy`): a preview's task definition is derived from
   * that service's, which the functions read.
   */
  source: { cluster: string; service: string };
  /** The service's pull request tier repositories: what the execution role may pull. */
  prRepositoryArns: pulumi.Input<string[]>;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
}

/** The preview tasks' log group of a service: `/branchline/<source>-pr/preview`. */
export function previewLogGroupName(sourcePipelineName: string): string {
  return `/branchline/${sourcePipelineName}-pr/preview`;
}

export class PreviewEnvironment extends pulumi.ComponentResource {
  public readonly logGroup: aws.cloudwatch.LogGroup;
  /** The stack's preview task role; `undefined` when `taskRoleArn` is configured. */
  public readonly taskRole: aws.iam.Role | undefined;
  /** The stack's execution role; `undefined` when `executionRoleArn` is configured. */
  public readonly executionRole: aws.iam.Role | undefined;
  public readonly taskRoleArn: pulumi.Output<string>;
  public readonly executionRoleArn: pulumi.Output<string>;
  /** What the functions read: the configured settings with both roles' ARNs. */
  public readonly settings: pulumi.Output<PreviewConfig>;
  /** The service as {@link previewManagementStatements} and {@link previewDeployStatements} take it. */
  public readonly target: pulumi.Output<PreviewTarget>;
  /**
   * `target` before any value is known, no ARN of it shorter: the account, partition and region are
   * the listener's (the program checks they are the stack's), the roles the stack creates have
   * names of IAM's longest. What sizes the policies that carry the preview statements.
   */
  public readonly targetBound: PreviewTarget;

  constructor(name: string, args: PreviewEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:preview:PreviewEnvironment", name, {}, opts);
    const parent = { parent: this };
    const preview = args.preview;
    // The cluster and the listener must be this account's and region's (IAM scopes to them).
    const scope = pulumi.output(args.scope).apply((s) => {
      checkPreviewScope(args.configKey, preview, s);
      return s;
    });

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        // Through the checked scope: whatever else the stack declares, the check fails the program.
        name: scope.apply(() => previewLogGroupName(args.sourcePipelineName)),
        retentionInDays: args.logRetentionDays,
      },
      parent,
    );

    if (preview.taskRoleArn === undefined) {
      this.taskRole = new aws.iam.Role(
        `${name}-task-role`,
        {
          assumeRolePolicy: scope.apply((s) => JSON.stringify(previewTaskRoleTrustPolicy(s))),
          description: `branchline: the role of ${args.sourcePipelineName}'s pull request previews (no permissions unless the team attaches some)`,
        },
        parent,
      );
    }
    this.taskRoleArn = this.taskRole?.arn ?? pulumi.output(preview.taskRoleArn as string);

    let executionRolePolicy: aws.iam.RolePolicy | undefined;
    if (preview.executionRoleArn === undefined) {
      this.executionRole = new aws.iam.Role(
        `${name}-execution-role`,
        {
          assumeRolePolicy: JSON.stringify(assumeRolePolicy("ecs-tasks.amazonaws.com")),
          description: `branchline: the task execution role of ${args.sourcePipelineName}'s pull request previews (pull request images, preview logs)`,
        },
        parent,
      );
      executionRolePolicy = new aws.iam.RolePolicy(
        `${name}-execution-role-policy`,
        {
          role: this.executionRole.id,
          policy: pulumi
            .all([args.prRepositoryArns, this.logGroup.arn])
            .apply(([prRepositoryArns, logGroupArn]) =>
              JSON.stringify(previewExecutionRolePolicy({ prRepositoryArns, logGroupArn })),
            ),
        },
        parent,
      );
    }
    // The execution role is usable once its policy is in place.
    this.executionRoleArn =
      this.executionRole === undefined
        ? pulumi.output(preview.executionRoleArn as string)
        : pulumi.all([this.executionRole.arn, executionRolePolicy?.id]).apply(([arn]) => arn);

    this.settings = pulumi
      .all([this.taskRoleArn, this.executionRoleArn])
      .apply(([taskRoleArn, executionRoleArn]) => ({ ...preview, taskRoleArn, executionRoleArn }));
    this.target = pulumi
      .all([scope, this.taskRoleArn, this.executionRoleArn])
      .apply(([s, taskRoleArn, executionRoleArn]) => ({
        clusterArn: previewClusterArn(s, preview.cluster),
        listenerArn: preview.listenerArn,
        taskRoleArn,
        executionRoleArn,
        sourceServiceArn: ecsServiceArn(s, args.source.cluster, args.source.service),
      }));
    const bound = scopeOfArn(preview.listenerArn);
    this.targetBound = {
      clusterArn: previewClusterArn(bound, preview.cluster),
      listenerArn: preview.listenerArn,
      taskRoleArn: preview.taskRoleArn ?? roleArnBound(bound, `${name}-task-role`),
      executionRoleArn: preview.executionRoleArn ?? roleArnBound(bound, `${name}-execution-role`),
      sourceServiceArn: ecsServiceArn(bound, args.source.cluster, args.source.service),
    };
    this.registerOutputs({
      logGroupName: this.logGroup.name,
      taskRoleArn: this.taskRoleArn,
      executionRoleArn: this.executionRoleArn,
    });
  }
}
