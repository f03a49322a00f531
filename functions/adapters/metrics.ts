/**
 * Metrics in CloudWatch's embedded metric format (EMF) through Powertools Metrics, behind the Metrics
 * port: each flush writes one JSON line to stdout per set of dimensions, which Lambda sends to the
 * function's log group and CloudWatch Logs turns into metrics of the namespace `branchline`.
 *
 * No IAM permission is needed: EMF lines are log lines, written with the `logs:CreateLogStream` and
 * `logs:PutLogEvents` the function already has on its own log group (infra/components/
 * lambda-function.ts); CloudWatch Logs extracts the metrics itself (`cloudwatch:PutMetricData` is
 * never called, so no role grants it).
 *
 * Powertools puts every metric of one line under every dimension set of that line, so metrics with
 * different dimensions (an outcome, an error kind) go on lines of their own. Counts are summed before
 * they are written; durations keep each value (CloudWatch computes percentiles from them).
 */
import { Metrics as PowertoolsMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { MetricDimensions, Metrics } from "../app/ports.js";
import { METRICS_NAMESPACE } from "../shared/metrics.js";

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

interface Pending {
  dimensions: MetricDimensions;
  /** Metric name -> its unit and values (one summed value for a count). */
  metrics: Map<string, { unit: Unit; values: number[] }>;
}

/**
 * `serviceName` is the value of every metric's `service` dimension: the function's name
 * (`AWS_LAMBDA_FUNCTION_NAME`), so that two stacks in one account and region stay apart.
 */
export function createMetrics(serviceName: string): Metrics {
  const pending = new Map<string, Pending>();
  // One Powertools instance for the container, made on the first flush: building one (its console,
  // its reading of the environment) costs more than an invocation's metrics do, and
  // `publishStoredMetrics` clears its metrics and dimensions after each line.
  let powertools: PowertoolsMetrics | undefined;
  const entry = (name: string, unit: Unit, dimensions: MetricDimensions = {}) => {
    const sorted = Object.fromEntries(
      Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    const key = JSON.stringify(sorted);
    let group = pending.get(key);
    if (group === undefined) {
      group = { dimensions: sorted, metrics: new Map() };
      pending.set(key, group);
    }
    let metric = group.metrics.get(name);
    if (metric === undefined) {
      metric = { unit, values: [] };
      group.metrics.set(name, metric);
    }
    return metric;
  };
  return {
    count(name, value = 1, dimensions) {
      const metric = entry(name, MetricUnit.Count, dimensions);
      metric.values = [(metric.values[0] ?? 0) + value];
    },
    duration(name, ms, dimensions) {
      entry(name, MetricUnit.Milliseconds, dimensions).values.push(Math.max(0, ms));
    },
    flush() {
      const groups = [...pending.values()];
      pending.clear();
      for (const group of groups) {
        try {
          powertools ??= new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName });
          const emf = powertools;
          for (const [name, value] of Object.entries(group.dimensions)) {
            emf.addDimension(name, value);
          }
          for (const [name, metric] of group.metrics) {
            for (const value of metric.values) emf.addMetric(name, metric.unit, value);
          }
          emf.publishStoredMetrics();
        } catch (error) {
          // What the refused group left on the instance must not reach the next line.
          powertools = undefined;
          // Metrics never fail an invocation: say why these were lost, and go on.
          process.stderr.write(
            `${JSON.stringify({ level: "WARN", message: "metrics not published", service: serviceName, error: error instanceof Error ? error.message : String(error) })}\n`,
          );
        }
      }
    },
  };
}

/**
 * The function's metrics: `service` is `AWS_LAMBDA_FUNCTION_NAME` (Lambda sets it), or `fallback`
 * outside Lambda.
 */
export function functionMetrics(
  env: Readonly<Record<string, string | undefined>>,
  fallback: string,
): Metrics {
  return createMetrics(env["AWS_LAMBDA_FUNCTION_NAME"] || fallback);
}
