import {
  CloudWatchClient,
  GetMetricDataCommand,
  paginateGetMetricData,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };

async function failure(promise: Promise<unknown>): Promise<Error & { Code?: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error("expected the call to fail");
  return error;
}

const LB = "app/previews/50dc6c495c0c9188";
const GROUP = "targetgroup/shop-web-pr-7/73e2d6bc24d8a067";
/** A whole hour, recent enough for 1-minute periods. */
const T0 = new Date(Math.floor((Date.now() - 3 * 3600_000) / 3600_000) * 3600_000);
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

function requestCount(
  id: string,
  dimensions: Record<string, string>,
  period = 60,
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "RequestCount",
        Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: period,
      Stat: "Sum",
    },
  };
}

describe("AWS double: CloudWatch GetMetricData", () => {
  let aws: AwsDouble;
  let cloudwatch: CloudWatchClient;

  before(async () => {
    aws = await startAwsDouble();
    cloudwatch = new CloudWatchClient({
      endpoint: aws.url,
      region: aws.region,
      credentials,
      maxAttempts: 1,
    });
  });

  after(async () => {
    cloudwatch.destroy();
    await aws.close();
  });

  beforeEach(() => aws.reset());

  function record(minutes: number, value: number, dimensions: Record<string, string>): void {
    aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      dimensions,
      timestamp: at(minutes),
      value,
    });
  }

  it("sums datapoints per period over [StartTime, EndTime), for the exact dimension set", async () => {
    const both = { LoadBalancer: LB, TargetGroup: GROUP };
    record(0, 3, both);
    record(0.5, 4, both); // same minute: summed into one period
    record(2, 5, both);
    record(10, 100, both); // at EndTime: excluded
    record(-1, 100, both); // before StartTime: excluded
    record(1, 100, { TargetGroup: GROUP, LoadBalancer: LB, AvailabilityZone: "us-east-1a" });
    record(1, 100, { LoadBalancer: LB }); // the load balancer's own series
    record(1, 100, { LoadBalancer: "app/other/1111111111111111", TargetGroup: GROUP });
    aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_Target_5XX_Count",
      dimensions: both,
      timestamp: at(1),
      value: 100,
    });

    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          requestCount("q0", { TargetGroup: GROUP, LoadBalancer: LB }),
          requestCount("q1", {
            TargetGroup: "targetgroup/none/0000000000000000",
            LoadBalancer: LB,
          }),
          { ...requestCount("whole", both, 600), Label: "window" },
        ],
        StartTime: at(0),
        EndTime: at(10),
      }),
    );

    expect(out.NextToken).to.equal(undefined);
    const [q0, q1, whole] = out.MetricDataResults ?? [];
    expect(q0?.Id).to.equal("q0");
    expect(q0?.Label).to.equal("RequestCount");
    expect(q0?.StatusCode).to.equal("Complete");
    // Newest first (ScanBy TimestampDescending is the default).
    expect(q0?.Timestamps).to.deep.equal([at(2), at(0)]);
    expect(q0?.Values).to.deep.equal([5, 7]);
    expect(q1).to.deep.include({ Id: "q1", Timestamps: [], Values: [], StatusCode: "Complete" });
    expect(whole).to.deep.include({ Id: "whole", Label: "window", Values: [12] });
    expect(whole?.Timestamps).to.deep.equal([at(0)]);

    const ascending = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: [requestCount("q0", both)],
        StartTime: at(0),
        EndTime: at(10),
        ScanBy: "TimestampAscending",
      }),
    );
    expect(ascending.MetricDataResults?.[0]?.Values).to.deep.equal([7, 5]);
    expect(aws.callCount("GetMetricData")).to.equal(2);
    expect(aws.calls[0]?.service).to.equal("cloudwatch");
  });

  it("pages with NextToken: a result cut by the page is PartialData and goes on under its Id", async () => {
    const a = { LoadBalancer: LB, TargetGroup: GROUP };
    const b = { LoadBalancer: LB, TargetGroup: "targetgroup/shop-web-pr-8/0123456789abcdef" };
    for (let minute = 0; minute < 4; minute++) record(minute, minute + 1, a); // 1+2+3+4
    for (let minute = 0; minute < 3; minute++) record(minute, 10, b);
    aws.setMetricDataPageSize(3);

    const input = {
      MetricDataQueries: [requestCount("a", a), requestCount("b", b)],
      StartTime: at(0),
      EndTime: at(60),
    };
    const first = await cloudwatch.send(new GetMetricDataCommand(input));
    expect(first.NextToken).to.be.a("string");
    expect(first.MetricDataResults).to.have.length(2);
    expect(first.MetricDataResults?.[0]).to.deep.include({ Id: "a", StatusCode: "PartialData" });
    expect(first.MetricDataResults?.[0]?.Values).to.deep.equal([4, 3, 2]);
    expect(first.MetricDataResults?.[1]).to.deep.include({ Id: "b", Values: [] });
    expect(first.MetricDataResults?.[1]?.StatusCode).to.equal("PartialData");

    const sums = new Map<string, number>();
    let pages = 0;
    // The paginator writes each NextToken into the input it is given: hand it a copy.
    for await (const page of paginateGetMetricData({ client: cloudwatch }, { ...input })) {
      pages += 1;
      for (const result of page.MetricDataResults ?? []) {
        const total = (result.Values ?? []).reduce((x, y) => x + y, 0);
        sums.set(result.Id ?? "", (sums.get(result.Id ?? "") ?? 0) + total);
      }
    }
    expect(pages).to.equal(3); // 7 datapoints, 3 a page
    expect(Object.fromEntries(sums)).to.deep.equal({ a: 10, b: 30 });

    // MaxDatapoints, when smaller than the page size, wins.
    aws.setMetricDataPageSize(100);
    const small = await cloudwatch.send(new GetMetricDataCommand({ ...input, MaxDatapoints: 5 }));
    expect(small.MetricDataResults?.flatMap((r) => r.Values ?? [])).to.have.length(5);
    expect(small.NextToken).to.be.a("string");

    const bad = await failure(
      cloudwatch.send(new GetMetricDataCommand({ ...input, NextToken: "bm90IGEgdG9rZW4=" })),
    );
    expect(bad.name).to.equal("InvalidNextToken");
    // A token from another request is not valid either.
    const other = await failure(
      cloudwatch.send(
        new GetMetricDataCommand({ ...input, EndTime: at(59), NextToken: first.NextToken }),
      ),
    );
    expect(other.name).to.equal("InvalidNextToken");
  });

  it("answers CloudWatch's ValidationError for bad input", async () => {
    const both = { LoadBalancer: LB, TargetGroup: GROUP };
    const ask = (input: Partial<ConstructorParameters<typeof GetMetricDataCommand>[0]>) =>
      failure(
        cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: [requestCount("q0", both)],
            StartTime: at(0),
            EndTime: at(10),
            ...input,
          }),
        ),
      );

    const tooMany = await ask({
      MetricDataQueries: Array.from({ length: 501 }, (_, i) => requestCount(`q${i}`, both)),
    });
    // The client names the awsQuery code ValidationError (x-amzn-query-error) ValidationException.
    expect(tooMany.name).to.equal("ValidationException");
    expect(tooMany.Code).to.equal("ValidationError");
    expect(tooMany.message).to.equal(
      "The collection MetricDataQueries must not have a size greater than 500.",
    );

    const badIds = await ask({
      MetricDataQueries: [requestCount("Q0", both), requestCount("0q", both)],
    });
    expect(badIds.Code).to.equal("ValidationError");
    expect(badIds.message).to.equal(
      "The value Q0 for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.\n" +
        "The value 0q for parameter MetricDataQueries.member.2.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.",
    );
    const duplicate = await ask({
      MetricDataQueries: [requestCount("q0", both), requestCount("q0", both)],
    });
    expect(duplicate.message).to.contain("MetricDataQueries.member.2.Id is not unique");

    const equal = await ask({ StartTime: at(5), EndTime: at(5) });
    expect(equal.Code).to.equal("ValidationError");
    expect(equal.message).to.equal("The parameter StartTime must not equal parameter EndTime.");
    const reversed = await ask({ StartTime: at(6), EndTime: at(5) });
    expect(reversed.message).to.equal(
      "The parameter StartTime must be less than the parameter EndTime.",
    );

    const period = await ask({ MetricDataQueries: [requestCount("q0", both, 90)] });
    expect(period.Code).to.equal("ValidationError");
    expect(period.message).to.equal(
      "The parameter MetricDataQueries.member.1.MetricStat.Period must be a multiple of 60.",
    );
    // Older than 15 days: 5-minute periods.
    const old = new Date(Date.now() - 20 * 24 * 3600_000);
    const oldPeriod = await ask({
      StartTime: old,
      EndTime: new Date(old.getTime() + 3600_000),
      MetricDataQueries: [requestCount("q0", both, 120)],
    });
    expect(oldPeriod.message).to.equal(
      "The parameter MetricDataQueries.member.1.MetricStat.Period must be a multiple of 300.",
    );

    const total = requestCount("q0", both);
    if (total.MetricStat) total.MetricStat.Stat = "Total";
    const stat = await ask({ MetricDataQueries: [total] });
    expect(stat.message).to.equal(
      "The value for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic.",
    );

    // From the model: Period >= 1, at most 30 dimensions.
    const zero = await ask({ MetricDataQueries: [requestCount("q0", both, 0)] });
    expect(zero.Code).to.equal("ValidationError");
    expect(zero.message).to.contain("MetricDataQueries[0].MetricStat.Period");
    const dimensions = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`d${i}`, "x"]));
    const wide = await ask({ MetricDataQueries: [requestCount("q0", dimensions)] });
    expect(wide.message).to.contain("MetricStat.Metric.Dimensions");
  });

  it("speaks awsQuery too (form parameters in, XML out)", async () => {
    aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      dimensions: { LoadBalancer: LB, TargetGroup: GROUP },
      timestamp: at(1),
      value: 42,
    });
    const form = (start: Date, end: Date): string =>
      new URLSearchParams({
        Action: "GetMetricData",
        Version: "2010-08-01",
        StartTime: start.toISOString(),
        EndTime: end.toISOString(),
        "MetricDataQueries.member.1.Id": "q0",
        "MetricDataQueries.member.1.MetricStat.Metric.Namespace": "AWS/ApplicationELB",
        "MetricDataQueries.member.1.MetricStat.Metric.MetricName": "RequestCount",
        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name": "LoadBalancer",
        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": LB,
        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Name": "TargetGroup",
        "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Value": GROUP,
        "MetricDataQueries.member.1.MetricStat.Period": "60",
        "MetricDataQueries.member.1.MetricStat.Stat": "Sum",
      }).toString();
    const post = (body: string) =>
      fetch(aws.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });

    const ok = await post(form(at(0), at(10)));
    expect(ok.status).to.equal(200);
    const xml = await ok.text();
    expect(xml).to.contain(
      '<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">',
    );
    expect(xml).to.contain(
      `<Id>q0</Id><Label>RequestCount</Label><Timestamps><member>${at(1).toISOString()}</member></Timestamps><Values><member>42</member></Values><StatusCode>Complete</StatusCode>`,
    );

    const bad = await post(form(at(10), at(0)));
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.contain(
      "<Code>ValidationError</Code><Message>The parameter StartTime must be less than the parameter EndTime.</Message>",
    );
    expect(aws.calls.map((c) => `${c.service} ${c.operation} ${c.status}`)).to.deep.equal([
      "cloudwatch GetMetricData 200",
      "cloudwatch GetMetricData 400",
    ]);
  });
});
