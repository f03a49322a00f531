import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { expect } from "chai";
import {
  CloudWatchPreviewTraffic,
  trafficPeriod,
} from "../../../functions/adapters/cloudwatch-traffic.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { startAwsDouble, type AwsDouble } from "../../helpers/aws-double/index.js";

const ARN_PREFIX = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
const LISTENER = `${ARN_PREFIX}:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const LOAD_BALANCER = "app/previews/50dc6c495c0c9188";

function groupArn(n: number): string {
  return `${ARN_PREFIX}:targetgroup/shop-web-pr-${n}/${n.toString(16).padStart(16, "0")}`;
}

function groupDimension(n: number): string {
  return groupArn(n).split(":").pop() ?? "";
}

/** A whole hour two days ago: 1-minute data is still kept then. */
const SINCE = new Date(Math.floor((Date.now() - 48 * 3600_000) / 3600_000) * 3600_000);
const at = (minutes: number): Date => new Date(SINCE.getTime() + minutes * 60_000);

describe("CloudWatchPreviewTraffic over the wire (CloudWatch client against the AWS double)", () => {
  let aws: AwsDouble;
  let client: CloudWatchClient;
  let traffic: CloudWatchPreviewTraffic;

  before(async () => {
    aws = await startAwsDouble();
    client = new CloudWatchClient({
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
    });
    traffic = new CloudWatchPreviewTraffic(client);
  });

  after(async () => {
    client.destroy();
    await aws.close();
  });

  beforeEach(() => aws.reset());

  function requests(
    group: number,
    minutes: number,
    value: number,
    loadBalancer = LOAD_BALANCER,
  ): void {
    aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      dimensions: { LoadBalancer: loadBalancer, TargetGroup: groupDimension(group) },
      timestamp: at(minutes),
      value,
    });
  }

  it("counts each target group's requests in [since, until), 0 for a group without data, in one call", async () => {
    requests(1, 0, 5);
    requests(1, 30, 7);
    requests(1, 24 * 60 - 1, 1); // the last minute of the window
    requests(2, 90, 2);
    requests(1, -1, 100); // before the window
    requests(1, 24 * 60, 100); // at `until`: after the window
    requests(2, 10, 100, "app/other/0123456789abcdef"); // another load balancer's group
    aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      dimensions: { LoadBalancer: LOAD_BALANCER }, // the load balancer's own series
      timestamp: at(10),
      value: 100,
    });
    aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      dimensions: {
        LoadBalancer: LOAD_BALANCER,
        TargetGroup: groupDimension(2),
        AvailabilityZone: "us-east-1a",
      },
      timestamp: at(10),
      value: 100,
    });

    const counts = await traffic.requestCounts(
      LISTENER,
      [groupArn(1), groupArn(2), groupArn(3)],
      SINCE,
      at(24 * 60),
    );

    expect(Object.fromEntries(counts)).to.deep.equal({
      [groupArn(1)]: 13,
      [groupArn(2)]: 2,
      [groupArn(3)]: 0,
    });
    expect(aws.callCount()).to.equal(1);
    const input = aws.calls[0]?.input as {
      MetricDataQueries: {
        Id: string;
        MetricStat: { Period: number; Stat: string; Metric: Record<string, unknown> };
      }[];
    };
    expect(input.MetricDataQueries.map((q) => q.Id)).to.deep.equal(["q0", "q1", "q2"]);
    expect(input.MetricDataQueries[0]?.MetricStat).to.deep.equal({
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "RequestCount",
        Dimensions: [
          { Name: "LoadBalancer", Value: LOAD_BALANCER },
          { Name: "TargetGroup", Value: groupDimension(1) },
        ],
      },
      Period: 3600,
      Stat: "Sum",
    });
  });

  it("asks for at most 500 groups a call: 600 groups take 2 calls, every ARN in the map", async () => {
    const arns = Array.from({ length: 600 }, (_, i) => groupArn(i + 1));
    requests(1, 5, 1);
    requests(499, 5, 2);
    requests(500, 5, 3);
    requests(501, 5, 4);
    requests(600, 5, 5);

    const counts = await traffic.requestCounts(LISTENER, arns, SINCE, at(60));

    expect(aws.callCount("GetMetricData")).to.equal(2);
    const sizes = aws.calls.map(
      (c) => (c.input as { MetricDataQueries: unknown[] }).MetricDataQueries.length,
    );
    expect(sizes).to.deep.equal([500, 100]);
    expect(counts.size).to.equal(600);
    expect(counts.get(groupArn(1))).to.equal(1);
    expect(counts.get(groupArn(499))).to.equal(2);
    expect(counts.get(groupArn(500))).to.equal(3);
    expect(counts.get(groupArn(501))).to.equal(4);
    expect(counts.get(groupArn(600))).to.equal(5);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).to.equal(15);
  });

  it("takes one call for 1 or 10 groups over a day", async () => {
    for (const n of [1, 10]) {
      aws.reset();
      const arns = Array.from({ length: n }, (_, i) => groupArn(i + 1));
      for (let i = 1; i <= n; i++) requests(i, i, i);
      const counts = await traffic.requestCounts(LISTENER, arns, SINCE, at(24 * 60));
      expect(counts.size).to.equal(n);
      expect(counts.get(groupArn(n))).to.equal(n);
      expect(aws.callCount("GetMetricData")).to.equal(1);
    }
  });

  it("follows NextToken over every page and sums a group's values across pages", async () => {
    for (let hour = 0; hour < 5; hour++) {
      requests(1, hour * 60 + 1, 10);
      requests(2, hour * 60 + 2, 1);
    }
    aws.setMetricDataPageSize(3); // 10 hourly datapoints: 4 pages

    const counts = await traffic.requestCounts(
      LISTENER,
      [groupArn(1), groupArn(2)],
      SINCE,
      at(5 * 60),
    );

    expect(Object.fromEntries(counts)).to.deep.equal({ [groupArn(1)]: 50, [groupArn(2)]: 5 });
    expect(aws.callCount("GetMetricData")).to.equal(4);
    const tokens = aws.calls.map((c) => (c.input as { NextToken?: string }).NextToken);
    expect(tokens[0]).to.equal(undefined);
    expect(tokens.slice(1).every((t) => typeof t === "string")).to.equal(true);
  });

  it("makes no call for no groups or an empty window; refuses ARNs of another shape", async () => {
    expect((await traffic.requestCounts(LISTENER, [], SINCE, at(60))).size).to.equal(0);
    const empty = await traffic.requestCounts(LISTENER, [groupArn(1)], at(60), at(60));
    expect(Object.fromEntries(empty)).to.deep.equal({ [groupArn(1)]: 0 });
    expect(aws.callCount()).to.equal(0);

    const refused = await traffic
      .requestCounts(
        `${ARN_PREFIX}:loadbalancer/app/previews/50dc6c495c0c9188`,
        [groupArn(1)],
        SINCE,
        at(60),
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).to.be.instanceOf(ConfigurationError);
    const badGroup = await traffic
      .requestCounts(LISTENER, [groupArn(1), "targetgroup/x/1"], SINCE, at(60))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(badGroup).to.be.instanceOf(ConfigurationError);
    expect(aws.callCount()).to.equal(0);
  });

  it("carries the caller's abort signal to the call", async () => {
    const controller = new AbortController();
    controller.abort();
    const aborted = await new CloudWatchPreviewTraffic(client, controller.signal)
      .requestCounts(LISTENER, [groupArn(1)], SINCE, at(60))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(aborted).to.be.instanceOf(Error);
    expect((aborted as Error).name).to.equal("AbortError");
  });

  it("picks a Period CloudWatch accepts: the window rounded up to a minute, an hour beyond", () => {
    expect(trafficPeriod(at(0), at(1))).to.equal(60);
    expect(trafficPeriod(at(0), new Date(at(0).getTime() + 61_000))).to.equal(120);
    expect(trafficPeriod(at(0), at(60))).to.equal(3600);
    expect(trafficPeriod(at(0), at(61))).to.equal(3600);
    expect(trafficPeriod(at(0), at(72 * 60))).to.equal(3600);
  });
});
