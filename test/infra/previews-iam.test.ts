/**
 * The previews' IAM as the stack attaches it, under Pulumi mocks: the customer managed policies
 * `<role>-previews` (`-2`, ... when one does not hold them) and their attachments, of the functions
 * that call ECS and ELBv2 for previews (the webhook with inline delivery, the worker, the reconciler,
 * which also reads the previews' request counts) and of the clone role (the clone's ECS deploy aimed
 * at its preview), exactly; none of them without previews; then, by simulation
 * (@cloud-copilot/iam-simulate, test/helpers/iam.ts) of every policy of each role together (inline
 * and managed), each call functions/app/previews.ts makes through functions/adapters/ecs.ts and
 * elbv2.ts, and the clone's ECS deploy action's calls, with the denials that matter; and the sizes:
 * each role's inline policy unchanged by previews (IAM's 10,240 characters per role), the managed
 * policies within IAM's 6,144 characters each and its default quota of 10 per role.
 *
 * Not simulated: elasticloadbalancing:AddTags on a target group or rule (see
 * test/infra/policies-preview.test.ts). Mocks cannot prove that AWS accepts the documents.
 */
import { expect } from "chai";
import { previewNames } from "../../functions/shared/preview-names.js";
import { loadConfig } from "../../infra/config.js";
import { PREFIX_MAX_LENGTH } from "../../infra/config.js";
import {
  INLINE_POLICY_MAX_LENGTH,
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_MAX_LENGTH,
  packManagedPolicies,
  previewDeployStatements,
  previewManagementStatements,
  previewTrafficStatements,
  type PolicyDocument,
  type PolicyStatement,
  type PreviewSet,
} from "../../infra/policies.js";
import { createBranchline } from "../../infra/program.js";
import { policyDocument, simulate, type Decision, type SimulatedRequest } from "../helpers/iam.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  type RecordedResource,
} from "../helpers/pulumi-mocks.js";
import { dependenciesOf, recordDependencies } from "./record-dependencies.js";

const at = `eu-west-1:${MOCK_ACCOUNT}`;
const scope = { partition: "aws", region: "eu-west-1", accountId: MOCK_ACCOUNT };
const LISTENER = `arn:aws:elasticloadbalancing:${at}:listener/app/previews/0123456789abcdef/fedcba9876543210`;
const OTHER_LISTENER = `arn:aws:elasticloadbalancing:${at}:listener/app/team/0123456789abcdef/0000000000000000`;
const CLUSTER = `arn:aws:ecs:${at}:cluster/previews`;
const PROD_CLUSTER = `arn:aws:ecs:${at}:cluster/prod`;
const PROD_TASK_ROLE = `arn:aws:iam::${MOCK_ACCOUNT}:role/shop-task`;
const DOMAIN = "preview.example.com";
const preview = {
  cluster: "previews",
  subnets: ["subnet-0123456789abcdef0"],
  securityGroups: ["sg-01234567"],
  listenerArn: LISTENER,
  domain: DOMAIN,
};
const deploy = { cluster: "prod", service: "shop" };
const secrets = ["webhookSecret", "githubToken"];

const role = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`;
const service = (cluster: string, name: string) => `arn:aws:ecs:${at}:service/${cluster}/${name}`;
const taskDefinition = (family: string, revision = 1) =>
  `arn:aws:ecs:${at}:task-definition/${family}:${revision}`;
const targetGroup = (name: string) =>
  `arn:aws:elasticloadbalancing:${at}:targetgroup/${name}/0123456789abcdef`;
const rule = (listener: string, id: string) =>
  `${listener.replace(":listener/", ":listener-rule/")}/${id}`;

/** The previews' tags as functions/app/previews.ts puts them. */
function previewTags(
  kind: "RequestTag" | "ResourceTag",
  stack: string,
  serviceName: string,
  prNumber: number,
): Record<string, string> {
  return {
    [`aws:${kind}/branchline:managed-by`]: "branchline",
    [`aws:${kind}/branchline:stack`]: stack,
    [`aws:${kind}/branchline:service`]: serviceName,
    [`aws:${kind}/branchline:pull-request`]: String(prNumber),
  };
}

async function synth(config: Record<string, string | object>): Promise<RecordedResource[]> {
  await recordDependencies();
  const { resources } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    secrets,
  );
  return resources;
}

const INLINE = "aws:iam/rolePolicy:RolePolicy";
const MANAGED = "aws:iam/policy:Policy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";

/** The previews' managed policies (`<role>-previews`, `<role>-previews-2`, ...), by name. */
function previewsPolicyNames(): string[] {
  return resourcesOfType(MANAGED)
    .map((resource) => resource.name)
    .filter((name) => /-previews(-\d+)?$/.test(name))
    .sort();
}

/** The inline policies named like the previews' (none since they are managed policies). */
function inlinePreviewsPolicyNames(): string[] {
  return resourcesOfType(INLINE)
    .map((resource) => resource.name)
    .filter((name) => name.includes("-previews"));
}

/** The ARN the mocks give a managed policy: its physical name is `<name>-0000000`. */
function managedPolicyArn(name: string): string {
  return `arn:aws:iam::${MOCK_ACCOUNT}:policy/${name}-0000000`;
}

/** The managed policies attached to the role whose id is `roleId`, in their attachments' order. */
function managedPoliciesOf(roleId: string): RecordedResource[] {
  const policies = resourcesOfType(MANAGED);
  return resourcesOfType(ATTACHMENT)
    .filter((attachment) => attachment.inputs["role"] === roleId)
    .map((attachment) => {
      const policy = policies.find(
        (candidate) => managedPolicyArn(candidate.name) === attachment.inputs["policyArn"],
      );
      if (policy === undefined)
        throw new Error(`no policy ${String(attachment.inputs["policyArn"])}`);
      return policy;
    });
}

/**
 * Every policy of the role whose id is `roleId`, inline and managed, as one document (IAM evaluates
 * a role's identity policies together).
 */
function roleDocument(roleId: string): PolicyDocument {
  const statements = [
    ...resourcesOfType(INLINE).filter((resource) => resource.inputs["role"] === roleId),
    ...managedPoliciesOf(roleId),
  ].flatMap((resource) => policyDocument(resource.inputs["policy"]).Statement);
  if (statements.length === 0) throw new Error(`no policy on the role ${roleId}`);
  return { Version: "2012-10-17", Statement: statements };
}

/** The total length of the role's inline policies (JSON without whitespace, as IAM counts). */
function roleInlineLength(roleId: string): number {
  return resourcesOfType(INLINE)
    .filter((resource) => resource.inputs["role"] === roleId)
    .reduce(
      (sum, resource) => sum + JSON.stringify(policyDocument(resource.inputs["policy"])).length,
      0,
    );
}

/** The statements of the managed policies `name`, `name-2`, ... in order. */
function statementsOf(name: string): PolicyStatement[] {
  return previewsPolicyNames()
    .filter((candidate) => candidate === name || new RegExp(`^${name}-\\d+$`).test(candidate))
    .sort((a, b) => partOf(a) - partOf(b))
    .flatMap((candidate) => policyDocument(resourceNamed(candidate).inputs["policy"]).Statement);
}

function partOf(name: string): number {
  const match = /-(\d+)$/.exec(name);
  return match === null ? 1 : Number(match[1]);
}

/** The policy `name` and its attachment to the role whose id is `roleId`, exactly. */
function expectAttached(
  name: string,
  roleId: string,
  description: string,
  document: unknown,
): void {
  expect(resourceNamed(name).inputs, name).to.deep.equal({
    description,
    policy: JSON.stringify(document),
  });
  expect(resourceNamed(`${name}-attachment`).inputs, `${name}-attachment`).to.deep.equal({
    role: roleId,
    policyArn: managedPolicyArn(name),
  });
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

/** The one-service stack's (`branchline-dev`) preview management statements, written out. */
function oneServiceManagerStatements(): PolicyStatement[] {
  const services = `arn:aws:ecs:${at}:service/previews/branchline-dev-*`;
  const taskDefinitions = `arn:aws:ecs:${at}:task-definition/branchline-dev-*:*`;
  const targetGroups = `arn:aws:elasticloadbalancing:${at}:targetgroup/*`;
  const rules = `arn:aws:elasticloadbalancing:${at}:listener-rule/app/previews/0123456789abcdef/fedcba9876543210/*`;
  const requestTags = {
    "aws:RequestTag/branchline:managed-by": "branchline",
    "aws:RequestTag/branchline:stack": "branchline-dev",
  };
  const resourceTags = {
    "aws:ResourceTag/branchline:managed-by": "branchline",
    "aws:ResourceTag/branchline:stack": "branchline-dev",
  };
  return [
    {
      Sid: "CreatePreviewServices",
      Effect: "Allow",
      Action: "ecs:CreateService",
      Resource: services,
      Condition: { StringEquals: requestTags, ArnEquals: { "ecs:cluster": CLUSTER } },
    },
    {
      Sid: "ChangePreviewServices",
      Effect: "Allow",
      Action: ["ecs:DeleteService", "ecs:UpdateService"],
      Resource: services,
      Condition: { StringEquals: resourceTags, ArnEquals: { "ecs:cluster": CLUSTER } },
    },
    {
      Sid: "FindPreviewServices",
      Effect: "Allow",
      Action: "ecs:DescribeServices",
      Resource: services,
      Condition: { ArnEquals: { "ecs:cluster": CLUSTER } },
    },
    {
      Sid: "ReadPreviewSources",
      Effect: "Allow",
      Action: "ecs:DescribeServices",
      Resource: service("prod", "shop"),
    },
    {
      Sid: "ReadPreviewTags",
      Effect: "Allow",
      Action: "ecs:ListTagsForResource",
      Resource: [services, taskDefinitions],
    },
    {
      Sid: "RegisterPreviewTaskDefinitions",
      Effect: "Allow",
      Action: "ecs:RegisterTaskDefinition",
      Resource: taskDefinitions,
      Condition: { StringEquals: requestTags },
    },
    {
      Sid: "DeletePreviewTaskDefinitions",
      Effect: "Allow",
      Action: "ecs:DeleteTaskDefinitions",
      Resource: taskDefinitions,
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
      Resource: [services, taskDefinitions],
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
      Resource: targetGroups,
      Condition: { StringEquals: requestTags },
    },
    {
      Sid: "DeletePreviewTargetGroups",
      Effect: "Allow",
      Action: "elasticloadbalancing:DeleteTargetGroup",
      Resource: targetGroups,
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
      Resource: rules,
      Condition: { StringEquals: resourceTags },
    },
    {
      Sid: "TagPreviewLoadBalancingOnCreation",
      Effect: "Allow",
      Action: "elasticloadbalancing:AddTags",
      Resource: [targetGroups, rules],
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
    {
      Sid: "PassPreviewRoles",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: [role("preview-execution-role-0000000"), role("preview-task-role-0000000")],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    },
  ];
}

describe("infra: the previews' IAM attached to the roles", () => {
  describe("one service with branchline:preview, durable delivery", () => {
    before(async () => {
      await synth({
        repository: "octo/shop",
        webhookSecret: "s3cret",
        githubToken: "ghp_test",
        deploy,
        preview,
      });
    });

    it("the worker, the reconciler and the clone role get one managed previews policy each, attached; the queueing webhook none; no inline one", () => {
      expect(previewsPolicyNames()).to.deep.equal([
        "pipeline-clone-role-previews",
        "reconciler-role-previews",
        "worker-role-previews",
      ]);
      expect(inlinePreviewsPolicyNames()).to.deep.equal([]);
      expect(
        resourcesOfType(ATTACHMENT)
          .map((resource) => resource.name)
          .sort(),
      ).to.deep.equal([
        "pipeline-clone-role-previews-attachment",
        "reconciler-role-previews-attachment",
        "worker-role-previews-attachment",
      ]);
      expect(managedPoliciesOf("worker-role-id").map((policy) => policy.name)).to.deep.equal([
        "worker-role-previews",
      ]);
      expect(managedPoliciesOf("reconciler-role-id").map((policy) => policy.name)).to.deep.equal([
        "reconciler-role-previews",
      ]);
      expect(
        managedPoliciesOf("pipeline-clone-role-id").map((policy) => policy.name),
      ).to.deep.equal(["pipeline-clone-role-previews"]);
      expect(managedPoliciesOf("webhook-role-id")).to.deep.equal([]);
    });

    it("the worker's previews policy and its attachment, exactly", () => {
      expectAttached(
        "worker-role-previews",
        "worker-role-id",
        "branchline (branchline-dev): what a function may do to manage the previews (part 1)",
        { Version: "2012-10-17", Statement: oneServiceManagerStatements() },
      );
    });

    it("the reconciler's: the same, and the previews' request counts (GetMetricData on *)", () => {
      expectAttached(
        "reconciler-role-previews",
        "reconciler-role-id",
        "branchline (branchline-dev): what a function may do to manage the previews and read their request counts (part 1)",
        {
          Version: "2012-10-17",
          Statement: [
            ...oneServiceManagerStatements(),
            {
              Sid: "ReadPreviewTraffic",
              Effect: "Allow",
              Action: "cloudwatch:GetMetricData",
              Resource: "*",
            },
          ],
        },
      );
    });

    it("the clone role's, exactly: its preview's deploy only", () => {
      const services = `arn:aws:ecs:${at}:service/previews/branchline-dev-*`;
      const taskDefinitions = `arn:aws:ecs:${at}:task-definition/branchline-dev-*:*`;
      expect(resourceNamed("pipeline-clone-role-previews").inputs["description"]).to.equal(
        "branchline (branchline-dev): what the clones' deploys may do to the previews (part 1)",
      );
      expect(resourceNamed("pipeline-clone-role-previews-attachment").inputs).to.deep.equal({
        role: "pipeline-clone-role-id",
        policyArn: managedPolicyArn("pipeline-clone-role-previews"),
      });
      expect(statementsOf("pipeline-clone-role-previews")).to.deep.equal([
        {
          Sid: "DeployPreviewServices",
          Effect: "Allow",
          Action: ["ecs:DescribeServices", "ecs:UpdateService"],
          Resource: services,
          Condition: {
            StringEquals: {
              "aws:ResourceTag/branchline:managed-by": "branchline",
              "aws:ResourceTag/branchline:stack": "branchline-dev",
            },
            ArnEquals: { "ecs:cluster": CLUSTER },
          },
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
          Resource: taskDefinitions,
        },
        {
          Sid: "TagPreviewTaskDefinitionsOnCreation",
          Effect: "Allow",
          Action: "ecs:TagResource",
          Resource: taskDefinitions,
          Condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
        },
        {
          Sid: "PassPreviewRoles",
          Effect: "Allow",
          Action: "iam:PassRole",
          Resource: [role("preview-execution-role-0000000"), role("preview-task-role-0000000")],
          Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
      ]);
    });

    it("the functions start, and the mapping and the teardown stop, with the previews policies attached", () => {
      expect(dependenciesOf("worker-function")).to.include.members([
        "worker-role-policy",
        "worker-role-previews-attachment",
      ]);
      expect(dependenciesOf("reconciler-function")).to.include.members([
        "reconciler-role-policy",
        "reconciler-role-previews-attachment",
      ]);
      // An attachment is made once its policy and the role exist.
      expect(dependenciesOf("worker-role-previews-attachment")).to.include.members([
        "worker-role-previews",
        "worker-role",
      ]);
      // On destroy the teardown removes the previews too: it runs before their grants go.
      expect(dependenciesOf("reconciler-teardown")).to.include(
        "reconciler-role-previews-attachment",
      );
      expect(dependenciesOf("worker-deliveries")).to.include("worker-role-previews-attachment");
    });
  });

  describe("inline delivery: the webhook manages the previews", () => {
    before(async () => {
      await synth({
        repository: "octo/shop",
        webhookSecret: "s3cret",
        githubToken: "ghp_test",
        deploy,
        preview,
        delivery: { mode: "inline" },
      });
    });

    it("the webhook, the reconciler and the clone role get their previews policy", () => {
      expect(previewsPolicyNames()).to.deep.equal([
        "pipeline-clone-role-previews",
        "reconciler-role-previews",
        "webhook-role-previews",
      ]);
      expect(inlinePreviewsPolicyNames()).to.deep.equal([]);
      expectAttached(
        "webhook-role-previews",
        "webhook-role-id",
        "branchline (branchline-dev): what a function may do to manage the previews (part 1)",
        { Version: "2012-10-17", Statement: oneServiceManagerStatements() },
      );
      expect(dependenciesOf("webhook-function")).to.include("webhook-role-previews-attachment");
    });

    it("ensures and removes a preview; reads no metrics (the reconciler's)", async () => {
      const webhook = roleDocument("webhook-role-id");
      const name = "branchline-dev-shop-pr-7";
      await expectDecision(
        webhook,
        {
          action: "ecs:CreateService",
          resource: service("previews", name),
          context: {
            ...previewTags("RequestTag", "branchline-dev", "shop", 7),
            "ecs:cluster": CLUSTER,
          },
        },
        "Allowed",
      );
      await expectDecision(
        webhook,
        { action: "ecs:DescribeServices", resource: service("prod", "shop") },
        "Allowed",
      );
      await expectDecision(
        webhook,
        {
          action: "ecs:DeleteService",
          resource: service("previews", name),
          context: {
            ...previewTags("ResourceTag", "branchline-dev", "shop", 7),
            "ecs:cluster": CLUSTER,
          },
        },
        "Allowed",
      );
      await expectDecision(
        webhook,
        { action: "cloudwatch:GetMetricData", resource: "*" },
        "ImplicitlyDenied",
      );
    });
  });

  describe("many services, one with a preview", () => {
    const shop = previewNames("acme", "shop", 7, DOMAIN);
    const set: PreviewSet = {
      scope,
      stackPrefix: "acme",
      targets: [
        {
          clusterArn: CLUSTER,
          listenerArn: LISTENER,
          taskRoleArn: role("acme-shop-preview-task-role-0000000"),
          executionRoleArn: role("acme-shop-preview-execution-role-0000000"),
          sourceServiceArn: service("prod", "shop"),
        },
      ],
    };
    const TASK_ROLE = role("acme-shop-preview-task-role-0000000");
    const EXECUTION_ROLE = role("acme-shop-preview-execution-role-0000000");
    let worker: PolicyDocument;
    let reconciler: PolicyDocument;
    let clone: PolicyDocument;
    const managers = (): [string, PolicyDocument][] => [
      ["worker", worker],
      ["reconciler", reconciler],
    ];

    before(async () => {
      await synth({
        prefix: "acme",
        webhookSecret: "s3cret",
        githubToken: "ghp_test",
        services: [
          { name: "shop", repository: "octo/mono", deploy, preview },
          { name: "cart", repository: "octo/mono", deploy: { cluster: "prod", service: "cart" } },
          { name: "billing", repository: "octo/billing" },
        ],
      });
      worker = roleDocument("acme-worker-role-id");
      reconciler = roleDocument("acme-reconciler-role-id");
      clone = roleDocument("acme-pipelines-clone-role-id");
    });

    it("declares the previews policies on the worker, the reconciler and the shared clone role, exactly", () => {
      expect(previewsPolicyNames()).to.deep.equal([
        "acme-pipelines-clone-role-previews",
        "acme-reconciler-role-previews",
        "acme-worker-role-previews",
      ]);
      expect(inlinePreviewsPolicyNames()).to.deep.equal([]);
      expectAttached(
        "acme-worker-role-previews",
        "acme-worker-role-id",
        "branchline (acme): what a function may do to manage the previews (part 1)",
        { Version: "2012-10-17", Statement: previewManagementStatements(set) },
      );
      expectAttached(
        "acme-reconciler-role-previews",
        "acme-reconciler-role-id",
        "branchline (acme): what a function may do to manage the previews and read their request counts (part 1)",
        {
          Version: "2012-10-17",
          Statement: [...previewManagementStatements(set), ...previewTrafficStatements()],
        },
      );
      expectAttached(
        "acme-pipelines-clone-role-previews",
        "acme-pipelines-clone-role-id",
        "branchline (acme): what the clones' deploys may do to the previews (part 1)",
        { Version: "2012-10-17", Statement: previewDeployStatements(set) },
      );
      // Only the service with a preview: its production service is the one source read.
      expect(
        statementsOf("acme-worker-role-previews").find((s) => s.Sid === "ReadPreviewSources")
          ?.Resource,
      ).to.equal(service("prod", "shop"));
    });

    it("ensurePreview's calls: the source service and task definition, the preview's task definition, target group, rule and service", async () => {
      const requestTags = previewTags("RequestTag", "acme", "shop", 7);
      const resourceTags = previewTags("ResourceTag", "acme", "shop", 7);
      const calls: SimulatedRequest[] = [
        // The production service's task definition is where a preview starts.
        {
          action: "ecs:DescribeServices",
          resource: service("prod", "shop"),
          context: { "ecs:cluster": PROD_CLUSTER },
        },
        { action: "ecs:DescribeTaskDefinition", resource: "*" },
        {
          action: "ecs:DescribeServices",
          resource: service("previews", shop.serviceName),
          context: { "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:RegisterTaskDefinition",
          resource: taskDefinition(shop.family, 1),
          context: requestTags,
        },
        {
          action: "ecs:TagResource",
          resource: taskDefinition(shop.family, 1),
          context: { ...requestTags, "ecs:CreateAction": "RegisterTaskDefinition" },
        },
        {
          action: "iam:PassRole",
          resource: TASK_ROLE,
          context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        },
        {
          action: "iam:PassRole",
          resource: EXECUTION_ROLE,
          context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        },
        { action: "elasticloadbalancing:DescribeTargetGroups", resource: "*" },
        { action: "elasticloadbalancing:DescribeRules", resource: "*" },
        { action: "elasticloadbalancing:DescribeTags", resource: "*" },
        { action: "elasticloadbalancing:DescribeListeners", resource: "*" },
        { action: "elasticloadbalancing:DescribeLoadBalancers", resource: "*" },
        {
          action: "elasticloadbalancing:CreateTargetGroup",
          resource: targetGroup(shop.targetGroupName),
          context: requestTags,
        },
        {
          action: "elasticloadbalancing:CreateRule",
          resource: LISTENER,
          context: requestTags,
        },
        // A rule of ours forwarding to a replaced target group goes first.
        {
          action: "elasticloadbalancing:DeleteRule",
          resource: rule(LISTENER, "1111111111111111"),
          context: resourceTags,
        },
        {
          action: "ecs:CreateService",
          resource: service("previews", shop.serviceName),
          context: { ...requestTags, "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:TagResource",
          resource: service("previews", shop.serviceName),
          context: { ...requestTags, "ecs:CreateAction": "CreateService" },
        },
        {
          action: "ecs:UpdateService",
          resource: service("previews", shop.serviceName),
          context: { ...resourceTags, "ecs:cluster": CLUSTER },
        },
      ];
      for (const [, document] of managers()) {
        for (const call of calls) await expectDecision(document, call, "Allowed");
      }
    });

    it("removePreview's, scalePreview's and listPreviews' calls", async () => {
      const resourceTags = previewTags("ResourceTag", "acme", "shop", 7);
      const calls: SimulatedRequest[] = [
        { action: "elasticloadbalancing:DescribeRules", resource: "*" },
        { action: "elasticloadbalancing:DescribeTargetGroups", resource: "*" },
        { action: "elasticloadbalancing:DescribeTags", resource: "*" },
        {
          action: "elasticloadbalancing:DeleteRule",
          resource: rule(LISTENER, "1111111111111111"),
          context: resourceTags,
        },
        {
          action: "elasticloadbalancing:DeleteTargetGroup",
          resource: targetGroup(shop.targetGroupName),
          context: resourceTags,
        },
        {
          action: "ecs:DescribeServices",
          resource: service("previews", shop.serviceName),
          context: { "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:UpdateService",
          resource: service("previews", shop.serviceName),
          context: { ...resourceTags, "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:DeleteService",
          resource: service("previews", shop.serviceName),
          context: { ...resourceTags, "ecs:cluster": CLUSTER },
        },
        { action: "ecs:ListTaskDefinitions", resource: "*" },
        { action: "ecs:DeregisterTaskDefinition", resource: "*" },
        {
          action: "ecs:DeleteTaskDefinitions",
          resource: taskDefinition(shop.family, 3),
          context: resourceTags,
        },
      ];
      for (const [, document] of managers()) {
        for (const call of calls) await expectDecision(document, call, "Allowed");
      }
    });

    it("reads the previews' request counts: the reconciler only", async () => {
      const getMetricData = { action: "cloudwatch:GetMetricData", resource: "*" };
      await expectDecision(reconciler, getMetricData, "Allowed");
      await expectDecision(worker, getMetricData, "ImplicitlyDenied");
      await expectDecision(clone, getMetricData, "ImplicitlyDenied");
      await expectDecision(roleDocument("acme-webhook-role-id"), getMetricData, "ImplicitlyDenied");
    });

    it("production's service (untagged, or of no preview name) is never updated nor deleted; nothing is created in another cluster", async () => {
      for (const [name, document] of managers()) {
        for (const action of ["ecs:UpdateService", "ecs:DeleteService"]) {
          for (const context of [
            { "ecs:cluster": PROD_CLUSTER },
            // Even tagged as ours: not a `<prefix>-*` service of the preview cluster.
            { ...previewTags("ResourceTag", "acme", "shop", 7), "ecs:cluster": PROD_CLUSTER },
          ]) {
            await expectDecision(
              document,
              { action, resource: service("prod", "shop"), context },
              "ImplicitlyDenied",
            );
          }
          // Of the preview cluster, but untagged, or another stack's prefix.
          await expectDecision(
            document,
            {
              action,
              resource: service("previews", shop.serviceName),
              context: { "ecs:cluster": CLUSTER },
            },
            "ImplicitlyDenied",
          );
          await expectDecision(
            document,
            {
              action,
              resource: service("previews", "other-shop-pr-7"),
              context: {
                ...previewTags("ResourceTag", "other", "shop", 7),
                "ecs:cluster": CLUSTER,
              },
            },
            "ImplicitlyDenied",
          );
        }
        await expectDecision(
          document,
          {
            action: "ecs:CreateService",
            resource: service("prod", shop.serviceName),
            context: {
              ...previewTags("RequestTag", "acme", "shop", 7),
              "ecs:cluster": PROD_CLUSTER,
            },
          },
          "ImplicitlyDenied",
        );
        // The source read is DescribeServices only, and of the configured source service only.
        await expectDecision(
          document,
          {
            action: "ecs:DescribeServices",
            resource: service("prod", "billing"),
            context: { "ecs:cluster": PROD_CLUSTER },
          },
          "ImplicitlyDenied",
        );
        expect(name).to.be.a("string");
      }
    });

    it("a target group or rule without the tags, a rule of another listener, or a task definition of no preview family or someone else's, cannot be deleted", async () => {
      for (const [, document] of managers()) {
        await expectDecision(
          document,
          { action: "ecs:DeleteTaskDefinitions", resource: taskDefinition("shop", 3) },
          "ImplicitlyDenied",
        );
        await expectDecision(
          document,
          { action: "ecs:DeleteTaskDefinitions", resource: taskDefinition("acme-shop", 3) },
          "ImplicitlyDenied",
        );
        await expectDecision(
          document,
          {
            action: "ecs:DeleteTaskDefinitions",
            resource: taskDefinition(shop.family, 3),
            context: { "aws:ResourceTag/branchline:managed-by": "someone-else" },
          },
          "ImplicitlyDenied",
        );
        await expectDecision(
          document,
          { action: "elasticloadbalancing:DeleteTargetGroup", resource: targetGroup("prod-shop") },
          "ImplicitlyDenied",
        );
        await expectDecision(
          document,
          {
            action: "elasticloadbalancing:DeleteRule",
            resource: rule(LISTENER, "2222222222222222"),
          },
          "ImplicitlyDenied",
        );
        await expectDecision(
          document,
          {
            action: "elasticloadbalancing:DeleteRule",
            resource: rule(OTHER_LISTENER, "2222222222222222"),
            context: previewTags("ResourceTag", "acme", "shop", 7),
          },
          "ImplicitlyDenied",
        );
        await expectDecision(
          document,
          {
            action: "elasticloadbalancing:CreateRule",
            resource: OTHER_LISTENER,
            context: previewTags("RequestTag", "acme", "shop", 7),
          },
          "ImplicitlyDenied",
        );
      }
    });

    it("passes the preview roles to ECS tasks only; never production's task role", async () => {
      const toTasks = { "iam:PassedToService": "ecs-tasks.amazonaws.com" };
      for (const document of [worker, reconciler, clone]) {
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

    it("the clone role: the ECS deploy action's calls on its preview service", async () => {
      const resourceTags = previewTags("ResourceTag", "acme", "shop", 7);
      const calls: SimulatedRequest[] = [
        {
          action: "ecs:DescribeServices",
          resource: service("previews", shop.serviceName),
          context: { ...resourceTags, "ecs:cluster": CLUSTER },
        },
        { action: "ecs:DescribeTaskDefinition", resource: "*" },
        { action: "ecs:RegisterTaskDefinition", resource: taskDefinition(shop.family, 2) },
        {
          action: "ecs:TagResource",
          resource: taskDefinition(shop.family, 2),
          context: { "ecs:CreateAction": "RegisterTaskDefinition" },
        },
        {
          action: "ecs:UpdateService",
          resource: service("previews", shop.serviceName),
          context: { ...resourceTags, "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:DescribeTasks",
          resource: `arn:aws:ecs:${at}:task/previews/0123456789abcdef0123456789abcdef`,
          context: { "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:ListTasks",
          resource: `arn:aws:ecs:${at}:container-instance/previews/0123456789abcdef0123456789abcdef`,
          context: { "ecs:cluster": CLUSTER },
        },
        {
          action: "iam:PassRole",
          resource: TASK_ROLE,
          context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        },
        {
          action: "iam:PassRole",
          resource: EXECUTION_ROLE,
          context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        },
      ];
      for (const call of calls) await expectDecision(clone, call, "Allowed");
    });

    it("the clone role cannot create or delete a service, touch the load balancer, nor deploy production", async () => {
      const requestTags = previewTags("RequestTag", "acme", "shop", 7);
      const resourceTags = previewTags("ResourceTag", "acme", "shop", 7);
      const denied: SimulatedRequest[] = [
        {
          action: "ecs:CreateService",
          resource: service("previews", shop.serviceName),
          context: { ...requestTags, "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:DeleteService",
          resource: service("previews", shop.serviceName),
          context: { ...resourceTags, "ecs:cluster": CLUSTER },
        },
        {
          action: "ecs:UpdateService",
          resource: service("prod", "shop"),
          context: { "ecs:cluster": PROD_CLUSTER },
        },
        {
          action: "elasticloadbalancing:CreateTargetGroup",
          resource: targetGroup(shop.targetGroupName),
          context: requestTags,
        },
        {
          action: "elasticloadbalancing:DeleteTargetGroup",
          resource: targetGroup(shop.targetGroupName),
          context: resourceTags,
        },
        { action: "elasticloadbalancing:CreateRule", resource: LISTENER, context: requestTags },
        {
          action: "elasticloadbalancing:DeleteRule",
          resource: rule(LISTENER, "1111111111111111"),
          context: resourceTags,
        },
        {
          action: "elasticloadbalancing:ModifyRule",
          resource: rule(LISTENER, "1111111111111111"),
          context: resourceTags,
        },
        { action: "elasticloadbalancing:DescribeRules", resource: "*" },
        { action: "ecs:RegisterTaskDefinition", resource: taskDefinition("shop", 9) },
      ];
      for (const call of denied) await expectDecision(clone, call, "ImplicitlyDenied");
    });
  });

  describe("no service with a preview", () => {
    it("one service: no previews policy on any role", async () => {
      await synth({ repository: "octo/shop", webhookSecret: "s3cret", githubToken: "t", deploy });
      expect(previewsPolicyNames()).to.deep.equal([]);
      expect(resourcesOfType(MANAGED)).to.deep.equal([]);
      expect(resourcesOfType(ATTACHMENT)).to.deep.equal([]);
      await synth({
        repository: "octo/shop",
        webhookSecret: "s3cret",
        githubToken: "t",
        deploy,
        delivery: { mode: "inline" },
      });
      expect(previewsPolicyNames()).to.deep.equal([]);
    });

    it("many services: none either", async () => {
      await synth({
        prefix: "acme",
        webhookSecret: "s3cret",
        services: [
          { name: "shop", repository: "octo/mono", deploy },
          { name: "cart", repository: "octo/mono" },
        ],
      });
      expect(previewsPolicyNames()).to.deep.equal([]);
      expect(resourcesOfType(MANAGED)).to.deep.equal([]);
      expect(resourcesOfType(ATTACHMENT)).to.deep.equal([]);
    });
  });
});

describe("infra: the previews' policies' size (IAM: 6,144 characters per managed policy, 10 managed policies and 10,240 inline characters per role)", () => {
  const serviceName = (i: number) => `service-${String(i).padStart(2, "0")}`;
  const clusterOf = (i: number, shared: boolean) => (shared ? "previews" : `previews-${i}`);
  const listenerOf = (i: number, shared: boolean) =>
    shared
      ? LISTENER
      : `arn:aws:elasticloadbalancing:${at}:listener/app/previews-${i}/0123456789abcdef/fedcba9876543210`;
  const stack = (count: number, shared: boolean | undefined, mode: "queue" | "inline") => ({
    prefix: "acme",
    webhookSecret: "s3cret",
    githubToken: "ghp_test",
    delivery: { mode },
    services: Array.from({ length: count }, (_, i) => ({
      name: serviceName(i),
      repository: `octo/repository-${i}`,
      deploy: { cluster: "production", service: serviceName(i) },
      ...(shared === undefined
        ? {}
        : {
            preview: {
              ...preview,
              cluster: clusterOf(i, shared),
              listenerArn: listenerOf(i, shared),
            },
          }),
    })),
  });
  const setOf = (count: number, shared: boolean): PreviewSet => ({
    scope,
    stackPrefix: "acme",
    targets: Array.from({ length: count }, (_, i) => ({
      clusterArn: `arn:aws:ecs:${at}:cluster/${clusterOf(i, shared)}`,
      listenerArn: listenerOf(i, shared),
      taskRoleArn: role(`acme-${serviceName(i)}-preview-task-role-0000000`),
      executionRoleArn: role(`acme-${serviceName(i)}-preview-execution-role-0000000`),
      sourceServiceArn: service("production", serviceName(i)),
    })),
  });
  const policyLength = (name: string): number =>
    (resourceNamed(name).inputs["policy"] as string).length;

  /**
   * Declares the stack without and with previews: each role's inline policy is the same in both;
   * with previews the role has its managed previews policies, holding exactly the statements the
   * pure functions give, packed as `packManagedPolicies` packs them, each within 6,144 characters.
   * Returns role -> the lengths of its managed policies.
   */
  async function measure(
    count: number,
    shared: boolean,
    mode: "queue" | "inline",
  ): Promise<Record<string, number[]>> {
    const set = setOf(count, shared);
    const roles: [string, string, PolicyStatement[]][] = [
      mode === "queue"
        ? ["worker", "acme-worker-role", previewManagementStatements(set)]
        : ["webhook", "acme-webhook-role", previewManagementStatements(set)],
      [
        "reconciler",
        "acme-reconciler-role",
        [...previewManagementStatements(set), ...previewTrafficStatements()],
      ],
      ["clone", "acme-pipelines-clone-role", previewDeployStatements(set)],
    ];
    await synth(stack(count, undefined, mode));
    const inline = Object.fromEntries(
      roles.map(([label, name]) => [label, policyLength(`${name}-policy`)]),
    );
    await synth(stack(count, shared, mode));
    const managed: Record<string, number[]> = {};
    for (const [label, name, statements] of roles) {
      const policies = managedPoliciesOf(`${name}-id`);
      const lengths = policies.map((policy) => (policy.inputs["policy"] as string).length);
      managed[label] = lengths;
      // The inline policy does not grow with previews, and stays within IAM's limit.
      expect(policyLength(`${name}-policy`), name).to.equal(inline[label]);
      expect(roleInlineLength(`${name}-id`), name).to.equal(inline[label]);
      expect(inline[label], name).to.be.at.most(INLINE_POLICY_MAX_LENGTH);
      // `<role>-previews`, `<role>-previews-2`, ... in order, each attached, each within the limit.
      expect(
        policies.map((policy) => policy.name),
        name,
      ).to.deep.equal(lengths.map((_, i) => `${name}-previews${i === 0 ? "" : `-${i + 1}`}`));
      expect(statementsOf(`${name}-previews`), name).to.deep.equal(statements);
      expect(
        policies.map((policy) => policyDocument(policy.inputs["policy"])),
        name,
      ).to.deep.equal(packManagedPolicies(statements));
      for (const length of lengths) expect(length, name).to.be.at.most(MANAGED_POLICY_MAX_LENGTH);
      expect(lengths.length, name).to.be.at.most(MANAGED_POLICIES_PER_ROLE);
    }
    return managed;
  }

  it("1 service: one managed policy per role, both delivery modes", async () => {
    for (const mode of ["queue", "inline"] as const) {
      const managed = await measure(1, true, mode);
      const manager = mode === "queue" ? "worker" : "webhook";
      expect(managed[manager]?.length, manager).to.equal(1);
      expect(managed["reconciler"]?.length).to.equal(1);
      expect(managed["clone"]?.length).to.equal(1);
    }
  });

  it("10 services sharing one cluster and listener: accepted, two managed policies per function role, one for the clone role", async () => {
    for (const mode of ["queue", "inline"] as const) {
      const managed = await measure(10, true, mode);
      const manager = mode === "queue" ? "worker" : "webhook";
      expect(managed[manager]?.length, manager).to.equal(2);
      expect(managed["reconciler"]?.length).to.equal(2);
      expect(managed["clone"]?.length).to.equal(1);
    }
  });

  it("10 services with a cluster and listener each: accepted, three managed policies per function role, one for the clone role", async () => {
    for (const mode of ["queue", "inline"] as const) {
      const managed = await measure(10, false, mode);
      const manager = mode === "queue" ? "worker" : "webhook";
      expect(managed[manager]?.length, manager).to.equal(3);
      expect(managed["reconciler"]?.length).to.equal(3);
      expect(managed["clone"]?.length).to.equal(1);
    }
  });

  it("the policies' physical names (`<name>-<7 characters>`, Pulumi's) fit IAM's 128 characters with the longest prefix", () => {
    // The longest logical name: the many-service clone role's tenth part.
    const longest = `${"p".repeat(PREFIX_MAX_LENGTH)}-pipelines-clone-role-previews-${MANAGED_POLICIES_PER_ROLE}`;
    expect(`${longest}-0000000`.length).to.be.at.most(128);
  });
});
