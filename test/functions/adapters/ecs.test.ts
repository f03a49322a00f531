import { CreateServiceCommand, DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import { expect } from "chai";
import { EcsPreviewServices } from "../../../functions/adapters/ecs.js";
import { startAwsDouble, type AwsDouble } from "../../helpers/aws-double/index.js";

const CLUSTER = "previews";
const SERVICE = "branchline-shop-web-pr-7";
const DAY = 24 * 3600_000;

const DEFINITION = {
  family: "branchline-shop-web-pr-7",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "web", image: "nginx:1", portMappings: [{ containerPort: 80 }] }],
};

describe("EcsPreviewServices over the wire (ECS client against the AWS double)", () => {
  let aws: AwsDouble;
  let client: ECSClient;
  let ecs: EcsPreviewServices;

  before(async () => {
    aws = await startAwsDouble();
    client = new ECSClient({
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
    });
    ecs = new EcsPreviewServices(client);
  });

  after(async () => {
    client.destroy();
    await aws.close();
  });

  let first: string;
  beforeEach(async () => {
    aws.reset();
    aws.createCluster(CLUSTER);
    first = aws.seedTaskDefinition(DEFINITION);
    await client.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: SERVICE,
        taskDefinition: first,
        desiredCount: 1,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0a1b2c3d"] } },
      }),
    );
  });

  async function deployedAt(): Promise<number> {
    const view = await ecs.describeService(CLUSTER, SERVICE);
    expect(view?.deployedAt).to.be.instanceOf(Date);
    return view?.deployedAt?.getTime() ?? Number.NaN;
  }

  it("reports the PRIMARY deployment's createdAt as deployedAt, from the service's creation", async () => {
    const created = aws.ecsService(CLUSTER, SERVICE)?.createdAt ?? 0;
    expect(await deployedAt()).to.equal(created);
    aws.ageDeployments(CLUSTER, SERVICE, 2 * DAY);
    expect(await deployedAt()).to.equal(created - 2 * DAY);
  });

  it("keeps deployedAt when only the desired count changes (scale to zero and back)", async () => {
    aws.ageDeployments(CLUSTER, SERVICE, 2 * DAY);
    const before = await deployedAt();
    await ecs.updateService(CLUSTER, SERVICE, { desiredCount: 0 });
    await ecs.updateService(CLUSTER, SERVICE, { desiredCount: 1 });
    expect(await deployedAt()).to.equal(before);
    // The same task definition again is no rollout either.
    await ecs.updateService(CLUSTER, SERVICE, { taskDefinition: first });
    expect(await deployedAt()).to.equal(before);
  });

  it("moves deployedAt to the rollout of a new task definition (a push's deploy action)", async () => {
    aws.ageDeployments(CLUSTER, SERVICE, 2 * DAY);
    const before = await deployedAt();
    const second = aws.seedTaskDefinition(DEFINITION);
    const start = Date.now();
    await ecs.updateService(CLUSTER, SERVICE, { taskDefinition: second });
    const after = await deployedAt();
    expect(after).to.be.greaterThan(before);
    expect(after).to.be.at.least(start - 1000);

    // The replaced deployment is still listed, ACTIVE, with its own createdAt: the adapter reads the
    // PRIMARY one.
    const raw = await client.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }),
    );
    const deployments = raw.services?.[0]?.deployments ?? [];
    expect(deployments.map((d) => [d.status, d.taskDefinition])).to.deep.equal([
      ["PRIMARY", second],
      ["ACTIVE", first],
    ]);
    expect(deployments[1]?.createdAt?.getTime()).to.equal(before);
    expect((await ecs.describeService(CLUSTER, SERVICE))?.taskDefinition).to.equal(second);
  });

  it("reports no service (and so no deployedAt) once it is deleted and drained", async () => {
    await ecs.deleteService(CLUSTER, SERVICE);
    expect((await ecs.describeService(CLUSTER, SERVICE))?.status).to.equal("DRAINING");
    aws.finishDraining();
    expect(await ecs.describeService(CLUSTER, SERVICE)).to.equal(undefined);
  });
});
