/**
 * A stack whose service has preview environments, for the function tests: the production ECS
 * service the v1-ecs fixture deploys (cluster `main`, service `hello-world`), its task definition
 * with an image from the source tier's repository `shop/web`, a cluster for the previews and the
 * team's listener; the routing table entry with `preview`, its pull request tier repository
 * `shop-pr/web`. The production service is created through the wire, as ECS would have it.
 */
import { CreateServiceCommand, ECSClient } from "@aws-sdk/client-ecs";
import { Octokit } from "@octokit/rest";
import { OctokitPreviewDeployments } from "../../functions/adapters/github-deployments.js";
import type { GitHubApiDouble } from "./github-api.js";
import type { AwsDouble } from "./aws-double/index.js";
import { servicePipeline, type TestService } from "./services.js";

/** The stack's prefix (`BRANCHLINE_PREFIX`) in these tests. */
export const STACK_PREFIX = "shop";

/** The pull request tier's repository of the service's image. */
export const PR_REPOSITORY = "shop-pr/web";

export interface PreviewStack {
  listenerArn: string;
  /** The service's `preview` settings as the stack writes them. */
  preview: Record<string, unknown>;
  /** The routing table with the one service. */
  table: string;
  /** The ECR registry host of the double's account and region. */
  registry: string;
}

/** Seeds the source pipeline, the images' repository, ECS and the listener. */
export async function seedPreviewStack(
  aws: AwsDouble,
  service: TestService,
  options: { maxPreviews?: number; ruleLimit?: number; idleHours?: number } = {},
): Promise<PreviewStack> {
  aws.seedPipeline(servicePipeline(service));
  aws.createRepository(PR_REPOSITORY);
  aws.createCluster("main");
  aws.createCluster("previews");
  const registry = `${aws.accountId}.dkr.ecr.${aws.region}.amazonaws.com`;
  aws.seedTaskDefinition({
    family: "hello-world",
    taskRoleArn: `arn:aws:iam::${aws.accountId}:role/hello-world-production`,
    executionRoleArn: `arn:aws:iam::${aws.accountId}:role/hello-world-production-exec`,
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "1024",
    memory: "2048",
    containerDefinitions: [
      {
        name: "web",
        image: `${registry}/shop/web:1.0.0`,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: "tcp" }],
        secrets: [
          {
            name: "DB_PASSWORD",
            valueFrom: `arn:aws:secretsmanager:${aws.region}:${aws.accountId}:secret:db`,
          },
        ],
      },
    ],
  });
  const ecs = new ECSClient({});
  try {
    await ecs.send(
      new CreateServiceCommand({
        cluster: "main",
        serviceName: "hello-world",
        taskDefinition: "hello-world:1",
        desiredCount: 2,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0a1b2c3d"] } },
      }),
    );
  } finally {
    ecs.destroy();
  }
  const listenerArn = aws.seedListener(
    options.ruleLimit === undefined ? {} : { ruleLimit: options.ruleLimit },
  );
  const preview = {
    cluster: "previews",
    subnets: ["subnet-0a1b2c3d"],
    securityGroups: ["sg-0a1b2c3d"],
    listenerArn,
    domain: "preview.example.com",
    port: 8080,
    healthCheckPath: "/health",
    taskRoleArn: `arn:aws:iam::${aws.accountId}:role/shop-web-preview-task`,
    executionRoleArn: `arn:aws:iam::${aws.accountId}:role/shop-web-preview-execution`,
    ...(options.maxPreviews !== undefined ? { maxPreviews: options.maxPreviews } : {}),
    ...(options.idleHours !== undefined ? { idleHours: options.idleHours } : {}),
  };
  const table = JSON.stringify([
    {
      name: service.name,
      sourcePipeline: `shop-${service.name}`,
      repository: service.repository,
      branch: service.branch,
      ecrRepositories: [PR_REPOSITORY],
      preview,
    },
  ]);
  return { listenerArn, preview, table, registry };
}

/** Pull request n of `repository` as GitHub shows it now (replacing what it showed), into master. */
export function pullRequestOnGitHub(
  github: GitHubApiDouble,
  repository: string,
  n: number,
  head: { sha: string; state?: "open" | "closed" },
): void {
  github.pullRequests.delete(`${repository.toLowerCase()}#${n}`);
  github.addPullRequest({
    number: n,
    state: head.state ?? "open",
    draft: false,
    head: { ref: `feature-${n}`, sha: head.sha, repo: repository },
    base: { ref: "master", repo: repository },
  });
}

/**
 * The deployment the notify function reports when pull request n's clone deployed `sha` to its
 * preview (environment `pr-<n>-web`), written through the real adapter.
 */
export async function previewDeployed(
  github: GitHubApiDouble,
  repository: string,
  n: number,
  sha: string,
): Promise<void> {
  await new OctokitPreviewDeployments(
    new Octokit({ auth: "ghs_test-token", baseUrl: github.url }),
  ).report(repository, {
    sha,
    environment: `pr-${n}-web`,
    state: "success",
    url: `https://pr-${n}.web.preview.example.com`,
    description: "Deployed",
  });
}
