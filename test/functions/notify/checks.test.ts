/**
 * A clone execution's check run, end to end over the wire: the notify handler with a GitHub App,
 * the real SDK clients against the AWS double (CodePipeline with ListActionExecutions, CodeBuild,
 * CloudWatch Logs) and Octokit against the GitHub API double's check runs. EventBridge events from
 * fixtures drive one execution's whole life; every GitHub request and AWS call is recorded.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import { createHandler, FeedbackIncompleteError } from "../../../functions/notify/handler.js";
import { fixture, pipelineFixture } from "../../helpers/fixtures.js";
import { appEnv, installApp } from "../../helpers/github-app.js";
import { GitHubChecks } from "../../helpers/github-checks.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const CLONE = "hello-world-pr-2";
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:branchline-dev";
const CONTEXT = {
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:branchline-notify",
  getRemainingTimeInMillis: () => 30_000,
};
const CHECK_NAME = "branchline / hello-world";
const CONSOLE = "https://us-east-1.console.aws.amazon.com/codesuite";
const BUILD_ID = "hello-world-pr:6c1e2f3a-0b4c-4d5e-8f90-a1b2c3d4e5f6";
const LOG_GROUP = "/branchline/hello-world-pr/build";
const LOG_STREAM = "6c1e2f3a-0b4c-4d5e-8f90-a1b2c3d4e5f6";
/** Secrets a build may print: none of them may reach GitHub or the function's logs. */
const GITHUB_TOKEN = "ghp_R3alLookingT0kenValue1234567890abcdEF";
const ACCESS_KEY_ID = "AKIAZ7EXAMPLEKEY1234";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLEKEY";
const NPM_TOKEN = "npm_plainTextVariableValue42";
const T0 = new Date("2026-03-04T10:15:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe("notify handler: check runs (wire level)", function () {
  const wire = useWireDoubles();
  let checks: GitHubChecks;

  before(() => {
    new GitHubComments(wire.github);
    checks = new GitHubChecks(wire.github);
  });

  beforeEach(() => {
    checks.reset();
    wire.aws.seedPipeline(
      cloneDeclaration(pipelineFixture("v1-ecs"), {
        prNumber: 2,
        headBranch: "changes",
        headRepository: "Codertocat/Hello-World",
      }),
      cloneTags(SOURCE, 2, "changes"),
    );
  });

  function appHandler() {
    const app = installApp(wire.github);
    const notify = createHandler(
      defaultNotifyDeps(
        {
          ...appEnv(app, wire.github.url),
          SOURCE_PIPELINE_NAME: SOURCE,
          NOTIFICATION_TOPIC_ARN: TOPIC,
        },
        { logger: wire.logger },
      ),
    );
    return (event: unknown) => notify(event, CONTEXT);
  }

  function execution(status = "InProgress") {
    return wire.aws.seedExecution(CLONE, {
      status,
      startTime: T0,
      sourceRevisions: [{ actionName: "GitHub", revisionId: SHA }],
    });
  }

  function executionEvent(name: "started" | "failed" | "succeeded", id: string) {
    const base = fixture<Record<string, unknown>>(`events/pipeline-execution-${name}.json`);
    return { ...base, detail: { ...(base["detail"] as object), "execution-id": id } };
  }

  function stepEvent(id: string, stage: string, state: string, action?: string) {
    const file = action === undefined ? "stage-execution-started" : "action-execution-failed";
    const base = fixture<Record<string, unknown>>(`events/${file}.json`);
    return {
      ...base,
      detail: {
        ...(base["detail"] as object),
        "execution-id": id,
        stage,
        state,
        ...(action === undefined ? {} : { action }),
      },
    };
  }

  const sourceAction = {
    stageName: "Source",
    actionName: "GitHub",
    actionTypeId: {
      category: "Source",
      owner: "AWS",
      provider: "CodeStarSourceConnection",
      version: "1",
    },
  };
  const buildAction = {
    stageName: "Build",
    actionName: "Image",
    configuration: { ProjectName: "hello-world-pr" },
  };

  const writes = () =>
    wire.github.requests.filter(
      (r) => r.method !== "GET" && !r.path.startsWith("/app/installations/"),
    );
  const checkWrites = () => writes().filter((r) => r.path.includes("/check-runs"));
  const githubCalls = () => wire.github.requests.map((r) => `${r.method} ${r.path}`);
  const awsCalls = () => wire.aws.calls.map((c) => c.operation);
  const forget = () => {
    wire.github.requests.length = 0;
    wire.aws.calls.length = 0;
  };

  it("follows one execution from start to a failed build, with the build log's tail masked", async () => {
    const notify = appHandler();
    const id = execution();

    // A stage event before the execution's own STARTED: no run exists yet, none is created.
    const early = await notify(stepEvent(id, "Source", "STARTED"));
    expect(early).to.deep.include({ outcome: "reported", step: "stage", check: "none" });
    expect(writes()).to.deep.equal([]);

    // STARTED: the status and the comment as always, and the check run, created.
    const source = wire.aws.seedActionExecution(CLONE, id, {
      ...sourceAction,
      status: "InProgress",
      startTime: at(1),
    });
    const started = await notify(executionEvent("started", id));
    expect(started).to.deep.include({ status: "posted", comment: "created", check: "created" });
    expect(checks.of(SHA)).to.have.length(1);
    const [run] = checks.of(SHA);
    expect(run).to.deep.include({
      name: CHECK_NAME,
      head_sha: SHA,
      external_id: id,
      details_url: `${CONSOLE}/codepipeline/pipelines/${CLONE}/executions/${id}/timeline?region=us-east-1`,
      status: "in_progress",
      conclusion: null,
      started_at: "2026-03-04T10:15:00Z",
      app: "branchline-app",
    });
    expect(run?.output.title).to.equal("Running stage Source");
    expect(run?.output.summary?.split("\n").slice(2)).to.deep.equal([
      "| Stage | State | Duration |",
      "| --- | --- | --- |",
      "| `Source` | ⏳ In progress |  |",
      "| `Build` | ⏸️ Pending |  |",
    ]);

    // The source action succeeds and the build starts: the run is edited, nothing else is written.
    wire.aws.updateActionExecution(CLONE, source, { status: "Succeeded", lastUpdateTime: at(4) });
    const build = wire.aws.seedActionExecution(CLONE, id, {
      ...buildAction,
      status: "InProgress",
      startTime: at(5),
    });
    forget();
    const building = await notify(stepEvent(id, "Build", "STARTED", "Image"));
    expect(building).to.deep.include({ step: "action", check: "updated", errors: [] });
    expect(writes().map((r) => `${r.method} ${r.path}`)).to.deep.equal([
      `PATCH /repos/Codertocat/Hello-World/check-runs/${run?.id}`,
    ]);
    expect(checks.of(SHA)[0]?.output.summary).to.include("| `Source` | ✅ Succeeded | 3s |");
    expect(checks.of(SHA)[0]?.output.summary).to.include("| `Build` | ⏳ In progress |  |");
    expect(wire.aws.published()).to.deep.equal([]);

    // The build fails, printing secrets; CodePipeline shows the execution failed.
    wire.aws.updateActionExecution(CLONE, build, {
      status: "Failed",
      lastUpdateTime: at(65),
      externalExecutionId: BUILD_ID,
      errorDetails: { code: "JobFailed", message: "Build terminated with state: FAILED" },
    });
    wire.aws.updateExecution(CLONE, id, { status: "Failed", lastUpdateTime: at(66) });
    wire.aws.seedBuild({
      id: BUILD_ID,
      logs: { groupName: LOG_GROUP, streamName: LOG_STREAM },
      environmentVariables: [
        { name: "IMAGE_TAG_PREFIX", value: "pr-2", type: "PLAINTEXT" },
        { name: "NPM_TOKEN", value: NPM_TOKEN, type: "PLAINTEXT" },
        { name: "REGISTRY_PASSWORD", value: "/branchline/registry", type: "SECRETS_MANAGER" },
      ],
    });
    wire.aws.seedLogEvents(LOG_GROUP, LOG_STREAM, [
      ...Array.from({ length: 80 }, (_, i) => `[Container] step ${i}`),
      `git clone https://${GITHUB_TOKEN}@github.com/Codertocat/Hello-World.git`,
      `export AWS_ACCESS_KEY_ID=${ACCESS_KEY_ID}`,
      `aws_secret_access_key = ${SECRET_KEY}`,
      `npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN}`,
      "curl -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature' https://api.example.com",
      "docker login https://robot:hunter2hunter2@registry.example.com",
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
      "error: tests failed ``` (3 of 120)",
    ]);
    forget();
    const failed = await notify(stepEvent(id, "Build", "FAILED", "Image"));
    expect(failed).to.deep.include({ check: "updated", errors: [] });
    expect(awsCalls()).to.deep.equal([
      "ListTagsForResource",
      "GetPipeline",
      "ListPipelineExecutions",
      "ListActionExecutions",
      "BatchGetBuilds",
      "GetLogEvents",
    ]);
    expect(wire.aws.calls.find((c) => c.operation === "GetLogEvents")?.input).to.deep.equal({
      logGroupName: LOG_GROUP,
      logStreamName: LOG_STREAM,
      startFromHead: false,
      limit: 50,
    });
    const done = checks.of(SHA)[0];
    expect(done).to.deep.include({
      status: "completed",
      conclusion: "failure",
      completed_at: "2026-03-04T10:16:06Z",
    });
    expect(done?.output.title).to.equal("Pipeline failed in stage Build after 1m 6s");
    expect(done?.output.summary).to.include("| `Build` | ❌ Failed | 1m 0s |");
    const text = done?.output.text ?? "";
    expect(text).to.include("### Build / Image failed");
    expect(text).to.include("Build terminated with state: FAILED");
    expect(text).to.include(`git clone https://***@github.com/Codertocat/Hello-World.git`);
    expect(text).to.include("export AWS_ACCESS_KEY_ID=***");
    expect(text).to.include("aws_secret_access_key = ***");
    expect(text).to.include("Authorization: Bearer ***");
    expect(text).to.include("docker login https://***@registry.example.com");
    expect(text).to.not.include("MIIEowIBAAKCAQEA7");
    // The fence outlasts the log's own backticks; the tail is the last 50 lines.
    expect(text).to.include("````text\n");
    expect(text).to.include("[Container] step 79");
    expect(text).to.not.include("[Container] step 36\n");
    const tail = text.split("````text\n")[1]?.split("\n````")[0]?.split("\n") ?? [];
    expect(tail).to.have.length(50);
    // No secret reaches GitHub or the function's logs.
    const sent = JSON.stringify(wire.github.requests.map((r) => r.body));
    for (const secret of [GITHUB_TOKEN, ACCESS_KEY_ID, SECRET_KEY, NPM_TOKEN, "hunter2"]) {
      expect(sent).to.not.include(secret);
      expect(wire.logger.text()).to.not.include(secret);
    }
    // Stage and action events never post a status, edit the comment or notify.
    expect(writes().map((r) => `${r.method} ${r.path}`)).to.deep.equal([
      `PATCH /repos/Codertocat/Hello-World/check-runs/${run?.id}`,
    ]);
    expect(wire.aws.published()).to.deep.equal([]);

    // The execution's FAILED event: status, comment and notification; the run is as it should be.
    forget();
    const final = await notify(executionEvent("failed", id));
    expect(final).to.deep.include({
      status: "posted",
      notification: "published",
      check: "unchanged",
    });
    expect(checkWrites()).to.deep.equal([]);
    expect(wire.aws.published()).to.have.length(1);

    // The same event again (an EventBridge retry): no check run write.
    forget();
    expect(await notify(executionEvent("failed", id))).to.deep.include({ check: "unchanged" });
    expect(checkWrites()).to.deep.equal([]);

    // A late STARTED of the build (events are not ordered): the run stays completed.
    forget();
    const late = await notify(stepEvent(id, "Build", "STARTED", "Image"));
    expect(late).to.deep.include({ check: "unchanged" });
    expect(checkWrites()).to.deep.equal([]);
    expect(checks.of(SHA)).to.have.length(1);
    expect(checks.of(SHA)[0]).to.deep.include({ status: "completed", conclusion: "failure" });
  });

  it("never turns a completed run back to running when CodePipeline was read before it completed", async () => {
    const notify = appHandler();
    const id = execution();
    wire.aws.seedActionExecution(CLONE, id, {
      ...sourceAction,
      status: "InProgress",
      startTime: at(1),
    });
    await notify(executionEvent("started", id));
    // Another event's handler completed the run in the meantime.
    const stored = checks.of(SHA)[0];
    if (!stored) throw new Error("no check run");
    Object.assign(stored, { status: "completed", conclusion: "success" });
    forget();
    const result = await notify(stepEvent(id, "Source", "STARTED"));
    expect(result).to.deep.include({ check: "kept" });
    expect(checkWrites()).to.deep.equal([]);
    expect(checks.of(SHA)[0]).to.deep.include({ status: "completed", conclusion: "success" });
  });

  it("creates the run on a late STARTED of a finished execution as completed, and says superseded as neutral", async () => {
    const notify = appHandler();
    const id = execution("Superseded");
    expect(await notify(executionEvent("started", id))).to.deep.include({ check: "created" });
    expect(checks.of(SHA)[0]).to.deep.include({ status: "completed", conclusion: "neutral" });
    expect(checks.of(SHA)[0]?.output.title).to.equal(
      "Pipeline was superseded by a newer execution",
    );
  });

  it("edits every run of the execution when two first events created one each", async () => {
    const notify = appHandler();
    const id = execution();
    await notify(executionEvent("started", id));
    const first = checks.of(SHA)[0];
    if (!first) throw new Error("no check run");
    checks.runs.push({ ...structuredClone(first), id: 4999 });
    wire.aws.updateExecution(CLONE, id, { status: "Succeeded", lastUpdateTime: at(30) });
    forget();
    expect(await notify(executionEvent("succeeded", id))).to.deep.include({ check: "updated" });
    expect(checkWrites().map((r) => r.path)).to.deep.equal([
      `/repos/Codertocat/Hello-World/check-runs/4999`,
      `/repos/Codertocat/Hello-World/check-runs/${first.id}`,
    ]);
    expect(checks.of(SHA).map((r) => r.conclusion)).to.deep.equal(["success", "success"]);
  });

  it("asks for a retry when the build log cannot be read, after writing the run without it", async () => {
    const notify = appHandler();
    const id = execution("Failed");
    await notify(executionEvent("started", id));
    wire.aws.seedActionExecution(CLONE, id, {
      ...buildAction,
      status: "Failed",
      startTime: at(5),
      lastUpdateTime: at(20),
      externalExecutionId: BUILD_ID,
    });
    wire.aws.seedBuild({ id: BUILD_ID, logs: { groupName: LOG_GROUP, streamName: LOG_STREAM } });
    wire.aws.seedLogEvents(LOG_GROUP, LOG_STREAM, ["boom"]);
    wire.aws.inject({
      operation: "GetLogEvents",
      error: { status: 400, type: "AccessDeniedException" },
    });
    let thrown: unknown;
    try {
      await notify(stepEvent(id, "Build", "FAILED", "Image"));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.be.instanceOf(FeedbackIncompleteError);
    expect(checks.of(SHA)[0]?.output.text).to.equal(
      `The log of build ${BUILD_ID} could not be read.`,
    );
    // The retry reads it.
    const retried = await notify(stepEvent(id, "Build", "FAILED", "Image"));
    expect(retried).to.deep.include({ check: "updated", errors: [] });
    expect(checks.of(SHA)[0]?.output.text).to.include("boom");
  });

  it("measures the calls of each event", async () => {
    const notify = appHandler();
    const id = execution();
    const source = wire.aws.seedActionExecution(CLONE, id, {
      ...sourceAction,
      status: "InProgress",
      startTime: at(1),
    });
    await notify(executionEvent("started", id));
    wire.aws.updateActionExecution(CLONE, source, { status: "Succeeded", lastUpdateTime: at(4) });
    forget();
    await notify(stepEvent(id, "Source", "SUCCEEDED"));
    expect(awsCalls()).to.deep.equal([
      "ListTagsForResource",
      "GetPipeline",
      "ListPipelineExecutions",
      "ListActionExecutions",
    ]);
    expect(githubCalls()).to.deep.equal([
      `GET /repos/Codertocat/Hello-World/commits/${SHA}/check-runs`,
      `PATCH /repos/Codertocat/Hello-World/check-runs/${checks.of(SHA)[0]?.id}`,
    ]);
    wire.aws.updateExecution(CLONE, id, { status: "Succeeded", lastUpdateTime: at(30) });
    forget();
    await notify(executionEvent("succeeded", id));
    expect(awsCalls()).to.deep.equal([
      "ListTagsForResource",
      "GetPipeline",
      "ListPipelineExecutions",
      "ListActionExecutions",
      "Publish",
    ]);
    expect(githubCalls()).to.deep.equal([
      `POST /repos/Codertocat/Hello-World/statuses/${SHA}`,
      "GET /repos/Codertocat/Hello-World/issues/2/comments",
      "PATCH /repos/Codertocat/Hello-World/issues/comments/1000",
      `GET /repos/Codertocat/Hello-World/commits/${SHA}/check-runs`,
      `PATCH /repos/Codertocat/Hello-World/check-runs/${checks.of(SHA)[0]?.id}`,
    ]);
  });

  describe("with a token instead of an App", () => {
    function tokenHandler() {
      const notify = createHandler(
        defaultNotifyDeps(
          {
            SOURCE_PIPELINE_NAME: SOURCE,
            GITHUB_TOKEN: "ghp_test_token",
            GITHUB_API_URL: wire.github.url,
            NOTIFICATION_TOPIC_ARN: TOPIC,
          },
          { logger: wire.logger },
        ),
      );
      return (event: unknown) => notify(event, CONTEXT);
    }

    it("posts the commit status and no check run (the Checks API refuses tokens)", async () => {
      const notify = tokenHandler();
      const id = execution("Failed");
      const result = await notify(executionEvent("failed", id));
      expect(result).to.deep.include({ status: "posted", notification: "published", errors: [] });
      expect(result).to.not.have.property("check");
      expect(githubCalls().filter((c) => c.includes("check-runs"))).to.deep.equal([]);
      expect(awsCalls()).to.not.include("ListActionExecutions");
    });

    it("ignores a stage or action event without a GitHub call", async () => {
      const notify = tokenHandler();
      const id = execution();
      expect(await notify(stepEvent(id, "Build", "FAILED", "Image"))).to.deep.include({
        outcome: "ignored",
        reason: "check runs need a GitHub App",
      });
      expect(wire.github.requests).to.deep.equal([]);
    });
  });

  it("rejects a stage event from another account", async () => {
    const notify = appHandler();
    const event = { ...stepEvent(execution(), "Build", "STARTED"), account: "210987654321" };
    expect(await notify(event)).to.deep.include({ outcome: "rejected" });
    expect(checks.runs).to.deep.equal([]);
  });
});
