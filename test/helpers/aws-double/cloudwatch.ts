/**
 * CloudWatch metrics state (datapoints a test records) and GetMetricData, the one operation of the
 * AWS test double that preview environments use (how many requests a preview's target group
 * served). The SDK speaks AWS JSON 1.0 to CloudWatch in query-compatible mode, older clients
 * awsQuery; both reach `handle`. The checks are those CloudWatch makes, with its ValidationError
 * messages: at most 500 queries, Ids matching ^[a-z][a-zA-Z0-9_]*$ and unique, StartTime before
 * EndTime, a MetricStat Period a multiple of 60 (of 300 for a StartTime older than 15 days, of 3600
 * older than 63 days), a known statistic. StartTime is rounded down to the minute (the 5 minutes,
 * the hour, for those older starts), EndTime is exclusive, a series matches a query when its
 * namespace, metric name and dimension set are exactly the query's, and values are aggregated per
 * period from the rounded StartTime. Pages hold at most `pageSize` datapoints (MaxDatapoints when
 * smaller); a result cut by the page is PartialData and goes on, under the same Id, on the next.
 * Metric math and Metrics Insights are not served (the double answers InternalFailure).
 */
import { createHash } from "node:crypto";
import { AwsError, decodeToken, encodeToken } from "./errors.js";

type Input = Record<string, unknown>;

export interface MetricDatapoint {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  timestamp: Date;
  value: number;
}

interface StoredDatapoint {
  namespace: string;
  metricName: string;
  /** The dimensions as `name=value` pairs, sorted: the series key. */
  dimensionKey: string;
  timestamp: number;
  value: number;
}

/** CloudWatch's limits: queries per GetMetricData call, datapoints per answer. */
export const MAX_METRIC_DATA_QUERIES = 500;
export const MAX_DATAPOINTS = 100_800;

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ID_PATTERN = /^[a-z][a-zA-Z0-9_]*$/;
const STATISTICS = ["Sum", "SampleCount", "Average", "Minimum", "Maximum"] as const;
type Statistic = (typeof STATISTICS)[number];

function dimensionKey(pairs: [string, string][]): string {
  return pairs
    .map(([name, value]) => `${name}=${value}`)
    .sort()
    .join("\n");
}

/** A timestamp from the wire: epoch seconds (JSON) or an ISO 8601 string (awsQuery). */
function millis(value: unknown): number {
  if (typeof value === "number") return value * 1000;
  if (typeof value === "string") {
    const asNumber = Number(value);
    return Number.isFinite(asNumber) ? asNumber * 1000 : Date.parse(value);
  }
  return Number.NaN;
}

function aggregate(values: number[], stat: Statistic): number {
  switch (stat) {
    case "Sum":
      return values.reduce((a, b) => a + b, 0);
    case "SampleCount":
      return values.length;
    case "Average":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "Minimum":
      return Math.min(...values);
    case "Maximum":
      return Math.max(...values);
  }
}

interface QueryResult {
  id: string;
  label: string;
  points: { timestamp: number; value: number }[];
}

export class CloudWatchState {
  private datapoints: StoredDatapoint[] = [];
  /** The most datapoints one GetMetricData answer holds (CloudWatch: 100,800). */
  pageSize = MAX_DATAPOINTS;

  constructor(private readonly now: () => number = Date.now) {}

  reset(): void {
    this.datapoints = [];
    this.pageSize = MAX_DATAPOINTS;
  }

  record(datapoint: MetricDatapoint): void {
    this.datapoints.push({
      namespace: datapoint.namespace,
      metricName: datapoint.metricName,
      dimensionKey: dimensionKey(Object.entries(datapoint.dimensions)),
      timestamp: datapoint.timestamp.getTime(),
      value: datapoint.value,
    });
  }

  handle(operation: string, input: Input): unknown {
    if (operation !== "GetMetricData") {
      throw new AwsError(
        "InvalidAction",
        `The action ${operation} is not valid for this endpoint.`,
      );
    }
    return this.getMetricData(input);
  }

  private getMetricData(input: Input): unknown {
    const queries = (input.MetricDataQueries as Input[] | undefined) ?? [];
    const start = millis(input.StartTime);
    const end = millis(input.EndTime);
    const problems: string[] = [];
    if (queries.length > MAX_METRIC_DATA_QUERIES) {
      throw new AwsError(
        "ValidationError",
        `The collection MetricDataQueries must not have a size greater than ${MAX_METRIC_DATA_QUERIES}.`,
      );
    }
    if (start === end) problems.push("The parameter StartTime must not equal parameter EndTime.");
    else if (start > end) {
      problems.push("The parameter StartTime must be less than the parameter EndTime.");
    }
    const age = this.now() - start;
    const periodUnit = age > 63 * DAY ? 3600 : age > 15 * DAY ? 300 : 60;
    const roundedStart = start - (start % (periodUnit * 1000));
    const seen = new Set<string>();
    queries.forEach((query, index) => {
      const where = `MetricDataQueries.member.${index + 1}`;
      const id = String(query.Id);
      if (!ID_PATTERN.test(id)) {
        problems.push(
          `The value ${id} for parameter ${where}.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.`,
        );
      } else if (seen.has(id)) {
        problems.push(`The value ${id} for parameter ${where}.Id is not unique.`);
      }
      seen.add(id);
      const stat = query.MetricStat as Input | undefined;
      if (stat === undefined) return;
      const period = Number(stat.Period);
      if (period % periodUnit !== 0) {
        problems.push(
          `The parameter ${where}.MetricStat.Period must be a multiple of ${periodUnit}.`,
        );
      }
      if (!STATISTICS.includes(stat.Stat as Statistic) && !/^p\d/.test(String(stat.Stat))) {
        problems.push(`The value for parameter ${where}.MetricStat.Stat is not a valid statistic.`);
      }
    });
    if (problems.length > 0) throw new AwsError("ValidationError", problems.join("\n"));

    const results = queries.map((query) => this.answer(query, roundedStart, end));
    const descending = input.ScanBy !== "TimestampAscending";
    for (const result of results) {
      result.points.sort((a, b) =>
        descending ? b.timestamp - a.timestamp : a.timestamp - b.timestamp,
      );
    }
    return this.page(results, input);
  }

  private answer(query: Input, start: number, end: number): QueryResult {
    const id = String(query.Id);
    const stat = query.MetricStat as Input | undefined;
    if (stat === undefined) {
      throw new AwsError(
        "InternalFailure",
        "The double serves MetricStat queries only (no metric math, no Metrics Insights).",
        500,
      );
    }
    const statistic = String(stat.Stat);
    if (!STATISTICS.includes(statistic as Statistic)) {
      throw new AwsError("InternalFailure", `The double does not compute ${statistic}.`, 500);
    }
    const metric = (stat.Metric as Input | undefined) ?? {};
    const dimensions = ((metric.Dimensions as Input[] | undefined) ?? []).map(
      (d): [string, string] => [String(d.Name), String(d.Value)],
    );
    const key = dimensionKey(dimensions);
    const periodMs = Number(stat.Period) * 1000;
    const buckets = new Map<number, number[]>();
    for (const point of this.datapoints) {
      if (
        point.namespace !== metric.Namespace ||
        point.metricName !== metric.MetricName ||
        point.dimensionKey !== key ||
        point.timestamp < start ||
        point.timestamp >= end
      ) {
        continue;
      }
      const bucket = start + Math.floor((point.timestamp - start) / periodMs) * periodMs;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), point.value]);
    }
    return {
      id,
      label: typeof query.Label === "string" ? query.Label : String(metric.MetricName ?? id),
      points: [...buckets].map(([timestamp, values]) => ({
        timestamp,
        value: aggregate(values, statistic as Statistic),
      })),
    };
  }

  /**
   * One page of the results: at most `pageSize` (or MaxDatapoints) datapoints, in query order.
   * Timestamps are epoch milliseconds here (awsQuery writes them as ISO 8601; see `jsonWire`).
   */
  private page(results: QueryResult[], input: Input): unknown {
    const request = { ...input };
    delete request.NextToken;
    delete request.MaxDatapoints;
    const scope = createHash("sha256").update(JSON.stringify(request)).digest("hex");
    const offset = decodeToken(scope, input.NextToken, "InvalidNextToken");
    const maxDatapoints = typeof input.MaxDatapoints === "number" ? input.MaxDatapoints : Infinity;
    const size = Math.max(1, Math.min(this.pageSize, maxDatapoints));
    const total = results.reduce((n, r) => n + r.points.length, 0);
    const pageEnd = Math.min(total, offset + size);
    const out: unknown[] = [];
    let position = 0;
    for (const result of results) {
      const from = Math.max(offset, position);
      const to = Math.min(pageEnd, position + result.points.length);
      const first = offset === 0;
      const points = from < to ? result.points.slice(from - position, to - position) : [];
      if (first || points.length > 0) {
        out.push({
          Id: result.id,
          Label: result.label,
          Timestamps: points.map((p) => p.timestamp),
          Values: points.map((p) => p.value),
          StatusCode:
            result.points.length > 0 && position + result.points.length > pageEnd
              ? "PartialData"
              : "Complete",
        });
      }
      position += result.points.length;
    }
    return {
      MetricDataResults: out,
      Messages: [],
      ...(pageEnd < total ? { NextToken: encodeToken(scope, pageEnd) } : {}),
    };
  }
}

/** The GetMetricData output as JSON 1.0 carries it: timestamps in epoch seconds. */
export function jsonWire(output: unknown): unknown {
  const record = output as { MetricDataResults?: { Timestamps?: number[] }[] };
  return {
    ...record,
    MetricDataResults: (record.MetricDataResults ?? []).map((r) => ({
      ...r,
      Timestamps: (r.Timestamps ?? []).map((t) => t / 1000),
    })),
  };
}
