/**
 * The source pipeline: Source (CodeConnections) -> Build (CodeBuild) -> optional Deploy (ECS standard
 * deploy reading imagedefinitions.json). Its role is reused by every clone, so it is scoped to the
 * artifact bucket, the build project, the connection and, when deploying, that ECS service.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOY_FILES } from "../build/buildspec";
import {
  assumeRolePolicy,
  ecsClusterArn,
  ecsServiceArn,
  pipelineRolePolicy,
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
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  projectName: pulumi.Input<string>;
  projectArn: pulumi.Input<string>;
  /** Adds the Deploy stage; `undefined`: no Deploy stage. */
  deploy: { cluster: string; service: string } | undefined;
  scope: pulumi.Input<AccountScope>;
}

export class SourcePipeline extends pulumi.ComponentResource {
  public readonly pipeline: aws.codepipeline.Pipeline;
  public readonly pipelineName: pulumi.Output<string>;
  public readonly pipelineArn: pulumi.Output<string>;
  public readonly role: aws.iam.Role;

  constructor(name: string, args: SourcePipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:pipeline:SourcePipeline", name, {}, opts);
    const parent = { parent: this };
    const deploy = args.deploy;

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: JSON.stringify(assumeRolePolicy("codepipeline.amazonaws.com")),
        description: "branchline: the role of the source pipeline and its clones",
      },
      parent,
    );

    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([args.bucketArn, args.projectArn, args.connectionArn, args.scope])
          .apply(([bucketArn, projectArn, connectionArn, scope]) =>
            JSON.stringify(
              pipelineRolePolicy({
                bucketArn,
                projectArn,
                connectionArn,
                ...(deploy === undefined
                  ? {}
                  : {
                      deploy: {
                        clusterArn: ecsClusterArn(scope, deploy.cluster),
                        serviceArn: ecsServiceArn(scope, deploy.cluster, deploy.service),
                        taskDefinitionArnPattern: `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:task-definition/*`,
                      },
                    }),
              }),
            ),
          ),
      },
      parent,
    );

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

    this.pipeline = new aws.codepipeline.Pipeline(
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

    this.pipelineName = this.pipeline.name;
    this.pipelineArn = this.pipeline.arn;
    this.registerOutputs({ pipelineName: this.pipelineName, pipelineArn: this.pipelineArn });
  }
}
