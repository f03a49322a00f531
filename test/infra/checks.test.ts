/**
 * Check runs in the stack, under Pulumi mocks: with a GitHub App, a second EventBridge rule sends
 * the clones' stage and action state changes to the notify function, and its role may read the
 * clones' action executions, the pull request builds and those builds' logs; exact JSON, then the
 * grants and the denials that matter proven by simulation (the source tier's build logs stay
 * unreadable). Without an App nothing of this is declared.
 */
import { expect } from "chai";
import { loadConfig } from "../../infra/config.js";
import type { PolicyDocument } from "../../infra/policies.js";
import { createBranchline } from "../../infra/program.js";
import { testApp } from "../helpers/github-app.js";
import { policyDocument, simulate } from "../helpers/iam.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
} from "../helpers/pulumi-mocks.js";

const at = `eu-west-1:${MOCK_ACCOUNT}`;
const app = { appId: 424242, privateKey: testApp().privateKey };
const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const services = {
  services: [
    { name: "shop", repository: "octo/mono" },
    { name: "cart", repository: "octo/mono" },
  ],
  webhookSecret: "s3cret",
  prefix: "acme",
};
const functionArn = `arn:aws:lambda:${at}:function:notifications-function-0000000`;
const logStreams = (project: string) =>
  `arn:aws:logs:${at}:log-group:/branchline/${project}/build:log-stream:*`;
const stream = (project: string) =>
  `arn:aws:logs:${at}:log-group:/branchline/${project}/build:log-stream:6c1e2f3a-0b4c-4d5e-8f90-a1b2c3d4e5f6`;
const tags = (source: string) => ({
  "aws:ResourceTag/branchline:managed-by": "branchline",
  "aws:ResourceTag/branchline:source-pipeline": source,
});

async function synth(config: Record<string, string | object>): Promise<void> {
  await runWithConfig(config, () => createBranchline(loadConfig(), stubArchives()), [
    "webhookSecret",
    "githubApp",
    "githubToken",
  ]);
}

function notifyPolicy(prefix = ""): PolicyDocument {
  return policyDocument(resourceNamed(`${prefix}notifications-role-policy`).inputs["policy"]);
}

const CHECK_SIDS = [
  "ReadCloneActionExecutions",
  "ReadPullRequestBuilds",
  "ReadPullRequestBuildLogs",
];
const checkStatements = () =>
  notifyPolicy().Statement.filter((s) => CHECK_SIDS.includes(String(s.Sid)));

describe("infra: check runs (GitHub App)", function () {
  this.timeout(60_000);
  describe("one service with an App", () => {
    before(async () => {
      await synth({ ...minimal, githubApp: app });
    });

    it("sends the clones' stage and action state changes to the notify function", () => {
      expect(
        JSON.parse(String(resourceNamed("notifications-steps-rule").inputs["eventPattern"])),
      ).to.deep.equal({
        source: ["aws.codepipeline"],
        "detail-type": [
          "CodePipeline Stage Execution State Change",
          "CodePipeline Action Execution State Change",
        ],
        account: [MOCK_ACCOUNT],
        region: ["eu-west-1"],
        detail: { pipeline: [{ prefix: "branchline-dev-pr-" }] },
      });
      expect(resourceNamed("notifications-steps-target").inputs).to.deep.include({
        arn: functionArn,
      });
      expect(resourceNamed("notifications-steps-permission").inputs).to.deep.include({
        action: "lambda:InvokeFunction",
        principal: "events.amazonaws.com",
      });
    });

    it("lets the notify role read the clones' action executions, the PR builds and their logs, exactly", () => {
      expect(checkStatements()).to.deep.equal([
        {
          Sid: "ReadCloneActionExecutions",
          Effect: "Allow",
          Action: "codepipeline:ListActionExecutions",
          Resource: `arn:aws:codepipeline:${at}:branchline-dev-pr-*`,
          Condition: {
            StringEquals: {
              "aws:ResourceTag/branchline:managed-by": "branchline",
              "aws:ResourceTag/branchline:source-pipeline": "branchline-dev",
            },
          },
        },
        {
          Sid: "ReadPullRequestBuilds",
          Effect: "Allow",
          Action: "codebuild:BatchGetBuilds",
          Resource: [`arn:aws:codebuild:${at}:project/branchline-dev-pr`],
        },
        {
          Sid: "ReadPullRequestBuildLogs",
          Effect: "Allow",
          Action: "logs:GetLogEvents",
          Resource: [logStreams("branchline-dev-pr")],
        },
      ]);
    });

    it("grants the pull request tier's builds and logs, never the source tier's", async () => {
      const policy = notifyPolicy();
      const decide = (action: string, resource: string, context?: Record<string, string>) =>
        simulate(policy, { action, resource, ...(context ? { context } : {}) });
      expect(
        await decide(
          "codebuild:BatchGetBuilds",
          `arn:aws:codebuild:${at}:project/branchline-dev-pr`,
        ),
      ).to.equal("Allowed");
      expect(
        await decide("codebuild:BatchGetBuilds", `arn:aws:codebuild:${at}:project/branchline-dev`),
      ).to.equal("ImplicitlyDenied");
      expect(await decide("logs:GetLogEvents", stream("branchline-dev-pr"))).to.equal("Allowed");
      expect(await decide("logs:GetLogEvents", stream("branchline-dev"))).to.equal(
        "ImplicitlyDenied",
      );
      expect(
        await decide(
          "logs:GetLogEvents",
          `arn:aws:logs:${at}:log-group:/aws/lambda/production:log-stream:x`,
        ),
      ).to.equal("ImplicitlyDenied");
      const clone = `arn:aws:codepipeline:${at}:branchline-dev-pr-7`;
      expect(
        await decide("codepipeline:ListActionExecutions", clone, tags("branchline-dev")),
      ).to.equal("Allowed");
      expect(await decide("codepipeline:ListActionExecutions", clone)).to.equal("ImplicitlyDenied");
      expect(
        await decide(
          "codepipeline:ListActionExecutions",
          `arn:aws:codepipeline:${at}:branchline-dev`,
        ),
      ).to.equal("ImplicitlyDenied");
      // Reading is all: no build is started, stopped or retried.
      expect(
        await decide("codebuild:StartBuild", `arn:aws:codebuild:${at}:project/branchline-dev-pr`),
      ).to.equal("ImplicitlyDenied");
    });
  });

  describe("one service with a token", () => {
    before(async () => {
      await synth({ ...minimal, githubToken: "ghp_x" });
    });

    it("declares no step rule and no check run grants", () => {
      expect(
        resourcesOfType("aws:cloudwatch/eventRule:EventRule").map((r) => r.name),
      ).to.not.include("notifications-steps-rule");
      expect(checkStatements()).to.deep.equal([]);
    });
  });

  describe("many services with an App", () => {
    before(async () => {
      await synth({ ...services, githubApp: app });
    });

    it("matches every service's clones, and grants every PR project's builds and logs only", async () => {
      const pattern = JSON.parse(
        String(resourceNamed("acme-notifications-steps-rule").inputs["eventPattern"]),
      );
      expect(pattern.detail).to.deep.equal({ pipeline: [{ wildcard: "acme-*-pr-*" }] });
      const policy = notifyPolicy("acme-");
      const decide = (action: string, resource: string) => simulate(policy, { action, resource });
      expect(
        await decide("codebuild:BatchGetBuilds", `arn:aws:codebuild:${at}:project/acme-cart-pr`),
      ).to.equal("Allowed");
      expect(
        await decide("codebuild:BatchGetBuilds", `arn:aws:codebuild:${at}:project/acme-cart`),
      ).to.equal("ImplicitlyDenied");
      expect(await decide("logs:GetLogEvents", stream("acme-shop-pr"))).to.equal("Allowed");
      expect(await decide("logs:GetLogEvents", stream("acme-shop"))).to.equal("ImplicitlyDenied");
    });
  });
});
