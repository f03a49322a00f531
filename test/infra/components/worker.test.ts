/**
 * The delivery worker as the whole stack declares it, under Pulumi mocks: the Lambda (bundle, runtime,
 * timeout, memory, environment checked against the handlers' settings reader), the event source
 * mapping, the two alarms and the order the engine is told (the mapping after the role's policy and
 * the reconciler's teardown, so it is deleted before them), with the defaults and with a configured
 * `branchline:delivery`. Mocks cannot prove that Lambda and CloudWatch accept the inputs; the role's
 * policy is asserted exactly in test/infra/program.test.ts and simulated in iam-simulation.test.ts.
 */
import { expect } from "chai";
import { readSettings } from "../../../functions/app/settings.js";
import { ENV } from "../../../functions/shared/names.js";
import { loadConfig } from "../../../infra/config.js";
import { createBranchline } from "../../../infra/program.js";
import {
  archiveFileText,
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  stubBundle,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";
import { dependenciesOf, recordDependencies } from "../record-dependencies.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const topicArn = `arn:aws:sns:${at}:notifications-topic-0000000`;
const tokenArn = `arn:aws:secretsmanager:${at}:secret:webhook-github-token-0000000-AbCdEf`;
const queues = `https://sqs.eu-west-1.amazonaws.com/${MOCK_ACCOUNT}`;

async function synth(config: Record<string, string | object>): Promise<void> {
  await recordDependencies();
  await runWithConfig(config, () => createBranchline(loadConfig(), stubArchives()), [
    "webhookSecret",
    "githubToken",
  ]);
}

function variablesOf(resource: RecordedResource): Record<string, string> {
  return (resource.inputs["environment"] as { variables: Record<string, string> }).variables;
}

function alarm(
  name: string,
  description: string,
  metricName: string,
  queueName: string,
  comparisonOperator: string,
  threshold: number,
): Record<string, unknown> {
  return {
    name,
    alarmDescription: description,
    namespace: "AWS/SQS",
    metricName,
    dimensions: { QueueName: queueName },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 1,
    comparisonOperator,
    threshold,
    treatMissingData: "notBreaching",
    alarmActions: [topicArn],
    okActions: [topicArn],
  };
}

describe("infra/components/worker (the stack under Pulumi mocks)", () => {
  describe("a default stack with a GitHub token", () => {
    before(async () => {
      await synth({ ...minimal, githubToken: "ghp_token" });
    });

    it("ships the worker bundle on nodejs22.x arm64, 60 s and 256 MB, with its own logs", async () => {
      const fn = resourceNamed("worker-function");
      expect(fn.inputs).to.deep.include({
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        handler: "index.handler",
        timeout: 60,
        memorySize: 256,
        role: `arn:aws:iam::${MOCK_ACCOUNT}:role/worker-role-0000000`,
        loggingConfig: { logFormat: "JSON", logGroup: "worker-logs-0000000" },
      });
      expect(await archiveFileText(fn.inputs["code"], "index.js")).to.equal(stubBundle("worker"));
      expect(resourceNamed("worker-logs").inputs["retentionInDays"]).to.equal(30);
    });

    it("gets the webhook's former environment (the token's ARN, not the token) and the dead-letter queue", () => {
      const variables = variablesOf(resourceNamed("worker-function"));
      expect(variables).to.deep.equal({
        [ENV.sourcePipelineName]: "branchline-dev",
        [ENV.ecrRepositoryNames]: '["branchline-dev-pr/app"]',
        [ENV.cloneRoleArn]: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
        [ENV.prBuildProjects]: '{"branchline-dev":"branchline-dev-pr"}',
        [ENV.prArtifactBucket]: "pr-artifacts-bucket-0000000",
        [ENV.allowForks]: "false",
        [ENV.buildDrafts]: "true",
        [ENV.stateTableName]: "state-table-0000000",
        [ENV.githubTokenSecretArn]: tokenArn,
        [ENV.deadLetterQueueUrl]: `${queues}/delivery-dead-letter-queue-0000000.fifo`,
      });
      expect(JSON.stringify(resourceNamed("worker-function").inputs)).to.not.include("ghp_token");
      expect(readSettings(variables)).to.deep.include({
        routed: false,
        sourcePipelineName: "branchline-dev",
        repositoryNames: ["branchline-dev-pr/app"],
        githubToken: { value: undefined, arn: tokenArn },
        stateTableName: "state-table-0000000",
      });
    });

    it("consumes the delivery queue: 10 a batch, at most 5 at once, partial batch failures", () => {
      expect(resourceNamed("worker-deliveries").inputs).to.deep.equal({
        eventSourceArn: `arn:aws:sqs:${at}:delivery-queue-0000000.fifo`,
        functionName: `arn:aws:lambda:${at}:function:worker-function-0000000`,
        batchSize: 10,
        scalingConfig: { maximumConcurrency: 5 },
        functionResponseTypes: ["ReportBatchItemFailures"],
      });
      expect(resourcesOfType("aws:lambda/eventSourceMapping:EventSourceMapping")).to.have.length(1);
    });

    it("polls once the role may consume, and stops before the teardown and the role go", () => {
      expect(dependenciesOf("worker-deliveries")).to.include.members([
        "worker-role-policy",
        "reconciler-teardown",
        "worker-function",
      ]);
    });

    it("alarms to the topic on a dead letter and on a delivery waiting 900 s", () => {
      expect(resourceNamed("worker-dead-letters-alarm").inputs).to.deep.equal(
        alarm(
          "branchline-dev-delivery-dead-letters",
          "branchline: a delivery is in the dead-letter queue (inspect it, fix the cause, redrive it)",
          "ApproximateNumberOfMessagesVisible",
          "delivery-dead-letter-queue-0000000.fifo",
          "GreaterThanThreshold",
          0,
        ),
      );
      expect(resourceNamed("worker-oldest-delivery-alarm").inputs).to.deep.equal(
        alarm(
          "branchline-dev-delivery-oldest-delivery",
          "branchline: a delivery has waited 900 s or more in the delivery queue (the worker is failing or throttled)",
          "ApproximateAgeOfOldestMessage",
          "delivery-queue-0000000.fifo",
          "GreaterThanOrEqualToThreshold",
          900,
        ),
      );
      expect(
        resourcesOfType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((alarm) =>
          alarm.name.startsWith("worker-"),
        ),
      ).to.have.length(2);
    });

    it("gives the webhook the queue's URL and no GitHub token, and keeps its routing variables", () => {
      const variables = variablesOf(resourceNamed("webhook-function"));
      expect(variables[ENV.queueUrl]).to.equal(`${queues}/delivery-queue-0000000.fifo`);
      expect(variables).to.not.have.property(ENV.githubTokenSecretArn);
      expect(variables).to.not.have.property(ENV.deadLetterQueueUrl);
      expect(readSettings(variables)).to.deep.include({
        sourcePipelineName: "branchline-dev",
        githubToken: { value: undefined, arn: undefined },
      });
    });
  });

  describe("with branchline:delivery's numbers set", () => {
    before(async () => {
      await synth({
        ...minimal,
        delivery: { maxConcurrency: 20, batchSize: 1, oldestMessageAlarmSeconds: 300 },
      });
    });

    it("uses them in the mapping and the alarm", () => {
      expect(resourceNamed("worker-deliveries").inputs).to.deep.include({
        batchSize: 1,
        scalingConfig: { maximumConcurrency: 20 },
      });
      expect(resourceNamed("worker-oldest-delivery-alarm").inputs).to.deep.include({
        threshold: 300,
      });
    });

    it("without a token: no token secret in the worker's environment", () => {
      expect(variablesOf(resourceNamed("worker-function"))).to.not.have.property(
        ENV.githubTokenSecretArn,
      );
    });
  });

  describe("inline mode", () => {
    before(async () => {
      await synth({ ...minimal, delivery: { mode: "inline" } });
    });

    it("declares no worker, mapping or alarm", () => {
      expect(resourcesOfType("branchline:delivery:DeliveryWorker")).to.have.length(0);
      expect(resourcesOfType("aws:lambda/eventSourceMapping:EventSourceMapping")).to.have.length(0);
      // The functions' error alarms only (infra/components/monitoring.ts), none of the worker's.
      expect(
        resourcesOfType("aws:cloudwatch/metricAlarm:MetricAlarm")
          .map((alarm) => alarm.name)
          .sort(),
      ).to.deep.equal([
        "monitoring-notify-errors-alarm",
        "monitoring-reconciler-errors-alarm",
        "monitoring-webhook-errors-alarm",
      ]);
      expect(resourcesOfType("aws:lambda/function:Function")).to.have.length(3);
    });
  });
});
