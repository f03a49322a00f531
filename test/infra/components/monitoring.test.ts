/**
 * The dashboard and the functions' error alarms as the whole stack declares them, under Pulumi mocks,
 * exactly; and the outputs naming the log groups and the dashboard. The metrics the dashboard and
 * the alarms read are the ones the functions publish (functions/shared/metrics.ts).
 */
import { expect } from "chai";
import { loadConfig } from "../../../infra/config.js";
import { createBranchline, type BranchlineOutputs } from "../../../infra/program.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  unwrap,
} from "../../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const topicArn = `arn:aws:sns:eu-west-1:${MOCK_ACCOUNT}:notifications-topic-0000000`;
const QUEUE = "delivery-queue-0000000.fifo";
const DEAD_LETTERS = "delivery-dead-letter-queue-0000000.fifo";
const WEBHOOK = "webhook-function-0000000";
const WORKER = "worker-function-0000000";
const RECONCILER = "reconciler-function-0000000";
const NOTIFY = "notifications-function-0000000";

async function synth(config: Record<string, string | object>): Promise<BranchlineOutputs> {
  const { result } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    ["webhookSecret", "githubToken"],
  );
  return result;
}

const search = (metric: string, dimension: string | undefined, ...services: string[]) =>
  `SEARCH('{branchline,${dimension ? `${dimension},` : ""}service} MetricName="${metric}" (${services.map((s) => `service="${s}"`).join(" OR ")})', 'Sum', 300)`;

const searchWidget = (title: string, expression: string) => ({
  type: "metric",
  properties: {
    title,
    region: "eu-west-1",
    view: "timeSeries",
    stacked: false,
    period: 300,
    metrics: [[{ expression, id: "e1", label: "" }]],
    stat: "Sum",
  },
});

const metricWidget = (title: string, metrics: unknown[][]) => ({
  type: "metric",
  properties: {
    title,
    region: "eu-west-1",
    view: "timeSeries",
    stacked: false,
    period: 300,
    metrics,
  },
});

function placed(widgets: object[]): object[] {
  return widgets.map((widget, index) => ({
    ...widget,
    x: (index % 2) * 12,
    y: Math.floor(index / 2) * 6,
    width: 12,
    height: 6,
  }));
}

function lambdaWidget(functions: [string, string][]) {
  return metricWidget(
    "Lambda errors and throttles",
    functions.flatMap(([role, name]) => [
      ["AWS/Lambda", "Errors", "FunctionName", name, { stat: "Sum", label: `${role} errors` }],
      [
        "AWS/Lambda",
        "Throttles",
        "FunctionName",
        name,
        { stat: "Sum", label: `${role} throttles` },
      ],
    ]),
  );
}

function sweepWidgets() {
  return [
    metricWidget("Reconciler sweep duration (ms)", [
      [
        "branchline",
        "SweepDuration",
        "service",
        RECONCILER,
        { stat: "Maximum", label: "sweep, maximum" },
      ],
    ]),
    searchWidget("Reconciler sweep results", search("SweepResults", "result", RECONCILER)),
    searchWidget("Notify events by outcome", search("Events", "outcome", NOTIFY)),
  ];
}

function errorAlarm(role: string, functionName: string) {
  const ours = (kind: string) => ({
    id: kind,
    returnData: false,
    metric: {
      namespace: "branchline",
      metricName: "Errors",
      dimensions: { service: functionName, kind },
      period: 300,
      stat: "Sum",
    },
  });
  return {
    name: `branchline-dev-errors-${role}`,
    alarmDescription: `branchline: the ${role} function failed, or met a configuration problem or a bug (its log says which)`,
    metricQueries: [
      {
        id: "lambda",
        returnData: false,
        metric: {
          namespace: "AWS/Lambda",
          metricName: "Errors",
          dimensions: { FunctionName: functionName },
          period: 300,
          stat: "Sum",
        },
      },
      ours("configuration"),
      ours("bug"),
      {
        id: "errors",
        label: "invocation errors, configuration problems and bugs",
        returnData: true,
        expression: "FILL(lambda, 0) + FILL(configuration, 0) + FILL(bug, 0)",
      },
    ],
    evaluationPeriods: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    treatMissingData: "notBreaching",
    alarmActions: [topicArn],
    okActions: [topicArn],
  };
}

describe("infra/components/monitoring (the stack under Pulumi mocks)", () => {
  describe("a default stack (durable delivery)", () => {
    let outputs: BranchlineOutputs;
    before(async () => {
      outputs = await synth(minimal);
    });

    it("declares the dashboard <prefix> with every widget, exactly", () => {
      const dashboard = resourceNamed("monitoring-dashboard");
      expect(dashboard.inputs["dashboardName"]).to.equal("branchline-dev");
      expect(JSON.parse(dashboard.inputs["dashboardBody"] as string)).to.deep.equal({
        widgets: placed([
          searchWidget("Webhook deliveries by outcome", search("Deliveries", "outcome", WEBHOOK)),
          searchWidget("Worker deliveries by outcome", search("Deliveries", "outcome", WORKER)),
          searchWidget("Worker records by result", search("DeliveryRecords", "result", WORKER)),
          metricWidget("Queue age (ms)", [
            [
              "branchline",
              "QueueAge",
              "service",
              WORKER,
              { stat: "p99", label: "a record's wait, p99" },
            ],
            [
              "branchline",
              "QueueAge",
              "service",
              WORKER,
              { stat: "Maximum", label: "a record's wait, maximum" },
            ],
          ]),
          metricWidget("Delivery queue: oldest message (s), dead-letter queue depth", [
            [
              "AWS/SQS",
              "ApproximateAgeOfOldestMessage",
              "QueueName",
              QUEUE,
              { stat: "Maximum", label: "oldest delivery (s)" },
            ],
            [
              "AWS/SQS",
              "ApproximateNumberOfMessagesVisible",
              "QueueName",
              DEAD_LETTERS,
              { stat: "Maximum", label: "dead-letter queue depth", yAxis: "right" },
            ],
          ]),
          searchWidget(
            "Clones created, updated, deleted",
            search("Clones", "action", WEBHOOK, WORKER, RECONCILER),
          ),
          searchWidget(
            "Errors by kind",
            search("Errors", "kind", WEBHOOK, WORKER, RECONCILER, NOTIFY),
          ),
          searchWidget(
            "AWS throttles",
            search("Throttles", undefined, WEBHOOK, WORKER, RECONCILER, NOTIFY),
          ),
          lambdaWidget([
            ["webhook", WEBHOOK],
            ["worker", WORKER],
            ["reconciler", RECONCILER],
            ["notify", NOTIFY],
          ]),
          ...sweepWidgets(),
        ]),
      });
    });

    it("alarms to the topic on each function's errors, exactly", () => {
      const alarms = resourcesOfType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((alarm) =>
        alarm.name.startsWith("monitoring-"),
      );
      expect(Object.fromEntries(alarms.map((alarm) => [alarm.name, alarm.inputs]))).to.deep.equal({
        "monitoring-webhook-errors-alarm": errorAlarm("webhook", WEBHOOK),
        "monitoring-worker-errors-alarm": errorAlarm("worker", WORKER),
        "monitoring-reconciler-errors-alarm": errorAlarm("reconciler", RECONCILER),
        "monitoring-notify-errors-alarm": errorAlarm("notify", NOTIFY),
      });
    });

    it("outputs each function's log group, the dashboard's name and its console URL", async () => {
      expect(await unwrap(outputs.logGroups)).to.deep.equal({
        webhook: "webhook-logs-0000000",
        worker: "worker-logs-0000000",
        reconciler: "reconciler-logs-0000000",
        notify: "notifications-logs-0000000",
      });
      expect(await unwrap(outputs.dashboardName)).to.equal("branchline-dev");
      expect(await unwrap(outputs.dashboardUrl)).to.equal(
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/branchline-dev",
      );
    });

    it("grants no CloudWatch action: the metrics are log lines (EMF) in each function's own log group", () => {
      const policies = resourcesOfType("aws:iam/rolePolicy:RolePolicy");
      expect(policies).to.have.length.greaterThan(0);
      for (const policy of policies) {
        expect(policy.inputs["policy"] as string, policy.name).not.to.match(/"cloudwatch:/);
      }
    });

    it("each log group output is the one its function logs to", () => {
      for (const [fn, logs] of [
        ["webhook-function", "webhook-logs-0000000"],
        ["worker-function", "worker-logs-0000000"],
        ["reconciler-function", "reconciler-logs-0000000"],
        ["notifications-function", "notifications-logs-0000000"],
      ] as const) {
        expect(resourceNamed(fn).inputs["loggingConfig"]).to.deep.equal({
          logFormat: "JSON",
          logGroup: logs,
        });
      }
    });
  });

  describe("inline delivery", () => {
    let outputs: BranchlineOutputs;
    before(async () => {
      outputs = await synth({ ...minimal, delivery: { mode: "inline" } });
    });

    it("draws no worker or queue widget", () => {
      const body = JSON.parse(
        resourceNamed("monitoring-dashboard").inputs["dashboardBody"] as string,
      );
      expect(body).to.deep.equal({
        widgets: placed([
          searchWidget("Webhook deliveries by outcome", search("Deliveries", "outcome", WEBHOOK)),
          searchWidget(
            "Clones created, updated, deleted",
            search("Clones", "action", WEBHOOK, RECONCILER),
          ),
          searchWidget("Errors by kind", search("Errors", "kind", WEBHOOK, RECONCILER, NOTIFY)),
          searchWidget(
            "AWS throttles",
            search("Throttles", undefined, WEBHOOK, RECONCILER, NOTIFY),
          ),
          lambdaWidget([
            ["webhook", WEBHOOK],
            ["reconciler", RECONCILER],
            ["notify", NOTIFY],
          ]),
          ...sweepWidgets(),
        ]),
      });
    });

    it("alarms on the three functions' errors, and outputs three log groups", async () => {
      const alarms = resourcesOfType("aws:cloudwatch/metricAlarm:MetricAlarm");
      expect(Object.fromEntries(alarms.map((alarm) => [alarm.name, alarm.inputs]))).to.deep.equal({
        "monitoring-webhook-errors-alarm": errorAlarm("webhook", WEBHOOK),
        "monitoring-reconciler-errors-alarm": errorAlarm("reconciler", RECONCILER),
        "monitoring-notify-errors-alarm": errorAlarm("notify", NOTIFY),
      });
      expect(await unwrap(outputs.logGroups)).to.deep.equal({
        webhook: "webhook-logs-0000000",
        reconciler: "reconciler-logs-0000000",
        notify: "notifications-logs-0000000",
      });
    });
  });
});
