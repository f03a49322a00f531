import { expect } from "chai";
import { loadMessages, MESSAGES } from "../../../functions/app/messages.js";
import { BadRequestError, ConfigurationError } from "../../../functions/core/errors.js";
import {
  commentBody,
  commentMarker,
  commitOf,
  commitStatus,
  describeState,
  effectiveState,
  EXECUTION_STATES,
  executionUrl,
  foreignEventReason,
  formatDuration,
  githubWebUrl,
  imageTags,
  locationOfArn,
  markdownCode,
  notificationMessage,
  parseExecutionEvent,
  partitionOfRegion,
  pipelineUrl,
  render,
  sourceFacts,
  STATE_TABLE,
  STATUS_DESCRIPTION_MAX,
  type CommitState,
  type ExecutionEvent,
  type ExecutionState,
} from "../../../functions/core/feedback.js";
import { fixture, pipelineFixture } from "../../helpers/fixtures.js";

const EVENT: ExecutionEvent = {
  pipeline: "hello-world-pr-2",
  executionId: "3137f7cb-7cf7-4ac1-b2a8-12345678abcd",
  state: "SUCCEEDED",
  region: "eu-west-1",
  account: "123456789012",
  partition: "aws",
  time: "2025-03-04T10:19:12Z",
};
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

describe("feedback (core)", () => {
  describe("execution state -> commit status", () => {
    const table: [ExecutionState, CommitState, string][] = [
      ["STARTED", "pending", "Pipeline started"],
      ["RESUMED", "pending", "Pipeline resumed"],
      ["STOPPING", "pending", "Pipeline is stopping"],
      ["SUCCEEDED", "success", "Pipeline succeeded in 4m 12s"],
      ["FAILED", "failure", "Pipeline failed after 4m 12s"],
      ["CANCELED", "error", "Pipeline was canceled after 4m 12s"],
      ["SUPERSEDED", "error", "Pipeline was superseded by a newer execution after 4m 12s"],
      ["STOPPED", "error", "Pipeline was stopped after 4m 12s"],
    ];

    it("covers every execution state exactly once", () => {
      expect(table.map(([state]) => state).sort()).to.deep.equal([...EXECUTION_STATES].sort());
      expect(Object.keys(STATE_TABLE).sort()).to.deep.equal([...EXECUTION_STATES].sort());
    });

    for (const [state, commit, description] of table) {
      it(`${state} -> ${commit}`, () => {
        expect(commitStatus(EVENT, state, "4m 12s")).to.deep.equal({
          state: commit,
          context: "branchline/hello-world-pr-2",
          description,
          targetUrl:
            "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/hello-world-pr-2/executions/3137f7cb-7cf7-4ac1-b2a8-12345678abcd/timeline?region=eu-west-1",
        });
      });
    }

    it("leaves out an unknown duration", () => {
      expect(describeState("SUCCEEDED", undefined)).to.equal("Pipeline succeeded");
      expect(describeState("FAILED", undefined)).to.equal("Pipeline failed");
    });

    it("keeps every description within GitHub's 140 characters", () => {
      for (const state of EXECUTION_STATES) {
        const description = describeState(state, `${"9".repeat(200)}h 59m`);
        expect([...description].length, state).to.be.at.most(STATUS_DESCRIPTION_MAX);
      }
    });
  });

  describe("effectiveState", () => {
    it("keeps a late STARTED from turning a finished execution back to pending", () => {
      expect(effectiveState("STARTED", "Succeeded")).to.equal("SUCCEEDED");
      expect(effectiveState("RESUMED", "Failed")).to.equal("FAILED");
      expect(effectiveState("STOPPING", "Stopped")).to.equal("STOPPED");
      expect(effectiveState("STARTED", "Cancelled")).to.equal("CANCELED");
    });

    it("otherwise reports the event's state", () => {
      expect(effectiveState("STARTED", "InProgress")).to.equal("STARTED");
      expect(effectiveState("STARTED", undefined)).to.equal("STARTED");
      expect(effectiveState("FAILED", "Succeeded")).to.equal("FAILED");
    });
  });

  describe("parseExecutionEvent", () => {
    it("reads the EventBridge events", () => {
      for (const [name, state] of [
        ["started", "STARTED"],
        ["succeeded", "SUCCEEDED"],
        ["failed", "FAILED"],
      ] as const) {
        const event = parseExecutionEvent(fixture(`events/pipeline-execution-${name}.json`));
        expect(event).to.deep.include({
          pipeline: "hello-world-pr-2",
          executionId: "3137f7cb-7cf7-4ac1-b2a8-12345678abcd",
          state,
          region: "us-east-1",
          account: "123456789012",
          partition: "aws",
        });
      }
    });

    it("takes the partition from the pipeline's ARN in `resources`, else from the region", () => {
      const base = fixture<Record<string, unknown>>("events/pipeline-execution-started.json");
      const china = {
        ...base,
        region: "cn-north-1",
        resources: ["arn:aws-cn:codepipeline:cn-north-1:123456789012:hello-world-pr-2"],
      };
      expect(parseExecutionEvent(china).partition).to.equal("aws-cn");
      const gov = { ...base, region: "us-gov-west-1", resources: [] };
      expect(parseExecutionEvent(gov).partition).to.equal("aws-us-gov");
      // An ARN of another pipeline or account says nothing about this one.
      const other = {
        ...base,
        resources: ["arn:aws-cn:codepipeline:us-east-1:123456789012:billing"],
      };
      expect(parseExecutionEvent(other).partition).to.equal("aws");
      expect(partitionOfRegion("eu-central-1")).to.equal("aws");
    });

    it("refuses events whose source, account or region are malformed", () => {
      const base = fixture<Record<string, unknown>>("events/pipeline-execution-started.json");
      expect(() => parseExecutionEvent({ ...base, source: "my.app" })).to.throw(
        BadRequestError,
        /source/,
      );
      expect(() => parseExecutionEvent({ ...base, account: "12345" })).to.throw(
        BadRequestError,
        /account/,
      );
      expect(() => parseExecutionEvent({ ...base, region: "us-east-1:1" })).to.throw(
        BadRequestError,
        /region/,
      );
    });
  });

  describe("the function's own location", () => {
    it("reads the partition, region and account of a Lambda ARN", () => {
      expect(locationOfArn("arn:aws:lambda:eu-west-1:123456789012:function:notify")).to.deep.equal({
        partition: "aws",
        region: "eu-west-1",
        account: "123456789012",
      });
      expect(
        locationOfArn("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:notify:live"),
      ).to.deep.equal({
        partition: "aws-us-gov",
        region: "us-gov-west-1",
        account: "123456789012",
      });
      for (const bad of [undefined, "", "notify", "arn:aws:lambda::123456789012:function:x"]) {
        expect(locationOfArn(bad), String(bad)).to.equal(undefined);
      }
      expect(locationOfArn("arn:aws:lambda:eu-west-1:12345:function:x")).to.equal(undefined);
    });

    it("tells an event of another partition, region or account", () => {
      const self = { partition: "aws", region: "eu-west-1", account: "123456789012" };
      expect(foreignEventReason(EVENT, self)).to.equal(undefined);
      expect(foreignEventReason({ ...EVENT, account: "210987654321" }, self)).to.equal(
        "the event comes from aws:eu-west-1:210987654321, not from this function's aws:eu-west-1:123456789012",
      );
      expect(foreignEventReason({ ...EVENT, region: "eu-west-2" }, self)).to.match(/eu-west-2/);
      expect(foreignEventReason({ ...EVENT, partition: "aws-cn" }, self)).to.match(/aws-cn/);
    });

    it("refuses other events and unknown states", () => {
      const event = fixture<Record<string, unknown>>("events/pipeline-execution-started.json");
      expect(() =>
        parseExecutionEvent({
          ...event,
          "detail-type": "CodePipeline Stage Execution State Change",
        }),
      ).to.throw(BadRequestError);
      expect(() =>
        parseExecutionEvent({
          ...event,
          detail: { ...(event["detail"] as object), state: "PAUSED" },
        }),
      ).to.throw(BadRequestError, /PAUSED/);
      expect(() => parseExecutionEvent({ ...event, time: "yesterday" })).to.throw(BadRequestError);
      expect(() => parseExecutionEvent(null)).to.throw(BadRequestError);
    });
  });

  describe("sourceFacts and commitOf", () => {
    const facts = sourceFacts(pipelineFixture("v1-ecs"));

    it("reads repository, branch, source action and build projects", () => {
      expect(facts).to.deep.equal({
        pipeline: "hello-world",
        repository: "Codertocat/Hello-World",
        branch: "master",
        sourceAction: { name: "GitHub", artifacts: ["source"] },
        buildProjects: ["hello-world-build"],
      });
    });

    it("refuses a pipeline without a GitHub source", () => {
      const pipeline = pipelineFixture("v1-ecs");
      pipeline.stages = pipeline.stages.slice(1);
      expect(() => sourceFacts(pipeline)).to.throw(ConfigurationError);
    });

    it("picks the source action's revision by action name or artifact name", () => {
      const other = "a".repeat(40);
      expect(
        commitOf(
          [
            { actionName: "Tools", revisionId: other },
            { actionName: "GitHub", revisionId: SHA.toUpperCase() },
          ],
          facts,
        ),
      ).to.equal(SHA);
      expect(
        commitOf(
          [
            { name: "tools", revisionId: other },
            { name: "source", revisionId: SHA },
          ],
          facts,
        ),
      ).to.equal(SHA);
    });

    it("falls back to the only commit-like revision, else none", () => {
      expect(
        commitOf(
          [
            { actionName: "S3", revisionId: "v1" },
            { actionName: "X", revisionId: SHA },
          ],
          facts,
        ),
      ).to.equal(SHA);
      expect(
        commitOf(
          [
            { actionName: "X", revisionId: SHA },
            { actionName: "Y", revisionId: "b".repeat(40) },
          ],
          facts,
        ),
      ).to.equal(undefined);
      expect(commitOf([], facts)).to.equal(undefined);
    });
  });

  describe("texts", () => {
    it("formats durations", () => {
      expect(formatDuration(45_400)).to.equal("45s");
      expect(formatDuration(252_000)).to.equal("4m 12s");
      expect(formatDuration(3_780_000)).to.equal("1h 3m");
      expect(formatDuration(-1)).to.equal(undefined);
      expect(formatDuration(undefined)).to.equal(undefined);
    });

    it("fills templates and refuses a placeholder without a value", () => {
      expect(render(["a {{x}}", "{{ y }}"], { x: "1", y: "2" })).to.equal("a 1\n2");
      expect(() => render("{{missing}}", {})).to.throw(RangeError, /missing/);
    });

    it("derives GitHub's web address from the API address", () => {
      expect(githubWebUrl(undefined)).to.equal("https://github.com");
      expect(githubWebUrl("https://api.github.com")).to.equal("https://github.com");
      expect(githubWebUrl("https://ghe.example.com/api/v3/")).to.equal("https://ghe.example.com");
      expect(githubWebUrl("http://127.0.0.1:4000")).to.equal("http://127.0.0.1:4000");
    });

    it("encodes names in console links", () => {
      expect(executionUrl("us-east-1", "a@b", "id")).to.equal(
        "https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/a%40b/executions/id/timeline?region=us-east-1",
      );
    });

    it("links the console of the region's partition", () => {
      expect(pipelineUrl("cn-north-1", "p")).to.equal(
        "https://console.amazonaws.cn/codesuite/codepipeline/pipelines/p/view?region=cn-north-1",
      );
      expect(pipelineUrl("us-gov-west-1", "p")).to.equal(
        "https://console.amazonaws-us-gov.com/codesuite/codepipeline/pipelines/p/view?region=us-gov-west-1",
      );
    });

    it("writes any branch name as inline code that Markdown cannot break out of", () => {
      const cases: [string, string][] = [
        ["main", "`main`"],
        ["feature/*bold*_em_", "`feature/*bold*_em_`"],
        ["<img src=x>@octocat[l](http://e)", "`<img src=x>@octocat[l](http://e)`"],
        ["a|b", "`a\\|b`"],
        ["`tick``", "``` `tick`` ```"],
        ["x`", "`` x` ``"],
        ["line\nbreak\r", "`line\ufffdbreak\ufffd`"],
        // Backslashes before a pipe: an odd run gets one more, so that the pipe stays escaped.
        ["a\\|b", "`a\\\\\\|b`"],
        ["a\\\\|b", "`a\\\\\\|b`"],
      ];
      for (const [branch, expected] of cases) {
        expect(markdownCode(branch), JSON.stringify(branch)).to.equal(expected);
      }
    });

    it("lists the image tags of a pull request's commit", () => {
      expect(imageTags(2, SHA)).to.deep.equal(["pr-2", "pr-2-6dcb09b"]);
      expect(imageTags(2, undefined)).to.deep.equal(["pr-2"]);
    });

    it("builds the comment with the marker first, links and image tags", () => {
      const body = commentBody(MESSAGES.pullRequestComment, {
        clone: "hello-world-pr-2",
        prNumber: 2,
        branch: "fix|`odd`",
        region: "eu-west-1",
        facts: { buildProjects: ["hello-world-build"] },
        execution: { id: "e-1", state: "FAILED", sha: SHA, duration: "2m 3s", time: EVENT.time },
      });
      expect(body.split("\n")[0]).to.equal(commentMarker("hello-world-pr-2"));
      expect(body).to.equal(
        [
          "<!-- branchline:hello-world-pr-2 -->",
          "### branchline: pipeline for pull request #2",
          "",
          "| | |",
          "| --- | --- |",
          "| Pipeline | [hello-world-pr-2](https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/hello-world-pr-2/view?region=eu-west-1) |",
          "| Branch | `` fix\\|`odd` `` |",
          "| Last execution | [Failed](https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/hello-world-pr-2/executions/e-1/timeline?region=eu-west-1) in 2m 3s (2025-03-04T10:19:12Z) |",
          "| Commit | `6dcb09b` |",
          "| Build logs | [hello-world-build](https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/projects/hello-world-build/history?region=eu-west-1) |",
          "| Image tags | `pr-2`, `pr-2-6dcb09b` |",
          "",
          "<sub>branchline keeps this comment up to date while the pull request is open.</sub>",
        ].join("\n"),
      );
    });

    it("links the execution for build logs when no CodeBuild project is known", () => {
      const body = commentBody(MESSAGES.pullRequestComment, {
        clone: "p-pr-1",
        prNumber: 1,
        branch: "b",
        region: "us-east-1",
        facts: { buildProjects: [] },
        sha: SHA,
      });
      expect(body).to.include("| Last execution | not run yet |");
      expect(body).to.include(
        "| Build logs | [pipeline](https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/p-pr-1/view?region=us-east-1) |",
      );
    });

    it("keeps the notification subject ASCII, on one line and within 100 characters", () => {
      const long = { ...EVENT, pipeline: `${"p".repeat(95)}-pr-7` };
      const message = notificationMessage(
        { subject: "ünïcode {{pipeline}}\n{{result}}", body: "{{pipeline}}" },
        {
          event: long,
          state: "SUCCEEDED",
          branch: "b",
          repository: "o/r",
          sha: SHA,
          duration: undefined,
          buildProjects: [],
        },
      );
      expect(message.subject.length).to.be.at.most(100);
      expect(message.subject).to.match(/^[\x20-\x7e]+$/);
      expect(message.subject.endsWith("...")).to.equal(true);
    });

    it("checks the template file's shape", () => {
      expect(() => loadMessages({ pullRequestComment: 3 })).to.throw(
        TypeError,
        /pullRequestComment/,
      );
      expect(loadMessages().notification.subject).to.equal("branchline: {{pipeline}} {{result}}");
    });
  });
});
