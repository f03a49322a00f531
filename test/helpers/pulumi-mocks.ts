/**
 * The one Pulumi mocks helper. `installMocks()` sets the mocks once per process (other test files in
 * the same mocha process never call it, so they are unaffected); every registered resource is
 * recorded with its type, name and inputs; invokes for the account, region and partition are answered.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { functionArchive, type FunctionArchives } from "../../infra/bundle.js";

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "eu-west-1";
export const MOCK_PARTITION = "aws";
export const MOCK_PROJECT = "branchline";
export const MOCK_STACK = "dev";

export interface RecordedResource {
  type: string;
  name: string;
  /** The inputs as the engine received them (outputs resolved, secrets unwrapped). */
  inputs: Record<string, unknown>;
  id: string;
}

const recorded: RecordedResource[] = [];

/** Plausible provider outputs for the resource types the program uses. */
function outputsFor(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const prefix = `arn:${MOCK_PARTITION}`;
  const at = `${MOCK_REGION}:${MOCK_ACCOUNT}`;
  const given = typeof inputs["name"] === "string" ? inputs["name"] : undefined;
  const physical = given ?? `${name}-0000000`;
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { bucket: physical, arn: `${prefix}:s3:::${physical}` };
    case "aws:ecr/repository:Repository":
      return {
        name: physical,
        arn: `${prefix}:ecr:${at}:repository/${physical}`,
        repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${physical}`,
      };
    case "aws:iam/role:Role":
      return { name: physical, arn: `${prefix}:iam::${MOCK_ACCOUNT}:role/${physical}` };
    case "aws:iam/policy:Policy":
      return { name: physical, arn: `${prefix}:iam::${MOCK_ACCOUNT}:policy/${physical}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: physical, arn: `${prefix}:logs:${at}:log-group:${physical}` };
    case "aws:codebuild/project:Project":
      return { name: physical, arn: `${prefix}:codebuild:${at}:project/${physical}` };
    case "aws:codepipeline/pipeline:Pipeline":
      return { name: physical, arn: `${prefix}:codepipeline:${at}:${physical}` };
    case "aws:codeconnections/connection:Connection":
      return {
        name: physical,
        arn: `${prefix}:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`,
        connectionStatus: "PENDING",
      };
    case "aws:secretsmanager/secret:Secret":
      return { name: physical, arn: `${prefix}:secretsmanager:${at}:secret:${physical}-AbCdEf` };
    case "aws:lambda/function:Function":
      return {
        name: physical,
        arn: `${prefix}:lambda:${at}:function:${physical}`,
        invokeArn: `${prefix}:apigateway:${MOCK_REGION}:lambda:path/2015-03-31/functions/${prefix}:lambda:${at}:function:${physical}/invocations`,
      };
    case "aws:cloudwatch/eventRule:EventRule":
      return { name: physical, arn: `${prefix}:events:${at}:rule/${physical}` };
    case "aws:dynamodb/table:Table":
      return { name: physical, arn: `${prefix}:dynamodb:${at}:table/${physical}` };
    case "aws:sqs/queue:Queue": {
      // The provider's autoname of a FIFO queue ends with `.fifo`, as SQS requires.
      const queueName = given ?? (inputs["fifoQueue"] === true ? `${physical}.fifo` : physical);
      return {
        name: queueName,
        arn: `${prefix}:sqs:${at}:${queueName}`,
        url: `https://sqs.${MOCK_REGION}.amazonaws.com/${MOCK_ACCOUNT}/${queueName}`,
      };
    }
    case "aws:kms/key:Key":
      return {
        keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
        arn: `${prefix}:kms:${at}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      };
    case "aws:sns/topic:Topic":
      return { name: physical, arn: `${prefix}:sns:${at}:${physical}` };
    case "aws:apigatewayv2/api:Api":
      return {
        apiEndpoint: `https://abcdef1234.execute-api.${MOCK_REGION}.amazonaws.com`,
        executionArn: `${prefix}:execute-api:${at}:abcdef1234`,
      };
    case "aws:acm/certificate:Certificate": {
      // One DNS validation record per name, as ACM answers it.
      const domain = String(inputs["domainName"] ?? "example.com");
      return {
        arn: `${prefix}:acm:${at}:certificate/00000000-0000-0000-0000-000000000000`,
        domainValidationOptions: [
          {
            domainName: domain,
            resourceRecordName: `_0123456789abcdef.${domain.replace(/^\*\./, "")}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: "_fedcba9876543210.acm-validations.aws.",
          },
        ],
      };
    }
    case "aws:route53/record:Record":
      return { fqdn: String(inputs["name"] ?? physical) };
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        arn: `${prefix}:elasticloadbalancing:${at}:loadbalancer/app/${name}/0123456789abcdef`,
        dnsName: `${name}-1234567890.${MOCK_REGION}.elb.amazonaws.com`,
        zoneId: "Z32O12XQLNTSW2",
      };
    case "aws:lb/listener:Listener":
      return {
        arn: `${prefix}:elasticloadbalancing:${at}:listener/app/${name}/0123456789abcdef/fedcba9876543210`,
      };
    case "aws:ecs/cluster:Cluster":
      return { name: physical, arn: `${prefix}:ecs:${at}:cluster/${physical}` };
    default:
      return {};
  }
}

/** The id a resource gets: `<name>-id`, or the provider's id form where programs check it. */
function physicalId(type: string, name: string): string {
  if (type === "aws:ec2/securityGroup:SecurityGroup") {
    return `sg-${createHash("sha256").update(name).digest("hex").slice(0, 17)}`;
  }
  return `${name}-id`;
}

const mocks: pulumi.runtime.Mocks = {
  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const id = physicalId(args.type, args.name);
    recorded.push({ type: args.type, name: args.name, inputs: args.inputs, id });
    return { id, state: { ...args.inputs, ...outputsFor(args.type, args.name, args.inputs) } };
  },
  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    switch (args.token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return {
          accountId: MOCK_ACCOUNT,
          arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/test`,
          userId: "AIDATEST",
          id: MOCK_ACCOUNT,
        };
      case "aws:index/getRegion:getRegion":
        return { name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION };
      case "aws:index/getPartition:getPartition":
        return { partition: MOCK_PARTITION, dnsSuffix: "amazonaws.com", id: MOCK_PARTITION };
      default:
        throw new Error(`pulumi-mocks: no answer for the invoke ${args.token}`);
    }
  },
};

let installed: Promise<void> | undefined;

/** Sets the mocks (once per process; await it before declaring resources). */
export function installMocks(): Promise<void> {
  installed ??= pulumi.runtime.setMocks(mocks, MOCK_PROJECT, MOCK_STACK, false);
  return installed;
}

/** Forgets the recorded resources. */
export function resetRecordings(): void {
  recorded.length = 0;
}

/** The resources registered since the last reset, in registration order. */
export function recordedResources(): RecordedResource[] {
  return [...recorded];
}

/** The resources of one type (e.g. `aws:s3/bucket:Bucket`). */
export function resourcesOfType(type: string): RecordedResource[] {
  return recorded.filter((resource) => resource.type === type);
}

/** The one resource of a type; throws when there are none or several. */
export function onlyResource(type: string): RecordedResource {
  const found = resourcesOfType(type);
  if (found.length !== 1) {
    throw new Error(`expected one ${type}, found ${found.length}`);
  }
  return found[0] as RecordedResource;
}

/** The resource with this logical name; throws when missing. */
export function resourceNamed(name: string): RecordedResource {
  const found = recorded.find((resource) => resource.name === name);
  if (found === undefined) throw new Error(`no resource named ${name}`);
  return found;
}

/** The resolved value of an output (never call `done` inside `.apply`). */
export function unwrap<T>(output: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => {
    pulumi.output(output).apply((value) => {
      resolve(value as T);
      return value;
    });
  });
}

// `waitForRPCs` is exported by @pulumi/pulumi's runtime but marked internal, so not in its types.
const runtimeInternals = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };

/** Waits until every pending resource registration has reached the mocks. */
export async function settle(): Promise<void> {
  if (runtimeInternals.waitForRPCs === undefined) {
    throw new Error("pulumi-mocks: @pulumi/pulumi no longer exports runtime.waitForRPCs");
  }
  await runtimeInternals.waitForRPCs();
}

/**
 * Replaces the whole stack configuration with `config` (keys without the `branchline:` namespace;
 * values are strings, objects are JSON-encoded). `secrets` lists the keys to mark secret.
 */
export function setStackConfig(
  config: Record<string, string | object>,
  secrets: string[] = [],
): void {
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    all[`${MOCK_PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(
    all,
    secrets.map((key) => `${MOCK_PROJECT}:${key}`),
  );
}

/**
 * Sets the stack configuration, resets the recordings, runs `program` and waits until every resource
 * is registered. Returns the program's result and the recorded resources.
 */
export async function runWithConfig<T>(
  config: Record<string, string | object>,
  program: () => T,
  secrets: string[] = [],
): Promise<{ result: T; resources: RecordedResource[] }> {
  await installMocks();
  setStackConfig(config, secrets);
  resetRecordings();
  const result = program();
  await settle();
  return { result, resources: recordedResources() };
}

/** The text of the stand-in bundle of a function (see `stubArchives`). */
export function stubBundle(name: keyof FunctionArchives): string {
  return `exports.handler = async () => ${JSON.stringify(name)};`;
}

/** Stand-in deployment archives, one tiny handler per function: program tests bundle nothing. */
export function stubArchives(): FunctionArchives {
  return {
    webhook: functionArchive(stubBundle("webhook")),
    reconcile: functionArchive(stubBundle("reconcile")),
    notify: functionArchive(stubBundle("notify")),
    worker: functionArchive(stubBundle("worker")),
  };
}

/**
 * The text of one file of an asset archive as a resource input recorded it (the engine hands the
 * mocks an archive whose `assets` and each asset's `text` are promises); `undefined` when absent.
 */
export async function archiveFileText(input: unknown, file: string): Promise<string | undefined> {
  // `isInstance` is Archive's (and Asset's): it says archive or asset, not which kind.
  if (!pulumi.asset.Archive.isInstance(input)) return undefined;
  const assets = (await (input as Partial<pulumi.asset.AssetArchive>).assets) ?? {};
  const asset = assets[file];
  if (!pulumi.asset.Asset.isInstance(asset)) return undefined;
  const text = await (asset as Partial<pulumi.asset.StringAsset>).text;
  return typeof text === "string" ? text : undefined;
}
