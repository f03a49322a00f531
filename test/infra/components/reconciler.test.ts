/**
 * The reconciler as the whole stack declares it, under Pulumi mocks: the schedule, the Lambda and its
 * environment (checked against the handler's settings reader), the role's policy, exactly. Mocks
 * cannot prove that AWS accepts the policy or the schedule expression; the expressions the config
 * accepts are the two forms EventBridge documents.
 */
import { expect } from "chai";
import { readSettings } from "../../../functions/app/settings.js";
import { LIFECYCLE_KEY } from "../../../functions/reconcile/handler.js";
import { ENV } from "../../../functions/shared/names.js";
import { loadConfig } from "../../../infra/config.js";
import { TEARDOWN_LIFECYCLE_KEY } from "../../../infra/components/reconciler.js";
import { createBranchline, type BranchlineOutputs } from "../../../infra/program.js";
import {
  archiveFileText,
  MOCK_ACCOUNT,
  resourceNamed,
  runWithConfig,
  stubArchives,
  stubBundle,
  unwrap,
  type RecordedResource,
} from "../../helpers/pulumi-mocks.js";
import { dependenciesOf, recordDependencies } from "../record-dependencies.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const at = `eu-west-1:${MOCK_ACCOUNT}`;
const tokenArn = `arn:aws:secretsmanager:${at}:secret:webhook-github-token-0000000-AbCdEf`;
const functionArn = `arn:aws:lambda:${at}:function:reconciler-function-0000000`;
const ruleArn = `arn:aws:events:${at}:rule/reconciler-schedule-0000000`;
const webhookUrl = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/webhook";

async function synth(config: Record<string, string | object>): Promise<BranchlineOutputs> {
  await recordDependencies();
  const { result } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    ["webhookSecret", "githubToken", "githubRegistrationToken"],
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

const baseStatements = [
  {
    Sid: "ListPipelines",
    Effect: "Allow",
    Action: "codepipeline:ListPipelines",
    Resource: "*",
  },
  {
    Sid: "ReadSourcePipeline",
    Effect: "Allow",
    Action: "codepipeline:GetPipeline",
    Resource: `arn:aws:codepipeline:${at}:branchline-dev`,
  },
  {
    Sid: "FindClones",
    Effect: "Allow",
    Action: ["codepipeline:GetPipeline", "codepipeline:ListTagsForResource"],
    Resource: `arn:aws:codepipeline:${at}:branchline-dev-pr-*`,
  },
  {
    Sid: "CreateClones",
    Effect: "Allow",
    Action: ["codepipeline:CreatePipeline", "codepipeline:TagResource"],
    Resource: `arn:aws:codepipeline:${at}:branchline-dev-pr-*`,
    Condition: {
      StringEquals: {
        "aws:RequestTag/branchline:managed-by": "branchline",
        "aws:RequestTag/branchline:source-pipeline": "branchline-dev",
      },
      "ForAllValues:StringEquals": {
        "aws:TagKeys": [
          "branchline:managed-by",
          "branchline:source-pipeline",
          "branchline:pull-request",
          "branchline:branch",
          "branchline:approved-sha",
        ],
      },
    },
  },
  {
    Sid: "ManageClones",
    Effect: "Allow",
    Action: [
      "codepipeline:DeletePipeline",
      "codepipeline:ListPipelineExecutions",
      "codepipeline:StartPipelineExecution",
      "codepipeline:StopPipelineExecution",
      "codepipeline:UpdatePipeline",
    ],
    Resource: `arn:aws:codepipeline:${at}:branchline-dev-pr-*`,
    Condition: {
      StringEquals: {
        "aws:ResourceTag/branchline:managed-by": "branchline",
        "aws:ResourceTag/branchline:source-pipeline": "branchline-dev",
      },
    },
  },
  {
    Sid: "PassCloneRole",
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
    Condition: { StringEquals: { "iam:PassedToService": "codepipeline.amazonaws.com" } },
  },
  {
    Sid: "PassConnection",
    Effect: "Allow",
    Action: "codeconnections:PassConnection",
    Resource: `arn:aws:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`,
    Condition: {
      StringEquals: { "codeconnections:PassedToService": "codepipeline.amazonaws.com" },
    },
  },
  {
    Sid: "CleanUpImages",
    Effect: "Allow",
    Action: ["ecr:BatchDeleteImage", "ecr:ListImages"],
    Resource: [`arn:aws:ecr:${at}:repository/branchline-dev-pr/app`],
  },
];
const advanceMarks = {
  Sid: "AdvancePullRequestMarks",
  Effect: "Allow",
  Action: "dynamodb:UpdateItem",
  Resource: `arn:aws:dynamodb:${at}:table/state-table-0000000`,
  Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": "branchline-dev#*" } },
};
const writeLogs = {
  Sid: "WriteLogs",
  Effect: "Allow",
  Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
  Resource: `arn:aws:logs:${at}:log-group:reconciler-logs-0000000:*`,
};

describe("infra/components/reconciler (the stack under Pulumi mocks)", () => {
  describe("a default stack", () => {
    let outputs: BranchlineOutputs;
    before(async () => {
      outputs = await synth(minimal);
    });

    it("invokes the function on destroy to tear down: a CRUD lambda Invocation with a fixed input", () => {
      expect(resourceNamed("reconciler-teardown")).to.deep.include({
        type: "aws:lambda/invocation:Invocation",
        inputs: {
          functionName: "reconciler-function-0000000",
          input: '{"branchline":"teardown"}',
          lifecycleScope: "CRUD",
          terraformKey: "tf",
        },
      });
      // The key the provider adds is the one the handler reads.
      expect(TEARDOWN_LIFECYCLE_KEY).to.equal(LIFECYCLE_KEY);
    });

    it("tears down before the function, its role policy and log group go, after the schedule and webhook", () => {
      expect(dependenciesOf("reconciler-teardown")).to.include.members([
        "reconciler-function",
        "reconciler-role-policy",
        "reconciler-logs",
      ]);
      expect(dependenciesOf("reconciler-schedule-target")).to.include("reconciler-teardown");
      // The role policy names the clone role and the PR repositories: they outlive the teardown too.
      expect(dependenciesOf("reconciler-role-policy")).to.include.members([
        "pipeline-clone-role",
        "pr-registry-app-repository",
      ]);
    });

    it("runs every 15 minutes: a schedule rule targeting the function, allowed to invoke it", () => {
      expect(resourceNamed("reconciler-schedule").inputs["scheduleExpression"]).to.equal(
        "rate(15 minutes)",
      );
      expect(resourceNamed("reconciler-schedule-target").inputs).to.deep.include({
        rule: "reconciler-schedule-0000000",
        arn: functionArn,
      });
      expect(resourceNamed("reconciler-schedule-target").inputs).to.not.have.property("input");
      expect(resourceNamed("reconciler-schedule-permission").inputs).to.deep.include({
        action: "lambda:InvokeFunction",
        function: "reconciler-function-0000000",
        principal: "events.amazonaws.com",
        sourceArn: ruleArn,
      });
    });

    it("ships the reconcile bundle on nodejs22.x arm64 with a 300 s timeout and its own logs", async () => {
      const fn = resourceNamed("reconciler-function");
      expect(fn.inputs).to.deep.include({
        runtime: "nodejs22.x",
        architectures: ["arm64"],
        handler: "index.handler",
        timeout: 300,
        memorySize: 512,
        role: `arn:aws:iam::${MOCK_ACCOUNT}:role/reconciler-role-0000000`,
        loggingConfig: { logFormat: "JSON", logGroup: "reconciler-logs-0000000" },
      });
      expect(await archiveFileText(fn.inputs["code"], "index.js")).to.equal(
        stubBundle("reconcile"),
      );
      expect(resourceNamed("reconciler-logs").inputs["retentionInDays"]).to.equal(30);
      expect(policyOf(resourceNamed("reconciler-role"), "assumeRolePolicy")).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      });
    });

    it("sets the environment the handler's settings reader expects, with no token", () => {
      const variables = variablesOf(resourceNamed("reconciler-function"));
      expect(variables).to.deep.equal({
        [ENV.sourcePipelineName]: "branchline-dev",
        [ENV.ecrRepositoryNames]: '["branchline-dev-pr/app"]',
        [ENV.cloneRoleArn]: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
        [ENV.prBuildProjects]: '{"branchline-dev":"branchline-dev-pr"}',
        [ENV.prArtifactBucket]: "pr-artifacts-bucket-0000000",
        [ENV.allowForks]: "false",
        [ENV.buildDrafts]: "true",
        [ENV.stateTableName]: "state-table-0000000",
        [ENV.webhookUrl]: webhookUrl,
      });
      expect(readSettings(variables)).to.deep.include({
        sourcePipelineName: "branchline-dev",
        repositoryNames: ["branchline-dev-pr/app"],
        cloneRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
        prBuildProjects: { "branchline-dev": "branchline-dev-pr" },
        prArtifactBucket: "pr-artifacts-bucket-0000000",
        githubToken: { value: undefined, arn: undefined },
        allowForks: false,
        buildDrafts: true,
      });
    });

    it("limits the role to listing pipelines, branchline's clones, the clone role, the PR images and its logs", () => {
      expect(policyOf(resourceNamed("reconciler-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [...baseStatements, advanceMarks, writeLogs],
      });
    });

    it("exports the function's name", async () => {
      expect(await unwrap(outputs.reconcilerFunctionName)).to.equal("reconciler-function-0000000");
    });
  });

  describe("with a GitHub token, a cron schedule and fork pull requests allowed", () => {
    before(async () => {
      await synth({
        ...minimal,
        githubToken: "ghp_token",
        githubRegistrationToken: "ghp_admin",
        reconcileSchedule: "cron(0/10 * * * ? *)",
        allowForkPullRequests: "true",
        buildDraftPullRequests: "false",
      });
    });

    it("removes the GitHub webhook before the teardown runs", () => {
      expect(dependenciesOf("github-webhook-hook")).to.include("reconciler-teardown");
    });

    it("uses the schedule as given", () => {
      expect(resourceNamed("reconciler-schedule").inputs["scheduleExpression"]).to.equal(
        "cron(0/10 * * * ? *)",
      );
    });

    it("passes the token secret's ARN, never the token", () => {
      const fn = resourceNamed("reconciler-function");
      const variables = variablesOf(fn);
      expect(variables).to.deep.equal({
        [ENV.sourcePipelineName]: "branchline-dev",
        [ENV.ecrRepositoryNames]: '["branchline-dev-pr/app"]',
        [ENV.cloneRoleArn]: `arn:aws:iam::${MOCK_ACCOUNT}:role/pipeline-clone-role-0000000`,
        [ENV.prBuildProjects]: '{"branchline-dev":"branchline-dev-pr"}',
        [ENV.prArtifactBucket]: "pr-artifacts-bucket-0000000",
        [ENV.allowForks]: "true",
        [ENV.buildDrafts]: "false",
        [ENV.stateTableName]: "state-table-0000000",
        [ENV.webhookUrl]: webhookUrl,
        [ENV.githubTokenSecretArn]: tokenArn,
      });
      expect(readSettings(variables).githubToken).to.deep.equal({
        value: undefined,
        arn: tokenArn,
      });
      expect(JSON.stringify(fn.inputs)).to.not.include("ghp_token");
    });

    it("lets the role read the token secret only (not the webhook secret)", () => {
      expect(policyOf(resourceNamed("reconciler-role-policy"))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          ...baseStatements,
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [tokenArn],
          },
          advanceMarks,
          writeLogs,
        ],
      });
    });
  });
});
