import { expect } from "chai";
import { ConfigurationError } from "../../../functions/core/errors.js";
import {
  firstRulePriority,
  isIdle,
  nextRulePriority,
  parsePreviewSettings,
  previewCostPerDay,
  previewImage,
  previewTaskDefinition,
  sameTaskDefinition,
  type PreviewSettings,
  type TaskDefinitionLike,
} from "../../../functions/core/preview.js";

const LISTENER =
  "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2";
const MINIMAL = {
  cluster: "previews",
  subnets: ["subnet-0a1b2c3d"],
  securityGroups: ["sg-0a1b2c3d"],
  listenerArn: LISTENER,
  domain: "Preview.Example.com",
};

function refused(value: unknown): string {
  try {
    parsePreviewSettings(value, "services[1].preview");
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error("expected the settings to be refused");
}

describe("core/preview: settings", () => {
  it("applies the defaults", () => {
    expect(parsePreviewSettings(MINIMAL, "preview")).to.deep.equal({
      cluster: "previews",
      subnets: ["subnet-0a1b2c3d"],
      securityGroups: ["sg-0a1b2c3d"],
      listenerArn: LISTENER,
      domain: "preview.example.com",
      port: 80,
      healthCheckPath: "/",
      cpu: "256",
      memory: "512",
      idleHours: 24,
      assignPublicIp: false,
      maxPreviews: 10,
    });
  });

  it("keeps what is given, numbers or strings for the task size", () => {
    const settings = parsePreviewSettings(
      {
        ...MINIMAL,
        port: 8080,
        healthCheckPath: "/health",
        cpu: 1024,
        memory: "3072",
        taskRoleArn: "arn:aws:iam::123456789012:role/preview-task",
        executionRoleArn: "arn:aws:iam::123456789012:role/preview-exec",
        idleHours: 2,
        assignPublicIp: true,
        maxPreviews: 3,
      },
      "preview",
    );
    expect(settings).to.deep.include({
      port: 8080,
      cpu: "1024",
      memory: "3072",
      taskRoleArn: "arn:aws:iam::123456789012:role/preview-task",
      idleHours: 2,
      assignPublicIp: true,
      maxPreviews: 3,
    });
  });

  it("refuses with errors naming where and what", () => {
    expect(refused("x")).to.equal("services[1].preview must be an object");
    expect(refused({ ...MINIMAL, vpc: "x" })).to.match(
      /^services\[1\]\.preview\.vpc is not a preview setting \(known: cluster, /,
    );
    expect(refused({ ...MINIMAL, cluster: "" })).to.equal(
      "services[1].preview.cluster must be a non-empty string",
    );
    expect(refused({ ...MINIMAL, subnets: [] })).to.equal(
      "services[1].preview.subnets must be a non-empty list",
    );
    expect(refused({ ...MINIMAL, subnets: ["sub-1"] })).to.equal(
      'services[1].preview.subnets[0] must be a subnet id (subnet-...), got "sub-1"',
    );
    expect(
      refused({
        ...MINIMAL,
        listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1",
      }),
    ).to.match(/listenerArn must be an Application Load Balancer listener ARN/);
    expect(refused({ ...MINIMAL, domain: "bad_domain" })).to.match(/domain must be a DNS domain/);
    expect(refused({ ...MINIMAL, port: 0 })).to.equal(
      "services[1].preview.port must be a whole number from 1 to 65535, got 0",
    );
    expect(refused({ ...MINIMAL, cpu: "300" })).to.match(
      /cpu must be one of Fargate's sizes 256, 512/,
    );
    expect(refused({ ...MINIMAL, cpu: "256", memory: "4096" })).to.equal(
      "services[1].preview.memory 4096 MiB is not a Fargate size for 256 cpu units",
    );
    expect(refused({ ...MINIMAL, taskRoleArn: "preview-task" })).to.match(
      /taskRoleArn must be an IAM role ARN/,
    );
    expect(refused({ ...MINIMAL, assignPublicIp: "yes" })).to.equal(
      "services[1].preview.assignPublicIp must be true or false",
    );
    expect(refused({ ...MINIMAL, healthCheckPath: "health" })).to.match(
      /healthCheckPath must be a path starting with \//,
    );
    expect(refused({ ...MINIMAL, maxPreviews: 1.5 })).to.match(
      /maxPreviews must be a whole number from 1 to 1000/,
    );
  });
});

describe("core/preview: the preview's task definition", () => {
  const settings: PreviewSettings = {
    ...parsePreviewSettings({ ...MINIMAL, port: 8080 }, "preview"),
    taskRoleArn: "arn:aws:iam::123456789012:role/preview-task",
    executionRoleArn: "arn:aws:iam::123456789012:role/preview-exec",
  };
  const images = {
    registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    repositories: ["shop-web-pr/web", "shop-web-pr/worker"],
    tag: "pr-7",
  };
  const source: TaskDefinitionLike = {
    family: "shop-web",
    taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:12",
    revision: 12,
    status: "ACTIVE",
    taskRoleArn: "arn:aws:iam::123456789012:role/production-task",
    executionRoleArn: "arn:aws:iam::123456789012:role/production-exec",
    networkMode: "bridge",
    requiresCompatibilities: ["EC2"],
    placementConstraints: [{ type: "memberOf", expression: "attribute:ecs.instance-type =~ t3.*" }],
    cpu: "2048",
    memory: "4096",
    runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
    volumes: [
      { name: "scratch", host: {} },
      { name: "host-logs", host: { sourcePath: "/var/log" } },
      { name: "shared", efsVolumeConfiguration: { fileSystemId: "fs-1" } },
    ],
    containerDefinitions: [
      {
        name: "web",
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web/web:1.4.2",
        memory: 3500,
        cpu: 1024,
        portMappings: [{ containerPort: 8080, hostPort: 0, protocol: "tcp" }],
        environment: [
          { name: "API_URL", value: "https://api.example.com" },
          { name: "BRANCHLINE_PREVIEW", value: "false" },
        ],
        environmentFiles: [{ value: "arn:aws:s3:::prod-config/web.env", type: "s3" }],
        secrets: [
          {
            name: "DB_PASSWORD",
            valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
          },
        ],
        repositoryCredentials: {
          credentialsParameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:hub",
        },
        logConfiguration: {
          logDriver: "awslogs",
          options: { "awslogs-group": "/shop/web" },
          secretOptions: [
            { name: "key", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/key" },
          ],
        },
        mountPoints: [
          { sourceVolume: "scratch", containerPath: "/tmp/scratch" },
          { sourceVolume: "host-logs", containerPath: "/logs" },
        ],
      },
      { name: "datadog", image: "public.ecr.aws/datadog/agent:7", memoryReservation: 256 },
    ],
  };

  it("runs the PR tier's images with the preview roles, no secrets, on Fargate at the preview's size", () => {
    const derived = previewTaskDefinition(source, {
      family: "shop-web-pr-7",
      prNumber: 7,
      settings,
      images,
    });
    expect(derived).to.deep.equal({
      family: "shop-web-pr-7",
      taskRoleArn: "arn:aws:iam::123456789012:role/preview-task",
      executionRoleArn: "arn:aws:iam::123456789012:role/preview-exec",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      volumes: [{ name: "scratch" }],
      containerDefinitions: [
        {
          name: "web",
          image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web-pr/web:pr-7",
          portMappings: [{ containerPort: 8080, protocol: "tcp" }],
          environment: [
            { name: "API_URL", value: "https://api.example.com" },
            { name: "BRANCHLINE_PREVIEW", value: "true" },
            { name: "BRANCHLINE_PULL_REQUEST", value: "7" },
          ],
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/shop/web" } },
          mountPoints: [{ sourceVolume: "scratch", containerPath: "/tmp/scratch" }],
        },
        {
          name: "datadog",
          image: "public.ecr.aws/datadog/agent:7",
          memoryReservation: 256,
          environment: [
            { name: "BRANCHLINE_PREVIEW", value: "true" },
            { name: "BRANCHLINE_PULL_REQUEST", value: "7" },
          ],
        },
      ],
    });
    expect(JSON.stringify(derived)).not.to.match(/production|secretsmanager|ssm|s3:::/);
    // The source is left as it was.
    expect(source.containerDefinitions?.[0]?.secrets).to.have.length(1);
  });

  it("runs without a task role when none is set, never production's", () => {
    const withoutRole = { ...settings };
    delete withoutRole.taskRoleArn;
    const derived = previewTaskDefinition(source, {
      family: "f",
      prNumber: 7,
      settings: withoutRole,
      images,
    });
    expect(derived).not.to.have.property("taskRoleArn");
  });

  it("refuses a source without the preview's port and PR tier images without an execution role", () => {
    expect(() =>
      previewTaskDefinition(source, {
        family: "f",
        prNumber: 7,
        settings: { ...settings, port: 9000 },
        images,
      }),
    ).to.throw(
      ConfigurationError,
      "no container of task definition shop-web maps port 9000 (preview.port)",
    );
    const noExec = { ...settings };
    delete noExec.executionRoleArn;
    expect(() =>
      previewTaskDefinition(source, { family: "f", prNumber: 7, settings: noExec, images }),
    ).to.throw(ConfigurationError, "preview.executionRoleArn is required");
  });

  it("maps images by repository name and refuses an ambiguous tier", () => {
    const tier = { registry: "r.example", repositories: ["a-pr/web", "a-pr/api"], tag: "pr-3" };
    expect(previewImage("123.dkr.ecr.us-east-1.amazonaws.com/a/web:1", tier)).to.equal(
      "r.example/a-pr/web:pr-3",
    );
    expect(previewImage("123.dkr.ecr.us-east-1.amazonaws.com/a/web@sha256:abc", tier)).to.equal(
      "r.example/a-pr/web:pr-3",
    );
    expect(previewImage("localhost:5000/api:2", tier)).to.equal("r.example/a-pr/api:pr-3");
    expect(previewImage("nginx:1.27", tier)).to.equal(undefined);
    expect(() =>
      previewImage("x/web:1", { ...tier, repositories: ["a-pr/web", "b-pr/web"] }),
    ).to.throw(ConfigurationError, "several repositories named web");
  });

  it("tells an unchanged registered revision from a changed one", () => {
    const derived = previewTaskDefinition(source, { family: "f", prNumber: 7, settings, images });
    const registered = {
      ...structuredClone(derived),
      taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1",
      revision: 1,
      status: "ACTIVE",
      compatibilities: ["EC2", "FARGATE"],
      placementConstraints: [],
    };
    expect(sameTaskDefinition(registered, derived)).to.equal(true);
    const pushed = previewTaskDefinition(source, {
      family: "f",
      prNumber: 7,
      settings,
      images: { ...images, tag: "pr-7-abc" },
    });
    expect(sameTaskDefinition(registered, pushed)).to.equal(false);
  });
});

describe("core/preview: rule priorities", () => {
  it("starts from a deterministic choice within 1..50000 and probes upwards, wrapping", () => {
    const first = firstRulePriority("web", 7);
    expect(first).to.equal(firstRulePriority("web", 7));
    expect(first).to.be.within(1, 50000);
    expect(nextRulePriority("web", 7, new Set())).to.equal(first);
    expect(nextRulePriority("web", 7, new Set([first, first + 1]))).to.equal(first + 2);
    const band = { min: 10, max: 12 };
    const start = firstRulePriority("web", 7, band);
    const taken = new Set([10, 11, 12].filter((p) => p !== ((start - 10 + 2) % 3) + 10));
    expect(nextRulePriority("web", 7, taken, band)).to.equal(((start - 10 + 2) % 3) + 10);
    expect(nextRulePriority("web", 7, new Set([10, 11, 12]), band)).to.equal(undefined);
    expect(() => nextRulePriority("web", 7, new Set(), { min: 0, max: 5 })).to.throw(RangeError);
  });

  it("spreads 1000 pull requests' first choices (few share one)", () => {
    const firsts = new Set(Array.from({ length: 1000 }, (_, i) => firstRulePriority("web", i + 1)));
    expect(firsts.size).to.be.greaterThan(980);
  });
});

describe("core/preview: cost and idleness", () => {
  it("estimates a running preview's cost per day from Fargate's prices", () => {
    // 0.25 vCPU × $0.04048 + 0.5 GB × $0.004445 = $0.0123425 an hour.
    expect(
      previewCostPerDay({ cpu: "256", memory: "512", assignPublicIp: false }, "us-east-1"),
    ).to.deep.equal({
      runningPerDay: 0.2962,
      idlePerDay: 0,
    });
    // 1 vCPU, 2 GB, a public IPv4 address: (0.04048 + 0.00889 + 0.005) × 24.
    expect(
      previewCostPerDay({ cpu: "1024", memory: "2048", assignPublicIp: true }, "us-east-1")
        ?.runningPerDay,
    ).to.equal(1.3049);
    expect(
      previewCostPerDay({ cpu: "256", memory: "512", assignPublicIp: false }, "xx-nowhere-1"),
    ).to.equal(undefined);
  });

  it("calls a preview idle after idleHours without activity", () => {
    const last = new Date("2026-01-01T00:00:00Z");
    expect(isIdle(last, new Date("2026-01-01T23:59:59Z"), 24)).to.equal(false);
    expect(isIdle(last, new Date("2026-01-02T00:00:00Z"), 24)).to.equal(true);
  });
});
