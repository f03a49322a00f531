/**
 * The default wiring: SDK clients and secret readers built once per container, on first use, and
 * the per-invocation adapters around them.
 */
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Octokit } from "@octokit/rest";
import type { CommitStatuses, PullRequestComments } from "../app/feedback.js";
import type {
  GitHubCommandPorts,
  GitHubPullRequests,
  IdleMarkers,
  ImageStore,
  OpenPullRequests,
  PipelineActivity,
  PipelineStore,
  PullRequestMarks,
  WebhookDeliveries,
} from "../app/ports.js";
import type { PreviewPorts } from "../app/preview-lifecycle.js";
import type { PreviewDeployments } from "../app/preview-deployments.js";
import { DynamoDbIdleMarkers } from "./dynamodb-idle.js";
import type { PreviewClients } from "./preview-clients.js";
import { OctokitPreviewDeployments } from "./github-deployments.js";
import { CodePipelineActivity } from "./pipeline-executions.js";
import type { Settings } from "../app/settings.js";
import { ConfigurationError } from "../core/errors.js";
import { awsClientConfig, type AwsClientOptions } from "./aws-config.js";
import { CodePipelineStore } from "./codepipeline.js";
import { DynamoDbPullRequestMarks } from "./dynamodb-marks.js";
import { EcrImageStore } from "./ecr.js";
import {
  createOctokit,
  OctokitPullRequests,
  OpenPullRequestCache,
  RateLimitObserver,
} from "./github.js";
import { GitHubAppSession } from "./github-app.js";
import { OctokitCommandPorts } from "./github-commands.js";
import { OctokitAppWebhookDeliveries, OctokitWebhookDeliveries } from "./github-hooks.js";
import {
  GitHubIdentity,
  OctokitCommitStatuses,
  OctokitPullRequestComments,
} from "./github-feedback.js";
import { secretReader, type SecretReader, type SecretRefreshOptions } from "./secrets.js";

export interface AwsServices {
  pipelines: PipelineStore;
  images: ImageStore;
  pullRequests?: GitHubPullRequests;
  comments?: PullRequestComments;
  statuses?: CommitStatuses;
  commands?: GitHubCommandPorts;
  /** Present only when a state table is configured (STATE_TABLE_NAME). */
  marks?: PullRequestMarks;
  /** Idle-expiry markers: present only with a state table and a service with `idleDays`. */
  idleMarkers?: IdleMarkers;
  /** The open pull requests (a freed clone slot goes to the oldest waiting): with GitHub only. */
  openPullRequests?: OpenPullRequests;
  /** ECS and the load balancer for previews: only when some service has previews. */
  previews?: { ports: PreviewPorts; stackPrefix: string };
  /** The previews' GitHub deployments: with GitHub credentials and previews only. */
  deployments?: PreviewDeployments;
}

/** Builds each client once, when first asked for. */
export function lazy<T>(create: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: create() }).v;
}

export interface SecretOptions extends SecretRefreshOptions {
  /** The Secrets Manager client to read secrets with (default: one built on first use). */
  secretsClient?: () => SecretsManagerClient;
}

export class DefaultServices {
  private readonly codepipeline = lazy(
    () => new CodePipelineClient(awsClientConfig(this.clientOptions)),
  );
  private readonly ecr = lazy(() => new ECRClient(awsClientConfig(this.clientOptions)));
  private readonly dynamodb = lazy(() => new DynamoDBClient(awsClientConfig(this.clientOptions)));
  /** The preview clients, loaded on first use (none without previews). */
  private previewClients: Promise<PreviewClients> | undefined;
  /** The GitHub token or App (none: anonymous), with its identity, kept for the container. */
  readonly github: GitHubCredentials | undefined;
  /** GitHub's rate-limit headers, as the last answer showed them. */
  readonly rateLimit = new RateLimitObserver();
  /** The reconciler's last answers to its listings of open pull requests, with their ETags. */
  private readonly openPullRequests = new OpenPullRequestCache();

  /** `clientOptions` apply to the CodePipeline and ECR clients (default: the webhook's). */
  constructor(
    private readonly settings: Settings,
    private readonly clientOptions: AwsClientOptions = {},
    secretOptions: SecretOptions = {},
  ) {
    this.github = gitHubCredentials(settings, secretOptions);
  }

  /**
   * The GitHub client for the reconciler: with the token when one is configured, otherwise
   * anonymous, which can read public repositories' pull requests one by one at a low rate limit.
   */
  async gitHub(signal: AbortSignal): Promise<{
    client: OctokitPullRequests;
    authenticated: boolean;
    /**
     * The webhook's deliveries: with a token, each repository's webhook (GitHub shows hooks to
     * their admins only); with an App, the App's own webhook, which serves every installation.
     */
    deliveries?: WebhookDeliveries;
    /** Commit statuses (waiting, idle): only when authenticated. */
    statuses?: CommitStatuses;
    /** Authors' permissions (the approval rule): only when authenticated. */
    commands?: GitHubCommandPorts;
    /** The previews' deployments: only when authenticated and some service has previews. */
    deployments?: PreviewDeployments;
  }> {
    const github = this.github;
    const octokit = github
      ? await github.octokit(this.settings.githubApiUrl, signal)
      : createOctokit(undefined, this.settings.githubApiUrl, signal);
    // The sweep leaves the last part of the budget to the webhook and the worker.
    this.rateLimit.watch(octokit, { reserve: true });
    return {
      client: new OctokitPullRequests(octokit, github ? this.openPullRequests : undefined),
      authenticated: github !== undefined,
      ...(github ? { deliveries: webhookDeliveries(github.kind, octokit) } : {}),
      ...(github ? { statuses: new OctokitCommitStatuses(octokit) } : {}),
      ...(github ? { commands: new OctokitCommandPorts(octokit) } : {}),
      ...(github && this.hasPreviews()
        ? { deployments: new OctokitPreviewDeployments(octokit) }
        : {}),
    };
  }

  /** Whether some service removes idle clones (then the idle markers are read and written). */
  private idleExpiry(): boolean {
    return this.settings.services.some((service) => service.idleDays !== undefined);
  }

  /** The clones' last runs, for idle expiry: only when some service has `idleDays`. */
  activity(signal: AbortSignal): PipelineActivity | undefined {
    return this.idleExpiry() ? new CodePipelineActivity(this.codepipeline(), signal) : undefined;
  }

  private hasPreviews(): boolean {
    return this.settings.services.some((service) => service.preview !== undefined);
  }

  /** ECS and the load balancer for previews, bound to `signal`: only when some service has them. */
  async previews(
    signal: AbortSignal,
  ): Promise<{ ports: PreviewPorts; stackPrefix: string } | undefined> {
    const prefix = this.settings.stackPrefix;
    if (prefix === undefined || !this.hasPreviews()) return undefined;
    // Loaded on first use: a stack without previews never loads the ECS and ELB clients. In the
    // deployment archive the module is a bundle of its own next to index.js (infra/bundle.ts), with
    // its own copies of the modules it imports: its errors are recognised by name, not class.
    this.previewClients ??= import("./preview-clients.js").then(
      ({ PreviewClients }) => new PreviewClients(this.clientOptions),
    );
    const clients = await this.previewClients;
    return { ports: clients.ports(signal), stackPrefix: prefix };
  }

  async forInvocation(signal: AbortSignal): Promise<AwsServices> {
    const previews = await this.previews(signal);
    const services: AwsServices = {
      pipelines: new CodePipelineStore(this.codepipeline(), signal),
      images: new EcrImageStore(this.ecr(), signal),
      ...(previews !== undefined ? { previews } : {}),
    };
    if (this.settings.stateTableName !== undefined) {
      services.marks = new DynamoDbPullRequestMarks(
        this.dynamodb(),
        this.settings.stateTableName,
        signal,
      );
      if (this.idleExpiry()) {
        services.idleMarkers = new DynamoDbIdleMarkers(
          this.dynamodb(),
          this.settings.stateTableName,
          signal,
        );
      }
    }
    if (this.github) {
      const octokit = await this.github.octokit(this.settings.githubApiUrl, signal);
      this.rateLimit.watch(octokit);
      services.pullRequests = new OctokitPullRequests(octokit);
      services.openPullRequests = new OctokitPullRequests(octokit, this.openPullRequests);
      services.comments = new OctokitPullRequestComments(octokit, this.github.identity);
      services.statuses = new OctokitCommitStatuses(octokit);
      services.commands = new OctokitCommandPorts(octokit);
      if (previews !== undefined) services.deployments = new OctokitPreviewDeployments(octokit);
    }
    return services;
  }
}

/** GitHub credentials kept for the container: a token, or a GitHub App. */
export interface GitHubCredentials {
  kind: "token" | "app";
  /** An Octokit client for one invocation, authenticated with these credentials. */
  octokit(baseUrl: string | undefined, signal: AbortSignal): Promise<Octokit>;
  /** Whose pull request comments are branchline's, asked of GitHub once per container. */
  identity: GitHubIdentity;
}

/**
 * The configured GitHub credentials (settings/readGitHubAuth never gives both), or `undefined`
 * for anonymous access. Secrets are read on first use.
 */
export function gitHubCredentials(
  settings: Pick<Settings, "githubToken" | "githubApp">,
  options: SecretOptions = {},
): GitHubCredentials | undefined {
  const { secretsClient = lazy(() => new SecretsManagerClient(awsClientConfig())), ...refresh } =
    options;
  if (settings.githubApp) {
    const app = settings.githubApp;
    const key = secretReader("GitHub App private key", app.privateKey, secretsClient, refresh);
    if (!key) throw new ConfigurationError("the GitHub App's private key is not configured");
    const session = new GitHubAppSession(app.appId, key, {
      installationId: app.installationId,
      ...(refresh.now ? { now: refresh.now } : {}),
    });
    return {
      kind: "app",
      identity: session.identity,
      octokit: async (baseUrl, signal) => {
        const octokit = createOctokit(undefined, baseUrl, signal);
        await session.authenticate(octokit);
        return octokit;
      },
    };
  }
  const token = secretReader("GitHub token", settings.githubToken, secretsClient, refresh);
  if (!token) return undefined;
  return {
    kind: "token",
    identity: new GitHubIdentity(),
    octokit: (baseUrl, signal) => tokenOctokit(token, baseUrl, signal),
  };
}

/**
 * The webhook secret's reader, from its two variables alone: a delivery is authenticated before the
 * other settings are read, so that a misconfiguration is named only to a caller who proved to be
 * GitHub. Fails with a ConfigurationError when neither variable is set.
 */
export function webhookSecretReader(
  source: { value?: string | undefined; arn?: string | undefined },
  options: SecretOptions = {},
): SecretReader {
  const { secretsClient = lazy(() => new SecretsManagerClient(awsClientConfig())), ...refresh } =
    options;
  const reader = secretReader("webhook secret", source, secretsClient, refresh);
  if (reader) return reader;
  const missing = () =>
    Promise.reject(new ConfigurationError("neither WEBHOOK_SECRET nor WEBHOOK_SECRET_ARN is set"));
  return Object.assign(missing, { refresh: async () => undefined });
}

/**
 * An Octokit client whose requests carry the token `token` reads. When GitHub answers 401 (the token
 * rotated since it was read), the token is read again (`SecretReader.refresh`: at most once a
 * minute) and the request retried once with the new value; a 401 with no newer token is a
 * ConfigurationError (the token is wrong, expired or revoked).
 */
export async function tokenOctokit(
  token: SecretReader,
  baseUrl: string | undefined,
  signal?: AbortSignal,
): Promise<Octokit> {
  let current = await token();
  const octokit = createOctokit(undefined, baseUrl, signal);
  octokit.hook.wrap("request", async (request, options) => {
    // The inner hooks see the options this hook was called with, whatever it passes on: the
    // header is set on that object.
    const send = (value: string) => {
      options.headers.authorization = authorization(value);
      return request(options);
    };
    try {
      return await send(current);
    } catch (error) {
      if (statusOf(error) !== 401) throw error;
      const fresh = await token.refresh();
      if (fresh === undefined) throw refusedToken();
      current = fresh;
      try {
        return await send(fresh);
      } catch (again) {
        throw statusOf(again) === 401 ? refusedToken() : again;
      }
    }
  });
  return octokit;
}

/** GitHub's header for a token: `bearer` for a JWT (three dot-separated parts), else `token`. */
function authorization(token: string): string {
  return token.split(".").length === 3 ? `bearer ${token}` : `token ${token}`;
}

function statusOf(error: unknown): unknown {
  return (error as { status?: unknown } | null)?.status;
}

function refusedToken(): ConfigurationError {
  return new ConfigurationError(
    "GitHub refused the GitHub token (401): it is wrong, expired or revoked",
  );
}

/** A repository webhook's deliveries with a token; the App's own webhook's with an App. */
function webhookDeliveries(kind: "token" | "app", octokit: Octokit): WebhookDeliveries {
  return kind === "app"
    ? new OctokitAppWebhookDeliveries(octokit)
    : new OctokitWebhookDeliveries(octokit);
}
