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
  repositoryUri: pulumi.Output<string>;
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
  const buildspec = renderBuildspec({
    images: config.images,
    buildArgs: config.build.args,
    noCache: config.build.noCache,
    blueGreen: config.build.blueGreen,
    ...(secondRegistry === undefined ? {} : { secondRegistry }),
  });

  const scope: pulumi.Output<AccountScope> = pulumi
    .all([aws.getCallerIdentityOutput(), aws.getRegionOutput(), aws.getPartitionOutput()])
    .apply(([identity, region, partition]) => ({
      partition: partition.partition,
      region: region.region,
      accountId: identity.accountId,
    }));

  const artifacts = new ArtifactStore("artifacts", {
    retentionDays: config.artifactRetentionDays,
    forceDestroy: config.forceDestroy,
  });

  const registry = new Registry("registry", {
    imageNames: config.images.map((image) => image.name),
    sourceImageRetentionCount: config.sourceImageRetentionCount,
    prImageRetentionDays: config.prImageRetentionDays,
    untaggedImageRetentionDays: config.untaggedImageRetentionDays,
    forceDelete: config.forceDestroy,
  });

  // The source tier's repository prefix, `<registry host>/<pipelineName>` (image `<name>` goes to
  // `<prefix>/<name>`); the per-image repositories themselves are declared by the registry component.
  const repositoryPrefix = registry.repositoryUrl.apply(
    (url) => `${url.split("/")[0] ?? ""}/${config.pipelineName}`,
  );
  const environment: Record<BuildspecVariable, pulumi.Input<string>> = {
    BRANCHLINE_TIER: "source",
    REPOSITORY_PREFIX: repositoryPrefix,
    CACHE_REPOSITORY_PREFIX: repositoryPrefix,
  };
  const build = new BuildProject("build", {
    projectName: config.pipelineName,
    buildspec,
    computeType: config.build.computeType,
    image: config.build.image,
    timeoutMinutes: config.build.timeoutMinutes,
    environment,
    bucketArn: artifacts.bucketArn,
    repositoryArn: registry.repositoryArn,
    logRetentionDays: config.logRetentionDays,
    scope,
    secondRegistrySecretArn: secondRegistry?.credentialsSecretArn,
  });

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
    projectName: build.projectName,
    projectArn: build.projectArn,
    deploy: config.deploy,
    scope,
  });

  const state = new StateTable("state");

  const webhook = new WebhookReceiver("webhook", {
    code: code.webhook,
    sourcePipelineName: pipeline.pipelineName,
    pipelineRoleArn: pipeline.role.arn,
    repositoryName: registry.repositoryName,
    repositoryArn: registry.repositoryArn,
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
    pipelineRoleArn: pipeline.role.arn,
    repositoryName: registry.repositoryName,
    repositoryArn: registry.repositoryArn,
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
    repositoryUri: registry.repositoryUrl,
    connectionArn,
    connectionStatus,
    webhookId,
    notificationTopicArn: notifications.topicArn,
    reconcilerFunctionName: reconciler.functionName,
  };
}
