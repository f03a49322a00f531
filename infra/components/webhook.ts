/**
 * The webhook receiver: API Gateway HTTP API (`POST /webhook`, Lambda proxy integration, payload
 * format 2.0, so the raw body reaches the handler) -> Lambda (nodejs22.x, arm64) holding an esbuild
 * bundle of functions/webhook. Secrets live in Secrets Manager; the Lambda gets their ARNs only.
 *
 * With a delivery queue (durable delivery), the function verifies, routes and sends each wanted
 * delivery to the queue: its role reads the webhook secret and sends to that queue, nothing else (the
 * worker manages the clones). It keeps the routing variables, not the GitHub token's secret.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../functions/shared/names";
import {
  queueWebhookRoleStatements,
  servicesWebhookRoleStatements,
  webhookRoleStatements,
  type AccountScope,
  type ServiceSet,
} from "../policies";
import {
  cloneManagerVariables,
  gitHubAppVariables,
  type CloneManagerArgs,
  type GitHubAppAccess,
  cloneManagerPolicyInputs,
  servicesPolicyInputs,
  previewRolePolicies,
} from "./clone-manager";
import { LambdaFunction } from "./lambda-function";

export const WEBHOOK_ROUTE_KEY = "POST /webhook";
export const WEBHOOK_PATH = "/webhook";

export interface WebhookReceiverArgs extends CloneManagerArgs {
  /** The Lambda deployment archive (see `functionArchive`). */
  code: pulumi.Input<pulumi.asset.Archive>;
  webhookSecret: pulumi.Input<string>;
  /** Creates the GitHub token secret; `undefined`: none (the handler then posts no statuses). */
  githubToken: pulumi.Input<string> | undefined;
  /**
   * Authenticate as this GitHub App instead of a token (never both): creates the secret of its
   * private key; `undefined`: none.
   */
  githubApp?:
    | { appId: number; privateKey: pulumi.Input<string>; installationId?: number | undefined }
    | undefined;
  logRetentionDays: pulumi.Input<number>;
  scope: pulumi.Input<AccountScope>;
  /**
   * The many-service stack: the routing table is the file `file` of the deployment archive
   * (`BRANCHLINE_SERVICES_FILE`) instead of the one-service variables, and the role covers `set`.
   */
  services?: ManyServices | undefined;
  /** The delivery queue (durable delivery); `undefined`: the function does the work inline. */
  queue?: { url: pulumi.Input<string>; arn: pulumi.Input<string> } | undefined;
}

/** How a function of a many-service stack learns its services. */
export interface ManyServices {
  /** The routing table's absolute path in the Lambda (`/var/task/services.json`). */
  file: string;
  set: pulumi.Input<ServiceSet>;
}

export class WebhookReceiver extends pulumi.ComponentResource {
  public readonly function: aws.lambda.Function;
  /** The function's CloudWatch Logs group. */
  public readonly logGroupName: pulumi.Output<string>;
  public readonly api: aws.apigatewayv2.Api;
  public readonly webhookUrl: pulumi.Output<string>;
  /**
   * What a delivery to {@link webhookUrl} goes through: the integration, the route, the stage and the
   * permission to invoke the function. Register the GitHub webhook after them (`dependsOn`), or
   * GitHub's first ping may reach an API that cannot answer yet.
   */
  public readonly deliveryResources: pulumi.Resource[];
  /** The GitHub token's secret (shared with the reconciler and notify functions); `undefined`: none. */
  public readonly githubTokenSecretArn: pulumi.Output<string> | undefined;
  /**
   * The GitHub App with its private key's secret (for the reconciler, worker and notify
   * functions); `undefined`: no App.
   */
  public readonly githubApp: GitHubAppAccess | undefined;

  constructor(name: string, args: WebhookReceiverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:webhook:WebhookReceiver", name, {}, opts);
    const parent = { parent: this };

    const webhookSecret = new aws.secretsmanager.Secret(
      `${name}-webhook-secret`,
      { description: "branchline: the GitHub webhook secret" },
      parent,
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-webhook-secret-value`,
      { secretId: webhookSecret.id, secretString: pulumi.secret(args.webhookSecret) },
      parent,
    );

    let githubTokenSecret: aws.secretsmanager.Secret | undefined;
    if (args.githubToken !== undefined) {
      githubTokenSecret = new aws.secretsmanager.Secret(
        `${name}-github-token`,
        { description: "branchline: the GitHub token used to report commit statuses" },
        parent,
      );
      new aws.secretsmanager.SecretVersion(
        `${name}-github-token-value`,
        { secretId: githubTokenSecret.id, secretString: pulumi.secret(args.githubToken) },
        parent,
      );
    }
    let githubApp: GitHubAppAccess | undefined;
    if (args.githubApp !== undefined) {
      if (args.githubToken !== undefined) {
        throw new Error("a GitHub token and a GitHub App are both given: give one");
      }
      const keySecret = new aws.secretsmanager.Secret(
        `${name}-github-app-private-key`,
        { description: "branchline: the GitHub App's private key" },
        parent,
      );
      new aws.secretsmanager.SecretVersion(
        `${name}-github-app-private-key-value`,
        { secretId: keySecret.id, secretString: pulumi.secret(args.githubApp.privateKey) },
        parent,
      );
      githubApp = {
        appId: args.githubApp.appId,
        installationId: args.githubApp.installationId,
        privateKeySecretArn: keySecret.arn,
      };
    }
    const githubSecretArn = githubTokenSecret?.arn ?? githubApp?.privateKeySecretArn;
    const secretArns = [webhookSecret.arn, ...(githubSecretArn ? [githubSecretArn] : [])];

    const services = args.services;
    const variables: Record<string, pulumi.Input<string>> = {
      ...cloneManagerVariables(args),
      [ENV.webhookSecretArn]: webhookSecret.arn,
    };
    const queue = args.queue;
    if (queue !== undefined) {
      variables[ENV.queueUrl] = queue.url;
    } else if (githubTokenSecret !== undefined) {
      variables[ENV.githubTokenSecretArn] = githubTokenSecret.arn;
    } else {
      Object.assign(variables, gitHubAppVariables(githubApp));
    }
    if (services !== undefined) replaceWithServicesFile(variables, services.file);

    const lambda = new LambdaFunction(
      name,
      {
        description: "branchline: receives GitHub pull request webhooks",
        roleDescription: "branchline: the webhook handler's role",
        code: args.code,
        environment: variables,
        timeoutSeconds: 30,
        memoryMb: 256,
        logRetentionDays: args.logRetentionDays,
        policyStatements:
          queue !== undefined
            ? pulumi
                .output({ webhookSecretArn: webhookSecret.arn, queueArn: queue.arn })
                .apply(queueWebhookRoleStatements)
            : services === undefined
              ? pulumi
                  .output({
                    ...cloneManagerPolicyInputs(args),
                    secretArns,
                  })
                  .apply(webhookRoleStatements)
              : pulumi
                  .output({
                    ...servicesPolicyInputs(args, services.set),
                    secretArns,
                  })
                  .apply(servicesWebhookRoleStatements),
        // Inline delivery: the webhook ensures and removes previews itself (queued: the worker does).
        managedPolicies:
          queue === undefined
            ? previewRolePolicies(args.previewSet, { traffic: false })
            : undefined,
      },
      parent,
    );
    this.function = lambda.function;
    this.logGroupName = lambda.logGroup.name;

    this.api = new aws.apigatewayv2.Api(
      `${name}-api`,
      { protocolType: "HTTP", description: "branchline: GitHub webhook endpoint" },
      parent,
    );

    const integration = new aws.apigatewayv2.Integration(
      `${name}-integration`,
      {
        apiId: this.api.id,
        integrationType: "AWS_PROXY",
        integrationMethod: "POST",
        integrationUri: this.function.invokeArn,
        payloadFormatVersion: "2.0",
        timeoutMilliseconds: 30000,
      },
      parent,
    );

    const route = new aws.apigatewayv2.Route(
      `${name}-route`,
      {
        apiId: this.api.id,
        routeKey: WEBHOOK_ROUTE_KEY,
        target: pulumi.interpolate`integrations/${integration.id}`,
      },
      parent,
    );

    const stage = new aws.apigatewayv2.Stage(
      `${name}-stage`,
      {
        apiId: this.api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingBurstLimit: 50, throttlingRateLimit: 20 },
      },
      { parent: this, dependsOn: [route] },
    );

    const permission = new aws.lambda.Permission(
      `${name}-invoke-permission`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/POST${WEBHOOK_PATH}`,
      },
      parent,
    );

    this.deliveryResources = [integration, route, stage, permission];
    this.githubTokenSecretArn = githubTokenSecret?.arn;
    this.githubApp = githubApp;
    this.webhookUrl = pulumi.interpolate`${this.api.apiEndpoint}${WEBHOOK_PATH}`;
    this.registerOutputs({ webhookUrl: this.webhookUrl, functionName: this.function.name });
  }
}

/**
 * The one-service variables a routing table replaces (its entries carry them per service): removed,
 * and `BRANCHLINE_SERVICES_FILE` set to the table's path in the deployment archive.
 */
export const ONE_SERVICE_VARIABLES = [
  ENV.sourcePipelineName,
  ENV.ecrRepositoryNames,
  ENV.cloneRoleArn,
  ENV.prBuildProjects,
  ENV.prArtifactBucket,
  ENV.allowForks,
  ENV.buildDrafts,
  ENV.requireApproval,
  ENV.pullRequestLabels,
  ENV.pullRequestPaths,
  ENV.serviceMaxClones,
  ENV.idleDays,
  ENV.preview,
] as const;

export function replaceWithServicesFile(
  variables: Record<string, pulumi.Input<string>>,
  file: string,
): void {
  for (const name of ONE_SERVICE_VARIABLES) Reflect.deleteProperty(variables, name);
  variables[ENV.servicesFile] = file;
}
