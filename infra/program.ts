/**
 * The whole stack: config -> components -> outputs. `infra/index.ts` calls this with the stack's
 * configuration; tests and `npm run synth` call it under Pulumi mocks.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUILDSPEC_ENVIRONMENT, renderBuildspec } from "./build/buildspec";
import { ArtifactStore } from "./components/artifacts";
import type { FunctionArchives } from "./bundle";
import { BuildProject } from "./components/build";
import { SourceConnection } from "./components/connection";
import { Notifications } from "./components/notifications";
import { SourcePipeline } from "./components/pipeline";
import { Reconciler } from "./components/reconciler";
import { Registry } from "./components/registry";
import { StateTable } from "./components/state-table";
import { WebhookReceiver } from "./components/webhook";
import type { BranchlineConfig } from "./config";
import { GitHubWebhook } from "./github/webhook-resource";
import type { AccountScope } from "./policies";

export interface BranchlineOutputs {
  webhookUrl: pulumi.Output<string>;
  sourcePipelineName: pulumi.Output<string>;
  sourcePipelineConsoleUrl: pulumi.Output<string>;
  /** The first image's source repository URI (kept from the one-repository layout). */
  repositoryUri: pulumi.Output<string>;
  /** Image name -> its source tier repository URI (`<prefix>/<image>`). */
  sourceRepositoryUris: pulumi.Output<Record<string, string>>;
  /** The pull request tier's repositories (`<prefix>-pr/<image>`). */
  prRepositoryNames: pulumi.Output<string[]>;
  /** The pull request tier's artifact bucket, every clone's artifact store. */
  prArtifactBucketName: pulumi.Output<string>;
  connectionArn: pulumi.Output<string>;
  connectionStatus: pulumi.Output<string>;
  /** GitHub's id of the repository webhook; `undefined` when the stack does not register it. */
  webhookId: pulumi.Output<number> | undefined;
  /** The SNS topic of execution success and failure messages. */
  notificationTopicArn: pulumi.Output<string>;
  /** The reconciler Lambda (`aws lambda invoke --function-name <name> --payload '{}'` runs a sweep). */
  reconcilerFunctionName: pulumi.Output<string>;
}

/** Environment variables the buildspec needs from the CodeBuild project (typed: a new one won't compile). */
type BuildspecVariable = (typeof BUILDSPEC_ENVIRONMENT)[number];

export const CONNECTION_PENDING_NOTE =
  "authorise it once in the AWS console: Developer Tools > Settings > Connections > Update pending connection";

export function connectionStatusNote(status: string): string {
  return status === "AVAILABLE" ? "AVAILABLE" : `${status}: ${CONNECTION_PENDING_NOTE}`;
}

/** The pull request tier's name for a source name: its build project and repository prefix. */
export function pullRequestName(sourceName: string): string {
  return `${sourceName}-pr`;
}

export function pipelineConsoleUrl(region: string, pipelineName: string): string {
  return `https://${region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${encodeURIComponent(pipelineName)}/view?region=${region}`;
}

/**
 * Declares every resource of a stack.
 * @param code the Lambdas' deployment archives (`functionArchives(bundleFunctions())`).
 */
export function createBranchline(
  config: BranchlineConfig,
  code: FunctionArchives,
): BranchlineOutputs {
  const secondRegistry = config.build.secondRegistry;
  // One buildspec per tier: the pull request tier's names no second registry, whose secret its role
  // cannot read (CodeBuild fetches `env.secrets-manager` before any phase runs).
  const buildspecOptions = {
    images: config.images,
    buildArgs: config.build.args,
    noCache: config.build.noCache,
    blueGreen: config.build.blueGreen,
  };
  const buildspec = renderBuildspec({
    ...buildspecOptions,
    ...(secondRegistry === undefined ? {} : { secondRegistry }),
    tier: "source",
  });
  const prBuildspec = renderBuildspec({ ...buildspecOptions, tier: "pull-request" });

  const scope: pulumi.Output<AccountScope> = pulumi
    .all([aws.getCallerIdentityOutput(), aws.getRegionOutput(), aws.getPartitionOutput()])
    .apply(([identity, region, partition]) => ({
      partition: partition.partition,
      region: region.region,
      accountId: identity.accountId,
    }));

  // One artifact bucket per tier: the source pipeline's (which its ECS deploy reads) is out of reach
  // of the clone role and the PR build role, and the PR tier's out of reach of the source tier's.
  const artifactSettings = {
    retentionDays: config.artifactRetentionDays,
    forceDestroy: config.forceDestroy,
  };
  const artifacts = new ArtifactStore("artifacts", artifactSettings);
  const prArtifacts = new ArtifactStore("pr-artifacts", artifactSettings);

  const imageNames = config.images.map((image) => image.name);
  const retention = {
    sourceImageRetentionCount: config.sourceImageRetentionCount,
    prImageRetentionDays: config.prImageRetentionDays,
    untaggedImageRetentionDays: config.untaggedImageRetentionDays,
  };
  const prPrefix = pullRequestName(config.pipelineName);
  const registry = new Registry("registry", {
    tier: "source",
    namePrefix: config.pipelineName,
    imageNames,
    ...retention,
    forceDelete: config.forceDestroy,
  });
  const prRegistry = new Registry("pr-registry", {
    tier: "pull-request",
    namePrefix: prPrefix,
    imageNames,
    ...retention,
    forceDelete: config.forceDestroy,
  });

  const buildBase = {
    computeType: config.build.computeType,
    image: config.build.image,
    timeoutMinutes: config.build.timeoutMinutes,
    logRetentionDays: config.logRetentionDays,
    scope,
  };
  const sourceEnvironment: Record<BuildspecVariable, pulumi.Input<string>> = {
    BRANCHLINE_TIER: "source",
    REPOSITORY_PREFIX: registry.urlPrefix,
    CACHE_REPOSITORY_PREFIX: registry.urlPrefix,
  };
  const build = new BuildProject("build", {
    ...buildBase,
    buildspec,
    bucketArn: artifacts.bucketArn,
    projectName: config.pipelineName,
    description: "builds and pushes the source branch's images (source tier)",
    environment: sourceEnvironment,
    pushRepositoryArns: registry.repositoryArns,
    secondRegistrySecretArn: secondRegistry?.credentialsSecretArn,
    buildImagePolicyProjects: [config.pipelineName, prPrefix],
  });
  const prEnvironment: Record<BuildspecVariable, pulumi.Input<string>> = {
    BRANCHLINE_TIER: "pull-request",
    REPOSITORY_PREFIX: prRegistry.urlPrefix,
    CACHE_REPOSITORY_PREFIX: registry.urlPrefix,
  };
  // No second-registry secret: a pull request's code never holds a credential beyond its own pushes.
  const prBuild = new BuildProject("pr-build", {
    ...buildBase,
    buildspec: prBuildspec,
    bucketArn: prArtifacts.bucketArn,
    projectName: prPrefix,
    description: "builds and pushes pull requests' images (pull request tier)",
    environment: prEnvironment,
    pushRepositoryArns: prRegistry.repositoryArns,
    pullRepositoryArns: registry.repositoryArns,
  });
  const prBuildProjects = pulumi
    .all([build.projectName, prBuild.projectName])
    .apply(([source, pr]) => ({ [source]: pr }));

  let connectionArn: pulumi.Output<string>;
  let connectionStatus: pulumi.Output<string>;
  if (config.connectionArn === undefined) {
    const connection = new SourceConnection("connection", {
      connectionName: config.pipelineName,
    });
    connectionArn = connection.connectionArn;
    connectionStatus = connection.connectionStatus.apply(connectionStatusNote);
  } else {
    connectionArn = pulumi.output(config.connectionArn);
    connectionStatus = pulumi.output(
      "existing connection (branchline:connectionArn): it must be AVAILABLE",
    );
  }

  const pipeline = new SourcePipeline("pipeline", {
    pipelineName: config.pipelineName,
    pipelineType: config.pipelineType,
    repository: config.repository,
    branch: config.branch,
    connectionArn,
    bucketName: artifacts.bucketName,
    bucketArn: artifacts.bucketArn,
    prBucketArn: prArtifacts.bucketArn,
    projectName: build.projectName,
    projectArn: build.projectArn,
    prProjectArn: prBuild.projectArn,
    allowForkPullRequests: config.allowForkPullRequests,
    deploy: config.deploy,
    scope,
  });

  const state = new StateTable("state");

  const webhook = new WebhookReceiver("webhook", {
    code: code.webhook,
    sourcePipelineName: pipeline.pipelineName,
    cloneRoleArn: pipeline.cloneRole.arn,
    prBuildProjects,
    prArtifactBucketName: prArtifacts.bucketName,
    prRepositoryNames: prRegistry.repositoryNames,
    prRepositoryArns: prRegistry.repositoryArns,
    connectionArn,
    webhookSecret: config.webhookSecret,
    githubToken: config.githubToken,
    allowForkPullRequests: config.allowForkPullRequests,
    buildDraftPullRequests: config.buildDraftPullRequests,
    logRetentionDays: config.logRetentionDays,
    scope,
    stateTableName: state.tableName,
    stateTableArn: state.tableArn,
  });

  const reconciler = new Reconciler("reconciler", {
    code: code.reconcile,
    sourcePipelineName: pipeline.pipelineName,
    cloneRoleArn: pipeline.cloneRole.arn,
    prBuildProjects,
    prArtifactBucketName: prArtifacts.bucketName,
    prRepositoryNames: prRegistry.repositoryNames,
    prRepositoryArns: prRegistry.repositoryArns,
    connectionArn,
    githubTokenSecretArn: webhook.githubTokenSecretArn,
    allowForkPullRequests: config.allowForkPullRequests,
    buildDraftPullRequests: config.buildDraftPullRequests,
    schedule: config.reconcileSchedule,
    logRetentionDays: config.logRetentionDays,
    scope,
    stateTableName: state.tableName,
    stateTableArn: state.tableArn,
  });

  const notifications = new Notifications("notifications", {
    code: code.notify,
    sourcePipelineName: pipeline.pipelineName,
    githubTokenSecretArn: webhook.githubTokenSecretArn,
    email: config.notificationEmail,
    logRetentionDays: config.logRetentionDays,
    scope,
  });

  let webhookId: pulumi.Output<number> | undefined;
  // Registration only with the registration token: it stays in the program (and, encrypted, in the
  // stack's state), never in Secrets Manager nor in a Lambda's reach.
  if (config.registerWebhook && config.githubRegistrationToken !== undefined) {
    webhookId = new GitHubWebhook(
      "github-webhook",
      {
        repository: config.repository,
        url: webhook.webhookUrl,
        secret: config.webhookSecret,
        token: config.githubRegistrationToken,
      },
      // GitHub pings the URL at once: the route, integration, stage and invoke permission must exist.
      // On destroy the webhook goes first, before the teardown removes the clones.
      { dependsOn: [...webhook.deliveryResources, reconciler.teardown] },
    ).webhookId;
  }

  return {
    webhookUrl: webhook.webhookUrl,
    sourcePipelineName: pipeline.pipelineName,
    sourcePipelineConsoleUrl: pulumi
      .all([scope, pipeline.pipelineName])
      .apply(([s, name]) => pipelineConsoleUrl(s.region, name)),
    repositoryUri: (registry.repositories[0] as aws.ecr.Repository).repositoryUrl,
    sourceRepositoryUris: registry.repositoryUrls,
    prRepositoryNames: prRegistry.repositoryNames,
    prArtifactBucketName: prArtifacts.bucketName,
    connectionArn,
    connectionStatus,
    webhookId,
    notificationTopicArn: notifications.topicArn,
    reconcilerFunctionName: reconciler.functionName,
  };
}
