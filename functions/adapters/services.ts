/**
 * The default wiring: SDK clients and secret readers built once per container, on first use, and
 * the per-invocation adapters around them.
 */
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { PullRequestComments } from "../app/feedback.js";
import type {
  GitHubPullRequests,
  ImageStore,
  PipelineStore,
  PullRequestMarks,
} from "../app/ports.js";
import type { Settings } from "../app/settings.js";
import { ConfigurationError } from "../core/errors.js";
import { awsClientConfig, type AwsClientOptions } from "./aws-config.js";
import { CodePipelineStore } from "./codepipeline.js";
import { DynamoDbPullRequestMarks } from "./dynamodb-marks.js";
import { EcrImageStore } from "./ecr.js";
import { createOctokit, OctokitPullRequests } from "./github.js";
import { OctokitPullRequestComments } from "./github-feedback.js";
import { secretReader, type SecretReader } from "./secrets.js";

export interface AwsServices {
  pipelines: PipelineStore;
  images: ImageStore;
  pullRequests?: GitHubPullRequests;
  comments?: PullRequestComments;
  /** Present only when a state table is configured (STATE_TABLE_NAME). */
  marks?: PullRequestMarks;
}

/** Builds each client once, when first asked for. */
export function lazy<T>(create: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: create() }).v;
}

export class DefaultServices {
  private readonly codepipeline = lazy(
    () => new CodePipelineClient(awsClientConfig(this.clientOptions)),
  );
  private readonly ecr = lazy(() => new ECRClient(awsClientConfig(this.clientOptions)));
  private readonly dynamodb = lazy(() => new DynamoDBClient(awsClientConfig(this.clientOptions)));
  private readonly secrets = lazy(() => new SecretsManagerClient(awsClientConfig()));
  /** Fails with a ConfigurationError when neither variable is set (only the webhook needs it). */
  readonly webhookSecret: SecretReader;
  readonly githubToken: SecretReader | undefined;

  /** `clientOptions` apply to the CodePipeline and ECR clients (default: the webhook's). */
  constructor(
    private readonly settings: Settings,
    private readonly clientOptions: AwsClientOptions = {},
  ) {
    this.webhookSecret =
      secretReader("webhook secret", settings.webhookSecret, this.secrets) ??
      (() =>
        Promise.reject(
          new ConfigurationError("neither WEBHOOK_SECRET nor WEBHOOK_SECRET_ARN is set"),
        ));
    this.githubToken = secretReader("GitHub token", settings.githubToken, this.secrets);
  }

  /**
   * The GitHub client for the reconciler: with the token when one is configured, otherwise
   * anonymous, which can read public repositories' pull requests one by one at a low rate limit.
   */
  async gitHub(
    signal: AbortSignal,
  ): Promise<{ client: OctokitPullRequests; authenticated: boolean }> {
    const token = this.githubToken ? await this.githubToken() : undefined;
    return {
      client: new OctokitPullRequests(createOctokit(token, this.settings.githubApiUrl, signal)),
      authenticated: token !== undefined,
    };
  }

  async forInvocation(signal: AbortSignal): Promise<AwsServices> {
    const services: AwsServices = {
      pipelines: new CodePipelineStore(this.codepipeline(), signal),
      images: new EcrImageStore(this.ecr(), signal),
    };
    if (this.settings.stateTableName !== undefined) {
      services.marks = new DynamoDbPullRequestMarks(
        this.dynamodb(),
        this.settings.stateTableName,
        signal,
      );
    }
    if (this.githubToken) {
      const octokit = createOctokit(await this.githubToken(), this.settings.githubApiUrl, signal);
      services.pullRequests = new OctokitPullRequests(octokit);
      services.comments = new OctokitPullRequestComments(octokit);
    }
    return services;
  }
}
