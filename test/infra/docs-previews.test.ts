/**
 * The set-up program of docs/previews.md, as the page shows it: type-checked with the project's
 * compiler options, then run under Pulumi mocks, and what it declares asserted: the wildcard
 * certificate for `*.<service>.<domain>` validated by DNS, the HTTPS listener with it, the wildcard
 * alias record to the load balancer, the cluster, and the `preview` output that the stack's
 * configuration takes (checked by the configuration's own parser).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import ts from "typescript";
import { parsePreview } from "../../infra/config.js";
import {
  installMocks,
  MOCK_ACCOUNT,
  MOCK_PROJECT,
  resetRecordings,
  resourceNamed,
  resourcesOfType,
  settle,
  unwrap,
} from "../helpers/pulumi-mocks.js";

const ROOT = path.resolve(__dirname, "../..");
const PAGE = path.join(ROOT, "docs", "previews.md");
const MARKER = "<!-- snippet: previews-setup -->";
/** The mocks' ids of the two security groups (test/helpers/pulumi-mocks.ts). */
const ALB_GROUP = "sg-a13ac539337668092";
const TASK_GROUP = "sg-88f3f6af549acd027";
/** Inside the repository, so that the program resolves the installed @pulumi packages. */
const SNIPPET = path.join(ROOT, "node_modules", ".cache", "branchline-docs", "previews-setup.ts");

/** The TypeScript block that follows the marker. */
function snippet(): string {
  const page = readFileSync(PAGE, "utf8");
  const start = page.indexOf(MARKER);
  expect(start, `${MARKER} in docs/previews.md`).to.be.greaterThan(-1);
  const open = page.indexOf("```ts\n", start);
  const close = page.indexOf("\n```\n", open);
  expect(open).to.be.greaterThan(start);
  return page.slice(open + "```ts\n".length, close + 1);
}

function typeErrors(file: string): string[] {
  const configFile = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), (name) =>
    ts.sys.readFile(name),
  );
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const program = ts.createProgram([file], { ...options, noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
}

describe("docs/previews.md: the set-up program", function () {
  // Type-checking loads @pulumi/aws's declarations.
  this.timeout(120000);

  before(() => {
    mkdirSync(path.dirname(SNIPPET), { recursive: true });
    writeFileSync(SNIPPET, snippet());
  });

  it("type-checks with the project's compiler options", () => {
    expect(typeErrors(SNIPPET)).to.deep.equal([]);
  });

  it("declares the certificate, its validation, the listener, the wildcard record and the cluster", async () => {
    await installMocks();
    pulumi.runtime.setAllConfig({
      [`${MOCK_PROJECT}:placeholder`]: "unused",
      "previews:domain": "preview.example.com",
      "previews:service": "shop",
      "previews:zoneId": "Z0123456789ABCDEFGHIJ",
      "previews:vpcId": "vpc-0123456789abcdef0",
      "previews:albSubnetIds": JSON.stringify([
        "subnet-0123456789abcdef0",
        "subnet-0fedcba9876543210",
      ]),
      "previews:taskSubnetIds": JSON.stringify(["subnet-00000000000000001"]),
      "previews:containerPort": "8080",
    });
    resetRecordings();
    const program = (await import(SNIPPET)) as { preview: Record<string, pulumi.Input<unknown>> };
    await settle();

    expect(resourceNamed("previews").type).to.be.oneOf([
      "aws:acm/certificate:Certificate",
      "aws:lb/loadBalancer:LoadBalancer",
      "aws:ecs/cluster:Cluster",
      "aws:acm/certificateValidation:CertificateValidation",
    ]);
    const [certificate] = resourcesOfType("aws:acm/certificate:Certificate");
    expect(certificate?.inputs).to.deep.equal({
      domainName: "*.shop.preview.example.com",
      validationMethod: "DNS",
    });
    expect(resourceNamed("previews-validation").inputs).to.deep.equal({
      zoneId: "Z0123456789ABCDEFGHIJ",
      name: "_0123456789abcdef.shop.preview.example.com.",
      type: "CNAME",
      records: ["_fedcba9876543210.acm-validations.aws."],
      ttl: 300,
      allowOverwrite: true,
    });
    const certificateArn = `arn:aws:acm:eu-west-1:${MOCK_ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000`;
    expect(
      resourcesOfType("aws:acm/certificateValidation:CertificateValidation")[0]?.inputs,
    ).to.deep.equal({
      certificateArn,
      validationRecordFqdns: ["_0123456789abcdef.shop.preview.example.com."],
    });
    const listener = resourceNamed("previews-https").inputs;
    expect(listener).to.deep.include({
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      certificateArn,
    });
    expect(resourcesOfType("aws:lb/loadBalancer:LoadBalancer")[0]?.inputs).to.deep.include({
      loadBalancerType: "application",
      subnets: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
      securityGroups: [ALB_GROUP],
    });
    expect(resourceNamed("previews-wildcard").inputs).to.deep.equal({
      zoneId: "Z0123456789ABCDEFGHIJ",
      name: "*.shop.preview.example.com",
      type: "A",
      aliases: [
        {
          name: "previews-1234567890.eu-west-1.elb.amazonaws.com",
          zoneId: "Z32O12XQLNTSW2",
          evaluateTargetHealth: false,
        },
      ],
    });
    expect(resourceNamed("previews-tasks-from-alb").inputs).to.deep.equal({
      securityGroupId: TASK_GROUP,
      referencedSecurityGroupId: ALB_GROUP,
      ipProtocol: "tcp",
      fromPort: 8080,
      toPort: 8080,
    });
    expect(resourcesOfType("aws:ecs/cluster:Cluster")).to.have.length(1);

    // The output is a valid `preview` for the stack (with the service's deploy).
    const output = (await unwrap(pulumi.output(program.preview))) as Record<string, unknown>;
    expect(output).to.deep.equal({
      cluster: "previews-0000000",
      subnets: ["subnet-00000000000000001"],
      securityGroups: [TASK_GROUP],
      listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${MOCK_ACCOUNT}:listener/app/previews-https/0123456789abcdef/fedcba9876543210`,
      domain: "preview.example.com",
      port: 8080,
    });
    expect(
      parsePreview("preview", output, {
        service: "shop",
        deploy: { cluster: "prod", service: "shop" },
        awsRegion: "eu-west-1",
      }),
    ).to.include({ cluster: "previews-0000000", port: 8080, cpu: "256" });
  });
});
