/**
 * Every IAM and resource policy document of the stack, built by pure functions from plain ARNs so that
 * tests can assert them exactly. Components call these inside `pulumi.all(...).apply(...)`.
 */
import { cloneNameWildcard, markKeyPattern } from "../functions/shared/names";

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

/** A trust policy letting one AWS service assume the role. */
export function assumeRolePolicy(service: string): PolicyDocument {
  return document([{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }]);
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

export interface RegistryLifecycleInput {
  /** The configured image names, in order (their tags: infra/build/buildspec.ts). */
  imageNames: string[];
  /** The newest source images kept per image, besides the one tagged `latest` (or `<name>-latest`). */
  sourceImageRetentionCount: number;
  /** Days after which images that carry `pr-` tags and no source tag expire. */
  prImageRetentionDays: number;
  /** Days after which untagged images, and the cache images of earlier versions, expire. */
  untaggedImageRetentionDays: number;
}

/** ECR's limit on the lifecycle policy text. */
export const LIFECYCLE_POLICY_MAX_CHARS = 30720;

/**
 * The ECR lifecycle policy of the stack's repository. ECR evaluates every rule, then applies them by
 * priority (1 first); an image that matches the tag selection of a rule can never be expired by a rule
 * of lower priority, whatever the counts (ECR user guide, "Lifecycle policy evaluation rules"). Hence:
 * 1. one rule per image keeps its moving source tag (`latest`, or `<name>-latest` with several images):
 *    a tag names one image, so "more than 1" never happens and nothing is expired by it, but that image
 *    can never be expired by the rules below;
 * 2. one rule per image keeps the newest `sourceImageRetentionCount` images with a tag starting with
 *    `<name>-` (every source build pushes `<name>-<sha7>`), so an image that carries a source tag is
 *    governed here, even when a fully cached clone build gave the same digest a `pr-` tag as well;
 * 3. images with a `pr-` tag and no source tag expire `prImageRetentionDays` after push;
 * 4. the `buildcache-*` images of earlier versions (registry cache) and
 * 5. untagged images expire `untaggedImageRetentionDays` after push.
 * Several prefixes in one `tagPrefixList` must ALL match (they are not alternatives), so each image
 * gets rules of its own. Throws when the text would exceed ECR's limit of 30720 characters.
 */
export function registryLifecyclePolicy(input: RegistryLifecycleInput): LifecyclePolicy {
  const names = input.imageNames;
  if (names.length === 0) throw new Error("registryLifecyclePolicy: no image names");
  const multi = names.length > 1;
  const count = input.sourceImageRetentionCount;
  const rules: Omit<LifecycleRule, "rulePriority">[] = [];
  for (const name of names) {
    const moving = multi ? `${name}-latest` : "latest";
    rules.push({
      description: `Never expire the image tagged ${moving}`,
      selection: {
        tagStatus: "tagged",
        tagPatternList: [moving],
        countType: "imageCountMoreThan",
        countNumber: 1,
      },
      action: { type: "expire" },
    });
  }
  for (const name of names) {
    rules.push({
      description: `Keep the newest ${count} source images of ${name} (tags ${name}-*)`,
      selection: {
        tagStatus: "tagged",
        tagPrefixList: [`${name}-`],
        countType: "imageCountMoreThan",
        countNumber: count,
      },
      action: { type: "expire" },
    });
  }
  rules.push(
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
    {
      description: `Expire old layer-cache images (buildcache-*) ${input.untaggedImageRetentionDays} days after push`,
      selection: {
        tagStatus: "tagged",
        tagPrefixList: ["buildcache-"],
        countType: "sinceImagePushed",
        countUnit: "days",
        countNumber: input.untaggedImageRetentionDays,
      },
      action: { type: "expire" },
    },
    {
      description: `Expire untagged images ${input.untaggedImageRetentionDays} days after push`,
      selection: {
        tagStatus: "untagged",
        countType: "sinceImagePushed",
        countUnit: "days",
        countNumber: input.untaggedImageRetentionDays,
      },
      action: { type: "expire" },
    },
  );
  const policy = { rules: rules.map((rule, i) => ({ rulePriority: i + 1, ...rule })) };
  const size = JSON.stringify(policy).length;
  if (size > LIFECYCLE_POLICY_MAX_CHARS) {
    throw new Error(
      `registryLifecyclePolicy: the policy for ${names.length} images is ${size} characters; ECR accepts at most ${LIFECYCLE_POLICY_MAX_CHARS} (build fewer images per stack or use shorter names)`,
    );
  }
  return policy;
}

/** Lets CodeBuild (for this project only) pull a custom build image from an ECR repository. */
export function buildImageRepositoryPolicy(projectArn: string, accountId: string): PolicyDocument {
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
        ArnLike: { "aws:SourceArn": projectArn },
        StringEquals: { "aws:SourceAccount": accountId },
      },
    },
  ]);
}

export interface BuildRoleInput {
  logGroupArn: string;
  bucketArn: string;
  repositoryArn: string;
  /** The second registry's credentials (`build.secondRegistry`); `undefined`: none. */
  secondRegistrySecretArn?: string | undefined;
}

/**
 * The CodeBuild project's role: its logs, the artifact bucket, push to this repository only and, with a
 * second registry, read that registry's credentials secret only.
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
      Sid: "LogInToRegistry",
      Effect: "Allow",
      Action: "ecr:GetAuthorizationToken",
      Resource: "*",
    },
    {
      Sid: "PushAndPullImages",
      Effect: "Allow",
      Action: [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
      ],
      Resource: input.repositoryArn,
    },
  ];
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

export interface PipelineRoleInput {
  bucketArn: string;
  projectArn: string;
  connectionArn: string;
  /** Present when the pipeline deploys to ECS. */
  deploy?: { clusterArn: string; serviceArn: string; taskDefinitionArnPattern: string };
}

/**
 * The role of the source pipeline, reused by every clone: the artifact bucket, the build project, the
 * connection and, when deploying, that ECS service.
 */
export function pipelineRolePolicy(input: PipelineRoleInput): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "ReadWriteArtifacts",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"],
      Resource: `${input.bucketArn}/*`,
    },
    {
      Sid: "LocateArtifactBucket",
      Effect: "Allow",
      Action: [
        "s3:GetBucketAcl",
        "s3:GetBucketLocation",
        "s3:GetBucketVersioning",
        "s3:ListBucket",
      ],
      Resource: input.bucketArn,
    },
    {
      Sid: "RunBuilds",
      Effect: "Allow",
      Action: ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
      Resource: input.projectArn,
    },
    {
      Sid: "UseConnection",
      Effect: "Allow",
      Action: `${connectionServicePrefix(input.connectionArn)}:UseConnection`,
      Resource: input.connectionArn,
    },
  ];
  if (input.deploy !== undefined) {
    statements.push(
      {
        Sid: "DeployService",
        Effect: "Allow",
        Action: ["ecs:DescribeServices", "ecs:UpdateService"],
        Resource: input.deploy.serviceArn,
      },
      {
        Sid: "WatchDeployment",
        Effect: "Allow",
        Action: ["ecs:DescribeTasks", "ecs:ListTasks"],
        Resource: "*",
        Condition: { ArnEquals: { "ecs:cluster": input.deploy.clusterArn } },
      },
      {
        // RegisterTaskDefinition and DescribeTaskDefinition support no resource-level scoping.
        Sid: "RegisterTaskDefinitions",
        Effect: "Allow",
        Action: ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
        Resource: "*",
      },
      {
        Sid: "TagNewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:TagResource",
        Resource: input.deploy.taskDefinitionArnPattern,
        Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
      },
      {
        Sid: "PassTaskRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: "*",
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
    );
  }
  return document(statements);
}

/**
 * What the webhook handler and the reconciler may do to clones (`<source>-pr-*`): read, create, update
 * and delete them, tag them on creation, read their tags and executions, stop a deleted clone's
 * executions. No UntagResource: nothing removes a tag.
 */
export const CLONE_ACTIONS = [
  "codepipeline:CreatePipeline",
  "codepipeline:DeletePipeline",
  "codepipeline:GetPipeline",
  "codepipeline:ListPipelineExecutions",
  "codepipeline:ListTagsForResource",
  "codepipeline:StopPipelineExecution",
  "codepipeline:TagResource",
  "codepipeline:UpdatePipeline",
] as const;

/** The ECR actions that clean up a closed pull request's images: list the tags, delete them. */
export const IMAGE_CLEANUP_ACTIONS = ["ecr:BatchDeleteImage", "ecr:ListImages"] as const;

/** What the roles that manage clones (webhook handler, reconciler) have in common. */
export interface CloneManagementInput {
  scope: AccountScope;
  sourcePipelineName: string;
  /** The source pipeline's role, which every clone reuses. */
  pipelineRoleArn: string;
  repositoryArn: string;
  /** The source action's connection, which every clone's declaration names. */
  connectionArn: string;
}

/**
 * The statements of a role that manages clones: read the source pipeline, run {@link CLONE_ACTIONS} on
 * `<source>-pr-*` only, pass the pipeline role and the connection to CodePipeline only, clean up this
 * repository's images.
 */
export function cloneManagementStatements(input: CloneManagementInput): PolicyStatement[] {
  return [
    {
      Sid: "ReadSourcePipeline",
      Effect: "Allow",
      Action: "codepipeline:GetPipeline",
      Resource: pipelineArn(input.scope, input.sourcePipelineName),
    },
    {
      Sid: "ManageClones",
      Effect: "Allow",
      Action: [...CLONE_ACTIONS],
      Resource: clonesArn(input.scope, input.sourcePipelineName),
    },
    {
      Sid: "PassPipelineRole",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: input.pipelineRoleArn,
      Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
    },
    passConnectionStatement(input.connectionArn),
    {
      Sid: "CleanUpImages",
      Effect: "Allow",
      Action: [...IMAGE_CLEANUP_ACTIONS],
      Resource: input.repositoryArn,
    },
  ];
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
  pipelineRoleArn: string;
  repositoryArn: string;
  connectionArn: string;
  secretArns: string[];
  logGroupArn: string;
  /** The state table (replay protection); `undefined`: none. */
  stateTableArn?: string | undefined;
}

/**
 * What the webhook handler does: read the source pipeline, manage `<source>-pr-*` only, pass the
 * pipeline role and the connection to CodePipeline only, clean up this repository's images, read its
 * own secrets.
 */
export function webhookRoleStatements(
  input: Omit<WebhookRoleInput, "logGroupArn">,
): PolicyStatement[] {
  return [
    ...cloneManagementStatements({
      scope: input.scope,
      sourcePipelineName: input.sourcePipelineName,
      pipelineRoleArn: input.pipelineRoleArn,
      repositoryArn: input.repositoryArn,
      connectionArn: input.connectionArn,
    }),
    ...readSecretsStatements(input.secretArns),
    ...pullRequestMarksStatements(input.stateTableArn, input.sourcePipelineName),
  ];
}

/** The webhook handler's role: {@link webhookRoleStatements}, then writing its logs. */
export function webhookRolePolicy(input: WebhookRoleInput): PolicyDocument {
  return lambdaRolePolicy(webhookRoleStatements(input), input.logGroupArn);
}

export interface ReconcilerRoleInput {
  scope: AccountScope;
  sourcePipelineName: string;
  pipelineRoleArn: string;
  repositoryArn: string;
  connectionArn: string;
  /** The GitHub token's secret; `undefined`: no secret is readable. */
  githubTokenSecretArn: string | undefined;
  logGroupArn: string;
  /** The state table (replay protection); `undefined`: none. */
  stateTableArn?: string | undefined;
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
      pipelineRoleArn: input.pipelineRoleArn,
      repositoryArn: input.repositoryArn,
      connectionArn: input.connectionArn,
    }),
    ...readSecretsStatements(
      input.githubTokenSecretArn === undefined ? [] : [input.githubTokenSecretArn],
    ),
    ...pullRequestMarksStatements(input.stateTableArn, input.sourcePipelineName),
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
  /** The GitHub token's secret; `undefined`: no secret is readable. */
  githubTokenSecretArn: string | undefined;
  logGroupArn: string;
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
  return [
    {
      // The clones' declarations hold their branches as the pull requests name them.
      Sid: "ReadPipelines",
      Effect: "Allow",
      Action: "codepipeline:GetPipeline",
      Resource: [source, clones],
    },
    {
      Sid: "ReadExecutions",
      Effect: "Allow",
      Action: ["codepipeline:GetPipelineExecution", "codepipeline:ListPipelineExecutions"],
      Resource: [source, clones],
    },
    {
      Sid: "ReadCloneTags",
      Effect: "Allow",
      Action: "codepipeline:ListTagsForResource",
      Resource: clones,
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
  ];
}

/** The notify function's role: {@link notifierRoleStatements}, then writing its logs. */
export function notifierRolePolicy(input: NotifierRoleInput): PolicyDocument {
  return lambdaRolePolicy(notifierRoleStatements(input), input.logGroupArn);
}
