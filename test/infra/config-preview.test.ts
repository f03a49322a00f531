/**
 * A service's `preview` (infra/config.ts): the defaults, both configuration forms, and each field's
 * validation with an error naming the key.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { PREVIEW_DEFAULTS } from "../../functions/shared/preview-settings.js";
import {
  checkPreviewScope,
  ConfigError,
  parseConfig,
  previewServiceLabel,
  type ConfigReader,
  type PreviewConfig,
} from "../../infra/config.js";

const ACCOUNT = "123456789012";
const LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/shop/0123456789abcdef/fedcba9876543210`;
const deploy = { cluster: "prod", service: "shop" };
const preview = {
  cluster: "previews",
  subnets: ["subnet-0123456789abcdef0"],
  securityGroups: ["sg-01234567"],
  listenerArn: LISTENER,
  domain: "preview.example.com",
};

function reader(values: Record<string, string>, awsRegion?: string): ConfigReader {
  return {
    get: (key) => values[key],
    getSecret: (key) => (values[key] === undefined ? undefined : pulumi.secret(values[key])),
    defaultPipelineName: "branchline-dev",
    awsRegion,
  };
}

/** The one-service form with this `branchline:preview` (and the deploy unless told otherwise). */
function single(value: unknown, extra: Record<string, string> = {}): Record<string, string> {
  return {
    repository: "octo/shop",
    webhookSecret: "s3cret",
    deploy: JSON.stringify(deploy),
    preview: JSON.stringify(value),
    ...extra,
  };
}

function previewOf(values: Record<string, string>, awsRegion?: string): PreviewConfig | undefined {
  return parseConfig(reader(values, awsRegion)).services[0]?.preview;
}

function errorOf(values: Record<string, string>, awsRegion?: string): string {
  try {
    parseConfig(reader(values, awsRegion));
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("parseConfig accepted the configuration");
}

describe("infra/config: preview", () => {
  it("is absent unless configured (opt-in per service)", () => {
    const config = parseConfig(
      reader({ repository: "octo/shop", webhookSecret: "s3cret", deploy: JSON.stringify(deploy) }),
    );
    expect(config.services[0]).to.not.have.property("preview");
  });

  it("applies the defaults of PreviewSettings", () => {
    expect(previewOf(single(preview))).to.deep.equal({
      ...preview,
      port: 80,
      healthCheckPath: "/",
      cpu: "256",
      memory: "512",
      idleHours: 24,
      assignPublicIp: false,
      maxPreviews: 10,
    });
    expect(PREVIEW_DEFAULTS).to.deep.equal({
      port: 80,
      healthCheckPath: "/",
      cpu: "256",
      memory: "512",
      idleHours: 24,
      assignPublicIp: false,
      maxPreviews: 10,
    });
  });

  it("keeps every given field; cpu and memory as numbers become ECS's strings", () => {
    const full = {
      ...preview,
      cluster: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/previews`,
      subnets: ["subnet-01234567", "subnet-89abcdef"],
      securityGroups: ["sg-0123456789abcdef0", "sg-89abcdef"],
      port: 8080,
      healthCheckPath: "/healthz",
      cpu: 1024,
      memory: 3072,
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/shop-preview`,
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/shop-preview-execution`,
      idleHours: 2,
      assignPublicIp: true,
      maxPreviews: 3,
    };
    expect(previewOf(single(full), "eu-west-1")).to.deep.equal({
      ...full,
      cpu: "1024",
      memory: "3072",
    });
  });

  it("is a services[] entry's own field in the many-service form", () => {
    const config = parseConfig(
      reader({
        webhookSecret: "s3cret",
        prefix: "acme",
        services: JSON.stringify([
          { name: "api", repository: "octo/api", deploy, preview },
          { name: "web", repository: "octo/web" },
        ]),
      }),
    );
    expect(config.services[0]?.preview?.domain).to.equal("preview.example.com");
    expect(config.services[1]).to.not.have.property("preview");
  });

  it("cannot be combined with branchline:services (it is the one service's key)", () => {
    expect(
      errorOf({
        webhookSecret: "s3cret",
        preview: JSON.stringify(preview),
        services: JSON.stringify([{ name: "api", repository: "octo/api" }]),
      }),
    ).to.match(/^branchline:services cannot be combined .*branchline:preview/);
  });

  it("needs the service's ECS deploy, naming the key to set", () => {
    expect(
      errorOf({
        repository: "octo/shop",
        webhookSecret: "s3cret",
        preview: JSON.stringify(preview),
      }),
    ).to.match(
      /^branchline:preview needs the service's ECS deploy \(branchline:deploy \{ cluster, service \}\)/,
    );
    expect(
      errorOf({
        webhookSecret: "s3cret",
        prefix: "acme",
        services: JSON.stringify([{ name: "api", repository: "octo/api", preview }]),
      }),
    ).to.match(
      /^branchline:services\[0\]\.preview needs the service's ECS deploy \(branchline:services\[0\]\.deploy/,
    );
  });

  const invalid: [string, unknown, RegExp][] = [
    ["not an object", "previews", /^branchline:preview must be an object \{ cluster, subnets/],
    [
      "an unknown field",
      { ...preview, desiredCount: 1 },
      /^branchline:preview has an unknown field "desiredCount"/,
    ],
    ["no cluster", { ...preview, cluster: undefined }, /^branchline:preview\.cluster is required$/],
    [
      "a cluster that is neither name nor ARN",
      { ...preview, cluster: "my cluster" },
      /^branchline:preview\.cluster must be an ECS cluster's name .* or ARN/,
    ],
    [
      "a cluster ARN of a service",
      { ...preview, cluster: `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/previews/x` },
      /^branchline:preview\.cluster must be an ECS cluster's name/,
    ],
    [
      "no subnets",
      { ...preview, subnets: [] },
      /^branchline:preview\.subnets must be a list of 1 to 16 subnet-\.\.\. ids$/,
    ],
    [
      "a subnet that is not an id",
      { ...preview, subnets: ["10.0.1.0/24"] },
      /^branchline:preview\.subnets\[0\] must be an id subnet-<8 or 17 hexadecimal digits>, got "10\.0\.1\.0\/24"$/,
    ],
    [
      "a repeated subnet",
      { ...preview, subnets: ["subnet-01234567", "subnet-01234567"] },
      /^branchline:preview\.subnets\[1\] repeats subnet-01234567$/,
    ],
    [
      "17 subnets",
      {
        ...preview,
        subnets: Array.from({ length: 17 }, (_, i) => `subnet-${String(i).padStart(8, "0")}`),
      },
      /^branchline:preview\.subnets must be a list of 1 to 16/,
    ],
    [
      "no security group",
      { ...preview, securityGroups: undefined },
      /^branchline:preview\.securityGroups is required$/,
    ],
    [
      "a security group name",
      { ...preview, securityGroups: ["web"] },
      /^branchline:preview\.securityGroups\[0\] must be an id sg-/,
    ],
    [
      "6 security groups",
      {
        ...preview,
        securityGroups: Array.from({ length: 6 }, (_, i) => `sg-${String(i).padStart(8, "0")}`),
      },
      /^branchline:preview\.securityGroups must be a list of 1 to 5 sg-\.\.\. ids$/,
    ],
    [
      "no listener",
      { ...preview, listenerArn: undefined },
      /^branchline:preview\.listenerArn is required$/,
    ],
    [
      "a load balancer's ARN",
      {
        ...preview,
        listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/shop/0123456789abcdef`,
      },
      /^branchline:preview\.listenerArn must be an Application Load Balancer listener's ARN/,
    ],
    [
      "a network load balancer's listener",
      { ...preview, listenerArn: LISTENER.replace("/app/", "/net/") },
      /^branchline:preview\.listenerArn must be an Application Load Balancer listener's ARN/,
    ],
    ["no domain", { ...preview, domain: undefined }, /^branchline:preview\.domain is required$/],
    [
      "a one-label domain",
      { ...preview, domain: "localhost" },
      /^branchline:preview\.domain must be a lower-case DNS name of two labels or more/,
    ],
    [
      "an upper-case domain",
      { ...preview, domain: "Example.com" },
      /^branchline:preview\.domain must be a lower-case DNS name/,
    ],
    [
      "a URL as domain",
      { ...preview, domain: "https://example.com" },
      /^branchline:preview\.domain must be a lower-case DNS name/,
    ],
    [
      "a wildcard domain",
      { ...preview, domain: "*.example.com" },
      /^branchline:preview\.domain must be a lower-case DNS name/,
    ],
    [
      "a domain too long for a host-header rule",
      { ...preview, domain: `${"a".repeat(60)}.${"b".repeat(50)}.com` },
      /^branchline:preview\.domain is too long: the host pr-9999999999\.branchline-dev\.a+\.b+\.com has 144 characters, an ALB host-header rule holds at most 128$/,
    ],
    [
      "port 0",
      { ...preview, port: 0 },
      /^branchline:preview\.port must be a whole number from 1 to 65535, got 0$/,
    ],
    [
      "port 65536",
      { ...preview, port: 65536 },
      /^branchline:preview\.port must be a whole number from 1 to 65535, got 65536$/,
    ],
    [
      "a port as a string",
      { ...preview, port: "80" },
      /^branchline:preview\.port must be a whole number from 1 to 65535, got "80"$/,
    ],
    [
      "a health check path without /",
      { ...preview, healthCheckPath: "health" },
      /^branchline:preview\.healthCheckPath must be a path starting with \//,
    ],
    [
      "a cpu Fargate does not offer",
      { ...preview, cpu: "384" },
      /^branchline:preview\.cpu must be one of Fargate's CPU values 256, 512, 1024, 2048, 4096, 8192, 16384/,
    ],
    [
      "a cpu in vCPU",
      { ...preview, cpu: "0.25 vCPU" },
      /^branchline:preview\.cpu must be a whole number as Fargate writes it/,
    ],
    [
      "memory 512 with cpu 1024",
      { ...preview, cpu: "1024", memory: "512" },
      /^branchline:preview\.memory must be a memory value Fargate accepts with cpu 1024: 2048 to 8192 in steps of 1024 \(MiB\), got "512"$/,
    ],
    [
      "memory 4096 with cpu 256",
      { ...preview, memory: 4096 },
      /^branchline:preview\.memory must be a memory value Fargate accepts with cpu 256: 512, 1024, 2048 \(MiB\), got "4096"$/,
    ],
    [
      "a task role by name",
      { ...preview, taskRoleArn: "shop-preview" },
      /^branchline:preview\.taskRoleArn must be an IAM role ARN \(arn:aws:iam::<account>:role\/<name>\), got "shop-preview"$/,
    ],
    [
      "an execution role that is a user",
      { ...preview, executionRoleArn: `arn:aws:iam::${ACCOUNT}:user/ci` },
      /^branchline:preview\.executionRoleArn must be an IAM role ARN/,
    ],
    [
      "idleHours 0",
      { ...preview, idleHours: 0 },
      /^branchline:preview\.idleHours must be a whole number 1 or more, got 0$/,
    ],
    [
      "idleHours 1.5",
      { ...preview, idleHours: 1.5 },
      /^branchline:preview\.idleHours must be a whole number 1 or more, got 1\.5$/,
    ],
    [
      "assignPublicIp as a string",
      { ...preview, assignPublicIp: "true" },
      /^branchline:preview\.assignPublicIp must be true or false$/,
    ],
    [
      "maxPreviews 0",
      { ...preview, maxPreviews: 0 },
      /^branchline:preview\.maxPreviews must be a whole number 1 or more, got 0$/,
    ],
  ];
  for (const [what, value, message] of invalid) {
    it(`refuses ${what}`, () => {
      expect(errorOf(single(value))).to.match(message);
    });
  }

  it("names the services[] entry's key in the many-service form", () => {
    expect(
      errorOf({
        webhookSecret: "s3cret",
        prefix: "acme",
        services: JSON.stringify([
          { name: "api", repository: "octo/api" },
          { name: "web", repository: "octo/web", deploy, preview: { ...preview, port: 0 } },
        ]),
      }),
    ).to.match(/^branchline:services\[1\]\.preview\.port must be a whole number from 1 to 65535/);
  });

  it("refuses a listener or a cluster ARN of another region than aws:region", () => {
    expect(
      errorOf(
        single({ ...preview, listenerArn: LISTENER.replace("eu-west-1", "us-east-1") }),
        "eu-west-1",
      ),
    ).to.match(
      /^branchline:preview\.listenerArn must be in this stack's region eu-west-1, got arn:aws:elasticloadbalancing:us-east-1:/,
    );
    expect(
      errorOf(
        single({ ...preview, cluster: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/previews` }),
        "eu-west-1",
      ),
    ).to.match(/^branchline:preview\.cluster must be in this stack's region eu-west-1/);
  });

  it("checks the listener and cluster ARNs against the stack's account once it is known", () => {
    const config = previewOf(
      single({ ...preview, cluster: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/previews` }),
    ) as PreviewConfig;
    expect(() =>
      checkPreviewScope("preview", config, { region: "eu-west-1", accountId: ACCOUNT }),
    ).to.not.throw();
    expect(() =>
      checkPreviewScope("preview", config, { region: "eu-west-1", accountId: "210987654321" }),
    ).to.throw(
      ConfigError,
      /^branchline:preview\.listenerArn must be in this stack's account 210987654321 and region eu-west-1, got arn:aws:elasticloadbalancing:eu-west-1:123456789012:/,
    );
    const otherCluster = { ...config, listenerArn: LISTENER.replace(ACCOUNT, "210987654321") };
    expect(() =>
      checkPreviewScope("preview", otherCluster, {
        region: "eu-west-1",
        accountId: "210987654321",
      }),
    ).to.throw(
      ConfigError,
      /^branchline:preview\.cluster must be in this stack's account 210987654321/,
    );
  });

  it("labels a service in a host: lower case, DNS characters only", () => {
    expect(previewServiceLabel("Shop_API")).to.equal("shop-api");
    expect(previewServiceLabel("api")).to.equal("api");
  });
});
