/**
 * What an operator watches: a CloudWatch dashboard of the functions' metrics (functions/shared/
 * metrics.ts, published as embedded metric format log lines: no IAM is needed for them), Lambda's
 * own Errors and Throttles, and with durable delivery the delivery queue's oldest message and the
 * dead-letter queue's depth; and one alarm per function on its errors, to the notification topic.
 *
 * A function's error alarm adds, per 5 minutes, Lambda's `Errors` (the invocation failed: a crash,
 * a timeout, an event notify throws back for a retry) and the function's `Errors` metric of the
 * kinds a person has to act on (`configuration`, `bug`); it fires at 1 and treats missing data as not
 * breaching. Failures that heal (throttling, AWS or GitHub failing for now, forged deliveries) are
 * on the dashboard, not in the alarm. Every metric is selected by the function's own name, so two
 * stacks in one account and region never mix.
 *
 * The dashboard body and the alarms' queries are built by the pure functions below.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  ALARMING_ERROR_KINDS,
  DIMENSION,
  METRIC,
  METRICS_NAMESPACE,
  SERVICE_DIMENSION,
} from "../../functions/shared/metrics";

/** The functions of the stack by role: their Lambda function names. */
export interface MonitoredFunctions<T = string> {
  webhook: T;
  /** The delivery worker: only with durable delivery. */
  worker?: T | undefined;
  reconciler: T;
  notify: T;
}

export type FunctionRole = keyof MonitoredFunctions;

/** The functions in the order the dashboard and the alarms list them. */
export const FUNCTION_ROLES: readonly FunctionRole[] = [
  "webhook",
  "worker",
  "reconciler",
  "notify",
];

/** The delivery queue and its dead-letter queue, by name (durable delivery only). */
export interface MonitoredQueues {
  queueName: string;
  deadLetterQueueName: string;
}

export interface DashboardInput {
  region: string;
  functions: MonitoredFunctions;
  queues?: MonitoredQueues | undefined;
}

/** The dashboard's and the alarms' period: 5 minutes. */
export const MONITORING_PERIOD_SECONDS = 300;

/** The functions' error alarms are named `<alarmNamePrefix><role>`. */
export function errorAlarmNamePrefix(prefix: string): string {
  return `${prefix}-errors-`;
}

/** The console's page of a dashboard. */
export function dashboardConsoleUrl(region: string, dashboardName: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(dashboardName)}`;
}

type Widget = Record<string, unknown>;

const WIDTH = 12;
const HEIGHT = 6;

/** A SEARCH over one of our metrics of the given functions (one series per dimension value). */
function search(metric: string, extraDimension: string | undefined, functions: string[]): string {
  const schema = [
    METRICS_NAMESPACE,
    ...(extraDimension ? [extraDimension] : []),
    SERVICE_DIMENSION,
  ];
  const services = functions.map((name) => `${SERVICE_DIMENSION}="${name}"`).join(" OR ");
  return `SEARCH('{${schema.join(",")}} MetricName="${metric}" (${services})', 'Sum', ${MONITORING_PERIOD_SECONDS})`;
}

function metricWidget(
  title: string,
  metrics: unknown[][],
  region: string,
  options: Record<string, unknown> = {},
): Widget {
  return {
    type: "metric",
    properties: {
      title,
      region,
      view: "timeSeries",
      stacked: false,
      period: MONITORING_PERIOD_SECONDS,
      metrics,
      ...options,
    },
  };
}

function searchWidget(
  title: string,
  region: string,
  metric: string,
  extraDimension: string | undefined,
  functions: string[],
): Widget {
  return metricWidget(
    title,
    [[{ expression: search(metric, extraDimension, functions), id: "e1", label: "" }]],
    region,
    { stat: "Sum" },
  );
}

/** The functions that are there, in the dashboard's order. */
function present(functions: MonitoredFunctions): [FunctionRole, string][] {
  return FUNCTION_ROLES.flatMap((role) => {
    const name = functions[role];
    return name === undefined ? [] : [[role, name] as [FunctionRole, string]];
  });
}

/** The dashboard's body (`aws.cloudwatch.Dashboard`'s `dashboardBody`, as an object). */
export function dashboardBody(input: DashboardInput): { widgets: Widget[] } {
  const { region, functions, queues } = input;
  const all = present(functions);
  const names = all.map(([, name]) => name);
  const cloneManagers = [functions.webhook, functions.worker, functions.reconciler].filter(
    (name): name is string => name !== undefined,
  );
  const widgets: Widget[] = [
    searchWidget("Webhook deliveries by outcome", region, METRIC.deliveries, DIMENSION.outcome, [
      functions.webhook,
    ]),
  ];
  if (functions.worker !== undefined) {
    widgets.push(
      searchWidget("Worker deliveries by outcome", region, METRIC.deliveries, DIMENSION.outcome, [
        functions.worker,
      ]),
      searchWidget("Worker records by result", region, METRIC.deliveryRecords, DIMENSION.result, [
        functions.worker,
      ]),
      metricWidget(
        "Queue age (ms)",
        [
          [
            METRICS_NAMESPACE,
            METRIC.queueAge,
            SERVICE_DIMENSION,
            functions.worker,
            { stat: "p99", label: "a record's wait, p99" },
          ],
          [
            METRICS_NAMESPACE,
            METRIC.queueAge,
            SERVICE_DIMENSION,
            functions.worker,
            { stat: "Maximum", label: "a record's wait, maximum" },
          ],
        ],
        region,
      ),
    );
  }
  if (queues !== undefined) {
    widgets.push(
      metricWidget(
        "Delivery queue: oldest message (s), dead-letter queue depth",
        [
          [
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "QueueName",
            queues.queueName,
            { stat: "Maximum", label: "oldest delivery (s)" },
          ],
          [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            queues.deadLetterQueueName,
            { stat: "Maximum", label: "dead-letter queue depth", yAxis: "right" },
          ],
        ],
        region,
      ),
    );
  }
  widgets.push(
    searchWidget(
      "Clones created, updated, deleted",
      region,
      METRIC.clones,
      DIMENSION.action,
      cloneManagers,
    ),
    searchWidget("Errors by kind", region, METRIC.errors, DIMENSION.kind, names),
    searchWidget("AWS throttles", region, METRIC.throttles, undefined, names),
    metricWidget(
      "Lambda errors and throttles",
      all.flatMap(([role, name]) => [
        ["AWS/Lambda", "Errors", "FunctionName", name, { stat: "Sum", label: `${role} errors` }],
        [
          "AWS/Lambda",
          "Throttles",
          "FunctionName",
          name,
          { stat: "Sum", label: `${role} throttles` },
        ],
      ]),
      region,
    ),
    metricWidget(
      "Reconciler sweep duration (ms)",
      [
        [
          METRICS_NAMESPACE,
          METRIC.sweepDuration,
          SERVICE_DIMENSION,
          functions.reconciler,
          { stat: "Maximum", label: "sweep, maximum" },
        ],
      ],
      region,
    ),
    searchWidget("Reconciler sweep results", region, METRIC.sweepResults, DIMENSION.result, [
      functions.reconciler,
    ]),
    searchWidget("Notify events by outcome", region, METRIC.events, DIMENSION.outcome, [
      functions.notify,
    ]),
  );
  return {
    widgets: widgets.map((widget, index) => ({
      ...widget,
      x: (index % 2) * WIDTH,
      y: Math.floor(index / 2) * HEIGHT,
      width: WIDTH,
      height: HEIGHT,
    })),
  };
}

/**
 * The metric queries of a function's error alarm: Lambda's Errors plus the function's Errors of the
 * kinds that need a person, each filled with 0 where it has no data.
 */
export function errorAlarmQueries(
  functionName: string,
): aws.types.input.cloudwatch.MetricAlarmMetricQuery[] {
  const ours = ALARMING_ERROR_KINDS.map((kind) => ({
    id: kind,
    returnData: false,
    metric: {
      namespace: METRICS_NAMESPACE,
      metricName: METRIC.errors,
      dimensions: { [SERVICE_DIMENSION]: functionName, [DIMENSION.kind]: kind },
      period: MONITORING_PERIOD_SECONDS,
      stat: "Sum",
    },
  }));
  const ids = ["lambda", ...ALARMING_ERROR_KINDS];
  return [
    {
      id: "lambda",
      returnData: false,
      metric: {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: functionName },
        period: MONITORING_PERIOD_SECONDS,
        stat: "Sum",
      },
    },
    ...ours,
    {
      id: "errors",
      label: "invocation errors, configuration problems and bugs",
      returnData: true,
      expression: ids.map((id) => `FILL(${id}, 0)`).join(" + "),
    },
  ];
}

export interface MonitoringArgs {
  /** The dashboard's name (`<prefix>`: unique in the account and region, as the prefix is). */
  dashboardName: string;
  /** The stack's `<prefix>`: the alarms are `<prefix>-errors-<role>`. */
  prefix: string;
  region: pulumi.Input<string>;
  functions: MonitoredFunctions<pulumi.Input<string>>;
  queues?:
    { queueName: pulumi.Input<string>; deadLetterQueueName: pulumi.Input<string> } | undefined;
  /** The alarms' actions (alarm and OK): the notification topic. */
  alarmTopicArn: pulumi.Input<string>;
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly dashboard: aws.cloudwatch.Dashboard;
  public readonly dashboardName: pulumi.Output<string>;
  public readonly dashboardUrl: pulumi.Output<string>;
  public readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:monitoring:Monitoring", name, {}, opts);
    const parent = { parent: this };
    const functions = pulumi.output(args.functions);
    const queues = args.queues === undefined ? undefined : pulumi.output(args.queues);

    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.dashboardName,
        dashboardBody: pulumi
          .all([args.region, functions, queues])
          .apply(([region, fns, qs]) =>
            JSON.stringify(
              dashboardBody({ region, functions: fns as MonitoredFunctions, queues: qs }),
            ),
          ),
      },
      parent,
    );

    const actions = [args.alarmTopicArn];
    this.alarms = FUNCTION_ROLES.flatMap((role) => {
      const functionName = args.functions[role];
      if (functionName === undefined) return [];
      return [
        new aws.cloudwatch.MetricAlarm(
          `${name}-${role}-errors-alarm`,
          {
            name: `${errorAlarmNamePrefix(args.prefix)}${role}`,
            alarmDescription: `branchline: the ${role} function failed, or met a configuration problem or a bug (its log says which)`,
            metricQueries: pulumi.output(functionName).apply(errorAlarmQueries),
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
            treatMissingData: "notBreaching",
            alarmActions: actions,
            okActions: actions,
          },
          parent,
        ),
      ];
    });

    this.dashboardName = this.dashboard.dashboardName;
    this.dashboardUrl = pulumi
      .all([args.region, this.dashboard.dashboardName])
      .apply(([region, dashboardName]) => dashboardConsoleUrl(region, dashboardName));
    this.registerOutputs({ dashboardName: this.dashboardName, dashboardUrl: this.dashboardUrl });
  }
}
