/**
 * A service's preview environment resources as the whole stack declares them, under Pulumi mocks: the
 * log group, the task role and the execution role with its policy exactly, none of the roles when the
 * configuration names them, and the settings the functions read: `PREVIEW_SETTINGS` in the one-service
 * form (webhook, worker, reconciler), the routing table entry's `preview` with many services.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ENV } from "../../../functions/shared/names.js";
import { Branchline, SERVICES_FILE } from "../../../infra/branchline.js";
import { PreviewEnvironment } from "../../../infra/components/preview.js";
import { ConfigError, loadConfig, parseConfig, type PreviewConfig } from "../../../infra/config.js";
import type { PreviewSet } from "../../../infra/policies.js";
import { createBranchline } from "../../../infra/program.js";
import {
  archiveFileText,
  installMocks,
  MOCK_ACCOUNT,
  recordedResources,
  resourceNamed,
  runWithConfig,
  stubArchives,
  unwrap,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";

const at = `eu-west-1:${MOCK_ACCOUNT}`;
const LISTENER = `arn:aws:elasticloadbalancing:${at}:listener/app/shop/0123456789abcdef/fedcba9876543210`;
const preview = {
  cluster: "previews",
  subnets: ["subnet-0123456789abcdef0"],
  securityGroups: ["sg-01234567"],
  listenerArn: LISTENER,
  domain: "preview.example.com",
};
const defaults = {
  port: 80,
  healthCheckPath: "/",
  cpu: "256",
  memory: "512",
  idleHours: 24,
  assignPublicIp: false,
  maxPreviews: 10,
};
const deploy = { cluster: "prod", service: "shop" };
const one = { repository: "octo/shop", webhookSecret: "s3cret", deploy, preview };
const TASK_ROLE = `arn:aws:iam::${MOCK_ACCOUNT}:role/preview-task-role-0000000`;
const EXECUTION_ROLE = `arn:aws:iam::${MOCK_ACCOUNT}:role/preview-execution-role-0000000`;

function variablesOf(name: string): Record<string, string> {
  return (resourceNamed(name).inputs["environment"] as { variables: Record<string, string> })
    .variables;
}

/** The one-service configuration `one` (the preview with its defaults). */
function parseOne(): ReturnType<typeof parseConfig> {
  return parseConfig({
    get: (key) =>
      ({
        repository: "octo/shop",
        deploy: JSON.stringify(deploy),
        preview: JSON.stringify(preview),
      })[key],
    getSecret: (key) => (key === "webhookSecret" ? pulumi.output("s3cret") : undefined),
    defaultPipelineName: "branchline-dev",
  });
}

function componentResources(prefix: string): RecordedResource[] {
  return recordedResources().filter((resource) => resource.name.startsWith(prefix));
}

describe("infra/components/preview", () => {
  it("declares nothing for a service without a preview", async () => {
    await runWithConfig(
      { repository: "octo/shop", webhookSecret: "s3cret", deploy },
      () => createBranchline(loadConfig(), stubArchives()),
      ["webhookSecret"],
    );
    expect(componentResources("preview")).to.deep.equal([]);
    expect(variablesOf("webhook-function")).to.not.have.property(ENV.preview);
  });

  it("one service: the log group, a task role without permissions, an execution role, exactly", async () => {
    await runWithConfig(one, () => createBranchline(loadConfig(), stubArchives()), [
      "webhookSecret",
    ]);
    expect(
      componentResources("preview")
        .map((resource) => `${resource.type} ${resource.name}`)
        .sort(),
    ).to.deep.equal([
      "aws:cloudwatch/logGroup:LogGroup preview-logs",
      "aws:iam/role:Role preview-execution-role",
      "aws:iam/role:Role preview-task-role",
      "aws:iam/rolePolicy:RolePolicy preview-execution-role-policy",
      "branchline:preview:PreviewEnvironment preview",
    ]);
    expect(resourceNamed("preview-logs").inputs).to.deep.equal({
      name: "/branchline/branchline-dev-pr/preview",
      retentionInDays: 30,
    });
    expect(resourceNamed("preview-task-role").inputs).to.deep.equal({
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
              ArnLike: { "aws:SourceArn": `arn:aws:ecs:${at}:*` },
            },
          },
        ],
      }),
      description:
        "branchline: the role of branchline-dev's pull request previews (no permissions unless the team attaches some)",
    });
    expect(resourceNamed("preview-execution-role").inputs).to.deep.equal({
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      }),
      description:
        "branchline: the task execution role of branchline-dev's pull request previews (pull request images, preview logs)",
    });
    expect(resourceNamed("preview-execution-role-policy").inputs).to.deep.equal({
      role: "preview-execution-role-id",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "LogInToRegistry",
            Effect: "Allow",
            Action: "ecr:GetAuthorizationToken",
            Resource: "*",
          },
          {
            Sid: "PullPullRequestImages",
            Effect: "Allow",
            Action: [
              "ecr:BatchCheckLayerAvailability",
              "ecr:BatchGetImage",
              "ecr:GetDownloadUrlForLayer",
            ],
            Resource: [`arn:aws:ecr:${at}:repository/branchline-dev-pr/app`],
          },
          {
            Sid: "WritePreviewLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `arn:aws:logs:${at}:log-group:/branchline/branchline-dev-pr/preview:*`,
          },
        ],
      }),
    });
  });

  it("one service: PREVIEW_SETTINGS for every function, BRANCHLINE_PREFIX for those that manage previews", async () => {
    await runWithConfig(one, () => createBranchline(loadConfig(), stubArchives()), [
      "webhookSecret",
    ]);
    const settings = {
      ...preview,
      ...defaults,
      taskRoleArn: TASK_ROLE,
      executionRoleArn: EXECUTION_ROLE,
    };
    for (const name of ["webhook-function", "worker-function", "reconciler-function"]) {
      expect(JSON.parse(variablesOf(name)[ENV.preview] ?? "null"), name).to.deep.equal(settings);
      // The functions that manage previews name and tag them with the stack's prefix.
      expect(variablesOf(name)[ENV.stackPrefix], name).to.equal("branchline-dev");
    }
    // The notify function writes the comment's Preview row and reports the deployments.
    const notify = variablesOf("notifications-function");
    expect(JSON.parse(notify[ENV.preview] ?? "null")).to.deep.equal(settings);
    expect(notify).to.not.have.property(ENV.stackPrefix);
  });

  it("refuses a listener of another account, naming the key, in what the log group's name waits for", async () => {
    await installMocks();
    const foreign = LISTENER.replace(MOCK_ACCOUNT, "210987654321");
    const parsed = parseConfig({
      get: (key) =>
        ({
          repository: "octo/shop",
          deploy: JSON.stringify(deploy),
          preview: JSON.stringify({ ...preview, listenerArn: foreign }),
        })[key],
      getSecret: (key) => (key === "webhookSecret" ? pulumi.output("s3cret") : undefined),
      defaultPipelineName: "branchline-dev",
    });
    const component = new PreviewEnvironment("foreign", {
      configKey: "preview",
      sourcePipelineName: "branchline-dev",
      preview: parsed.services[0]?.preview as PreviewConfig,
      source: deploy,
      prRepositoryArns: [],
      logRetentionDays: 30,
      scope: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT },
    });
    // Output#promise is @pulumi/pulumi's internal way to await an output that may fail.
    const failure = await (component.target as unknown as { promise(): Promise<unknown> })
      .promise()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).to.be.instanceOf(ConfigError);
    expect((failure as Error).message).to.include(
      `branchline:preview.listenerArn must be in this stack's account ${MOCK_ACCOUNT} and region eu-west-1, got ${foreign}`,
    );
  });

  it("refuses a listener of another partition (the policies are sized from the listener's ARN)", async () => {
    await installMocks();
    const foreign = LISTENER.replace("arn:aws:", "arn:aws-cn:");
    const parsed = parseConfig({
      get: (key) =>
        ({
          repository: "octo/shop",
          deploy: JSON.stringify(deploy),
          preview: JSON.stringify({ ...preview, listenerArn: foreign }),
        })[key],
      getSecret: (key) => (key === "webhookSecret" ? pulumi.output("s3cret") : undefined),
      defaultPipelineName: "branchline-dev",
    });
    const component = new PreviewEnvironment("foreign-partition", {
      configKey: "preview",
      sourcePipelineName: "branchline-dev",
      preview: parsed.services[0]?.preview as PreviewConfig,
      source: deploy,
      prRepositoryArns: [],
      logRetentionDays: 30,
      scope: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT },
    });
    // Output#promise is @pulumi/pulumi's internal way to await an output that may fail.
    const failure = await (component.target as unknown as { promise(): Promise<unknown> })
      .promise()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).to.be.instanceOf(ConfigError);
    expect((failure as Error).message).to.include(
      `branchline:preview.listenerArn must be in this stack's partition aws, got ${foreign}`,
    );
  });

  it("the target's bound, known before any value: the listener's account and region, the roles it creates at IAM's longest names, the configured ones as they are", async () => {
    await installMocks();
    const component = new PreviewEnvironment("bounded", {
      configKey: "preview",
      sourcePipelineName: "branchline-dev",
      preview: { ...(parseOne().services[0]?.preview as PreviewConfig) },
      source: deploy,
      prRepositoryArns: [],
      logRetentionDays: 30,
      scope: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT },
    });
    const longest = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name.padEnd(64, "x")}`;
    expect(component.targetBound).to.deep.equal({
      clusterArn: `arn:aws:ecs:${at}:cluster/previews`,
      listenerArn: LISTENER,
      taskRoleArn: longest("bounded-task-role"),
      executionRoleArn: longest("bounded-execution-role"),
      sourceServiceArn: `arn:aws:ecs:${at}:service/prod/shop`,
    });
    // No ARN of the target is longer than its bound's.
    const target = await unwrap(component.target);
    for (const key of Object.keys(target) as (keyof typeof target)[]) {
      expect(target[key].length, key).to.be.at.most(component.targetBound[key].length);
    }
    const configured = new PreviewEnvironment("configured", {
      configKey: "preview",
      sourcePipelineName: "branchline-dev",
      preview: {
        ...(parseOne().services[0]?.preview as PreviewConfig),
        taskRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-preview`,
        executionRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-preview-execution`,
      },
      source: deploy,
      prRepositoryArns: [],
      logRetentionDays: 30,
      scope: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT },
    });
    expect(configured.targetBound.taskRoleArn).to.equal(
      `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-preview`,
    );
    expect(configured.targetBound.executionRoleArn).to.equal(
      `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-preview-execution`,
    );
  });

  it("configured roles: no role is created, the settings carry those", async () => {
    const roles = {
      taskRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-preview`,
      executionRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-preview-execution`,
    };
    await runWithConfig(
      { ...one, preview: { ...preview, ...roles } },
      () => createBranchline(loadConfig(), stubArchives()),
      ["webhookSecret"],
    );
    expect(
      componentResources("preview")
        .map((resource) => `${resource.type} ${resource.name}`)
        .sort(),
    ).to.deep.equal([
      "aws:cloudwatch/logGroup:LogGroup preview-logs",
      "branchline:preview:PreviewEnvironment preview",
    ]);
    expect(JSON.parse(variablesOf("worker-function")[ENV.preview] ?? "null")).to.deep.equal({
      ...preview,
      ...defaults,
      ...roles,
    });
  });

  it("many services: the routing table entry of a service with a preview carries it", async () => {
    const run = await runWithConfig(
      {
        webhookSecret: "s3cret",
        prefix: "acme",
        services: [
          { name: "shop", repository: "octo/mono", deploy, preview: { ...preview, port: 8080 } },
          { name: "cart", repository: "octo/mono" },
        ],
      },
      () => new Branchline("acme", { config: loadConfig(), code: stubArchives() }),
      ["webhookSecret"],
    );
    const { result: branchline } = run;
    // What sizes the previews' managed policies, before any value is known.
    expect(branchline.previewSetBound).to.deep.equal({
      scope: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT },
      stackPrefix: "acme",
      targets: [
        {
          clusterArn: `arn:aws:ecs:${at}:cluster/previews`,
          listenerArn: LISTENER,
          taskRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${"acme-shop-preview-task-role".padEnd(64, "x")}`,
          executionRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${"acme-shop-preview-execution-role".padEnd(64, "x")}`,
          sourceServiceArn: `arn:aws:ecs:${at}:service/prod/shop`,
        },
      ],
    });
    expect(await unwrap(branchline.previewSet as pulumi.Output<PreviewSet>)).to.deep.equal({
      scope: { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT },
      stackPrefix: "acme",
      targets: [
        {
          clusterArn: `arn:aws:ecs:${at}:cluster/previews`,
          listenerArn: LISTENER,
          taskRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-shop-preview-task-role-0000000`,
          executionRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-shop-preview-execution-role-0000000`,
          sourceServiceArn: `arn:aws:ecs:${at}:service/prod/shop`,
        },
      ],
    });
    expect(
      componentResources("acme-")
        // The component's resources (the roles' previews policies: test/infra/previews-iam.test.ts).
        .filter((resource) => /-preview(-|$)/.test(resource.name))
        .map((resource) => `${resource.type} ${resource.name}`)
        .sort(),
    ).to.deep.equal([
      "aws:cloudwatch/logGroup:LogGroup acme-shop-preview-logs",
      "aws:iam/role:Role acme-shop-preview-execution-role",
      "aws:iam/role:Role acme-shop-preview-task-role",
      "aws:iam/rolePolicy:RolePolicy acme-shop-preview-execution-role-policy",
      "branchline:preview:PreviewEnvironment acme-shop-preview",
    ]);
    expect(resourceNamed("acme-shop-preview-logs").inputs["name"]).to.equal(
      "/branchline/acme-shop-pr/preview",
    );
    const lambda = resourceNamed("acme-webhook-function");
    const table = JSON.parse(
      (await archiveFileText(lambda.inputs["code"], SERVICES_FILE)) ?? "[]",
    ) as {
      name: string;
      preview?: unknown;
    }[];
    expect(table.map((entry) => [entry.name, entry.preview])).to.deep.equal([
      [
        "shop",
        {
          ...preview,
          ...defaults,
          port: 8080,
          taskRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-shop-preview-task-role-0000000`,
          executionRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-shop-preview-execution-role-0000000`,
        },
      ],
      ["cart", undefined],
    ]);
    expect(variablesOf("acme-webhook-function")).to.not.have.property(ENV.preview);
    for (const name of ["acme-webhook-function", "acme-reconciler-function"]) {
      expect(variablesOf(name)[ENV.stackPrefix], name).to.equal("acme");
    }
    // The notify function reads the table's previews: no variable of its own.
    expect(variablesOf("acme-notifications-function")).to.not.have.property(ENV.preview);
  });
});
