/**
 * A CodeBuild project of one trust tier: the source project (`<prefix>`, run by the source pipeline)
 * or the pull request project (`<prefix>-pr`, run by every clone). Privileged mode (docker builds need
 * it), the one rendered buildspec (the project's environment tells it the tier), a log group with
 * retention and a role of its own that pushes to its tier's repositories only. The log group is
 * `/branchline/<project>/build`, set in the project's logsConfig: not CodeBuild's default
 * `/aws/codebuild/<project>`, which may exist already in the account (an earlier project of that name)
 * and would make the first `pulumi up` fail. A clone's build action adds `IMAGE_TAG_PREFIX=pr-<n>`
 * through the action's environment variables; the project itself does not set it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  buildImageRepositoryPolicy,
  buildLogGroupName,
  buildRolePolicy,
  codebuildProjectArn,
  serviceTrustPolicy,
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
  /** What the project's description and role description say it builds. */
  description: string;
  /** Plain-text environment variables of the project (never secrets). */
  environment: Record<string, pulumi.Input<string>>;
  /** Its own tier's artifact bucket: the only one its role reaches. */
  bucketArn: pulumi.Input<string>;
  /** The repositories the builds push to (the project's tier). */
  pushRepositoryArns: pulumi.Input<string[]>;
  /** Repositories the builds may only pull from (the pull request tier reads the source images). */
  pullRepositoryArns?: pulumi.Input<string[]>;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
  /**
   * The second registry's credentials secret (the buildspec reads it through `env.secrets-manager`);
   * the role may read this secret only. `undefined`: no second registry, no secret access.
   */
  secondRegistrySecretArn?: string | undefined;
  /**
   * With a build image in ECR: the projects its repository policy lets CodeBuild pull it for. That
   * policy replaces the repository's, so one project of the stack sets it, naming every project;
   * `undefined`: this project declares no repository policy.
   */
  buildImagePolicyProjects?: string[] | undefined;
  /** The role's physical name; `undefined`: auto-named from the component's name. */
  roleName?: string | undefined;
  /**
   * A role shared by several projects (the many-service stack's pull request build role), whose
   * policy the caller declares: the project then declares no role of its own.
   */
  sharedRole?: { arn: pulumi.Input<string>; policy: pulumi.Resource } | undefined;
}

const ECR_IMAGE_PATTERN =
  /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?:[:@].*)?$/;

/** The ECR repository name of a build image, or `undefined` for an image outside ECR. */
export function ecrRepositoryOfImage(image: string): string | undefined {
  return ECR_IMAGE_PATTERN.exec(image)?.[1];
}

export { buildLogGroupName };

export class BuildProject extends pulumi.ComponentResource {
  public readonly project: aws.codebuild.Project;
  public readonly projectName: pulumi.Output<string>;
  public readonly projectArn: pulumi.Output<string>;
  /** Its own role; `undefined` with a shared role. */
  public readonly role: aws.iam.Role | undefined;
  public readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: BuildProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:build:BuildProject", name, {}, opts);
    const parent = { parent: this };

    const logGroup = (this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: pulumi.output(args.projectName).apply(buildLogGroupName),
        retentionInDays: args.logRetentionDays,
      },
      parent,
    ));

    const shared = args.sharedRole;
    if (shared !== undefined) {
      this.role = undefined;
      this.project = this.declareProject(name, args, shared.arn, shared.policy, logGroup);
      this.projectName = this.project.name;
      this.projectArn = this.project.arn;
      this.registerOutputs({ projectName: this.projectName, projectArn: this.projectArn });
      return;
    }

    const role = (this.role = new aws.iam.Role(
      `${name}-role`,
      {
        // Only CodeBuild, for this project of this account (confused-deputy prevention).
        assumeRolePolicy: pulumi
          .all([args.scope, args.projectName])
          .apply(([scope, projectName]) =>
            JSON.stringify(
              serviceTrustPolicy(
                "codebuild.amazonaws.com",
                scope.accountId,
                codebuildProjectArn(scope, projectName),
              ),
            ),
          ),
        description: `branchline: the role of the build project that ${args.description}`,
        ...(args.roleName === undefined ? {} : { name: args.roleName }),
      },
      parent,
    ));

    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: role.id,
        // Named like its role when the role is (an inline policy's name is the role's own).
        ...(args.roleName === undefined ? {} : { name: args.roleName }),
        policy: pulumi
          .all([logGroup.arn, args.bucketArn, args.pushRepositoryArns, args.pullRepositoryArns])
          .apply(([logGroupArn, bucketArn, pushRepositoryArns, pullRepositoryArns]) =>
            JSON.stringify(
              buildRolePolicy({
                logGroupArn,
                bucketArn,
                pushRepositoryArns,
                pullRepositoryArns,
                secondRegistrySecretArn: args.secondRegistrySecretArn,
              }),
            ),
          ),
      },
      parent,
    );

    this.project = this.declareProject(name, args, role.arn, rolePolicy, logGroup);

    const imageRepository = ecrRepositoryOfImage(args.image);
    const pullingProjects = args.buildImagePolicyProjects;
    if (imageRepository !== undefined && pullingProjects !== undefined) {
      // A custom build image in ECR: CodeBuild pulls it with its own credentials, which needs this
      // repository policy. Note: it replaces any policy the repository already has.
      new aws.ecr.RepositoryPolicy(
        `${name}-build-image-policy`,
        {
          repository: imageRepository,
          policy: pulumi.output(args.scope).apply((scope) => {
            // The repository is named without an account: refuse an image of another account
            // or region rather than set this policy on a same-named repository of this one.
            checkBuildImageScope(args.image, scope);
            return JSON.stringify(
              buildImageRepositoryPolicy(
                pullingProjects.map((project) => codebuildProjectArn(scope, project)),
                scope.accountId,
              ),
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

  private declareProject(
    name: string,
    args: BuildProjectArgs,
    roleArn: pulumi.Input<string>,
    rolePolicy: pulumi.Resource,
    logGroup: aws.cloudwatch.LogGroup,
  ): aws.codebuild.Project {
    const environmentVariables = Object.keys(args.environment)
      .sort()
      .map((variable) => ({
        name: variable,
        value: args.environment[variable] ?? "",
        type: "PLAINTEXT",
      }));

    return new aws.codebuild.Project(
      `${name}-project`,
      {
        name: args.projectName,
        description: `branchline: ${args.description}`,
        serviceRole: roleArn,
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
  }
}
