/**
 * The webhook handler end to end over the wire: signed deliveries built from GitHub's example
 * payloads, the real SDK clients, and the local CodePipeline/ECR double reached via AWS_ENDPOINT_URL.
 */
import { expect } from "chai";
import { cloneTags } from "../../../functions/core/clone.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { GitHubApiDouble } from "../../helpers/github-api.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import {
  pullRequestPayload,
  sign,
  signedEvent,
  type PullRequestVariant,
  type SignOptions,
} from "../../helpers/github-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const CLONE = "hello-world-pr-2";

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe("webhook handler (wire level)", function () {
  const wire = useWireDoubles({ github: false, repository: REPOSITORY });

  function handlerWith(env: Record<string, string | undefined> = {}, budgetMs?: number) {
    return createHandler(
      defaultWebhookDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          WEBHOOK_SECRET: SECRET,
          ...env,
        },
        { logger: wire.logger, ...(budgetMs !== undefined ? { budgetMs } : {}) },
      ),
    );
  }

  async function deliver(
    payload: Record<string, unknown> | string,
    options: Partial<SignOptions> = {},
    env: Record<string, string | undefined> = {},
  ): Promise<Answer> {
    const response = await handlerWith(env)(signedEvent(payload, { secret: SECRET, ...options }));
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  }

  const pr = (variant: PullRequestVariant = {}) => pullRequestPayload(variant);
  const operations = () => wire.aws.calls.map((call) => call.operation);

  describe("signatures", () => {
    it("refuses a delivery without a signature, with no AWS call", async () => {
      const answer = await deliver(pr(), { signature: null });
      expect(answer.status).to.equal(401);
      expect(answer.body["message"]).to.equal("missing X-Hub-Signature-256 header");
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("refuses a wrong signature, with no AWS call", async () => {
      const answer = await deliver(pr(), { signature: `sha256=${"0".repeat(64)}` });
      expect(answer.status).to.equal(401);
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("refuses a signature made with another secret", async () => {
      const answer = await deliver(pr(), {}, { WEBHOOK_SECRET: "another secret" });
      expect(answer.status).to.equal(401);
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("refuses a SHA-1 signature alone", async () => {
      const answer = await deliver(pr(), {
        signature: null,
        extraHeaders: { "X-Hub-Signature": "sha1=abc" },
      });
      expect(answer.status).to.equal(401);
      expect(answer.body["message"]).to.match(/only SHA-256/);
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("refuses a body changed after signing", async () => {
      const event = signedEvent(pr(), { secret: SECRET });
      event.body = (event.body ?? "").replace('"opened"', '"closed"');
      const response = await handlerWith()(event);
      expect(response.statusCode).to.equal(401);
    });

    it("accepts lower-case header names, base64 bodies and form-encoded deliveries", async () => {
      for (const options of [
        { lowerCaseHeaders: true },
        { base64: true },
        { form: true },
        { form: true, base64: true },
      ]) {
        wire.aws.reset();
        wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
        const answer = await deliver(pr(), options);
        expect(answer, JSON.stringify(options)).to.deep.include({ status: 200 });
        expect(answer.body["outcome"]).to.equal("created");
      }
    });
  });

  describe("forged bodies", () => {
    it("takes the body's format from the signed bytes: a JSON delivery replayed as a form is still itself", async () => {
      // Pull request 7 has a clone; a captured delivery of pull request 2 carries, in its title,
      // a `closed` for pull request 7 shaped as a form field.
      await deliver(pr({ action: "opened", number: 7, headRef: "feature-7" }));
      expect(wire.aws.pipeline("hello-world-pr-7")).not.to.equal(undefined);
      const smuggled = pr({ action: "closed", state: "closed", number: 7, headRef: "feature-7" });
      const payload = pr({ action: "opened" });
      (payload["pull_request"] as { title: string }).title =
        `Update the README&payload=${encodeURIComponent(JSON.stringify(smuggled))}&x=`;
      const event = signedEvent(payload, { secret: SECRET });
      event.headers["Content-Type"] = "application/x-www-form-urlencoded";

      const response = await handlerWith()(event);
      expect(response.statusCode).to.equal(200);
      expect(JSON.parse(response.body)).to.deep.equal({
        outcome: "created",
        pipeline: CLONE,
        pullRequest: 2,
      });
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, CLONE, "hello-world-pr-7"].sort());
    });

    it("refuses a signed form with a field besides payload, or a body neither JSON nor a form", async () => {
      const json = JSON.stringify(pr({ action: "opened" }));
      for (const body of [
        `${new URLSearchParams({ payload: json }).toString()}&payload=%7B%7D`,
        `x=1&${new URLSearchParams({ payload: json }).toString()}`,
        `[${json}]`,
        "",
      ]) {
        // Signed as they are, and labelled as forms, so that only their bytes can refuse them.
        const event = signedEvent(body, { secret: SECRET });
        event.headers["Content-Type"] = "application/x-www-form-urlencoded";
        event.headers["X-Hub-Signature-256"] = sign(SECRET, body);
        const response = await handlerWith()(event);
        expect(response.statusCode, body.slice(0, 40)).to.equal(body === "" ? 401 : 400);
      }
      expect(wire.aws.calls).to.deep.equal([]);
    });
  });

  describe("requests that do not change a pipeline", () => {
    it("answers a ping with 200 and no AWS call", async () => {
      const answer = await deliver({ zen: "Design for failure.", hook_id: 1 }, { event: "ping" });
      expect(answer).to.deep.equal({ status: 200, body: { outcome: "pong" } });
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("ignores other events and actions with 202", async () => {
      expect((await deliver({ ref: "refs/heads/x" }, { event: "push" })).status).to.equal(202);
      expect((await deliver(pr({ action: "labeled" }))).status).to.equal(202);
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("answers 400 to a signed body that is not JSON or not a pull request", async () => {
      expect((await deliver("{not json")).status).to.equal(400);
      expect((await deliver({ action: "opened" })).status).to.equal(400);
      const answer = await deliver({ action: "opened", pull_request: { number: "two" } });
      expect(answer.status).to.equal(400);
      expect(answer.body["message"]).to.match(/pull_request.number/);
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("ignores pull requests into another branch after reading the source pipeline", async () => {
      const answer = await deliver(pr({ baseRef: "develop" }));
      expect(answer.status).to.equal(202);
      expect(answer.body["reason"]).to.equal("base develop is not master");
      expect(operations()).to.deep.equal(["GetPipeline"]);
    });

    it("ignores pull requests of another repository, even when closed", async () => {
      const payload = pr({ action: "closed", state: "closed" });
      (payload["pull_request"] as { base: { repo: { full_name: string } } }).base.repo.full_name =
        "someone/else";
      const answer = await deliver(payload);
      expect(answer.status).to.equal(202);
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
    });

    it("refuses forks by default and builds them when allowed", async () => {
      const fork = pr({ headRepo: "someone/Hello-World" });
      expect((await deliver(fork)).status).to.equal(202);
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
      const answer = await deliver(
        fork,
        {},
        { ALLOW_FORK_PULL_REQUESTS: "true", REQUIRE_APPROVAL: "false" },
      );
      expect(answer.status).to.equal(200);
      const source = wire.aws.pipeline(CLONE)?.declaration.stages[0]?.actions[0]?.configuration;
      expect(source).to.include({ FullRepositoryId: "someone/Hello-World", BranchName: "changes" });
    });

    it("builds drafts by default, or waits for ready_for_review when told to", async () => {
      const env = { BUILD_DRAFT_PULL_REQUESTS: "false" };
      expect((await deliver(pr({ draft: true }), {}, env)).status).to.equal(202);
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
      expect((await deliver(pr({ action: "ready_for_review" }), {}, env)).body["outcome"]).to.equal(
        "created",
      );
      wire.aws.reset();
      wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
      expect((await deliver(pr({ draft: true }))).body["outcome"]).to.equal("created");
    });
  });

  describe("opened, reopened, synchronize", () => {
    it("creates the clone with GetPipeline and CreatePipeline only", async () => {
      const answer = await deliver(pr({ action: "opened" }));
      expect(answer).to.deep.equal({
        status: 200,
        body: { outcome: "created", pipeline: CLONE, pullRequest: 2 },
      });
      expect(operations()).to.deep.equal(["GetPipeline", "CreatePipeline"]);
      const clone = wire.aws.pipeline(CLONE);
      expect(clone?.tags).to.deep.equal(cloneTags(SOURCE, 2, "changes"));
      expect(clone?.declaration.stages.map((s) => s.name)).to.deep.equal(["Source", "Build"]);
      expect(clone?.declaration.stages[0]?.actions[0]?.configuration?.["BranchName"]).to.equal(
        "changes",
      );
    });

    it("leaves an unchanged clone alone", async () => {
      await deliver(pr({ action: "opened" }));
      wire.aws.calls.length = 0;
      const answer = await deliver(pr({ action: "synchronize" }));
      expect(answer.body["outcome"]).to.equal("unchanged");
      expect(operations()).to.deep.equal(["GetPipeline", "GetPipeline"]);
      expect(wire.aws.pipeline(CLONE)?.version).to.equal(1);
    });

    it("updates a stale clone in place after checking it is ours", async () => {
      await deliver(pr({ action: "opened" }));
      const source = pipelineFixture("v1-ecs");
      const build = source.stages[1]?.actions[0];
      if (build?.configuration) build.configuration["ProjectName"] = "hello-world-build-v2";
      wire.aws.reset();
      wire.aws.seedPipeline(source);
      wire.aws.seedPipeline(
        { ...pipelineFixture("v1-ecs"), name: CLONE },
        cloneTags(SOURCE, 2, "changes"),
      );
      const answer = await deliver(pr({ action: "synchronize" }));
      expect(answer.body["outcome"]).to.equal("updated");
      expect(operations()).to.deep.equal([
        "GetPipeline",
        "GetPipeline",
        "ListTagsForResource",
        "UpdatePipeline",
      ]);
      expect(
        wire.aws.pipeline(CLONE)?.declaration.stages[1]?.actions[0]?.configuration?.["ProjectName"],
      ).to.equal("hello-world-build-v2");
    });

    it("refreshes on opened when the clone already exists (a repeated delivery)", async () => {
      await deliver(pr({ action: "opened" }));
      wire.aws.calls.length = 0;
      const answer = await deliver(pr({ action: "opened" }));
      expect(answer.body["outcome"]).to.equal("unchanged");
      expect(operations()).to.deep.equal(["GetPipeline", "CreatePipeline", "GetPipeline"]);
    });

    it("re-creates a missing clone on synchronize and reopened", async () => {
      expect((await deliver(pr({ action: "synchronize" }))).body["outcome"]).to.equal("created");
      wire.aws.reset();
      wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
      expect((await deliver(pr({ action: "reopened" }))).body["outcome"]).to.equal("created");
    });

    it("never overwrites a pipeline of that name that is not ours: 409", async () => {
      const foreign = { ...pipelineFixture("v1-ecs"), name: CLONE };
      wire.aws.seedPipeline(foreign, [{ key: "team", value: "payments" }]);
      for (const action of ["opened", "synchronize"]) {
        const answer = await deliver(pr({ action }));
        expect(answer.status, action).to.equal(409);
        expect(answer.body["message"]).to.match(/not managed by branchline/);
      }
      expect(wire.aws.pipeline(CLONE)?.declaration).to.deep.equal({ ...foreign, version: 7 });
      expect(wire.aws.callCount("UpdatePipeline")).to.equal(0);
    });

    it("gains a clone when retargeted onto the source branch", async () => {
      const answer = await deliver(pr({ action: "edited", previousBase: "develop" }));
      expect(answer.body["outcome"]).to.equal("created");
    });
  });

  describe("closed", () => {
    beforeEach(async () => {
      await deliver(pr({ action: "opened" }));
      wire.aws.seedExecution(CLONE, { status: "Succeeded" });
      wire.aws.seedExecution(CLONE, { status: "InProgress" });
      for (const tags of [
        ["pr-2", "pr-2-abc1234"],
        ["pr-2-def5678"],
        ["pr-20", "pr-20-abc1234"],
        ["latest", "abc1234"],
      ]) {
        wire.aws.seedImage(REPOSITORY, { tags });
      }
      wire.aws.seedImage(REPOSITORY, { tags: ["pr-2-shared", "keep-me"] });
      wire.aws.calls.length = 0;
    });

    it("stops executions, deletes the clone and only PR 2's images", async () => {
      const answer = await deliver(pr({ action: "closed", state: "closed", merged: true }));
      expect(answer).to.deep.equal({
        status: 200,
        body: {
          outcome: "deleted",
          pipeline: CLONE,
          pullRequest: 2,
          executionsStopped: 1,
          imagesDeleted: 4,
        },
      });
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
      expect(wire.aws.executions(CLONE)).to.deep.equal([]);
      const tags = wire.aws
        .images(REPOSITORY)
        .flatMap((image) => image.tags)
        .sort();
      expect(tags).to.deep.equal(["abc1234", "keep-me", "latest", "pr-20", "pr-20-abc1234"]);
      expect(operations()).to.deep.equal([
        "GetPipeline",
        "ListTagsForResource",
        "ListPipelineExecutions",
        "StopPipelineExecution",
        "DeletePipeline",
        "ListImages",
        "BatchDeleteImage",
      ]);
    });

    it("is harmless to repeat", async () => {
      await deliver(pr({ action: "closed", state: "closed" }));
      const again = await deliver(pr({ action: "closed", state: "closed" }));
      expect(again).to.deep.include({ status: 200 });
      expect(again.body).to.include({ outcome: "absent", imagesDeleted: 0, executionsStopped: 0 });
    });

    it("deletes 250 images in batches of at most 100", async () => {
      for (let i = 0; i < 250; i++)
        wire.aws.seedImage(REPOSITORY, { tags: [`pr-2-${String(i).padStart(7, "0")}`] });
      wire.aws.calls.length = 0;
      const answer = await deliver(pr({ action: "closed", state: "closed" }));
      expect(answer.body["imagesDeleted"]).to.equal(254);
      const batches = wire.aws.calls
        .filter((call) => call.operation === "BatchDeleteImage")
        .map((call) => (call.input as { imageIds: unknown[] }).imageIds.length);
      expect(batches).to.deep.equal([100, 100, 54]);
    });

    it("removes the clone when the pull request is retargeted away from the source branch", async () => {
      const answer = await deliver(
        pr({ action: "edited", baseRef: "develop", previousBase: "master" }),
      );
      expect(answer.body["outcome"]).to.equal("deleted");
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
    });

    it("refuses to delete a pipeline of that name that is not ours, and its images", async () => {
      wire.aws.reset();
      wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
      wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: CLONE }, [
        { key: "team", value: "payments" },
      ]);
      wire.aws.createRepository(REPOSITORY);
      wire.aws.seedImage(REPOSITORY, { tags: ["pr-2"] });
      const answer = await deliver(pr({ action: "closed", state: "closed" }));
      expect(answer.status).to.equal(409);
      expect(wire.aws.pipeline(CLONE)).not.to.equal(undefined);
      expect(wire.aws.images(REPOSITORY)).to.have.length(1);
    });
  });

  describe("robustness", () => {
    it("retries throttling and still answers 2xx once the work is done", async () => {
      wire.aws.inject({ operation: "CreatePipeline", error: "ThrottlingException", times: 2 });
      const answer = await deliver(pr());
      expect(answer.body["outcome"]).to.equal("created");
      expect(wire.aws.callCount("CreatePipeline")).to.equal(3);
    });

    it("answers 503 when AWS keeps failing, never 500", async () => {
      wire.aws.inject({ operation: "CreatePipeline", error: "ServiceUnavailable", times: 10 });
      const answer = await deliver(pr());
      expect(answer.status).to.equal(503);
      expect(answer.body["message"]).to.match(/reconciler/);
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
    });

    it("answers 503 when the time budget runs out", async () => {
      wire.aws.inject({ operation: "CreatePipeline", delayMs: 2000 });
      const handler = handlerWith({}, 300);
      const response = await handler(signedEvent(pr(), { secret: SECRET }));
      expect(response.statusCode).to.equal(503);
      expect(JSON.parse(response.body)).to.include({ outcome: "timed-out" });
      // The double still carries out the late call: let it finish before the next test resets it.
      while (wire.aws.calls.some((call) => call.status === 0)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    it("logs one structured line per delivery without the secret or the payload", async () => {
      const event = signedEvent(pr({ action: "opened" }), { secret: SECRET });
      await handlerWith()(event);
      const line = wire.logger.lines.find((l) => l.message === "delivery handled");
      expect(line?.fields).to.deep.include({
        deliveryId: event.headers["X-GitHub-Delivery"],
        event: "pull_request",
        action: "opened",
        pullRequest: 2,
        clone: CLONE,
        status: 200,
        outcome: "created",
      });
      expect(wire.logger.text()).not.to.include(SECRET);
      expect(wire.logger.text()).not.to.include("Codertocat");
    });
  });

  describe("error answers", () => {
    const ROLE =
      "arn:aws:sts::123456789012:assumed-role/branchline-webhook-role/branchline-webhook";
    const denied = (action: string, resource: string) => ({
      status: 400,
      type: "AccessDeniedException",
      message: `User: ${ROLE} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    });

    /** The answer says nothing an outsider could use: no ARN, no account id, no AWS message. */
    function expectNothingInternal(body: string): void {
      expect(body).not.to.match(/arn:|123456789012|not authorized|assumed-role|identity-based/);
    }

    it("answers 422 to an AccessDenied from CreatePipeline, naming the kind, not the ARN; the log has the details", async () => {
      wire.aws.inject({
        operation: "CreatePipeline",
        error: denied(
          "codepipeline:CreatePipeline",
          "arn:aws:codepipeline:us-east-1:123456789012:hello-world-pr-2",
        ),
      });
      const response = await handlerWith()(signedEvent(pr(), { secret: SECRET }));
      expect(response.statusCode).to.equal(422);
      expect(JSON.parse(response.body)).to.deep.equal({
        outcome: "misconfigured",
        message:
          "AWS refused the function a permission it needs (AccessDeniedException); the details are in the function's log",
      });
      expectNothingInternal(response.body);
      expect(wire.aws.callCount("CreatePipeline")).to.equal(1);
      const line = wire.logger.lines.find((l) => l.message === "delivery failed");
      expect(line?.level).to.equal("error");
      expect(line?.fields).to.deep.include({
        errorKind: "configuration",
        error: "AccessDeniedException",
      });
      expect(String(line?.fields["errorMessage"])).to.include(ROLE);
    });

    it("answers 422 to a declaration CodePipeline refuses (InvalidStructureException), without its message", async () => {
      wire.aws.inject({
        operation: "CreatePipeline",
        error: {
          status: 400,
          type: "InvalidStructureException",
          message: "arn:aws:iam::123456789012:role/pipeline-role is not valid for stage Build",
        },
      });
      const response = await handlerWith()(signedEvent(pr(), { secret: SECRET }));
      expect(response.statusCode).to.equal(422);
      expect(JSON.parse(response.body)["message"]).to.match(/InvalidStructureException/);
      expectNothingInternal(response.body);
    });

    it("answers 422 at once to a used-up pipeline quota (LimitExceededException), which the SDK counts as throttling", async () => {
      wire.aws.inject({
        operation: "CreatePipeline",
        error: {
          status: 400,
          type: "LimitExceededException",
          message:
            "The number of pipelines associated with the account 123456789012 has exceeded the limit",
        },
        times: 100,
      });
      const response = await handlerWith()(signedEvent(pr(), { secret: SECRET }));
      expect(response.statusCode).to.equal(422);
      expect(JSON.parse(response.body)["message"]).to.equal(
        "an AWS quota is used up (LimitExceededException); the details are in the function's log",
      );
      expect(wire.aws.callCount("CreatePipeline")).to.equal(1);
    });

    it("tells an unauthenticated caller nothing when the secret cannot be read (AccessDenied)", async () => {
      const arn = wire.aws.seedSecret("branchline/webhook", SECRET);
      wire.aws.inject({
        operation: "GetSecretValue",
        error: denied("secretsmanager:GetSecretValue", arn),
      });
      const handler = handlerWith({ WEBHOOK_SECRET: undefined, WEBHOOK_SECRET_ARN: arn });
      const response = await handler(
        signedEvent(pr(), { secret: "a guess", signature: `sha256=${"0".repeat(64)}` }),
      );
      expect(response.statusCode).to.equal(422);
      expect(JSON.parse(response.body)).to.deep.equal({
        outcome: "misconfigured",
        message: "the webhook is misconfigured; the details are in the function's log",
      });
      expectNothingInternal(response.body);
    });

    it("never answers a secret's ARN (a secret without a string value)", async () => {
      const arn = wire.aws.seedSecret("branchline/webhook", "");
      const handler = handlerWith({ WEBHOOK_SECRET: undefined, WEBHOOK_SECRET_ARN: arn });
      const response = await handler(signedEvent({ zen: "z" }, { secret: SECRET, event: "ping" }));
      expect(response.statusCode).to.equal(422);
      expectNothingInternal(response.body);
      expect(wire.logger.text()).to.include("webhook secret");
    });

    it("answers 422 naming the problem when the source pipeline is missing", async () => {
      wire.aws.reset();
      const answer = await deliver(pr());
      expect(answer).to.deep.equal({
        status: 422,
        body: { outcome: "misconfigured", message: "source pipeline hello-world does not exist" },
      });
      const line = wire.logger.lines.find((l) => l.message === "delivery failed");
      expect(line?.fields).to.deep.include({
        errorKind: "configuration",
        errorMessage: "source pipeline hello-world does not exist",
      });
    });

    it("answers 422 naming a missing variable to a signed delivery", async () => {
      const answer = await deliver(pr(), {}, { SOURCE_PIPELINE_NAME: undefined });
      expect(answer.status).to.equal(422);
      expect(answer.body["message"]).to.equal(
        "environment variable SOURCE_PIPELINE_NAME is not set",
      );
    });

    it("answers a bug with 500 and a fixed message; the stack goes to the log", async () => {
      const deps = defaultWebhookDeps(
        { SOURCE_PIPELINE_NAME: SOURCE, ECR_REPOSITORY_NAME: REPOSITORY, WEBHOOK_SECRET: SECRET },
        { logger: wire.logger },
      );
      const bug = new TypeError("Cannot read properties of undefined (reading 'stages')");
      const handler = createHandler({
        ...deps,
        settings: () => {
          throw bug;
        },
      });
      const response = await handler(signedEvent(pr(), { secret: SECRET }));
      expect(response.statusCode).to.equal(500);
      expect(JSON.parse(response.body)).to.deep.equal({
        outcome: "internal-error",
        message: "the webhook failed on an internal error; the details are in the function's log",
      });
      expect(response.body).not.to.include("stages");
      const line = wire.logger.lines.find((l) => l.message === "delivery failed");
      expect(line?.level).to.equal("error");
      expect(line?.fields).to.deep.include({ errorKind: "bug", error: "TypeError" });
      expect(line?.fields["stack"]).to.equal(bug.stack);
    });

    it("answers 503 to transient AWS failures, without the AWS message", async () => {
      wire.aws.inject({ operation: "CreatePipeline", error: "InternalFailure", times: 10 });
      const response = await handlerWith()(signedEvent(pr(), { secret: SECRET }));
      expect(response.statusCode).to.equal(503);
      expect(JSON.parse(response.body)).to.deep.equal({
        outcome: "failed",
        message:
          "AWS or GitHub is throttling or failing for now; the reconciler will finish the job",
      });
    });
  });

  describe("secrets", () => {
    it("reads the webhook secret from Secrets Manager once per container", async () => {
      const arn = wire.aws.seedSecret("branchline/webhook", SECRET);
      const handler = handlerWith({ WEBHOOK_SECRET: undefined, WEBHOOK_SECRET_ARN: arn });
      for (let i = 0; i < 3; i++) {
        const response = await handler(
          signedEvent({ zen: "z" }, { secret: SECRET, event: "ping" }),
        );
        expect(response.statusCode).to.equal(200);
      }
      expect(wire.aws.callCount("GetSecretValue")).to.equal(1);
    });

    it("prefers WEBHOOK_SECRET when both are set", async () => {
      const arn = wire.aws.seedSecret("branchline/webhook", "the stored one");
      const answer = await deliver({ zen: "z" }, { event: "ping" }, { WEBHOOK_SECRET_ARN: arn });
      expect(answer.status).to.equal(200);
      expect(wire.aws.callCount("GetSecretValue")).to.equal(0);
    });

    it("answers 422 without naming the secret when it cannot be read, and tries again later", async () => {
      const handler = handlerWith({
        WEBHOOK_SECRET: undefined,
        WEBHOOK_SECRET_ARN: "branchline/missing",
      });
      const first = await handler(signedEvent({ zen: "z" }, { secret: SECRET, event: "ping" }));
      expect(first.statusCode).to.equal(422);
      expect(JSON.parse(first.body)).to.deep.equal({
        outcome: "misconfigured",
        message: "the webhook is misconfigured; the details are in the function's log",
      });
      wire.aws.seedSecret("branchline/missing", SECRET);
      const second = await handler(signedEvent({ zen: "z" }, { secret: SECRET, event: "ping" }));
      expect(second.statusCode).to.equal(200);
    });
  });

  describe("secret rotation", () => {
    /** A clock the secret readers go by; only the test moves it. */
    let now: number;
    beforeEach(() => {
      now = 1_000_000;
    });

    function rotatingHandler(env: Record<string, string | undefined>) {
      return createHandler(
        defaultWebhookDeps(
          { SOURCE_PIPELINE_NAME: SOURCE, ECR_REPOSITORY_NAME: REPOSITORY, ...env },
          { logger: wire.logger, now: () => now },
        ),
      );
    }

    it("reads a rotated webhook secret again on a signature mismatch, at most once a minute", async () => {
      const arn = wire.aws.seedSecret("branchline/webhook", SECRET);
      const handler = rotatingHandler({ WEBHOOK_SECRET_ARN: arn });
      const ping = async (secret: string) =>
        (await handler(signedEvent({ zen: "z" }, { secret, event: "ping" }))).statusCode;
      const reads = () => wire.aws.callCount("GetSecretValue");

      expect(await ping(SECRET)).to.equal(200);
      expect(reads()).to.equal(1);

      wire.aws.seedSecret(arn, "rotated once");
      now += 61_000;
      expect(await ping("rotated once")).to.equal(200);
      expect(reads()).to.equal(2);
      expect(await ping("rotated once")).to.equal(200);
      expect(reads()).to.equal(2);

      // Forged deliveries cost at most one read a minute.
      for (let i = 0; i < 5; i++) expect(await ping("a forgery")).to.equal(401);
      expect(reads()).to.equal(2);
      now += 61_000;
      for (let i = 0; i < 5; i++) expect(await ping("a forgery")).to.equal(401);
      expect(reads()).to.equal(3);

      // A rotation less than a minute after the last read is picked up once the minute is over.
      wire.aws.seedSecret(arn, "rotated twice");
      now += 30_000;
      expect(await ping("rotated twice")).to.equal(401);
      expect(reads()).to.equal(3);
      now += 31_000;
      expect(await ping("rotated twice")).to.equal(200);
      expect(reads()).to.equal(4);
      expect(wire.logger.text()).not.to.match(/rotated once|rotated twice/);
    });

    it("never reads a plain WEBHOOK_SECRET again", async () => {
      const handler = rotatingHandler({ WEBHOOK_SECRET: SECRET });
      now += 61_000;
      const response = await handler(signedEvent({ zen: "z" }, { secret: "other", event: "ping" }));
      expect(response.statusCode).to.equal(401);
      expect(wire.aws.calls).to.deep.equal([]);
    });

    describe("of the GitHub token", () => {
      let github: GitHubApiDouble;
      /** The Authorization header GitHub accepts now. */
      let accepted: string;

      before(async () => {
        github = new GitHubApiDouble();
        await github.start();
        for (const method of ["GET", "POST", "PATCH"]) {
          github.on(method, /.*/, (_match, request) =>
            request.authorization === accepted
              ? undefined
              : { status: 401, body: { message: "Bad credentials" } },
          );
        }
      });

      after(() => github.close());

      beforeEach(() => {
        github.reset();
        github.addPullRequest({
          number: 2,
          state: "open",
          head: {
            ref: "changes",
            sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            repo: "Codertocat/Hello-World",
          },
          base: { ref: "master", repo: "Codertocat/Hello-World" },
        });
      });

      it("reads the token again when GitHub answers 401, and retries once with the new one", async () => {
        const arn = wire.aws.seedSecret("branchline/github-token", "ghs_before");
        accepted = "token ghs_before";
        const handler = rotatingHandler({
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN_SECRET_ARN: arn,
          GITHUB_API_URL: github.url,
        });
        const deliverTo = async (action: string) => {
          const response = await handler(signedEvent(pr({ action }), { secret: SECRET }));
          return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
        };
        expect((await deliverTo("opened")).status).to.equal(200);
        expect(wire.aws.callCount("GetSecretValue")).to.equal(1);

        wire.aws.seedSecret(arn, "ghs_after");
        accepted = "token ghs_after";
        now += 61_000;
        github.requests.length = 0;
        expect(await deliverTo("synchronize")).to.deep.equal({
          status: 200,
          body: { outcome: "unchanged", pipeline: CLONE, pullRequest: 2 },
        });
        expect(wire.aws.callCount("GetSecretValue")).to.equal(2);
        expect(github.requests.map((request) => request.authorization)).to.deep.equal([
          "token ghs_before",
          "token ghs_after",
        ]);

        github.requests.length = 0;
        expect((await deliverTo("synchronize")).status).to.equal(200);
        expect(github.requests.map((request) => request.authorization)).to.deep.equal([
          "token ghs_after",
        ]);
        expect(wire.aws.callCount("GetSecretValue")).to.equal(2);
      });

      it("answers 422 when GitHub refuses the token and no newer one is stored", async () => {
        const arn = wire.aws.seedSecret("branchline/github-token", "ghs_revoked");
        accepted = "token ghs_something-else";
        const handler = rotatingHandler({
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN_SECRET_ARN: arn,
          GITHUB_API_URL: github.url,
        });
        now += 61_000;
        const response = await handler(signedEvent(pr(), { secret: SECRET }));
        expect(response.statusCode).to.equal(422);
        expect(JSON.parse(response.body)).to.deep.equal({
          outcome: "misconfigured",
          message: "GitHub refused the GitHub token (401): it is wrong, expired or revoked",
        });
        expect(response.body).not.to.include("ghs_");
        expect(wire.logger.text()).not.to.include("ghs_");
      });
    });
  });

  describe("with a GitHub token", () => {
    let github: GitHubApiDouble;
    let store: GitHubComments;
    let env: Record<string, string>;

    before(async () => {
      github = new GitHubApiDouble();
      store = new GitHubComments(github);
      env = { GITHUB_TOKEN: "ghp_test-token", GITHUB_API_URL: await github.start() };
    });

    after(() => github.close());

    beforeEach(() => {
      store.reset();
      github.requests.length = 0;
      github.addPullRequest({
        number: 2,
        state: "open",
        head: {
          ref: "changes",
          sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
          repo: "Codertocat/Hello-World",
        },
        base: { ref: "master", repo: "Codertocat/Hello-World" },
      });
    });

    it("comments once on the pull request when its clone is created", async () => {
      const answer = await deliver(pr({ action: "opened" }), {}, env);
      expect(answer.body["outcome"]).to.equal("created");
      const comments = store.comments.get(2) ?? [];
      expect(comments).to.have.length(1);
      expect(comments[0]?.body).to.include(`<!-- branchline:${CLONE} -->`);
      expect(github.requests.every((r) => r.authorization === "token ghp_test-token")).to.equal(
        true,
      );

      await deliver(pr({ action: "synchronize" }), {}, env);
      expect(store.comments.get(2)).to.have.length(1);
    });

    it("still answers 200 when the comment cannot be written", async () => {
      store.failComments = true;
      const answer = await deliver(pr({ action: "opened" }), {}, env);
      expect(answer.status).to.equal(200);
      expect(wire.aws.pipeline(CLONE)).not.to.equal(undefined);
      expect(wire.logger.lines.map((l) => l.message)).to.include(
        "could not write the pull request comment",
      );
    });
  });
});
