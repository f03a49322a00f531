/** The check run of a clone execution, as pure functions. */
import { expect } from "chai";
import {
  CHECK_OUTPUT_MAX,
  checkRunChange,
  checkRunContent,
  checkState,
  failingBuild,
  logTail,
  parseStepEvent,
  stageRows,
  type ActionRun,
  type CheckInput,
} from "../../../functions/core/checks.js";
import { BadRequestError } from "../../../functions/core/errors.js";
import { fixture } from "../../helpers/fixtures.js";

const T0 = Date.UTC(2026, 2, 4, 10, 15);
const at = (s: number) => new Date(T0 + s * 1000);
const declaration = {
  stages: [
    { name: "Source", actions: [{ name: "GitHub" }] },
    { name: "Build", actions: [{ name: "Image" }, { name: "Test" }] },
    { name: "Package", actions: [{ name: "Zip" }] },
  ],
} as unknown as CheckInput["declaration"];
const run = (stageName: string, actionName: string, status: string, from: number, to: number) =>
  ({
    stageName,
    actionName,
    status,
    startTime: at(from),
    lastUpdateTime: at(to),
  }) as ActionRun;

describe("core/checks", () => {
  it("maps every execution status to a check status and conclusion", () => {
    expect(
      [
        "InProgress",
        "Stopping",
        "Succeeded",
        "Failed",
        "Stopped",
        "Cancelled",
        "Superseded",
        "",
      ].map((status) => checkState(status)),
    ).to.deep.equal([
      { status: "in_progress" },
      { status: "in_progress" },
      { status: "completed", conclusion: "success" },
      { status: "completed", conclusion: "failure" },
      { status: "completed", conclusion: "cancelled" },
      { status: "completed", conclusion: "cancelled" },
      { status: "completed", conclusion: "neutral" },
      { status: "queued" },
    ]);
  });

  it("shows each declared stage by its latest runs, a retried stage by its retry", () => {
    const runs = [
      run("Source", "GitHub", "Succeeded", 0, 3),
      run("Build", "Image", "Failed", 5, 20),
      run("Build", "Image", "Succeeded", 30, 90),
      run("Build", "Test", "InProgress", 91, 91),
    ];
    expect(stageRows(declaration, runs, false)).to.deep.equal([
      { name: "Source", state: "Succeeded", duration: "3s" },
      { name: "Build", state: "In progress" },
      { name: "Package", state: "Pending" },
    ]);
    const finished = [...runs.slice(0, 3), run("Build", "Test", "Succeeded", 91, 130)];
    expect(stageRows(declaration, finished, true)).to.deep.equal([
      { name: "Source", state: "Succeeded", duration: "3s" },
      { name: "Build", state: "Succeeded", duration: "1m 40s" },
      { name: "Package", state: "Not run" },
    ]);
  });

  it("picks the first failed CodeBuild action in stage order as the failing build", () => {
    const build = (stage: string, action: string, id: string): ActionRun => ({
      ...run(stage, action, "Failed", 1, 2),
      provider: "CodeBuild",
      externalExecutionId: id,
    });
    const runs = [build("Package", "Zip", "p:2"), build("Build", "Test", "p:1")];
    expect(failingBuild(declaration, runs)?.externalExecutionId).to.equal("p:1");
    expect(failingBuild(declaration, [run("Build", "Test", "Failed", 1, 2)])).to.equal(undefined);
  });

  it("keeps the last 50 lines of a log, masked as a whole, each cut to 1,000 characters", () => {
    const events = [
      ...Array.from({ length: 60 }, (_, i) => `line ${i}`),
      "two\nlines",
      "\u001b[31mred\u001b[0m " + "x".repeat(2000),
      "-----BEGIN PRIVATE KEY-----",
      "MIIEvQIBADANBg",
      "-----END PRIVATE KEY-----",
      "",
    ];
    const tail = logTail(events);
    expect(tail).to.have.length(50);
    expect(tail[0]).to.equal("line 14");
    expect(tail.slice(-4, -1)).to.deep.equal(["two", "lines", `red ${"x".repeat(995)}…`]);
    expect(tail[tail.length - 1]).to.equal("***");
  });

  it("fits the output in GitHub's limits whatever the log holds", () => {
    const build: ActionRun = {
      ...run("Build", "Image", "Failed", 5, 20),
      provider: "CodeBuild",
      projectName: "p",
      externalExecutionId: "p:1",
      errorMessage: "e".repeat(5000),
    };
    const content = checkRunContent({
      service: "svc",
      pipeline: "svc-pr-1",
      executionId: "3137f7cb-7cf7-4ac1-b2a8-12345678abcd",
      region: "eu-west-1",
      sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
      declaration,
      apiStatus: "Failed",
      startTime: at(0),
      lastUpdateTime: at(20),
      runs: [build],
      log: { build, lines: Array.from({ length: 500 }, () => "y".repeat(5000)), secrets: [] },
    });
    expect(content.output.summary.length).to.be.at.most(CHECK_OUTPUT_MAX);
    expect(content.output.text?.length).to.be.at.most(CHECK_OUTPUT_MAX);
    expect(content).to.deep.include({
      name: "branchline / svc",
      status: "completed",
      conclusion: "failure",
      startedAt: "2026-03-04T10:15:00Z",
      completedAt: "2026-03-04T10:15:20Z",
    });
  });

  describe("checkRunChange", () => {
    const next = checkRunContent({
      service: "svc",
      pipeline: "svc-pr-1",
      executionId: "e",
      region: "eu-west-1",
      sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
      declaration,
      apiStatus: "InProgress",
      runs: [],
    });
    const current = {
      status: next.status,
      conclusion: null,
      detailsUrl: next.detailsUrl,
      output: { title: next.output.title, summary: next.output.summary, text: null },
    };

    it("writes nothing when nothing would change", () => {
      expect(checkRunChange(current, next)).to.equal("unchanged");
      expect(
        checkRunChange({ ...current, output: { ...current.output, title: "x" } }, next),
      ).to.equal("write");
    });

    it("never turns a completed run back to running", () => {
      expect(
        checkRunChange({ ...current, status: "completed", conclusion: "success" }, next),
      ).to.equal("regression");
    });
  });

  describe("parseStepEvent", () => {
    const stage = fixture<Record<string, unknown>>("events/stage-execution-started.json");
    const action = fixture<Record<string, unknown>>("events/action-execution-failed.json");

    it("reads a stage and an action event", () => {
      expect(parseStepEvent(stage)).to.deep.equal({
        kind: "stage",
        pipeline: "hello-world-pr-2",
        executionId: "3137f7cb-7cf7-4ac1-b2a8-12345678abcd",
        stage: "Source",
        state: "STARTED",
        region: "us-east-1",
        account: "123456789012",
        partition: "aws",
        time: "2025-03-04T10:15:01Z",
      });
      expect(parseStepEvent(action)).to.deep.include({
        kind: "action",
        stage: "Build",
        action: "Image",
        state: "FAILED",
      });
    });

    it("rejects an event without its stage or action", () => {
      const detail = action["detail"] as Record<string, unknown>;
      expect(() => parseStepEvent({ ...action, detail: { ...detail, action: "" } })).to.throw(
        BadRequestError,
        "detail.action must be a non-empty string",
      );
      expect(() => parseStepEvent({ ...stage, account: "me" })).to.throw(BadRequestError);
    });
  });
});
