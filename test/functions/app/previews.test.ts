import {
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import {
  AddTagsCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { expect } from "chai";
import { EcsPreviewServices } from "../../../functions/adapters/ecs.js";
import { ElbPreviewLoadBalancer } from "../../../functions/adapters/elbv2.js";
import { ListenerFullError } from "../../../functions/app/preview-ports.js";
import {
  ensurePreview,
  listPreviews,
  PreviewLimitError,
  removePreview,
  scalePreview,
  type PreviewDeps,
  type PreviewBuildScope,
} from "../../../functions/app/previews.js";
import { ConflictError } from "../../../functions/core/errors.js";
import { parsePreviewSettings } from "../../../functions/core/preview.js";
import {
  fastRetryStrategy,
  startAwsDouble,
  type AwsDouble,
} from "../../helpers/aws-double/index.js";
import { captureLogger } from "../../helpers/capture-logger.js";

const REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const MANAGED = { key: "branchline:managed-by", value: "branchline" };

const SOURCE_DEFINITION = {
  family: "shop-web",
  taskRoleArn: "arn:aws:iam::123456789012:role/shop-web-production",
  executionRoleArn: "arn:aws:iam::123456789012:role/shop-web-production-exec",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "1024",
  memory: "2048",
  containerDefinitions: [
    {
      name: "web",
      image: `${REGISTRY}/shop/web:3f2a9c1`,
      essential: true,
      portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: "tcp" }],
      environment: [{ name: "API_URL", value: "https://api.example.com" }],
      secrets: [
        {
          name: "DB_PASSWORD",
          valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
        },
      ],
    },
    { name: "proxy", image: "public.ecr.aws/nginx/nginx:1.27", essential: false },
  ],
};

/** Which calls each operation got, by operation name. */
function countCalls(aws: AwsDouble, from: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of aws.calls.slice(from))
    counts[call.operation] = (counts[call.operation] ?? 0) + 1;
  return counts;
}

describe("previews over the wire (ECS and ELBv2 adapters against the AWS double)", () => {
  let aws: AwsDouble;
  let ecsClient: ECSClient;
  let elbClient: ElasticLoadBalancingV2Client;
  /** Clients that never retry: a fault the double injects reaches the use case. */
  let ecsOnce: ECSClient;
  let elbOnce: ElasticLoadBalancingV2Client;
  let deps: PreviewDeps;
  let target: PreviewBuildScope;
  let listenerArn: string;

  before(async () => {
    aws = await startAwsDouble();
    const config = {
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    };
    // A reset connection (a kept-alive socket the double closes) is retried, as the SDK does.
    ecsClient = new ECSClient({ ...config, retryStrategy: fastRetryStrategy(3) });
    elbClient = new ElasticLoadBalancingV2Client({
      ...config,
      retryStrategy: fastRetryStrategy(3),
    });
    ecsOnce = new ECSClient({ ...config, retryStrategy: fastRetryStrategy(1) });
    elbOnce = new ElasticLoadBalancingV2Client({ ...config, retryStrategy: fastRetryStrategy(1) });
  });

  after(async () => {
    ecsClient.destroy();
    elbClient.destroy();
    ecsOnce.destroy();
    elbOnce.destroy();
    await aws.close();
  });

  function seed(ruleLimit?: number): void {
    aws.reset();
    aws.createCluster("production");
    aws.createCluster("previews");
    aws.seedTaskDefinition(SOURCE_DEFINITION);
    listenerArn = aws.seedListener(ruleLimit === undefined ? {} : { ruleLimit });
    deps = {
      ecs: new EcsPreviewServices(ecsClient),
      elb: new ElbPreviewLoadBalancer(elbClient),
      logger: captureLogger(),
    };
    target = {
      stackPrefix: "shop",
      service: "web",
      settings: parsePreviewSettings(
        {
          cluster: "previews",
          subnets: ["subnet-0a1b2c3d"],
          securityGroups: ["sg-0a1b2c3d"],
          listenerArn,
          domain: "preview.example.com",
          port: 8080,
          healthCheckPath: "/health",
          taskRoleArn: "arn:aws:iam::123456789012:role/shop-preview-task",
          executionRoleArn: "arn:aws:iam::123456789012:role/shop-preview-exec",
          maxPreviews: 50,
        },
        "services[0].preview",
      ),
      source: { cluster: "production", service: "shop-web" },
      images: { registry: REGISTRY, repositories: ["shop-pr/web"] },
    };
  }

  /** The production service the previews start from (created through the wire, as ECS has it). */
  async function seedSourceService(): Promise<void> {
    const group = await elbClient.send(
      new CreateTargetGroupCommand({
        Name: "shop-web-production",
        Protocol: "HTTP",
        Port: 8080,
        VpcId: "vpc-0a1b2c3d4e5f60718",
        TargetType: "ip",
      }),
    );
    const groupArn = group.TargetGroups?.[0]?.TargetGroupArn ?? "";
    await elbClient.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 50000,
        Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["shop.example.com"] } }],
        Actions: [{ Type: "forward", TargetGroupArn: groupArn }],
      }),
    );
    await ecsClient.send(
      new CreateServiceCommand({
        cluster: "production",
        serviceName: "shop-web",
        taskDefinition: "shop-web:1",
        desiredCount: 2,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0a1b2c3d"] } },
        loadBalancers: [{ targetGroupArn: groupArn, containerName: "web", containerPort: 8080 }],
      }),
    );
  }

  beforeEach(async () => {
    seed();
    await seedSourceService();
  });

  it("creates the whole preview, tagged, with the PR tier's images and the preview roles only", async () => {
    const from = aws.calls.length;
    const ensured = await ensurePreview(deps, target, 7);
    const calls = countCalls(aws, from);

    expect(ensured.names).to.deep.equal({
      host: "pr-7.web.preview.example.com",
      serviceName: "shop-web-pr-7",
      family: "shop-web-pr-7",
      targetGroupName: "shop-web-7",
    });
    expect(ensured.changed).to.deep.equal(["task-definition", "target-group", "rule", "service"]);

    const [definition] = aws.taskDefinitions("shop-web-pr-7");
    expect(definition?.definition).to.deep.include({
      taskRoleArn: "arn:aws:iam::123456789012:role/shop-preview-task",
      executionRoleArn: "arn:aws:iam::123456789012:role/shop-preview-exec",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
    });
    const containers = definition?.definition.containerDefinitions as Record<string, unknown>[];
    expect(containers.map((c) => c.image)).to.deep.equal([
      `${REGISTRY}/shop-pr/web:pr-7`,
      "public.ecr.aws/nginx/nginx:1.27",
    ]);
    expect(containers[0]?.secrets).to.equal(undefined);
    expect(JSON.stringify(definition?.definition)).not.to.match(/production|secretsmanager/);
    expect(definition?.tags).to.deep.include(MANAGED);

    const service = aws.ecsService("previews", "shop-web-pr-7");
    expect(service?.status).to.equal("ACTIVE");
    expect(service?.desiredCount).to.equal(1);
    expect(service?.taskDefinition).to.equal(definition?.arn);
    expect(service?.loadBalancers).to.deep.equal([
      { targetGroupArn: ensured.targetGroupArn, containerName: "web", containerPort: 8080 },
    ]);
    expect(service?.tags).to.deep.equal([
      MANAGED,
      { key: "branchline:stack", value: "shop" },
      { key: "branchline:service", value: "web" },
      { key: "branchline:pull-request", value: "7" },
    ]);

    const rule = aws.listener(listenerArn)?.rules.find((r) => r.arn === ensured.ruleArn);
    expect(rule?.priority).to.equal(ensured.priority);
    expect(rule?.conditions).to.deep.equal([
      { Field: "host-header", HostHeaderConfig: { Values: ["pr-7.web.preview.example.com"] } },
    ]);
    expect(rule?.actions).to.deep.equal([
      { Type: "forward", TargetGroupArn: ensured.targetGroupArn },
    ]);
    expect(rule?.tags.map((t) => t.Key)).to.include("branchline:managed-by");
    const group = aws.targetGroups().find((g) => g.arn === ensured.targetGroupArn);
    expect(group?.settings).to.deep.include({
      Port: 8080,
      TargetType: "ip",
      HealthCheckPath: "/health",
    });

    expect(calls).to.deep.equal({
      DescribeServices: 2,
      DescribeTaskDefinition: 2,
      RegisterTaskDefinition: 1,
      DescribeTargetGroups: 1,
      DescribeRules: 1,
      DescribeListeners: 1,
      DescribeLoadBalancers: 1,
      CreateTargetGroup: 1,
      CreateRule: 1,
      CreateService: 1,
    });
  });

  it("repeats without changes, then follows a new source revision and scales back after idling", async () => {
    const first = await ensurePreview(deps, target, 7);
    const from = aws.calls.length;
    const again = await ensurePreview(deps, target, 7);
    expect(again.changed).to.deep.equal([]);
    expect(again.ruleArn).to.equal(first.ruleArn);
    expect(again.taskDefinitionArn).to.equal(first.taskDefinitionArn);
    expect(countCalls(aws, from)).to.deep.equal({
      DescribeServices: 2,
      DescribeTaskDefinition: 2,
      DescribeTargetGroups: 1,
      DescribeRules: 1,
      DescribeTags: 1,
    });
    expect(aws.taskDefinitions("shop-web-pr-7")).to.have.length(1);

    const scaleFrom = aws.calls.length;
    expect(await scalePreview(deps, target, 7, 0)).to.equal(true);
    expect(countCalls(aws, scaleFrom)).to.deep.equal({ DescribeServices: 1, UpdateService: 1 });
    expect(await scalePreview(deps, target, 7, 0)).to.equal(false);
    expect(aws.ecsService("previews", "shop-web-pr-7")?.desiredCount).to.equal(0);

    // A new production revision with another container port mapping and a push: ensure again.
    aws.seedTaskDefinition({
      ...SOURCE_DEFINITION,
      containerDefinitions: [
        {
          ...SOURCE_DEFINITION.containerDefinitions[0],
          environment: [{ name: "API_URL", value: "https://api2.example.com" }],
        },
      ],
    });
    await ecsClient.send(
      new UpdateServiceCommand({
        cluster: "production",
        service: "shop-web",
        taskDefinition: "shop-web:2",
      }),
    );
    const pushed = await ensurePreview(deps, target, 7, { imageTag: "pr-7-9b8c7d6" });
    expect(pushed.changed).to.deep.equal(["task-definition", "service"]);
    const service = aws.ecsService("previews", "shop-web-pr-7");
    expect(service?.desiredCount).to.equal(1);
    expect(service?.taskDefinition).to.equal(pushed.taskDefinitionArn);
    const revisions = aws.taskDefinitions("shop-web-pr-7");
    expect(revisions).to.have.length(2);
    const containers = revisions[1]?.definition.containerDefinitions as Record<string, unknown>[];
    expect(containers.map((c) => c.image)).to.deep.equal([`${REGISTRY}/shop-pr/web:pr-7-9b8c7d6`]);
  });

  it("keeps the images the clone's ECS deploy put on the service, so an ensure never rolls a push back", async () => {
    const first = await ensurePreview(deps, target, 7);
    // What CodePipeline's ECS deploy action does: a new revision with the push's image, then the service moved to it.
    const registered = aws.taskDefinitions("shop-web-pr-7")[0]?.definition ?? {};
    const deployed = await ecsClient.send(
      new RegisterTaskDefinitionCommand({
        ...(registered as object),
        containerDefinitions: (registered.containerDefinitions as { image: string }[]).map(
          (c, i) => (i === 0 ? { ...c, image: `${REGISTRY}/shop-pr/web:pr-7-5e6f7a8` } : c),
        ),
      } as RegisterTaskDefinitionCommandInput),
    );
    const deployedArn = deployed.taskDefinition?.taskDefinitionArn ?? "";
    await ecsClient.send(
      new UpdateServiceCommand({
        cluster: "previews",
        service: "shop-web-pr-7",
        taskDefinition: deployedArn,
      }),
    );

    const again = await ensurePreview(deps, target, 7);
    expect(again.changed).to.deep.equal([]);
    expect(again.taskDefinitionArn).to.equal(deployedArn);
    expect(aws.ecsService("previews", "shop-web-pr-7")?.taskDefinition).to.equal(deployedArn);

    // A change of the preview's settings registers a revision that still runs the deployed image.
    target = { ...target, settings: { ...target.settings, memory: "1024" } };
    const resized = await ensurePreview(deps, target, 7);
    expect(resized.changed).to.deep.equal(["task-definition", "service"]);
    const newest = aws.taskDefinitions("shop-web-pr-7").at(-1);
    expect(newest?.definition.memory).to.equal("1024");
    expect((newest?.definition.containerDefinitions as { image: string }[])[0]?.image).to.equal(
      `${REGISTRY}/shop-pr/web:pr-7-5e6f7a8`,
    );
    expect(first.taskDefinitionArn).not.to.equal(resized.taskDefinitionArn);
  });

  it("removes rule, target group, service and task definitions in that order, and repeating is harmless", async () => {
    await ensurePreview(deps, target, 7);
    await ensurePreview(deps, target, 7, { imageTag: "pr-7-b" });
    const from = aws.calls.length;
    const removed = await removePreview(deps, target, 7);
    expect(removed.removed).to.deep.equal(["rule", "target-group", "service", "task-definitions"]);
    const order = aws.calls
      .slice(from)
      .map((c) => c.operation)
      .filter((op) => /^(Delete|Update|Deregister)/.test(op));
    expect(order).to.deep.equal([
      "DeleteRule",
      "DeleteTargetGroup",
      "UpdateService",
      "DeleteService",
      "DeregisterTaskDefinition",
      "DeregisterTaskDefinition",
      "DeleteTaskDefinitions",
    ]);
    expect(countCalls(aws, from)).to.deep.equal({
      DescribeRules: 1,
      DescribeTargetGroups: 1,
      DescribeTags: 1,
      DeleteRule: 1,
      DeleteTargetGroup: 1,
      DescribeServices: 1,
      UpdateService: 1,
      DeleteService: 1,
      ListTaskDefinitions: 2,
      DeregisterTaskDefinition: 2,
      DeleteTaskDefinitions: 1,
    });
    expect(aws.listener(listenerArn)?.rules.map((r) => r.priority)).to.deep.equal([
      "default",
      50000,
    ]);
    expect(aws.targetGroups().map((g) => g.name)).to.deep.equal(["shop-web-production"]);
    expect(aws.ecsService("previews", "shop-web-pr-7")?.status).to.equal("DRAINING");
    expect(aws.taskDefinitions("shop-web-pr-7").map((t) => t.status)).to.deep.equal([
      "DELETE_IN_PROGRESS",
      "DELETE_IN_PROGRESS",
    ]);
    // The production service and its revision are untouched.
    expect(aws.ecsService("production", "shop-web")?.desiredCount).to.equal(2);
    expect(aws.taskDefinitions("shop-web").map((t) => t.status)).to.deep.equal(["ACTIVE"]);

    const repeatFrom = aws.calls.length;
    expect((await removePreview(deps, target, 7)).removed).to.deep.equal([]);
    expect(countCalls(aws, repeatFrom)).to.deep.equal({
      DescribeRules: 1,
      DescribeTargetGroups: 1,
      DescribeServices: 1,
      ListTaskDefinitions: 2,
    });

    // Recreating while ECS still drains the old service: a retryable error, then it works.
    const draining = await ensurePreview(deps, target, 7).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(draining?.message).to.match(/shop-web-pr-7 is still DRAINING/);
    aws.finishDraining();
    expect((await ensurePreview(deps, target, 7)).changed).to.deep.equal(["service"]);
  });

  it("completes after a crash between any two steps of ensure and of remove", async () => {
    deps = { ecs: new EcsPreviewServices(ecsOnce), elb: new ElbPreviewLoadBalancer(elbOnce) };
    const steps = ["RegisterTaskDefinition", "CreateTargetGroup", "CreateRule", "CreateService"];
    for (const [i, operation] of steps.entries()) {
      // The operation is carried out but its answer is lost: the call fails as if the function crashed.
      aws.inject({ operation, error: "InternalFailure", after: "apply" });
      const crashed = await ensurePreview(deps, target, 10 + i).then(
        () => false,
        () => true,
      );
      expect(crashed, operation).to.equal(true);
      const done = await ensurePreview(deps, target, 10 + i);
      expect(aws.ecsService("previews", `shop-web-pr-${10 + i}`)?.desiredCount, operation).to.equal(
        1,
      );
      expect(aws.taskDefinitions(`shop-web-pr-${10 + i}`), operation).to.have.length(1);
      const rules = aws
        .listener(listenerArn)
        ?.rules.filter((r) => JSON.stringify(r.conditions).includes(`pr-${10 + i}.web.`));
      expect(
        rules?.map((r) => r.arn),
        operation,
      ).to.deep.equal([done.ruleArn]);
    }

    for (const operation of [
      "DeleteRule",
      "DeleteTargetGroup",
      "DeleteService",
      "DeleteTaskDefinitions",
    ]) {
      aws.inject({ operation, error: "InternalFailure", after: "apply" });
      const crashed = await removePreview(deps, target, 10).then(
        () => false,
        () => true,
      );
      expect(crashed, operation).to.equal(true);
      await removePreview(deps, target, 10);
      await removePreview(deps, target, 10);
      // Put it back for the next operation's crash.
      aws.finishDraining();
      if (operation !== "DeleteTaskDefinitions") await ensurePreview(deps, target, 10);
    }
    expect(
      aws.listener(listenerArn)?.rules.some((r) => JSON.stringify(r.conditions).includes("pr-10.")),
    ).to.equal(false);
    expect(aws.targetGroups().some((g) => g.name === "shop-web-10")).to.equal(false);
    expect(aws.ecsService("previews", "shop-web-pr-10")?.status).to.equal("INACTIVE");
    expect(
      aws.taskDefinitions("shop-web-pr-10").every((t) => t.status === "DELETE_IN_PROGRESS"),
    ).to.equal(true);
  });

  it("gives 20 pull requests opened at once 20 distinct priorities, through PriorityInUse retries", async () => {
    // A narrow band makes the 20 creators collide; each loser re-reads the rules and probes on.
    target = { ...target, priorities: { min: 100, max: 124 } };
    const numbers = Array.from({ length: 20 }, (_, i) => 101 + i);
    const ensured = await Promise.all(numbers.map((n) => ensurePreview(deps, target, n)));
    const priorities = ensured.map((e) => e.priority);
    expect(new Set(priorities).size).to.equal(20);
    expect(priorities.every((p) => p >= 100 && p <= 124)).to.equal(true);
    const onListener = (aws.listener(listenerArn)?.rules ?? [])
      .map((r) => r.priority)
      .filter((p) => p !== "default" && p !== 50000);
    expect([...onListener].sort()).to.deep.equal([...priorities].sort());
    const lost = aws.calls.filter((c) => c.operation === "CreateRule" && c.status === 400).length;
    expect(lost).to.be.greaterThan(0);
    expect(aws.callCount("CreateRule")).to.equal(20 + lost + 1);

    const listed = await listPreviews(deps, target);
    expect(listed.map((l) => l.prNumber)).to.deep.equal(numbers);
    expect(listed.every((l) => l.ruleArn && l.targetGroupArn)).to.equal(true);
  });

  it("gives 20 pull requests opened at once 20 distinct priorities over the whole range", async () => {
    const ensured = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ensurePreview(deps, target, 200 + i)),
    );
    expect(new Set(ensured.map((e) => e.priority)).size).to.equal(20);
  });

  it("says which listener is full and its limit, and caps the previews per service", async () => {
    seed(3);
    await seedSourceService();
    await ensurePreview(deps, target, 1);
    await ensurePreview(deps, target, 2);
    const error = await ensurePreview(deps, target, 3).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ListenerFullError);
    expect((error as Error).message).to.equal(
      `listener ${listenerArn} is full: it holds 3 rules besides its default rule, its limit ` +
        `(Elastic Load Balancing's quota "Rules per Application Load Balancer", 100 by default), so no ` +
        `preview rule can be added. Close previews, lower preview.maxPreviews, or raise the quota.`,
    );
    // Nothing was left forwarding to nothing; the service was never created.
    expect(aws.ecsService("previews", "shop-web-pr-3")).to.equal(undefined);

    seed();
    await seedSourceService();
    target = { ...target, settings: { ...target.settings, maxPreviews: 2 } };
    await ensurePreview(deps, target, 1);
    await ensurePreview(deps, target, 2);
    const capped = await ensurePreview(deps, target, 3).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(capped).to.be.instanceOf(PreviewLimitError);
    expect((capped as Error).message).to.equal(
      "service web has 2 previews, its limit (preview.maxPreviews 2): pull request 3 gets none until one closes",
    );
    // An existing preview is still ensured at the cap.
    expect((await ensurePreview(deps, target, 2)).changed).to.deep.equal([]);
  });

  it("never touches a rule, target group or service of the same name that is not this stack's", async () => {
    await ensurePreview(deps, target, 7);
    // Another stack's tags on the same name: a different prefix value in branchline:stack.
    const group = aws.targetGroups().find((g) => g.name === "shop-web-7");
    await elbClient.send(
      new AddTagsCommand({
        ResourceArns: [group?.arn ?? ""],
        Tags: [{ Key: "branchline:stack", Value: "other" }],
      }),
    );
    for (const run of [
      () => ensurePreview(deps, target, 7),
      () => removePreview(deps, target, 7),
    ]) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ConflictError);
      expect((error as Error).message).to.equal(
        "target group shop-web-7 exists but is not this stack's preview (its branchline tags differ): left alone",
      );
    }
    expect(aws.targetGroups().some((g) => g.name === "shop-web-7")).to.equal(true);
    expect(aws.listener(listenerArn)?.rules).to.have.length(3);
  });

  it("lists the previews whose pieces are left, for a reconciler to remove", async () => {
    await ensurePreview(deps, target, 3);
    await ensurePreview(deps, target, 4);
    deps = { ecs: new EcsPreviewServices(ecsOnce), elb: new ElbPreviewLoadBalancer(elbOnce) };
    aws.inject({ operation: "DeleteTargetGroup", error: "InternalFailure" });
    await removePreview(deps, target, 4).catch(() => undefined);
    const from = aws.calls.length;
    expect(await listPreviews(deps, target)).to.deep.equal([
      {
        prNumber: 3,
        ruleArn: aws
          .listener(listenerArn)
          ?.rules.find((r) => JSON.stringify(r.conditions).includes("pr-3."))?.arn,
        targetGroupArn: aws.targetGroups().find((g) => g.name === "shop-web-3")?.arn,
      },
      { prNumber: 4, targetGroupArn: aws.targetGroups().find((g) => g.name === "shop-web-4")?.arn },
    ]);
    expect(countCalls(aws, from)).to.deep.equal({
      DescribeRules: 1,
      DescribeTargetGroups: 1,
      DescribeTags: 1,
    });
  });
});
