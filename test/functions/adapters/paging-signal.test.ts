/**
 * A paged listing stops at its caller's deadline like every other call: the adapters hand the
 * abort signal to each page's request (the SDK's paginators take it as their third argument, not
 * in their configuration, where it is ignored). Over the wire: the real clients against the AWS
 * double, with a signal that has fired already, so no page may be fetched.
 */
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { expect } from "chai";
import { CodePipelineActionExecutions } from "../../../functions/adapters/action-executions.js";
import { CodePipelineStore } from "../../../functions/adapters/codepipeline.js";
import { EcrImageStore } from "../../../functions/adapters/ecr.js";
import { EcsPreviewServices } from "../../../functions/adapters/ecs.js";
import { ElbPreviewLoadBalancer } from "../../../functions/adapters/elbv2.js";
import { CodePipelineHistory } from "../../../functions/adapters/pipeline-history.js";
import { startAwsDouble, type AwsDouble } from "../../helpers/aws-double/index.js";
import { pipelineFixture } from "../../helpers/fixtures.js";

describe("adapters: paged listings honour the caller's deadline (wire level)", () => {
  let aws: AwsDouble;
  let config: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };

  before(async () => {
    aws = await startAwsDouble();
    config = {
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    };
  });
  after(() => aws.close());

  beforeEach(() => {
    aws.reset();
    aws.seedPipeline(pipelineFixture("v1-ecs"));
    aws.createRepository("shop-pr");
    aws.createCluster("previews");
  });

  /** Runs the listing with a signal that has fired; it must reject without a request. */
  async function refused(list: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const controller = new AbortController();
    controller.abort(new Error("the deadline passed"));
    const before = aws.calls.length;
    let failure: unknown;
    try {
      await list(controller.signal);
    } catch (error) {
      failure = error;
    }
    expect(failure, "the listing should have been refused").to.be.instanceOf(Error);
    expect(aws.calls.length, "no request should reach AWS").to.equal(before);
  }

  it("CodePipeline: pipelines, tags, executions and action executions", async () => {
    const client = new CodePipelineClient(config);
    try {
      const name = pipelineFixture("v1-ecs").name;
      await refused((signal) => new CodePipelineStore(client, signal).list());
      await refused((signal) =>
        new CodePipelineStore(client, signal).tags(
          `arn:aws:codepipeline:${aws.region}:${aws.accountId}:${name}`,
        ),
      );
      await refused((signal) => new CodePipelineHistory(client, signal).since(name, new Date(0)));
      await refused((signal) =>
        new CodePipelineActionExecutions(client, signal).list(name, "0000"),
      );
    } finally {
      client.destroy();
    }
  });

  it("ECR, ECS and Elastic Load Balancing", async () => {
    const ecr = new ECRClient(config);
    const ecs = new ECSClient(config);
    const elb = new ElasticLoadBalancingV2Client(config);
    const listener = aws.seedListener();
    try {
      await refused((signal) => new EcrImageStore(ecr, signal).list("shop-pr"));
      await refused((signal) =>
        new EcsPreviewServices(ecs, signal).listTaskDefinitions("shop-web-pr-7", "ACTIVE"),
      );
      await refused((signal) => new ElbPreviewLoadBalancer(elb, signal).listRules(listener));
      await refused((signal) => new ElbPreviewLoadBalancer(elb, signal).listTargetGroups("shop"));
    } finally {
      ecr.destroy();
      ecs.destroy();
      elb.destroy();
    }
  });
});
