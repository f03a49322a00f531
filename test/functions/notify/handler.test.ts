/**
 * The notify handler end to end over the wire: EventBridge event fixtures, the real SDK clients
 * against the AWS double (CodePipeline and SNS), and Octokit against the local GitHub API double.
 * The handler runs with a Lambda context whose `invokedFunctionArn` places it in the double's
 * account and region, as Lambda passes it.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import type { PipelineDeclaration, Tag } from "../../../functions/core/pipeline.js";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import {
  createHandler,
  FeedbackIncompleteError,
  type LambdaContextLike,
  type NotifyResult,
} from "../../../functions/notify/handler.js";
import { fixture, pipelineFixture } from "../../helpers/fixtures.js";
import { BRANCHLINE, GitHubComments, SOMEONE_ELSE } from "../../helpers/github-comments.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const CLONE = "hello-world-pr-2";
const REPOSITORY = "Codertocat/Hello-World";
const TOKEN = "ghs_test_token";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:branchline-dev";
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const SOURCE_SHA = "1111111111111111111111111111111111111111";
const CONSOLE = "https://us-east-1.console.aws.amazon.com/codesuite";
const FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:branchline-notify";
const CONTEXT = { invokedFunctionArn: FUNCTION_ARN, getRemainingTimeInMillis: () => 30_000 };
/** Four minutes and twelve seconds after the execution started. */
const RUN_MS = 252_000;

type EventName = "started" | "succeeded" | "failed";

describe("notify handler (wire level)", function () {
  const wire = useWireDoubles();
  let store: GitHubComments;

  before(() => {
    store = new GitHubComments(wire.github);
  });

  beforeEach(() => {
    store.reset();
  });

  function seedClone(prNumber = 2, tags?: Tag[], branch = "changes"): string {
    const declaration: PipelineDeclaration = cloneDeclaration(pipelineFixture("v1-ecs"), {
      prNumber,
      headBranch: branch,
      headRepository: REPOSITORY,
    });
    wire.aws.seedPipeline(declaration, tags ?? cloneTags(SOURCE, prNumber, branch));
    return declaration.name;
  }

  function seedRun(pipeline: string, status: string, sha: string | null = SHA) {
    const id = wire.aws.seedExecution(pipeline, {
      status,
      sourceRevisions: sha ? [{ actionName: "GitHub", revisionId: sha }] : [],
    });
    const started = wire.aws
      .executions(pipeline)
      .find((e) => e.pipelineExecutionId === id)?.startTime;
    return { id, startTime: started ?? new Date() };
  }

  /** A fixture event for the execution, `RUN_MS` after its start. */
  function event(name: EventName, pipeline: string, run: { id: string; startTime: Date }) {
    const base = fixture<Record<string, unknown>>(`events/pipeline-execution-${name}.json`);
    return {
      ...base,
      time: new Date(run.startTime.getTime() + RUN_MS).toISOString(),
      resources: [`arn:aws:codepipeline:us-east-1:123456789012:${pipeline}`],
      detail: { ...(base["detail"] as object), pipeline, "execution-id": run.id },
    };
  }

  /** The handler of one container, invoked with `CONTEXT` unless told otherwise. */
  function handlerWith(env: Record<string, string | undefined> = {}) {
    const handler = createHandler(
      defaultNotifyDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          GITHUB_TOKEN: TOKEN,
          GITHUB_API_URL: wire.github.url,
          NOTIFICATION_TOPIC_ARN: TOPIC,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
    return (event: unknown, context: LambdaContextLike = CONTEXT) => handler(event, context);
  }

  const githubCalls = () => wire.github.requests.map((r) => `${r.method} ${r.path}`);
  const statuses = () =>
    wire.github.requests.filter((r) => r.method === "POST" && r.path.includes("/statuses/"));

  function executionLink(pipeline: string, id: string): string {
    return `${CONSOLE}/codepipeline/pipelines/${pipeline}/executions/${id}/timeline?region=us-east-1`;
  }

  describe("a clone", () => {
    it("posts the status on the execution's commit, creates the comment and notifies", async () => {
      seedClone();
      const run = seedRun(CLONE, "Succeeded");
      const result = await handlerWith()(event("succeeded", CLONE, run));

      expect(result).to.deep.include({
        outcome: "reported",
        pullRequest: 2,
        commit: SHA,
        status: "posted",
        comment: "created",
        notification: "published",
        errors: [],
      });
      expect(statuses()).to.have.length(1);
      expect(statuses()[0]).to.deep.include({
        path: `/repos/Codertocat/Hello-World/statuses/${SHA}`,
        authorization: `token ${TOKEN}`,
        body: {
          state: "success",
          context: "branchline/hello-world-pr-2",
          description: "Pipeline succeeded in 4m 12s",
          target_url: executionLink(CLONE, run.id),
        },
      });
      const [comment] = store.comments.get(2) ?? [];
      expect(comment?.body).to.include("<!-- branchline:hello-world-pr-2 -->");
      expect(comment?.body).to.include(`| Image tags | \`pr-2\`, \`pr-2-6dcb09b\` |`);
      expect(comment?.body).to.include(
        `| Build logs | [hello-world-build](${CONSOLE}/codebuild/projects/hello-world-build/history?region=us-east-1) |`,
      );
      expect(comment?.body).to.include(`[Succeeded](${executionLink(CLONE, run.id)}) in 4m 12s`);

      const time = new Date(run.startTime.getTime() + RUN_MS).toISOString();
      expect(wire.aws.published()).to.deep.equal([
        {
          topicArn: TOPIC,
          subject: "branchline: hello-world-pr-2 succeeded",
          message: [
            "Pipeline hello-world-pr-2 succeeded.",
            "",
            "Pull request: #2",
            "Repository:   Codertocat/Hello-World",
            "Branch:       changes",
            `Commit:       ${SHA}`,
            "Duration:     4m 12s",
            `Finished at:  ${time}`,
            "",
            `Execution:    ${executionLink(CLONE, run.id)}`,
            `Build logs:   ${CONSOLE}/codebuild/projects/hello-world-build/history?region=us-east-1`,
            `On GitHub:    ${wire.github.url}/Codertocat/Hello-World/pull/2`,
          ].join("\n"),
        },
      ]);
    });

    it("notifies a failure with its own text", async () => {
      seedClone();
      const run = seedRun(CLONE, "Failed");
      await handlerWith()(event("failed", CLONE, run));
      expect(statuses()[0]?.body).to.deep.include({
        state: "failure",
        description: "Pipeline failed after 4m 12s",
      });
      const [message] = wire.aws.published();
      expect(message?.subject).to.equal("branchline: hello-world-pr-2 failed");
      expect(message?.message.split("\n").slice(0, 7)).to.deep.equal([
        "Pipeline hello-world-pr-2 failed.",
        "",
        "Pull request: #2",
        "Repository:   Codertocat/Hello-World",
        "Branch:       changes",
        `Commit:       ${SHA}`,
        "Duration:     4m 12s",
      ]);
    });

    it("takes the pull request from the clone's tags and never asks GitHub for pull requests", async () => {
      // A newer open pull request from the same branch must not receive anything.
      wire.github.addPullRequest({
        number: 9,
        state: "open",
        head: { ref: "changes", sha: "9".repeat(40), repo: REPOSITORY },
        base: { ref: "master", repo: REPOSITORY },
      });
      seedClone();
      const run = seedRun(CLONE, "Succeeded");
      await handlerWith()(event("succeeded", CLONE, run));
      expect(githubCalls()).to.deep.equal([
        `POST /repos/Codertocat/Hello-World/statuses/${SHA}`,
        "GET /user",
        "GET /repos/Codertocat/Hello-World/issues/2/comments",
        "POST /repos/Codertocat/Hello-World/issues/2/comments",
        "GET /repos/Codertocat/Hello-World/issues/2/comments",
      ]);
      expect(wire.aws.calls.filter((c) => c.operation === "ListTagsForResource")).to.have.length(1);
      expect(wire.aws.calls[0]?.input).to.deep.equal({
        resourceArn: "arn:aws:codepipeline:us-east-1:123456789012:hello-world-pr-2",
      });
    });

    it("edits its one comment on later events instead of adding comments", async () => {
      seedClone();
      const handler = handlerWith();
      const run = seedRun(CLONE, "InProgress");
      await handler(event("started", CLONE, run));
      expect(store.comments.get(2)).to.have.length(1);
      expect(store.comments.get(2)?.[0]?.body).to.include("[Started]");

      wire.github.requests.length = 0;
      await handler(event("failed", CLONE, run));
      expect(githubCalls()).to.deep.equal([
        `POST /repos/Codertocat/Hello-World/statuses/${SHA}`,
        "GET /repos/Codertocat/Hello-World/issues/2/comments",
        "PATCH /repos/Codertocat/Hello-World/issues/comments/1000",
      ]);
      expect(store.comments.get(2)).to.have.length(1);
      expect(store.comments.get(2)?.[0]?.body).to.include("[Failed]");

      // The same event again changes nothing: no edit either.
      wire.github.requests.length = 0;
      const again = (await handler(event("failed", CLONE, run))) as { comment: string };
      expect(again.comment).to.equal("unchanged");
      expect(
        githubCalls().filter(
          (c) => c.startsWith("PATCH") || (c.endsWith("/comments") && c.startsWith("POST")),
        ),
      ).to.deep.equal([]);
    });

    it("finds its comment on a later page of a long discussion", async () => {
      seedClone();
      const run = seedRun(CLONE, "InProgress");
      const handler = handlerWith();
      store.comments.set(
        2,
        Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `comment ${i}` })),
      );
      await handler(event("started", CLONE, run));
      expect(store.comments.get(2)?.[150]?.body).to.include("<!-- branchline:hello-world-pr-2 -->");
      store.comments.get(2)?.push({ id: 2000, body: "a later remark" });

      wire.github.requests.length = 0;
      await handler(event("succeeded", CLONE, run));
      expect(githubCalls().slice(1)).to.deep.equal([
        "GET /repos/Codertocat/Hello-World/issues/2/comments",
        "GET /repos/Codertocat/Hello-World/issues/2/comments",
        "PATCH /repos/Codertocat/Hello-World/issues/comments/1000",
      ]);
      expect(store.comments.get(2)).to.have.length(152);
    });

    it("posts pending on STARTED and sends no message", async () => {
      seedClone();
      const run = seedRun(CLONE, "InProgress");
      await handlerWith()(event("started", CLONE, run));
      expect(statuses()[0]?.body).to.deep.include({
        state: "pending",
        description: "Pipeline started",
      });
      expect(wire.aws.published()).to.deep.equal([]);
    });

    it("reports a late STARTED of a finished execution as finished, without a message", async () => {
      seedClone();
      const run = seedRun(CLONE, "Succeeded");
      const result = await handlerWith()(event("started", CLONE, run));
      expect(result).to.deep.include({ state: "STARTED", reportedState: "SUCCEEDED" });
      expect(statuses()[0]?.body).to.deep.include({ state: "success" });
      expect(wire.aws.published()).to.deep.equal([]);
    });

    it("skips the status while the commit is not known, but keeps the comment", async () => {
      seedClone();
      const run = seedRun(CLONE, "InProgress", null);
      const result = await handlerWith()(event("started", CLONE, run));
      expect(result).to.deep.include({ status: "skipped", comment: "created" });
      expect(statuses()).to.deep.equal([]);
      expect(store.comments.get(2)?.[0]?.body).to.include("| Commit | not known yet |");
    });
  });

  describe("the source pipeline", () => {
    it("gets a status on its commit and a message, and no comment", async () => {
      const run = seedRun(SOURCE, "Succeeded", SOURCE_SHA);
      const result = await handlerWith()(event("succeeded", SOURCE, run));
      expect(result).to.deep.include({ outcome: "reported", status: "posted", comment: "skipped" });
      expect(githubCalls()).to.deep.equal([
        `POST /repos/Codertocat/Hello-World/statuses/${SOURCE_SHA}`,
      ]);
      expect(statuses()[0]?.body).to.deep.include({ context: "branchline/hello-world" });
      expect(wire.aws.calls.map((c) => c.operation)).to.not.include("ListTagsForResource");
      const [message] = wire.aws.published();
      expect(message?.message).to.include("Pull request: none (source pipeline)\n");
      expect(message?.message).to.include("Branch:       master\n");
    });
  });

  describe("pipelines that are not ours", () => {
    it("ignores a pipeline outside the source's names without any call", async () => {
      wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: "billing" });
      const run = seedRun("billing", "Failed");
      wire.aws.calls.length = 0;
      const result = await handlerWith()(event("failed", "billing", run));
      expect(result).to.deep.include({ outcome: "ignored" });
      expect(wire.aws.calls).to.deep.equal([]);
      expect(wire.github.requests).to.deep.equal([]);
      expect(wire.aws.published()).to.deep.equal([]);
    });

    it("ignores a pipeline named like a clone but without our tags", async () => {
      seedClone(3, [{ key: "team", value: "billing" }]);
      const run = seedRun("hello-world-pr-3", "Failed");
      const result = await handlerWith()(event("failed", "hello-world-pr-3", run));
      expect(result).to.deep.include({
        outcome: "ignored",
        reason: "hello-world-pr-3 is not managed by branchline for hello-world",
      });
      expect(wire.github.requests).to.deep.equal([]);
      expect(wire.aws.published()).to.deep.equal([]);
    });

    it("rejects an event that is not a pipeline execution state change", async () => {
      const result = await handlerWith()({ "detail-type": "Scheduled Event", detail: {} });
      expect(result).to.deep.include({ outcome: "rejected" });
      expect(wire.aws.calls).to.deep.equal([]);
    });
  });

  describe("failures", () => {
    it("still publishes the message when GitHub fails, reports it and does not ask for a retry", async () => {
      seedClone();
      store.failStatuses = true;
      const run = seedRun(CLONE, "Succeeded");
      const result = (await handlerWith()(event("succeeded", CLONE, run))) as NotifyResult & {
        errors: string[];
        retry: boolean;
      };
      expect(result).to.deep.include({
        status: "failed",
        comment: "created",
        notification: "published",
        retry: false,
      });
      expect(result.errors).to.have.length(1);
      expect(result.errors[0]).to.match(/^commit status: HttpError/);
      expect(wire.aws.published()).to.have.length(1);
      expect(
        wire.logger.lines.some((l) => l.level === "error" && l.fields["step"] === "commit status"),
      ).to.equal(true);
    });

    it("throws for a retry when the message fails, and the retry neither duplicates the comment nor the message", async () => {
      seedClone();
      wire.aws.inject({ operation: "Publish", error: { status: 403, type: "AuthorizationError" } });
      const run = seedRun(CLONE, "Failed");
      const handler = handlerWith();
      let thrown: unknown;
      try {
        await handler(event("failed", CLONE, run));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(FeedbackIncompleteError);
      expect((thrown as Error).message).to.match(/notification: AuthorizationError/);
      expect(statuses()).to.have.length(1);
      expect(store.comments.get(2)).to.have.length(1);
      expect(wire.aws.published()).to.deep.equal([]);

      // Lambda's retry of the same event.
      const retried = await handler(event("failed", CLONE, run));
      expect(retried).to.deep.include({
        comment: "unchanged",
        notification: "published",
        retry: false,
      });
      expect(store.comments.get(2)).to.have.length(1);
      expect(wire.aws.published()).to.have.length(1);
    });

    it("throws for a retry when GitHub fails on an event that sends no message", async () => {
      seedClone();
      store.failStatuses = true;
      const run = seedRun(CLONE, "InProgress");
      let thrown: unknown;
      try {
        await handlerWith()(event("started", CLONE, run));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(FeedbackIncompleteError);
    });
  });

  describe("events from elsewhere", () => {
    /** The fixture event moved to another partition, region or account. */
    function elsewhere(at: { partition?: string; region?: string; account?: string }) {
      const run = seedRun(SOURCE, "Succeeded", SOURCE_SHA);
      const base = event("succeeded", SOURCE, run);
      const { partition = "aws", region = "us-east-1", account = "123456789012" } = at;
      return {
        ...base,
        region,
        account,
        resources: [`arn:${partition}:codepipeline:${region}:${account}:${SOURCE}`],
      };
    }

    for (const [label, at] of [
      ["another account", { account: "210987654321" }],
      ["another region", { region: "eu-west-1" }],
      ["another partition", { partition: "aws-cn" }],
    ] as const) {
      it(`drops an event of ${label} with no call, logs it and returns (no retry)`, async () => {
        const foreign = elsewhere(at);
        wire.aws.calls.length = 0;
        const result = await handlerWith()(foreign);
        expect(result).to.deep.include({ outcome: "rejected" });
        expect((result as { reason: string }).reason).to.match(
          /^the event comes from .+, not from this function's aws:us-east-1:123456789012$/,
        );
        expect(wire.aws.calls).to.deep.equal([]);
        expect(wire.github.requests).to.deep.equal([]);
        expect(wire.aws.published()).to.deep.equal([]);
        expect(
          wire.logger.lines.filter((l) => l.level === "warn").map((l) => l.message),
        ).to.deep.equal(["event rejected"]);
      });
    }

    it("drops a malformed account or region without a call", async () => {
      for (const bad of [{ account: "1234" }, { region: "us-east-1:x" }]) {
        const malformed = { ...elsewhere({}), ...bad };
        wire.aws.calls.length = 0;
        const result = await handlerWith()(malformed);
        expect(result, JSON.stringify(bad)).to.deep.include({ outcome: "rejected" });
        expect(wire.aws.calls).to.deep.equal([]);
        expect(wire.github.requests).to.deep.equal([]);
      }
    });

    it("drops every event when it does not know its own ARN, logging an error", async () => {
      const result = await handlerWith()(elsewhere({}), {});
      expect(result).to.deep.include({ outcome: "rejected" });
      expect(wire.github.requests).to.deep.equal([]);
      expect(wire.logger.lines.some((l) => l.level === "error")).to.equal(true);
    });
  });

  describe("partitions", () => {
    it("names the clone by an ARN of the function's partition (aws-cn)", async () => {
      const run = seedRun(CLONE, "InProgress");
      const china = {
        ...event("started", CLONE, run),
        region: "cn-north-1",
        resources: [`arn:aws-cn:codepipeline:cn-north-1:123456789012:${CLONE}`],
      };
      wire.aws.calls.length = 0;
      await handlerWith()(china, {
        invokedFunctionArn: "arn:aws-cn:lambda:cn-north-1:123456789012:function:notify",
      });
      expect(wire.aws.calls[0]).to.deep.include({
        operation: "ListTagsForResource",
        input: { resourceArn: `arn:aws-cn:codepipeline:cn-north-1:123456789012:${CLONE}` },
      });
    });
  });

  describe("whose comment it is", () => {
    const marker = `<!-- branchline:${CLONE} -->`;

    it("never edits a comment someone else wrote with the marker; writes its own", async () => {
      seedClone();
      const pasted = `${marker}\nPipeline passed, [details](https://example.com/phish)`;
      store.comments.set(2, [{ id: 1, body: pasted, user: SOMEONE_ELSE }]);
      const handler = handlerWith();
      const run = seedRun(CLONE, "InProgress");
      const first = await handler(event("started", CLONE, run));
      expect(first).to.deep.include({ comment: "created" });
      await handler(event("failed", CLONE, run));

      const comments = store.comments.get(2) ?? [];
      expect(comments.map((c) => [c.id, c.user?.login])).to.deep.equal([
        [1, "octocat"],
        [1000, "branchline-bot"],
      ]);
      expect(comments[0]?.body).to.equal(pasted);
      expect(comments[1]?.body).to.include("[Failed]");
      expect(githubCalls().filter((c) => c.startsWith("PATCH"))).to.deep.equal([
        "PATCH /repos/Codertocat/Hello-World/issues/comments/1000",
      ]);
    });

    it("asks GitHub who the token is once per container", async () => {
      seedClone();
      const handler = handlerWith();
      const run = seedRun(CLONE, "InProgress");
      await handler(event("started", CLONE, run));
      await handler(event("succeeded", CLONE, run));
      expect(githubCalls().filter((c) => c === "GET /user")).to.have.length(1);
      expect(wire.github.requestsTo("/user")[0]?.authorization).to.equal(`token ${TOKEN}`);
    });

    it("asks again on the next event when GitHub could not say who the token is", async () => {
      let failures = 1;
      wire.github.on("GET", /^\/user$/, () =>
        failures-- > 0 ? { status: 500, body: { message: "Server Error" } } : undefined,
      );
      seedClone();
      const handler = handlerWith();
      const run = seedRun(CLONE, "InProgress");
      let thrown: unknown;
      try {
        await handler(event("started", CLONE, run));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(FeedbackIncompleteError);
      expect((thrown as Error).message).to.match(/pull request comment: HttpError/);
      expect(store.comments.get(2) ?? []).to.deep.equal([]);

      const retried = await handler(event("started", CLONE, run));
      expect(retried).to.deep.include({ comment: "created" });
      expect(githubCalls().filter((c) => c === "GET /user")).to.have.length(2);
    });

    it("with a GitHub App installation token, owns only the App bot's comments", async () => {
      wire.github.tokens.set(TOKEN, { app: "branchline" });
      seedClone();
      const pasted = `${marker}\nby a person`;
      store.comments.set(2, [{ id: 1, body: pasted, user: SOMEONE_ELSE }]);
      const handler = handlerWith();
      const run = seedRun(CLONE, "InProgress");
      await handler(event("started", CLONE, run));
      const second = await handler(event("succeeded", CLONE, run));
      expect(second).to.deep.include({ comment: "updated" });

      const comments = store.comments.get(2) ?? [];
      expect(comments.map((c) => [c.id, c.user?.login])).to.deep.equal([
        [1, "octocat"],
        [1000, "branchline[bot]"],
      ]);
      expect(comments[0]?.body).to.equal(pasted);
      expect(comments[1]?.body).to.include("[Succeeded]");
    });
  });

  describe("the branch in the comment", () => {
    it("shows the pull request's branch as it is named, as inline code", async () => {
      const branch = "feat/<b>*x*_y_|`z`@octocat";
      seedClone(2, undefined, branch);
      const run = seedRun(CLONE, "Succeeded");
      await handlerWith()(event("succeeded", CLONE, run));
      expect(store.comments.get(2)?.[0]?.body).to.include(
        "| Branch | ``feat/<b>*x*_y_\\|`z`@octocat`` |",
      );
      expect(wire.aws.published()[0]?.message).to.include(`Branch:       ${branch}\n`);
    });
  });

  describe("two writers of the same comment", () => {
    const marker = `<!-- branchline:${CLONE} -->`;

    it("keeps the older comment when another writer created one meanwhile, with this news", async () => {
      seedClone();
      // The webhook's announcement lands between this event's look and its create.
      store.afterNextList = (prNumber) => {
        store.write(prNumber, { body: `${marker}\nannouncement`, user: BRANCHLINE });
      };
      const run = seedRun(CLONE, "InProgress");
      const result = await handlerWith()(event("started", CLONE, run));
      expect(result).to.deep.include({ comment: "updated" });
      const comments = store.comments.get(2) ?? [];
      expect(comments.map((c) => c.id)).to.deep.equal([1000]);
      expect(comments[0]?.body).to.include("[Started]");
      expect(githubCalls().filter((c) => c.startsWith("DELETE"))).to.deep.equal([
        "DELETE /repos/Codertocat/Hello-World/issues/comments/1001",
      ]);
    });

    it("deletes its own new comment even when the second look does not show it yet", async () => {
      seedClone();
      store.afterNextList = (prNumber) => {
        store.write(prNumber, { body: `${marker}\nannouncement`, user: BRANCHLINE });
      };
      // GitHub's list lags behind the create: the second look misses the new comment.
      store.afterNextCreate = (prNumber, created) => {
        const list = store.comments.get(prNumber) ?? [];
        store.comments.set(
          prNumber,
          list.filter((c) => c.id !== created.id),
        );
        store.afterNextList = () => {
          store.comments.get(prNumber)?.push(created);
        };
      };
      const run = seedRun(CLONE, "InProgress");
      await handlerWith()(event("started", CLONE, run));
      const comments = store.comments.get(2) ?? [];
      expect(comments.map((c) => c.id)).to.deep.equal([1000]);
      expect(comments[0]?.body).to.include("[Started]");
    });

    it("deletes a newer duplicate that another writer created after it", async () => {
      seedClone();
      store.afterNextCreate = (prNumber) => {
        store.write(prNumber, { body: `${marker}\nannouncement`, user: BRANCHLINE });
      };
      const run = seedRun(CLONE, "InProgress");
      const result = await handlerWith()(event("started", CLONE, run));
      expect(result).to.deep.include({ comment: "created" });
      const comments = store.comments.get(2) ?? [];
      expect(comments.map((c) => c.id)).to.deep.equal([1000]);
      expect(comments[0]?.body).to.include("[Started]");
    });

    it("removes a duplicate left behind on the next event", async () => {
      seedClone();
      store.write(2, { body: `${marker}\nfirst`, user: BRANCHLINE });
      store.write(2, { body: `${marker}\nsecond`, user: BRANCHLINE });
      const run = seedRun(CLONE, "InProgress");
      await handlerWith()(event("started", CLONE, run));
      const comments = store.comments.get(2) ?? [];
      expect(comments.map((c) => c.id)).to.deep.equal([1000]);
      expect(comments[0]?.body).to.include("[Started]");
    });
  });

  describe("without a GitHub token", () => {
    it("makes no GitHub call and still notifies", async () => {
      seedClone();
      const run = seedRun(CLONE, "Succeeded");
      const result = await handlerWith({ GITHUB_TOKEN: undefined })(event("succeeded", CLONE, run));
      expect(result).to.deep.include({
        status: "skipped",
        comment: "skipped",
        notification: "published",
      });
      expect(wire.github.requests).to.deep.equal([]);
      expect(wire.aws.published()).to.have.length(1);
    });
  });

  describe("with the GitHub token in Secrets Manager", () => {
    it("reads the token from the secret", async () => {
      const arn = wire.aws.seedSecret("branchline/github-token", "ghs_from_secret");
      seedClone();
      const run = seedRun(CLONE, "Succeeded");
      await handlerWith({ GITHUB_TOKEN: undefined, GITHUB_TOKEN_SECRET_ARN: arn })(
        event("succeeded", CLONE, run),
      );
      expect(statuses()[0]?.authorization).to.equal("token ghs_from_secret");
    });
  });
});
