/**
 * The CLI's AWS side: SDK clients from the SDK's default chain (AWS_PROFILE, environment, SSO, ...),
 * checked for a region and credentials before the first call so that a missing one is one clear
 * line, and the stores the functions use around them.
 */
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { ECRClient } from "@aws-sdk/client-ecr";
import { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig } from "../adapters/aws-config.js";
import { CodePipelineStore } from "../adapters/codepipeline.js";
import { EcrImageStore } from "../adapters/ecr.js";
import { CodePipelineHistory } from "../adapters/pipeline-history.js";
import type { SourcePipeline } from "../app/pull-request-pipelines.js";
import { sourceRefOf } from "../core/clone.js";
import { CliError } from "./io.js";

export const NO_CREDENTIALS_MESSAGE =
  "no AWS credentials: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
export const NO_REGION_MESSAGE = "no AWS region: set AWS_REGION, or a region in your AWS profile";

export interface AwsContext {
  pipelines: CodePipelineStore;
  images: EcrImageStore;
  history: CodePipelineHistory;
}

/** Clients for the CLI: a longer per-request timeout than the webhook's, the same retries. */
export async function connectAws(signal?: AbortSignal): Promise<AwsContext> {
  const config = awsClientConfig({ requestTimeoutMs: 15_000 });
  const codepipeline = new CodePipelineClient(config);
  const ecr = new ECRClient(config);
  await ensureRegionAndCredentials(codepipeline);
  return {
    pipelines: new CodePipelineStore(codepipeline, signal),
    images: new EcrImageStore(ecr, signal),
    history: new CodePipelineHistory(codepipeline, signal),
  };
}

/**
 * An SQS client for a queue, checked for a region and credentials like `connectAws`'s clients. The
 * region is the queue URL's (`https://sqs.<region>.amazonaws.com/...`) when it names one, and calls
 * go to the region's endpoint (or AWS_ENDPOINT_URL), not to the queue URL's host: the SDK would
 * otherwise warn on the console whenever the two differ.
 */
export async function connectSqs(queueUrl: string): Promise<SQSClient> {
  const region = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\//.exec(queueUrl)?.[1];
  const sqs = new SQSClient({
    ...awsClientConfig({ requestTimeoutMs: 15_000 }),
    ...(region ? { region } : {}),
    useQueueUrlAsEndpoint: false,
  });
  await ensureRegionAndCredentials(sqs);
  return sqs;
}

async function ensureRegionAndCredentials(client: {
  config: { region: () => Promise<string>; credentials: () => Promise<unknown> };
}): Promise<void> {
  try {
    await client.config.region();
  } catch {
    throw new CliError(NO_REGION_MESSAGE);
  }
  try {
    await client.config.credentials();
  } catch (error) {
    throw isCredentialsError(error) ? new CliError(NO_CREDENTIALS_MESSAGE) : error;
  }
}

/** The SDK found no credentials (or could not refresh them) anywhere in its chain. */
export function isCredentialsError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "CredentialsProviderError" ||
      error.name === "TokenProviderError" ||
      /could not load credentials/i.test(error.message))
  );
}

/** AWS refused the credentials it was given (expired, revoked or unknown keys). */
export function isRejectedCredentials(error: unknown): boolean {
  return (
    error instanceof Error &&
    [
      "ExpiredTokenException",
      "UnrecognizedClientException",
      "InvalidSignatureException",
      "InvalidClientTokenId",
    ].includes(error.name)
  );
}

/** The source pipeline, or a clear error when it does not exist in this account and region. */
export async function loadSource(aws: AwsContext, name: string): Promise<SourcePipeline> {
  const stored = await aws.pipelines.get(name);
  if (!stored) {
    throw new CliError(
      `source pipeline ${name} does not exist in this account and region (check AWS_PROFILE, AWS_REGION or --source-pipeline)`,
    );
  }
  return { ...stored, ref: sourceRefOf(stored.declaration) };
}
