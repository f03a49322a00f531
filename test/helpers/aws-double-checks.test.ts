/**
 * The AWS double's CodePipeline ListActionExecutions, CodeBuild BatchGetBuilds and CloudWatch Logs
 * GetLogEvents through the real SDK clients, requests validated against the vendored models.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { BatchGetBuildsCommand, CodeBuildClient } from "@aws-sdk/client-codebuild";
import {
  CodePipelineClient,
  ListActionExecutionsCommand,
  paginateListActionExecutions,
} from "@aws-sdk/client-codepipeline";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";
import { pipelineFixture } from "./fixtures.js";

describe("AWS double: action executions, builds and build logs", () => {
  let aws: AwsDouble;
  const config = () => ({
    endpoint: aws.url,
    region: aws.region,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    maxAttempts: 1,
  });

  before(async () => {
    aws = await startAwsDouble();
  });
  after(() => aws.close());
  beforeEach(() => aws.reset());

  it("lists an execution's action runs newest first, page by page, and refuses an unknown execution", async () => {
    const client = new CodePipelineClient(config());
    aws.seedPipeline(pipelineFixture("v1-ecs"));
    const id = aws.seedExecution("hello-world", { status: "InProgress" });
    const other = aws.seedExecution("hello-world", { status: "Succeeded" });
    for (let i = 0; i < 3; i++) {
      aws.seedActionExecution("hello-world", id, {
        stageName: "Build",
        actionName: `A${i}`,
        status: "Succeeded",
        startTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        externalExecutionId: `p:${i}`,
      });
    }
    aws.seedActionExecution("hello-world", other, {
      stageName: "Build",
      actionName: "Else",
      status: "Failed",
    });
    const names: string[] = [];
    for await (const page of paginateListActionExecutions(
      { client, pageSize: 2 },
      { pipelineName: "hello-world", filter: { pipelineExecutionId: id } },
    )) {
      expect(page.actionExecutionDetails?.length).to.be.at.most(2);
      for (const detail of page.actionExecutionDetails ?? []) {
        names.push(`${detail.actionName} ${detail.output?.executionResult?.externalExecutionId}`);
      }
    }
    expect(names).to.deep.equal(["A2 p:2", "A1 p:1", "A0 p:0"]);
    const missing = await client
      .send(
        new ListActionExecutionsCommand({
          pipelineName: "hello-world",
          filter: { pipelineExecutionId: "00000000-0000-0000-0000-000000000000" },
        }),
      )
      .catch((error: Error) => error);
    expect((missing as Error).name).to.equal("PipelineExecutionNotFoundException");
    const invalid = await client
      .send(new ListActionExecutionsCommand({ pipelineName: "hello-world", maxResults: 0 }))
      .catch((error: Error) => error);
    expect((invalid as Error).name).to.equal("ValidationException");
    client.destroy();
  });

  it("answers a build's log location and variables, and the newest log events", async () => {
    const codebuild = new CodeBuildClient(config());
    const logs = new CloudWatchLogsClient(config());
    aws.seedBuild({
      id: "p:1",
      logs: { groupName: "/branchline/p/build", streamName: "1" },
      environmentVariables: [{ name: "A", value: "b", type: "PLAINTEXT" }],
    });
    const out = await codebuild.send(new BatchGetBuildsCommand({ ids: ["p:1", "p:2"] }));
    expect(out.builds?.[0]?.logs).to.deep.include({
      groupName: "/branchline/p/build",
      streamName: "1",
    });
    expect(out.builds?.[0]?.environment?.environmentVariables).to.deep.equal([
      { name: "A", value: "b", type: "PLAINTEXT" },
    ]);
    expect(out.buildsNotFound).to.deep.equal(["p:2"]);

    aws.seedLogEvents("/branchline/p/build", "1", ["one", "two", "three", "four"]);
    const tail = await logs.send(
      new GetLogEventsCommand({
        logGroupName: "/branchline/p/build",
        logStreamName: "1",
        startFromHead: false,
        limit: 2,
      }),
    );
    expect(tail.events?.map((e) => e.message)).to.deep.equal(["three", "four"]);
    const tooMany = await logs
      .send(
        new GetLogEventsCommand({
          logGroupName: "/branchline/p/build",
          logStreamName: "1",
          limit: 10_001,
        }),
      )
      .catch((error: Error) => error);
    expect((tooMany as Error).name).to.equal("ValidationException");
    const gone = await logs
      .send(new GetLogEventsCommand({ logGroupName: "/branchline/p/build", logStreamName: "9" }))
      .catch((error: Error) => error);
    expect((gone as Error).name).to.equal("ResourceNotFoundException");
    codebuild.destroy();
    logs.destroy();
  });
});
