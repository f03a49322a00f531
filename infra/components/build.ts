/**
 * The CodeBuild project shared by the source pipeline and every clone: privileged mode (docker builds
 * need it), the rendered buildspec, a log group with retention and a role that can push to this
 * repository only. The log group is `/branchline/<project>/build`, set in the project's logsConfig:
 * not CodeBuild's default `/aws/codebuild/<project>`, which may exist already in the account (an
 * earlier project of that name) and would make the first `pulumi up` fail. A clone's build action adds `IMAGE_TAG_PREFIX=pr-<n>` through the action's
 * environment variables; the project itself does not set it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  assumeRolePolicy,
  buildImageRepositoryPolicy,
  buildRolePolicy,
  codebuildProjectArn,
  type AccountScope,
} from "../policies";
import { checkBuildImageScope } from "../config";

export interface BuildProjectArgs {
  /** The CodeBuild project's name (also names its log group, see {@link buildLogGroupName}). */
  projectName: pulumi.Input<string>;
  /** The buildspec, inline. */
  buildspec: pulumi.Input<string>;
  computeType: pulumi.Input<string>;
  /** A CodeBuild curated image, or an image in an ECR repository of this account and region. */
  image: string;
  timeoutMinutes: pulumi.Input<number>;
  /** Plain-text environment variables of the project (never secrets). */
  environment: Record<string, pulumi.Input<string>>;
  bucketArn: pulumi.Input<string>;
  repositoryArn: pulumi.Input<string>;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
  /**
   * The second registry's credentials secret (the buildspec reads it through `env.secrets-manager`);
   * the role may read this secret only. `undefined`: no second registry, no secret access.
   */
  secondRegistrySecretArn?: string | undefined;
}

const ECR_IMAGE_PATTERN =
  /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?:[:@].*)?$/;

/** The ECR repository name of a build image, or `undefined` for an image outside ECR. */
export function ecrRepositoryOfImage(image: string): string | undefined {
  return ECR_IMAGE_PATTERN.exec(image)?.[1];
}

/** The build's log group: ours alone, never CodeBuild's default `/aws/codebuild/<project>`. */
export function buildLogGroupName(projectName: string): string {
  return `/branchline/${projectName}/build`;
}

export class BuildProject extends pulumi.ComponentResource {
  public readonly project: aws.codebuild.Project;
  public readonly projectName: pulumi.Output<string>;
  public readonly projectArn: pulumi.Output<string>;
  public readonly role: aws.iam.Role;

  constructor(name: string, args: BuildProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:build:BuildProject", name, {}, opts);
    const parent = { parent: this };

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: pulumi.output(args.projectName).apply(buildLogGroupName),
        retentionInDays: args.logRetentionDays,
      },
      parent,
    );

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: JSON.stringify(assumeRolePolicy("codebuild.amazonaws.com")),
        description: "branchline: the build project's role",
      },
      parent,
    );

    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([logGroup.arn, args.bucketArn, args.repositoryArn])
          .apply(([logGroupArn, bucketArn, repositoryArn]) =>
            JSON.stringify(
              buildRolePolicy({
                logGroupArn,
                bucketArn,
                repositoryArn,
                secondRegistrySecretArn: args.secondRegistrySecretArn,
              }),
            ),
          ),
      },
      parent,
    );

    const environmentVariables = Object.keys(args.environment)
      .sort()
      .map((variable) => ({
        name: variable,
        value: args.environment[variable] ?? "",
        type: "PLAINTEXT",
      }));

    this.project = new aws.codebuild.Project(
      `${name}-project`,
      {
        name: args.projectName,
        description: "branchline: builds the images of the source pipeline and its clones",
        serviceRole: this.role.arn,
        buildTimeout: args.timeoutMinutes,
        source: { type: "CODEPIPELINE", buildspec: args.buildspec },
        artifacts: { type: "CODEPIPELINE" },
        environment: {
          type: "LINUX_CONTAINER",
          computeType: args.computeType,
          image: args.image,
          imagePullCredentialsType: "CODEBUILD",
          privilegedMode: true,
          environmentVariables,
        },
        // The buildspec keeps its layer cache in the registry (BUILD_CACHE_MODE "registry").
        cache: { type: "NO_CACHE" },
        logsConfig: {
          cloudwatchLogs: { status: "ENABLED", groupName: logGroup.name },
        },
      },
      { parent: this, dependsOn: [rolePolicy] },
    );

    const imageRepository = ecrRepositoryOfImage(args.image);
    if (imageRepository !== undefined) {
      // A custom build image in ECR: CodeBuild pulls it with its own credentials, which needs this
      // repository policy. Note: it replaces any policy the repository already has.
      new aws.ecr.RepositoryPolicy(
        `${name}-build-image-policy`,
        {
          repository: imageRepository,
          policy: pulumi.all([args.scope, args.projectName]).apply(([scope, projectName]) => {
            // The repository is named without an account: refuse an image of another account
            // or region rather than set this policy on a same-named repository of this one.
            checkBuildImageScope(args.image, scope);
            return JSON.stringify(
              buildImageRepositoryPolicy(codebuildProjectArn(scope, projectName), scope.accountId),
            );
          }),
        },
        parent,
      );
    }

    this.projectName = this.project.name;
    this.projectArn = this.project.arn;
    this.registerOutputs({ projectName: this.projectName, projectArn: this.projectArn });
  }
}
