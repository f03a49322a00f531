/**
 * The Pulumi program of branchline (`pulumi up` runs this file: package.json `main`). Thin: reads the
 * stack's config, bundles the Lambdas from the checked-out code and declares the stack.
 *
 * Relative imports in infra/ carry no `.js` suffix: the Pulumi CLI loads this program with the
 * ts-node vendored in @pulumi/pulumi and Node's CommonJS resolver, which finds `./config` (a .ts
 * file) but not `./config.js`. test/infra/runner.test.ts loads the program that way.
 */
import { bundleFunctions, bundlePreviews, functionArchives } from "./bundle";
import { loadConfig } from "./config";
import { checkNodeVersion } from "./preflight";
import { createBranchline } from "./program";

checkNodeVersion(process.versions.node);

const outputs = createBranchline(
  loadConfig(),
  functionArchives(bundleFunctions(), bundlePreviews()),
);

export const webhookUrl = outputs.webhookUrl;
export const sourcePipelineName = outputs.sourcePipelineName;
export const sourcePipelineConsoleUrl = outputs.sourcePipelineConsoleUrl;
export const repositoryUri = outputs.repositoryUri;
export const sourceRepositoryUris = outputs.sourceRepositoryUris;
export const prRepositoryNames = outputs.prRepositoryNames;
export const prArtifactBucketName = outputs.prArtifactBucketName;
export const connectionArn = outputs.connectionArn;
export const connectionStatus = outputs.connectionStatus;
/** Absent when the stack does not register the webhook (no `branchline:githubToken`). */
export const webhookId = outputs.webhookId;
export const notificationTopicArn = outputs.notificationTopicArn;
export const reconcilerFunctionName = outputs.reconcilerFunctionName;
/** Service name -> its source pipeline, repository, branch and image repositories (both tiers). */
export const services = outputs.services;
/** The delivery queue (SQS FIFO); absent with `branchline:delivery` mode `inline`. */
export const deliveryQueueUrl = outputs.deliveryQueueUrl;
/** The delivery queue's dead-letter queue (`branchline dlq ...` reads it); absent when inline. */
export const deadLetterQueueUrl = outputs.deadLetterQueueUrl;
/** The delivery worker Lambda; absent when inline. */
export const workerFunctionName = outputs.workerFunctionName;
/** Each function's CloudWatch Logs group: { webhook, worker (queue mode only), reconciler, notify }. */
export const logGroups = outputs.logGroups;
/** The stack's CloudWatch dashboard, and its page in the console. */
export const dashboardName = outputs.dashboardName;
export const dashboardUrl = outputs.dashboardUrl;
