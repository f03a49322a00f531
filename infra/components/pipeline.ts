/**
 * The source pipeline: Source (CodeConnections) -> Build (CodeBuild) -> optional Deploy (ECS standard
 * deploy reading imagedefinitions.json), and the two pipeline roles of the trust tiers:
 * - the source pipeline's role (source tier): the artifact bucket, the source build project, the
 *   connection for the configured repository only and, when deploying, that ECS service;
 * - the clone role (pull request tier), which every clone runs with: the pull request tier's artifact
 *   bucket, the pull request build project and the connection; nothing that deploys, no PassRole.
 * Each role reaches its own tier's artifact bucket only.
 * Both trust CodePipeline only for this account's pipelines: the source pipeline, resp. its clones.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOY_FILES } from "../build/buildspec";
import {
  clonesArn,
  cloneRolePolicy,
  ecsClusterArn,
  ecsServiceArn,
  pipelineArn,
  pipelineRolePolicy,
  serviceTrustPolicy,
  type AccountScope,
} from "../policies";

/** Names of the artifacts flowing between the stages. */
export const ARTIFACTS = { source: "source_output", build: "build_output" } as const;

export interface SourcePipelineArgs {
  pipelineName: string;
  pipelineType: pulumi.Input<string>;
  /** GitHub `owner/name`. */
  repository: pulumi.Input<string>;
  branch: pulumi.Input<string>;
  connectionArn: pulumi.Input<string>;
  /** The source tier's artifact bucket (the source pipeline's store). */
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  /** The pull request tier's artifact bucket, which the clone role reaches (and no other). */
  prBucketArn: pulumi.Input<string>;
  /** The source build project. */
  projectName: pulumi.Input<string>;
  projectArn: pulumi.Input<string>;
  /** The pull request build project, which the clone role may run. */
  prProjectArn: pulumi.Input<string>;
  /**
   * Fork pull requests get clones: the clone role's connection use is then not pinned to
   * `repository` (a fork's clone reads the fork).
   */
  allowForkPullRequests: boolean;
  /**
   * Adds the Deploy stage; `undefined`: no Deploy stage. `passRoles`: the task roles the deploy may
   * pass (`undefined`: any role, to ECS tasks only).
   */
  deploy: { cluster: string; service: string; passRoles?: string[] | undefined } | undefined;
  scope: pulumi.Input<AccountScope>;
  /**
   * The many-service stack's shared roles ({@link SharedPipelineRoles}): the component then declares
   * the pipeline only.
   */
  sharedRoles?: SharedPipelineRoles | undefined;
}

export interface SharedPipelineRolesArgs {
  /** Trust policy of the source pipeline role (JSON). */
  roleTrust: pulumi.Input<string>;
  /** Its inline policy (JSON). */
  rolePolicy: pulumi.Input<string>;
  /** Trust policy of the clone role (JSON). */
  cloneRoleTrust: pulumi.Input<string>;
  /** Its inline policy (JSON). */
  cloneRolePolicy: pulumi.Input<string>;
}

/**
 * The two pipeline roles of a many-service stack, shared by every service: the source pipeline role
 * (every service's source pipeline) and the clone role (every clone). Their documents come from
 * `servicesPipelineRolePolicy` and `servicesCloneRolePolicy` (infra/policies.ts).
 */
export class SharedPipelineRoles extends pulumi.ComponentResource {
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  public readonly cloneRole: aws.iam.Role;

  constructor(name: string, args: SharedPipelineRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:pipeline:SharedPipelineRoles", name, {}, opts);
    const parent = { parent: this };
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: args.roleTrust,
        description: "branchline: the source pipelines' role (source tier, every service)",
      },
      parent,
    );
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      { role: this.role.id, policy: args.rolePolicy },
      parent,
    );
    this.cloneRole = new aws.iam.Role(
      `${name}-clone-role`,
      {
        assumeRolePolicy: args.cloneRoleTrust,
        description:
          "branchline: the role every pull request pipeline runs with (pull request tier, every service)",
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-clone-role-policy`,
      { role: this.cloneRole.id, policy: args.cloneRolePolicy },
      parent,
    );
    this.registerOutputs({ roleArn: this.role.arn, cloneRoleArn: this.cloneRole.arn });
  }
}

export class SourcePipeline extends pulumi.ComponentResource {
  public readonly pipeline: aws.codepipeline.Pipeline;
  public readonly pipelineName: pulumi.Output<string>;
  public readonly pipelineArn: pulumi.Output<string>;
  /** The source pipeline's role (source tier). */
  public readonly role: aws.iam.Role;
  /** The role every clone runs with (pull request tier). */
  public readonly cloneRole: aws.iam.Role;

  constructor(name: string, args: SourcePipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:pipeline:SourcePipeline", name, {}, opts);
    const parent = { parent: this };
    const deploy = args.deploy;
    const shared = args.sharedRoles;
    if (shared !== undefined) {
      this.role = shared.role;
      this.cloneRole = shared.cloneRole;
      this.pipeline = this.declarePipeline(name, args, shared.rolePolicy);
      this.pipelineName = this.pipeline.name;
      this.pipelineArn = this.pipeline.arn;
      this.registerOutputs({ pipelineName: this.pipelineName, pipelineArn: this.pipelineArn });
      return;
    }

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: pulumi
          .output(args.scope)
          .apply((scope) =>
            JSON.stringify(
              serviceTrustPolicy(
                "codepipeline.amazonaws.com",
                scope.accountId,
                pipelineArn(scope, args.pipelineName),
              ),
            ),
          ),
        description: "branchline: the source pipeline's role (source tier)",
      },
      parent,
    );

    this.cloneRole = new aws.iam.Role(
      `${name}-clone-role`,
      {
        assumeRolePolicy: pulumi
          .output(args.scope)
          .apply((scope) =>
            JSON.stringify(
              serviceTrustPolicy(
                "codepipeline.amazonaws.com",
                scope.accountId,
                clonesArn(scope, args.pipelineName),
              ),
            ),
          ),
        description:
          "branchline: the role every pull request pipeline runs with (pull request tier)",
      },
      parent,
    );

    new aws.iam.RolePolicy(
      `${name}-clone-role-policy`,
      {
        role: this.cloneRole.id,
        policy: pulumi
          .all([args.prBucketArn, args.prProjectArn, args.connectionArn, args.repository])
          .apply(([bucketArn, prProjectArn, connectionArn, repository]) =>
            JSON.stringify(
              cloneRolePolicy({
                bucketArn,
                prProjectArn,
                connectionArn,
                repository: args.allowForkPullRequests ? undefined : repository,
              }),
            ),
          ),
      },
      parent,
    );

    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([args.bucketArn, args.projectArn, args.connectionArn, args.repository, args.scope])
          .apply(([bucketArn, projectArn, connectionArn, repository, scope]) =>
            JSON.stringify(
              pipelineRolePolicy({
                bucketArn,
                projectArn,
                connectionArn,
                repository,
                ...(deploy === undefined
                  ? {}
                  : {
                      deploy: {
                        clusterArn: ecsClusterArn(scope, deploy.cluster),
                        serviceArn: ecsServiceArn(scope, deploy.cluster, deploy.service),
                        taskDefinitionArnPattern: `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:task-definition/*`,
                        passRoles: deploy.passRoles,
                      },
                    }),
              }),
            ),
          ),
      },
      parent,
    );

    this.pipeline = this.declarePipeline(name, args, rolePolicy);

    this.pipelineName = this.pipeline.name;
    this.pipelineArn = this.pipeline.arn;
    this.registerOutputs({
      pipelineName: this.pipelineName,
      pipelineArn: this.pipelineArn,
      roleArn: this.role.arn,
      cloneRoleArn: this.cloneRole.arn,
    });
  }

  private declarePipeline(
    name: string,
    args: SourcePipelineArgs,
    rolePolicy: pulumi.Resource,
  ): aws.codepipeline.Pipeline {
    const deploy = args.deploy;
    const stages: aws.types.input.codepipeline.PipelineStage[] = [
      {
        name: "Source",
        actions: [
          {
            name: "Source",
            category: "Source",
            owner: "AWS",
            provider: "CodeStarSourceConnection",
            version: "1",
            outputArtifacts: [ARTIFACTS.source],
            configuration: {
              ConnectionArn: args.connectionArn,
              FullRepositoryId: args.repository,
              BranchName: args.branch,
              OutputArtifactFormat: "CODE_ZIP",
              DetectChanges: "true",
            },
          },
        ],
      },
      {
        name: "Build",
        actions: [
          {
            name: "Build",
            category: "Build",
            owner: "AWS",
            provider: "CodeBuild",
            version: "1",
            inputArtifacts: [ARTIFACTS.source],
            outputArtifacts: [ARTIFACTS.build],
            configuration: { ProjectName: args.projectName },
          },
        ],
      },
    ];
    if (deploy !== undefined) {
      stages.push({
        name: "Deploy",
        actions: [
          {
            name: "Deploy",
            category: "Deploy",
            owner: "AWS",
            provider: "ECS",
            version: "1",
            inputArtifacts: [ARTIFACTS.build],
            configuration: {
              ClusterName: deploy.cluster,
              ServiceName: deploy.service,
              FileName: DEPLOY_FILES.imageDefinitions,
            },
          },
        ],
      });
    }

    return new aws.codepipeline.Pipeline(
      `${name}-pipeline`,
      {
        name: args.pipelineName,
        pipelineType: args.pipelineType,
        roleArn: this.role.arn,
        artifactStores: [{ type: "S3", location: args.bucketName }],
        stages,
      },
      { parent: this, dependsOn: [rolePolicy] },
    );
  }
}
