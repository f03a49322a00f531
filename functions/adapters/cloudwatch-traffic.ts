/**
 * PreviewTraffic over the AWS SDK v3 CloudWatch client: the AWS/ApplicationELB RequestCount of each
 * preview's target group, read with GetMetricData. RequestCount per target group is published with
 * the dimension set {LoadBalancer, TargetGroup} (and per Availability Zone with AvailabilityZone
 * added); CloudWatch matches a dimension set exactly, so each query names both. Elastic Load
 * Balancing publishes nothing for a minute without requests, so a group without datapoints served
 * none. CloudWatch rounds StartTime down to the minute, so the minute `since` falls in counts whole:
 * a request just before `since` can count, which only ever keeps a preview awake.
 */
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import type { PreviewTraffic } from "../app/preview-ports.js";
import { chunk } from "../core/images.js";
import { loadBalancerDimension, targetGroupDimension } from "../core/preview.js";
import { callOptions } from "./aws-config.js";

/** GetMetricData takes at most 500 queries a call. */
export const MAX_QUERIES_PER_CALL = 500;
/** The period used for windows longer than an hour: valid at any age of the data (1, 5 or 60 min). */
const LONG_PERIOD_SECONDS = 3600;

/**
 * The Period (seconds) of the queries for a window: the whole window rounded up to a multiple of 60
 * (one datapoint a group), or an hour for a longer window, whose hourly datapoints are summed. An
 * hour is a multiple of every period CloudWatch asks for as data ages (60 s up to 15 days, 300 s up
 * to 63 days, 3600 s beyond), so any window is accepted.
 */
export function trafficPeriod(since: Date, until: Date): number {
  const seconds = Math.ceil((until.getTime() - since.getTime()) / 60_000) * 60;
  return Math.min(Math.max(seconds, 60), LONG_PERIOD_SECONDS);
}

export class CloudWatchPreviewTraffic implements PreviewTraffic {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly signal?: AbortSignal,
  ) {}

  async requestCounts(
    listenerArn: string,
    targetGroupArns: string[],
    since: Date,
    until: Date,
  ): Promise<Map<string, number>> {
    const loadBalancer = loadBalancerDimension(listenerArn);
    const arns = [...new Set(targetGroupArns)];
    const counts = new Map(arns.map((arn) => [arn, 0]));
    const dimensions = arns.map(targetGroupDimension);
    // An empty window holds no request (and CloudWatch refuses StartTime >= EndTime).
    if (arns.length === 0 || until.getTime() <= since.getTime()) return counts;
    const period = trafficPeriod(since, until);
    const queries: { arn: string; query: MetricDataQuery }[] = arns.map((arn, index) => ({
      arn,
      query: {
        Id: `q${index}`,
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: "AWS/ApplicationELB",
            MetricName: "RequestCount",
            Dimensions: [
              { Name: "LoadBalancer", Value: loadBalancer },
              { Name: "TargetGroup", Value: dimensions[index] },
            ],
          },
          Period: period,
          Stat: "Sum",
        },
      },
    }));
    for (const batch of chunk(queries, MAX_QUERIES_PER_CALL)) {
      const byId = new Map(batch.map(({ arn, query }) => [query.Id, arn]));
      let nextToken: string | undefined;
      do {
        const out = await this.client.send(
          new GetMetricDataCommand({
            MetricDataQueries: batch.map(({ query }) => query),
            StartTime: since,
            EndTime: until,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          callOptions(this.signal),
        );
        for (const result of out.MetricDataResults ?? []) {
          const arn = byId.get(result.Id);
          if (arn === undefined) continue;
          const sum = (result.Values ?? []).reduce((total, value) => total + value, 0);
          counts.set(arn, (counts.get(arn) ?? 0) + sum);
        }
        nextToken = out.NextToken;
      } while (nextToken);
    }
    return counts;
  }
}
