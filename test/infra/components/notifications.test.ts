/**
 * Notifications as the whole stack declares them, under Pulumi mocks: the SNS topic (and its email
 * subscription), the EventBridge rule's pattern, the notify Lambda and its environment (checked
 * against the handler's settings reader) and the role's policy, exactly. Mocks cannot prove that
 * EventBridge matches what the pattern says; the pattern is also checked against clone names.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import { readNotifySettings } from "../../../functions/notify/settings.js";
import { cloneName, ENV } from "../../../functions/shared/names.js";
import { executionEventPattern } from "../../../infra/components/notifications.js";
import { loadConfig } from "../../../infra/config.js";
import { createBranchline, type BranchlineOutputs } from "../../../infra/program.js";
import {
  archiveFileText,
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  stubBundle,
  unwrap,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const topicArn = `arn:aws:sns:${at}:notifications-topic-0000000`;
const keyArn = `arn:aws:kms:${at}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const tokenArn = `arn:aws:secretsmanager:${at}:secret:webhook-github-token-0000000-AbCdEf`;
const functionArn = `arn:aws:lambda:${at}:function:notifications-function-0000000`;
const ruleArn = `arn:aws:events:${at}:rule/notifications-rule-0000000`;

async function synth(config: Record<string, string | object>): Promise<BranchlineOutputs> {
  const { result } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    ["webhookSecret", "githubToken"],
  );
  return result;
}

function policyOf(resource: RecordedResource, key = "policy"): unknown {
  const text = resource.inputs[key];
  expect(text, `${resource.name}.${key}`).to.be.a("string");
  return JSON.parse(text as string);
}

function variablesOf(resource: RecordedResource): Record<string, string> {
  return (resource.inputs["environment"] as { variables: Record<string, string> }).variables;
}

/** What an EventBridge `prefix` / exact-string list matches, for the pipeline field. */
function matchesPipeline(pattern: object, pipeline: string): boolean {
  const filters = (pattern as { detail: { pipeline: (string | { prefix: string })[] } }).detail
    .pipeline;
  return filters.some((filter) =>
    typeof filter === "string" ? filter === pipeline : pipeline.startsWith(filter.prefix),
  );
}

const readActions = [
  "codepipeline:GetPipeline",
  "codepipeline:GetPipelineExecution",
  "codepipeline:ListPipelineExecutions",
];
const baseStatements = [
  {
    Sid: "ReadSourcePipeline",
    Effect: "Allow",
    Action: readActions,
    Resource: `arn:aws:codepipeline:${at}:branchline-dev`,
  },
  {
    Sid: "ReadCloneTags",
    Effect: "Allow",
    Action: "codepipeline:ListTagsForResource",
    Resource: `arn:aws:codepipeline:${at}:branchline-dev-pr-*`,
  },
  {
    Sid: "ReadClones",
    Effect: "Allow",
    Action: readActions,
    Resource: `arn:aws:codepipeline:${at}:branchline-dev-pr-*`,
    Condition: {
      StringEquals: {
        "aws:ResourceTag/branchline:managed-by": "branchline",
        "aws:ResourceTag/branchline:source-pipeline": "branchline-dev",
      },
    },
  },
  {
    Sid: "PublishNotifications",
    Effect: "Allow",
    Action: "sns:Publish",
    Resource: topicArn,
  },
];
const writeLogs = {
  Sid: "WriteLogs",
  Effect: "Allow",
  Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
  Resource: `arn:aws:logs:${at}:log-group:notifications-logs-0000000:*`,
};

describe("infra/components/notifications (the stack under Pulumi mocks)", () => {
  describe("a default stack", () => {
    let outputs: BranchlineOutputs;
    before(async () => {
      outputs = await synth(minimal);
    });

    it("creates a topic encrypted with its own key (the delivery alarms publish to it), no subscription", async () => {
      expect(resourceNamed("notifications-topic").inputs).to.deep.equal({
        displayName: "branchline",
        kmsMasterKeyId: keyArn,
      });
      expect(resourceNamed("notifications-key").inputs).to.deep.include({
        enableKeyRotation: true,
      });
      expect(resourcesOfType("aws:sns/topicSubscription:TopicSubscription")).to.have.length(0);
      expect(await unwrap(outputs.notificationTopicArn)).to.equal(topicArn);
    });

    it("lets CloudWatch use the key and publish to the topic for the stack's alarms only", () => {
      const fromAlarms = {
        StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
        ArnLike: {
          "aws:SourceArn": [
            `arn:aws:cloudwatch:eu-west-1:${MOCK_ACCOUNT}:alarm:branchline-dev-delivery-*`,
            `arn:aws:cloudwatch:eu-west-1:${MOCK_ACCOUNT}:alarm:branchline-dev-errors-*`,
          ],
        },
      };
      const account = `arn:aws:iam::${MOCK_ACCOUNT}:root`;
      expect(policyOf(resourceNamed("notifications-key"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministers",
            Effect: "Allow",
            Principal: { AWS: account },
            Action: "kms:*",
            Resource: "*",
          },
          {
            Sid: "AccountUsesThroughSns",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: {
              StringEquals: {
                "kms:CallerAccount": MOCK_ACCOUNT,
                "kms:ViaService": "sns.eu-west-1.amazonaws.com",
              },
            },
          },
          {
            Sid: "CloudWatchAlarms",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: fromAlarms,
          },
        ],
      });
      const topicPolicy = resourceNamed("notifications-topic-policy");
      expect(topicPolicy.inputs["arn"]).to.equal(topicArn);
      expect(policyOf(topicPolicy)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "TopicOwner",
            Effect: "Allow",
            Principal: { AWS: account },
            Action: [
              "sns:AddPermission",
              "sns:DeleteTopic",
              "sns:GetTopicAttributes",
              "sns:ListSubscriptionsByTopic",
              "sns:Publish",
              "sns:RemovePermission",
              "sns:SetTopicAttributes",
              "sns:Subscribe",
            ],
            Resource: topicArn,
          },
          {
            Sid: "CloudWatchAlarms",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topicArn,
            Condition: fromAlarms,
          },
        ],
      });
    });

    it("matches the execution state changes of the source pipeline and its clones only", () => {
      const rule = resourceNamed("notifications-rule");
      expect(rule.inputs["eventPattern"]).to.equal(
        '{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],' +
          `"account":["${MOCK_ACCOUNT}"],"region":["eu-west-1"],` +
          '"detail":{"pipeline":["branchline-dev",{"prefix":"branchline-dev-pr-"}]}}',
      );
      expect(rule.inputs).to.not.have.property("scheduleExpression");
      const pattern = JSON.parse(rule.inputs["eventPattern"] as string) as object;
      expect(matchesPipeline(pattern, "branchline-dev")).to.equal(true);
      expect(matchesPipeline(pattern, cloneName("branchline-dev", 42))).to.equal(true);
      expect(matchesPipeline(pattern, "branchline-dev-2")).to.equal(false);
      expect(matchesPipeline(pattern, "other-pr-1")).to.equal(false);
    });

    it("targets the notify function, which the rule may invoke", () => {
      expect(resourceNamed("notifications-target").inputs).to.deep.include({
        rule: "notifications-rule-0000000",
        arn: functionArn,
      });
      expect(resourceNamed("notifications-permission").inputs).to.deep.include({
        action: "lambda:InvokeFunction",
        function: "notifications-function-0000000",
        principal: "events.amazonaws.com",
        sourceArn: ruleArn,
      });
    });

    it("ships the notify bundle on nodejs22.x arm64 with a 30 s timeout and its own logs", async () => {
      const fn = resourceNamed("notifications-function");
      expect(fn.inputs).to.deep.include({
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        handler: "index.handler",
        timeout: 30,
        role: `arn:aws:iam::${MOCK_ACCOUNT}:role/notifications-role-0000000`,
        loggingConfig: { logFormat: "JSON", logGroup: "notifications-logs-0000000" },
      });
      expect(await archiveFileText(fn.inputs["code"], "index.js")).to.equal(stubBundle("notify"));
      expect(resourceNamed("notifications-logs").inputs["retentionInDays"]).to.equal(30);
    });

    it("sets the environment the handler's settings reader expects", () => {
      const variables = variablesOf(resourceNamed("notifications-function"));
      expect(variables).to.deep.equal({
        [ENV.sourcePipelineName]: "branchline-dev",
        [ENV.notificationTopicArn]: topicArn,
      });
      expect(readNotifySettings(variables)).to.deep.equal({
        // No routing table: the one service of SOURCE_PIPELINE_NAME.
        services: [{ name: "branchline-dev", sourcePipelineName: "branchline-dev" }],
        sourcePipelineName: "branchline-dev",
        githubToken: { value: undefined, arn: undefined },
        githubApiUrl: undefined,
        notificationTopicArn: topicArn,
      });
    });

    it("limits the role to reading executions and clone tags, publishing to the topic, its logs", () => {
      expect(policyOf(resourceNamed("notifications-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [...baseStatements, writeLogs],
      });
    });

    it("lets the role read the clones' declarations (their branches) and no other pipeline's", async () => {
      const policy = policyOf(resourceNamed("notifications-role-policy"));
      const tags = {
        "aws:ResourceTag/branchline:managed-by": "branchline",
        "aws:ResourceTag/branchline:source-pipeline": "branchline-dev",
      };
      const decide = async (action: string, resource: string, contextVariables = {}) => {
        const answer = await runSimulation(
          {
            request: {
              principal: `arn:aws:iam::${MOCK_ACCOUNT}:role/notifications-role-0000000`,
              action,
              resource: { resource, accountId: MOCK_ACCOUNT },
              contextVariables,
            },
            identityPolicies: [{ name: "notify", policy }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        );
        if (answer.resultType !== "single") throw new Error(JSON.stringify(answer));
        return answer.overallResult;
      };
      const pipeline = (name: string) => `arn:aws:codepipeline:${at}:${name}`;
      expect(
        await decide("codepipeline:GetPipeline", pipeline("branchline-dev-pr-7"), tags),
      ).to.equal("Allowed");
      // A `<source>-pr-*` pipeline that is not branchline's: its tags only.
      expect(await decide("codepipeline:GetPipeline", pipeline("branchline-dev-pr-7"))).to.equal(
        "ImplicitlyDenied",
      );
      expect(await decide("codepipeline:GetPipeline", pipeline("branchline-dev"))).to.equal(
        "Allowed",
      );
      expect(await decide("codepipeline:GetPipeline", pipeline("billing"))).to.equal(
        "ImplicitlyDenied",
      );
      expect(
        await decide(
          "codepipeline:GetPipeline",
          `arn:aws:codepipeline:eu-west-1:210987654321:branchline-dev-pr-7`,
          tags,
        ),
      ).to.equal("ImplicitlyDenied");
      expect(
        await decide("codepipeline:UpdatePipeline", pipeline("branchline-dev-pr-7"), tags),
      ).to.equal("ImplicitlyDenied");
    });
  });

  describe("with a GitHub token and a notification email", () => {
    before(async () => {
      await synth({ ...minimal, githubToken: "ghp_token", notificationEmail: "ops@example.com" });
    });

    it("subscribes the address to the topic", () => {
      const subscriptions = resourcesOfType("aws:sns/topicSubscription:TopicSubscription");
      expect(subscriptions.map((s) => [s.name, s.inputs])).to.deep.equal([
        [
          "notifications-email",
          { topic: topicArn, protocol: "email", endpoint: "ops@example.com" },
        ],
      ]);
    });

    it("passes the token secret's ARN and lets the role read that secret only", () => {
      const fn = resourceNamed("notifications-function");
      const variables = variablesOf(fn);
      expect(variables).to.deep.equal({
        [ENV.sourcePipelineName]: "branchline-dev",
        [ENV.notificationTopicArn]: topicArn,
        [ENV.githubTokenSecretArn]: tokenArn,
      });
      expect(readNotifySettings(variables).githubToken).to.deep.equal({
        value: undefined,
        arn: tokenArn,
      });
      expect(JSON.stringify(fn.inputs)).to.not.include("ghp_token");
      expect(policyOf(resourceNamed("notifications-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...baseStatements,
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [tokenArn],
          },
          writeLogs,
        ],
      });
    });
  });

  describe("executionEventPattern", () => {
    it("uses `<source>-pr-` as the prefix for the longest source pipeline name", () => {
      const long = "a".repeat(86);
      const pattern = executionEventPattern(long, {
        accountId: "210987654321",
        region: "cn-north-1",
      });
      expect(pattern).to.deep.equal({
        source: ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        account: ["210987654321"],
        region: ["cn-north-1"],
        detail: { pipeline: [long, { prefix: `${long}-pr-` }] },
      });
      expect(matchesPipeline(pattern, cloneName(long, 1234567))).to.equal(true);
    });
  });

  describe("inline delivery (the functions' error alarms publish)", () => {
    before(async () => {
      await synth({ ...minimal, delivery: { mode: "inline" } });
    });

    it("gives the topic its own key too, usable by CloudWatch for the error alarms only", () => {
      expect(resourceNamed("notifications-topic").inputs).to.deep.equal({
        displayName: "branchline",
        kmsMasterKeyId:
          "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      });
      const fromErrorAlarms = {
        StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
        ArnLike: {
          "aws:SourceArn": `arn:aws:cloudwatch:eu-west-1:${MOCK_ACCOUNT}:alarm:branchline-dev-errors-*`,
        },
      };
      const key = policyOf(resourceNamed("notifications-key")) as {
        Statement: { Sid: string; Condition?: unknown }[];
      };
      expect(key.Statement.find((s) => s.Sid === "CloudWatchAlarms")?.Condition).to.deep.equal(
        fromErrorAlarms,
      );
      const topic = policyOf(resourceNamed("notifications-topic-policy")) as {
        Statement: { Sid: string; Condition?: unknown }[];
      };
      expect(topic.Statement.find((s) => s.Sid === "CloudWatchAlarms")?.Condition).to.deep.equal(
        fromErrorAlarms,
      );
    });
  });
});
