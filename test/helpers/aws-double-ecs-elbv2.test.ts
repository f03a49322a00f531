import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTagsForResourceCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  AddTagsCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeRules,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };

async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error("expected the call to fail");
  return error;
}

const FARGATE_DEFINITION = {
  family: "web",
  networkMode: "awsvpc" as const,
  requiresCompatibilities: ["FARGATE" as const],
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "web", image: "nginx:1", portMappings: [{ containerPort: 80 }] }],
};

describe("AWS double: ECS (JSON 1.1) and Elastic Load Balancing v2 (awsQuery)", () => {
  let aws: AwsDouble;
  let ecs: ECSClient;
  let elb: ElasticLoadBalancingV2Client;

  before(async () => {
    aws = await startAwsDouble();
    const config = { endpoint: aws.url, region: aws.region, credentials, maxAttempts: 1 };
    ecs = new ECSClient(config);
    elb = new ElasticLoadBalancingV2Client(config);
  });

  after(async () => {
    ecs.destroy();
    elb.destroy();
    await aws.close();
  });

  beforeEach(() => aws.reset());

  describe("ECS task definitions", () => {
    it("registers revisions, describes them with tags, lists by family, deregisters and deletes", async () => {
      const first = await ecs.send(
        new RegisterTaskDefinitionCommand({
          ...FARGATE_DEFINITION,
          tags: [{ key: "a", value: "1" }],
        }),
      );
      expect(first.taskDefinition?.taskDefinitionArn).to.equal(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
      );
      await ecs.send(new RegisterTaskDefinitionCommand(FARGATE_DEFINITION));
      await ecs.send(
        new RegisterTaskDefinitionCommand({ ...FARGATE_DEFINITION, family: "web-other" }),
      );
      const described = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: "web:1", include: ["TAGS"] }),
      );
      expect(described.taskDefinition?.containerDefinitions?.[0]?.image).to.equal("nginx:1");
      expect(described.taskDefinition?.registeredAt).to.be.instanceOf(Date);
      expect(described.tags).to.deep.equal([{ key: "a", value: "1" }]);
      const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "web" }));
      expect(latest.taskDefinition?.revision).to.equal(2);

      const listed = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: "web", maxResults: 1 }),
      );
      expect(listed.taskDefinitionArns).to.have.length(1);
      const rest = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: "web", nextToken: listed.nextToken }),
      );
      expect([
        ...(listed.taskDefinitionArns ?? []),
        ...(rest.taskDefinitionArns ?? []),
      ]).to.deep.equal([
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
      ]);

      const active = await ecs.send(
        new DeleteTaskDefinitionsCommand({ taskDefinitions: ["web:1"] }),
      );
      expect(active.failures?.[0]?.reason).to.match(/still in ACTIVE status/);
      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "web:1" }));
      const deleted = await ecs.send(
        new DeleteTaskDefinitionsCommand({ taskDefinitions: ["web:1"] }),
      );
      expect(deleted.taskDefinitions?.[0]?.status).to.equal("DELETE_IN_PROGRESS");
      const after = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "web" }));
      expect(after.taskDefinitionArns).to.deep.equal([
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
      ]);
      const inactive = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: "web", status: "INACTIVE" }),
      );
      expect(inactive.taskDefinitionArns).to.deep.equal([]);
    });

    it("refuses what ECS refuses: Fargate sizes and network mode, secrets without an execution role", async () => {
      const sized = await failure(
        ecs.send(new RegisterTaskDefinitionCommand({ ...FARGATE_DEFINITION, memory: "4096" })),
      );
      expect(sized.name).to.equal("ClientException");
      expect(sized.message).to.match(
        /No Fargate configuration exists for given values: 256 CPU, 4096 memory/,
      );
      const bridged = await failure(
        ecs.send(
          new RegisterTaskDefinitionCommand({ ...FARGATE_DEFINITION, networkMode: "bridge" }),
        ),
      );
      expect(bridged.message).to.equal("Fargate only supports network mode 'awsvpc'.");
      const secrets = await failure(
        ecs.send(
          new RegisterTaskDefinitionCommand({
            ...FARGATE_DEFINITION,
            containerDefinitions: [
              {
                name: "web",
                image: "nginx:1",
                secrets: [
                  {
                    name: "DB",
                    valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
                  },
                ],
              },
            ],
          }),
        ),
      );
      expect(secrets.message).to.match(/must also specify a value for 'executionRoleArn'/);
      const missing = await failure(
        ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "nope:3" })),
      );
      expect(missing.name).to.equal("ClientException");
    });
  });

  describe("ECS services", () => {
    let targetGroupArn: string;

    beforeEach(async () => {
      aws.createCluster("apps");
      await ecs.send(new RegisterTaskDefinitionCommand(FARGATE_DEFINITION));
      const listenerArn = aws.seedListener();
      const group = await elb.send(
        new CreateTargetGroupCommand({
          Name: "tg-web",
          Protocol: "HTTP",
          Port: 80,
          VpcId: "vpc-1",
          TargetType: "ip",
        }),
      );
      targetGroupArn = group.TargetGroups?.[0]?.TargetGroupArn ?? "";
      await elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: 5,
          Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["a.example.com"] } }],
          Actions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
        }),
      );
    });

    const create = (overrides: Record<string, unknown> = {}) =>
      ecs.send(
        new CreateServiceCommand({
          cluster: "apps",
          serviceName: "web-pr-1",
          taskDefinition: "web:1",
          desiredCount: 1,
          launchType: "FARGATE",
          networkConfiguration: {
            awsvpcConfiguration: { subnets: ["subnet-1"], assignPublicIp: "DISABLED" },
          },
          loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 80 }],
          tags: [{ key: "branchline:managed-by", value: "branchline" }],
          ...overrides,
        }),
      );

    it("creates, describes with tags, updates, deletes and reports a missing service", async () => {
      const created = await create();
      expect(created.service?.serviceArn).to.equal(
        "arn:aws:ecs:us-east-1:123456789012:service/apps/web-pr-1",
      );
      await ecs.send(
        new UpdateServiceCommand({ cluster: "apps", service: "web-pr-1", desiredCount: 0 }),
      );
      const described = await ecs.send(
        new DescribeServicesCommand({
          cluster: "apps",
          services: ["web-pr-1", "gone"],
          include: ["TAGS"],
        }),
      );
      expect(described.services?.[0]?.desiredCount).to.equal(0);
      expect(described.services?.[0]?.tags).to.deep.equal([
        { key: "branchline:managed-by", value: "branchline" },
      ]);
      expect(described.failures).to.deep.equal([
        { arn: "arn:aws:ecs:us-east-1:123456789012:service/apps/gone", reason: "MISSING" },
      ]);
      await ecs.send(
        new TagResourceCommand({
          resourceArn: created.service?.serviceArn,
          tags: [{ key: "x", value: "y" }],
        }),
      );
      const tags = await ecs.send(
        new ListTagsForResourceCommand({ resourceArn: created.service?.serviceArn }),
      );
      expect(tags.tags?.map((t) => t.key)).to.deep.equal(["branchline:managed-by", "x"]);

      await ecs.send(new DeleteServiceCommand({ cluster: "apps", service: "web-pr-1" }));
      const draining = await ecs.send(
        new DescribeServicesCommand({ cluster: "apps", services: ["web-pr-1"] }),
      );
      expect(draining.services?.[0]?.status).to.equal("DRAINING");
      const notActive = await failure(
        ecs.send(
          new UpdateServiceCommand({ cluster: "apps", service: "web-pr-1", desiredCount: 1 }),
        ),
      );
      expect(notActive.name).to.equal("ServiceNotActiveException");
      const again = await failure(
        ecs.send(new DeleteServiceCommand({ cluster: "apps", service: "web-pr-1" })),
      );
      expect(again.name).to.equal("ServiceNotFoundException");
      const stillDraining = await failure(create());
      expect(stillDraining.message).to.equal("Unable to Start a service that is still Draining.");
      aws.finishDraining();
      await create();
      expect(aws.ecsService("apps", "web-pr-1")?.status).to.equal("ACTIVE");
    });

    it("refuses what ECS refuses: a duplicate, a scaled service without force, no network, a loose target group", async () => {
      await create();
      expect((await failure(create())).message).to.equal("Creation of service was not idempotent.");
      const scaled = await failure(
        ecs.send(new DeleteServiceCommand({ cluster: "apps", service: "web-pr-1" })),
      );
      expect(scaled.message).to.equal("The service cannot be stopped while it is scaled above 0.");
      await ecs.send(
        new DeleteServiceCommand({ cluster: "apps", service: "web-pr-1", force: true }),
      );
      const network = await failure(create({ serviceName: "b", networkConfiguration: undefined }));
      expect(network.name).to.equal("InvalidParameterException");
      const loose = await elb.send(
        new CreateTargetGroupCommand({
          Name: "loose",
          Protocol: "HTTP",
          Port: 80,
          VpcId: "vpc-1",
          TargetType: "ip",
        }),
      );
      const looseArn = loose.TargetGroups?.[0]?.TargetGroupArn ?? "";
      const unattached = await failure(
        create({
          serviceName: "c",
          loadBalancers: [{ targetGroupArn: looseArn, containerName: "web", containerPort: 80 }],
        }),
      );
      expect(unattached.message).to.equal(
        `The target group with targetGroupArn ${looseArn} does not have an associated load balancer.`,
      );
      const cluster = await failure(create({ cluster: "nope" }));
      expect(cluster.name).to.equal("ClusterNotFoundException");
      const invalid = await failure(create({ serviceName: "d", desiredCount: "one" }));
      expect(invalid.name).to.equal("SerializationException");
    });
  });

  describe("ELBv2 target groups, rules, listeners and tags", () => {
    let listenerArn: string;

    beforeEach(() => {
      listenerArn = aws.seedListener({ ruleLimit: 3 });
    });

    const group = (name: string, port = 80) =>
      elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: "HTTP",
          Port: port,
          VpcId: "vpc-1",
          TargetType: "ip",
          HealthCheckPath: "/health",
          Tags: [{ Key: "k", Value: "v" }],
        }),
      );
    const rule = (priority: number, targetGroupArn: string, host = `h${priority}.example.com`) =>
      elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: priority,
          Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: [host] } }],
          Actions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
          Tags: [{ Key: "branchline:managed-by", Value: "branchline" }],
        }),
      );

    it("round-trips a target group and a rule through XML, with tags and paging", async () => {
      const created = await group("pr-1-web");
      const tg = created.TargetGroups?.[0];
      expect(tg?.TargetGroupName).to.equal("pr-1-web");
      expect(tg?.Port).to.equal(80);
      expect(tg?.HealthCheckPath).to.equal("/health");
      expect(tg?.LoadBalancerArns).to.deep.equal([]);
      expect((await group("pr-1-web")).TargetGroups?.[0]?.TargetGroupArn).to.equal(
        tg?.TargetGroupArn,
      );
      const duplicate = await failure(group("pr-1-web", 8080));
      expect(duplicate.name).to.equal("DuplicateTargetGroupNameException");

      const r = await rule(7, tg?.TargetGroupArn ?? "");
      expect(r.Rules?.[0]?.Priority).to.equal("7");
      expect(r.Rules?.[0]?.Conditions?.[0]?.HostHeaderConfig?.Values).to.deep.equal([
        "h7.example.com",
      ]);
      expect(r.Rules?.[0]?.Actions?.[0]?.TargetGroupArn).to.equal(tg?.TargetGroupArn);
      await rule(2, tg?.TargetGroupArn ?? "");

      const pages: string[][] = [];
      for await (const p of paginateDescribeRules(
        { client: elb, pageSize: 1 },
        { ListenerArn: listenerArn, PageSize: 1 },
      )) {
        pages.push((p.Rules ?? []).map((x) => x.Priority ?? ""));
      }
      expect(pages).to.deep.equal([["2"], ["7"], ["default"]]);

      const byName = await elb.send(new DescribeTargetGroupsCommand({ Names: ["pr-1-web"] }));
      expect(byName.TargetGroups?.[0]?.LoadBalancerArns).to.have.length(1);
      const missing = await failure(
        elb.send(new DescribeTargetGroupsCommand({ Names: ["absent"] })),
      );
      expect(missing.name).to.equal("TargetGroupNotFoundException");

      await elb.send(
        new AddTagsCommand({
          ResourceArns: [tg?.TargetGroupArn ?? ""],
          Tags: [
            { Key: "k", Value: "w" },
            { Key: "n", Value: "1" },
          ],
        }),
      );
      const tags = await elb.send(
        new DescribeTagsCommand({
          ResourceArns: [tg?.TargetGroupArn ?? "", r.Rules?.[0]?.RuleArn ?? ""],
        }),
      );
      expect(tags.TagDescriptions?.map((d) => d.Tags)).to.deep.equal([
        [
          { Key: "k", Value: "w" },
          { Key: "n", Value: "1" },
        ],
        [{ Key: "branchline:managed-by", Value: "branchline" }],
      ]);

      const listeners = await elb.send(
        new DescribeListenersCommand({ ListenerArns: [listenerArn] }),
      );
      expect(listeners.Listeners?.[0]?.Port).to.equal(443);
      const noListener = await failure(
        elb.send(new DescribeListenersCommand({ ListenerArns: [`${listenerArn}0`] })),
      );
      expect(noListener.name).to.equal("ListenerNotFoundException");
    });

    it("answers PriorityInUse, TooManyRules at the listener's limit, ResourceInUse, RuleNotFound", async () => {
      const tg = (await group("tg")).TargetGroups?.[0]?.TargetGroupArn ?? "";
      await rule(1, tg);
      const taken = await failure(rule(1, tg));
      expect(taken.name).to.equal("PriorityInUseException");
      expect(taken.message).to.equal("Priority '1' is currently in use");
      expect(taken.$metadata?.httpStatusCode).to.equal(400);
      await rule(2, tg);
      const third = await rule(3, tg);
      const full = await failure(rule(4, tg));
      expect(full.name).to.equal("TooManyRulesException");

      const inUse = await failure(elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg })));
      expect(inUse.name).to.equal("ResourceInUseException");
      const ruleArn = third.Rules?.[0]?.RuleArn ?? "";
      await elb.send(new DeleteRuleCommand({ RuleArn: ruleArn }));
      const gone = await failure(elb.send(new DeleteRuleCommand({ RuleArn: ruleArn })));
      expect(gone.name).to.equal("RuleNotFoundException");
      const noGroup = await failure(rule(9, tg.replace(/[0-9a-f]{16}$/, "0000000000000000")));
      expect(noGroup.name).to.equal("TargetGroupNotFoundException");
      const outOfRange = await failure(rule(50001, tg));
      expect(outOfRange.name).to.equal("ValidationError");
      expect(outOfRange.message).to.match(/Priority.*50000/);

      for (const r of aws.listener(listenerArn)?.rules ?? []) {
        if (r.priority !== "default") await elb.send(new DeleteRuleCommand({ RuleArn: r.arn }));
      }
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }));
      expect(aws.targetGroups()).to.deep.equal([]);
    });

    it("validates the form parameters against the model", async () => {
      const long = await failure(group("x".repeat(33)));
      expect(long.name).to.equal("ValidationError");
      const badName = await failure(group("-lead"));
      expect(badName.message).to.match(/maximum of 32 characters/);
      expect(aws.calls.map((c) => [c.service, c.operation, c.status])).to.deep.equal([
        ["elbv2", "CreateTargetGroup", 400],
        ["elbv2", "CreateTargetGroup", 400],
      ]);
    });
  });
});
