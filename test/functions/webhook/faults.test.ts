/**
 * Fault injection: the real webhook handler against the AWS double while it fails, times out,
 * throttles, partly fails ECR deletions or carries out a call and loses the answer. Whatever
 * happens, no half-made clone is left (a clone either does not exist or is complete and tagged as
 * ours), nothing that is not the pull request's is touched, and once the faults are gone one
 * reconcile (or a redelivery) leaves exactly what GitHub shows: nothing lost, nothing extra.
 */
import { expect } from "chai";
import type { ReconcileSummary } from "../../../functions/app/reconcile.js";
import { cloneDeclaration, cloneTags, sameDeclaration } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import type { FaultSpec, InjectedError } from "../../helpers/aws-double/index.js";
import { captureLogger } from "../../helpers/capture-logger.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const TOKEN = "ghs_test-token";
/** The example payload's pull request. */
const PR = 2;
const BRANCH = "changes";
const CLONE = cloneName(SOURCE, PR);
/** Images that are not pull request 2's: they must survive everything. */
const OTHER_TAGS = ["abc1234", "keep-me", "latest", "pr-20", "pr-20-abc1234"];
/** More than two ECR batches of pull request 2's tags. */
const PR_TAGS = Array.from({ length: 230 }, (_, i) => `pr-2-${String(i).padStart(7, "0")}`);

const OPENED_PATH = ["GetPipeline", "CreatePipeline"];
const CLOSED_PATH = [
  "GetPipeline",
  "ListTagsForResource",
  "ListPipelineExecutions",
  "StopPipelineExecution",
  "DeletePipeline",
  "ListImages",
  "BatchDeleteImage",
];
/** Not retryable: the SDK gives up at once; a misconfiguration (422), not a transient failure. */
const ACCESS_DENIED: InjectedError = {
  status: 400,
  type: "AccessDeniedException",
  message: "not allowed",
};
/** The SDK makes at most this many attempts per call (functions/adapters/aws-config.ts). */
const ATTEMPTS = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("webhook under injected AWS faults", function () {
  this.timeout(30_000);
  const wire = useWireDoubles({ repository: REPOSITORY });

  beforeEach(() => {
    // The owner of the pr-20 images: open, but from a fork, so neither built nor cleaned up.
    wire.github.addPullRequest({
      number: 20,
      state: "open",
      head: { ref: "patch-1", sha: "b".repeat(40), repo: "someone/Hello-World" },
      base: { ref: "master", repo: REPO },
    });
  });

  const env = {
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    WEBHOOK_SECRET: SECRET,
  };

  async function deliver(action: "opened" | "synchronize" | "closed", budgetMs?: number) {
    const handler = createHandler(
      defaultWebhookDeps(env, {
        logger: wire.logger,
        ...(budgetMs !== undefined ? { budgetMs } : {}),
      }),
    );
    const payload = pullRequestPayload({
      action,
      ...(action === "closed" ? { state: "closed" as const } : {}),
    });
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  }

  /** GitHub shows pull request 2 in this state. */
  function gitHubShows(state: "open" | "closed", numbers: number[] = [PR]): void {
    for (const number of numbers) {
      wire.github.addPullRequest({
        number,
        state,
        head: {
          ref: number === PR ? BRANCH : `feature-${number}`,
          sha: "a".repeat(40),
          repo: REPO,
        },
        base: { ref: "master", repo: REPO },
      });
    }
  }

  async function reconcileOnce(): Promise<ReconcileSummary> {
    const handler = createReconcileHandler(
      defaultReconcileDeps(
        { ...env, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: wire.github.url },
        { logger: captureLogger() },
      ),
    );
    return handler({});
  }

  /** Waits until the double has answered every request, even those whose caller gave up. */
  async function settled(): Promise<void> {
    while (wire.aws.calls.some((call) => call.status === 0)) await sleep(10);
  }

  /** The clone of pull request `number`: absent, or complete and tagged as ours. */
  function expectWholeOrNoClone(
    number = PR,
    branch = number === PR ? BRANCH : `feature-${number}`,
  ) {
    const clone = wire.aws.pipeline(cloneName(SOURCE, number));
    if (!clone) return;
    const desired = cloneDeclaration(wire.source, {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    expect(sameDeclaration(clone.declaration, desired), `clone of #${number}`).to.equal(true);
    expect(clone.tags).to.deep.equal(cloneTags(SOURCE, number, branch));
  }

  function expectCloneExists(number = PR): void {
    expect(wire.aws.pipeline(cloneName(SOURCE, number)), `clone of #${number}`).not.to.equal(
      undefined,
    );
    expectWholeOrNoClone(number);
  }

  const tagsInRepository = () =>
    wire.aws
      .images(REPOSITORY)
      .flatMap((image) => image.tags)
      .sort();

  /** Everything a closed pull request 2 leaves: the source pipeline and the other images. */
  function expectClosedAndClean(): void {
    expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
    expect(tagsInRepository()).to.deep.equal(OTHER_TAGS);
  }

  function expectSourceUntouched(): void {
    expect(wire.aws.pipeline(SOURCE)?.declaration).to.deep.equal({
      ...wire.source,
      version: wire.source.version ?? 1,
    });
  }

  /** Pull request 2 with its clone, a running execution and images, as a close finds it. */
  async function openWithImages(): Promise<void> {
    expect((await deliver("opened")).body["outcome"]).to.equal("created");
    wire.aws.seedExecution(CLONE, { status: "InProgress" });
    wire.aws.seedImage(REPOSITORY, { tags: ["latest", "abc1234"] });
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-20", "pr-20-abc1234"] });
    wire.aws.seedImage(REPOSITORY, { tags: ["pr-2-shared", "keep-me"] });
    for (const tag of PR_TAGS) wire.aws.seedImage(REPOSITORY, { tags: [tag] });
    wire.aws.calls.length = 0;
  }

  describe("opened while AWS fails", () => {
    const cases: {
      name: string;
      fault: (operation: string) => FaultSpec;
      ops: string[];
      /** 503 for a transient failure; 422 for one that means misconfiguration. */
      status?: number;
      budgetMs?: number;
    }[] = [
      {
        name: "keeps failing with a 5xx",
        fault: (operation) => ({ operation, error: "InternalFailure", times: ATTEMPTS }),
        ops: ["CreatePipeline"],
      },
      {
        name: "keeps answering ServiceUnavailable",
        fault: (operation) => ({ operation, error: "ServiceUnavailable", times: ATTEMPTS }),
        ops: ["GetPipeline"],
      },
      {
        name: "keeps throttling past the budget",
        fault: (operation) => ({ operation, error: "ThrottlingException", times: 10_000 }),
        ops: ["CreatePipeline"],
        budgetMs: 700,
      },
      {
        name: "refuses access",
        fault: (operation) => ({ operation, error: ACCESS_DENIED }),
        ops: OPENED_PATH,
        status: 422,
      },
      {
        name: "carries out the call but every answer is lost",
        fault: (operation) => ({
          operation,
          error: "InternalFailure",
          after: "apply",
          times: ATTEMPTS,
        }),
        ops: OPENED_PATH,
      },
    ];
    for (const { name, fault, ops, status = 503, budgetMs } of cases) {
      for (const operation of ops) {
        it(`${operation} ${name}: ${status}, no half-made clone; one reconcile creates it`, async () => {
          gitHubShows("open");
          wire.aws.inject(fault(operation));
          const answer = await deliver("opened", budgetMs);
          expect(answer.status).to.equal(status);
          await settled();
          wire.aws.clearFaults();
          expectWholeOrNoClone();
          expectSourceUntouched();

          const summary = await reconcileOnce();
          expect(summary.errors).to.deep.equal([]);
          expectCloneExists();
          expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE, CLONE].sort());
          expect((await deliver("synchronize")).body["outcome"]).to.equal("unchanged");
        });
      }
    }

    it("recovers on its own from a few transient failures (the SDK retries)", async () => {
      for (const error of [
        "InternalFailure",
        "ServiceUnavailable",
        "ThrottlingException",
      ] as const) {
        wire.aws.reset();
        wire.aws.seedPipeline(wire.source);
        wire.aws.inject({ operation: "GetPipeline", error, times: 1 });
        wire.aws.inject({
          operation: "CreatePipeline",
          error,
          times: error === "InternalFailure" ? ATTEMPTS - 1 : 1,
        });
        const answer = await deliver("opened");
        expect(answer, error).to.deep.include({ status: 200 });
        expect(answer.body["outcome"]).to.equal("created");
        expectCloneExists();
      }
    });
  });

  describe("a CreatePipeline that succeeds but whose answer is lost", () => {
    for (const action of ["opened", "synchronize"] as const) {
      it(`${action}: the retry finds our complete clone and answers 200 unchanged, not 409`, async () => {
        wire.aws.inject({ operation: "CreatePipeline", error: "InternalFailure", after: "apply" });
        const answer = await deliver(action);
        expect(answer).to.deep.equal({
          status: 200,
          body: { outcome: "unchanged", pipeline: CLONE, pullRequest: PR },
        });
        expect(wire.aws.callCount("CreatePipeline")).to.equal(2);
        expect(wire.aws.calls.map((call) => call.status)).to.include(500);
        expectCloneExists();
        expect(wire.aws.pipeline(CLONE)?.version).to.equal(1);
        expect((await deliver(action)).body["outcome"]).to.equal("unchanged");
      });
    }

    it("when the answer comes too late: 503, then the clone is whole and a redelivery converges", async () => {
      wire.aws.inject({ operation: "CreatePipeline", delayMs: 400 });
      const answer = await deliver("opened", 150);
      expect(answer.status).to.equal(503);
      expect(answer.body["outcome"]).to.equal("timed-out");
      await settled();
      expectCloneExists();
      expect((await deliver("opened")).body["outcome"]).to.equal("unchanged");
      gitHubShows("open");
      const summary = await reconcileOnce();
      expect(summary).to.deep.include({ created: [], updated: [], deleted: [], errors: [] });
      expect(summary.unchanged).to.deep.equal([PR]);
    });
  });

  describe("closed while AWS fails", () => {
    const cases: {
      name: string;
      fault: (operation: string) => FaultSpec;
      ops: string[];
      /** 503 for a transient failure; 422 for one that means misconfiguration. */
      status?: number;
      budgetMs?: number;
    }[] = [
      {
        name: "keeps failing with a 5xx",
        fault: (operation) => ({ operation, error: "InternalFailure", times: ATTEMPTS }),
        ops: ["DeletePipeline", "BatchDeleteImage"],
      },
      {
        name: "keeps throttling past the budget",
        fault: (operation) => ({ operation, error: "ThrottlingException", times: 10_000 }),
        ops: ["ListImages"],
        budgetMs: 700,
      },
      {
        name: "refuses access",
        fault: (operation) => ({ operation, error: ACCESS_DENIED }),
        ops: CLOSED_PATH,
        status: 422,
      },
    ];
    for (const { name, fault, ops, status = 503, budgetMs } of cases) {
      for (const operation of ops) {
        it(`${operation} ${name}: ${status}, nothing else touched; one reconcile finishes the job`, async () => {
          await openWithImages();
          gitHubShows("closed");
          wire.aws.inject(fault(operation));
          const answer = await deliver("closed", budgetMs);
          expect(answer.status).to.equal(status);
          await settled();
          wire.aws.clearFaults();
          expectWholeOrNoClone();
          expectSourceUntouched();
          expect(tagsInRepository()).to.include.members(OTHER_TAGS);

          const summary = await reconcileOnce();
          expect(summary.errors).to.deep.equal([]);
          expectClosedAndClean();
        });
      }
    }

    for (const operation of CLOSED_PATH) {
      it(`${operation} carried out but its answer lost once: the retry converges with 200`, async () => {
        await openWithImages();
        wire.aws.inject({ operation, error: "InternalFailure", after: "apply" });
        const answer = await deliver("closed");
        expect(answer.status).to.equal(200);
        expect(answer.body["outcome"]).to.equal("deleted");
        expectClosedAndClean();
      });
    }

    for (const operation of ["ListPipelineExecutions", "DeletePipeline", "BatchDeleteImage"]) {
      it(`${operation} too slow for the budget: 503 timed-out; a redelivery finishes the job`, async () => {
        await openWithImages();
        wire.aws.inject({ operation, delayMs: 400 });
        const answer = await deliver("closed", 150);
        expect(answer.status).to.equal(503);
        expect(answer.body["outcome"]).to.equal("timed-out");
        await settled();
        expectWholeOrNoClone();
        expect(tagsInRepository()).to.include.members(OTHER_TAGS);
        const again = await deliver("closed");
        expect(again.status).to.equal(200);
        expectClosedAndClean();
      });
    }
  });

  describe("ECR partial failures", () => {
    it("deletes every other image, reports the failure with 503, and a redelivery deletes the rest", async () => {
      await openWithImages();
      // Tags in the first and the last of the three batches fail once.
      const failing = [PR_TAGS[3] ?? "", PR_TAGS[225] ?? ""];
      for (const tag of failing)
        wire.aws.failImageDeletes({ repository: REPOSITORY, tags: [tag], times: 1 });
      const answer = await deliver("closed");
      expect(answer.status).to.equal(503);
      expect(answer.body["message"]).to.match(/ImageReferencedByManifestList|reconciler/);
      expect(wire.aws.pipeline(CLONE)).to.equal(undefined);
      // Every batch was tried: only the failed tags are left of pull request 2's.
      expect(wire.aws.callCount("BatchDeleteImage")).to.equal(3);
      expect(tagsInRepository()).to.deep.equal([...OTHER_TAGS, ...failing].sort());
      const warning = wire.logger.lines.find(
        (line) => line.message === "some images could not be deleted",
      );
      expect(warning?.fields["failures"]).to.have.length(2);

      const again = await deliver("closed");
      expect(again).to.deep.include({ status: 200 });
      expect(again.body).to.include({ outcome: "absent", imagesDeleted: 2 });
      expectClosedAndClean();
    });

    it("converges in one reconcile after a partial failure", async () => {
      await openWithImages();
      gitHubShows("closed");
      wire.aws.failImageDeletes({ repository: REPOSITORY, tags: [PR_TAGS[150] ?? ""], times: 1 });
      expect((await deliver("closed")).status).to.equal(503);
      const summary = await reconcileOnce();
      expect(summary.errors).to.deep.equal([]);
      expect(summary.imagesDeleted).to.deep.equal([PR]);
      expectClosedAndClean();
    });

    it("keeps failing on an image ECR will not delete, without touching anything else", async () => {
      await openWithImages();
      wire.aws.failImageDeletes({ repository: REPOSITORY, tags: ["pr-2-shared"] });
      for (let i = 0; i < 2; i++) expect((await deliver("closed")).status).to.equal(503);
      expect(tagsInRepository()).to.deep.equal([...OTHER_TAGS, "pr-2-shared"].sort());
      expect(wire.aws.pipelineNames()).to.deep.equal([SOURCE]);
    });

    it("treats ImageNotFound (deleted meanwhile) as done", async () => {
      await openWithImages();
      wire.aws.failImageDeletes({
        repository: REPOSITORY,
        tags: [PR_TAGS[0] ?? ""],
        code: "ImageNotFound",
        reason: "Requested image not found",
      });
      const answer = await deliver("closed");
      expect(answer.status).to.equal(200);
      expect(answer.body["imagesDeleted"]).to.equal(PR_TAGS.length);
    });
  });

  describe("throttling", () => {
    it("five pull requests opened at once, CreatePipeline at 1 a second: every delivery gets its clone and a 2xx in the budget", async () => {
      const numbers = [31, 32, 33, 34, 35];
      wire.aws.throttle("CreatePipeline", { perSecond: 1 });
      // One handler each: Lambda runs concurrent deliveries in separate containers.
      const answers = await Promise.all(
        numbers.map((number) =>
          createHandler(defaultWebhookDeps(env, { logger: wire.logger }))(
            signedEvent(pullRequestPayload({ number, headRef: `feature-${number}` }), {
              secret: SECRET,
            }),
          ),
        ),
      );
      expect(answers.map((answer) => answer.statusCode)).to.deep.equal([200, 200, 200, 200, 200]);
      for (const number of numbers) expectCloneExists(number);
      // Throttled on the way: the retries, not luck, got them through.
      expect(wire.aws.calls.filter((call) => call.status === 400).length).to.be.greaterThan(0);
    });

    it("a burst of openings under a CreatePipeline throttle: 200 or 503, whole clones, then one reconcile completes them", async () => {
      const numbers = Array.from({ length: 12 }, (_, i) => 100 + i);
      gitHubShows("open", numbers);
      wire.aws.throttle("CreatePipeline", { perSecond: 2 });
      // A budget too short for all twelve at 2 a second: some answer 503.
      const handler = createHandler(
        defaultWebhookDeps(env, { logger: wire.logger, budgetMs: 2000 }),
      );
      const answers = await Promise.all(
        numbers.map((number) =>
          handler(
            signedEvent(pullRequestPayload({ number, headRef: `feature-${number}` }), {
              secret: SECRET,
            }),
          ),
        ),
      );
      const statuses = answers.map((answer) => answer.statusCode);
      for (const status of statuses) expect([200, 503]).to.include(status);
      expect(statuses).to.include(503);
      for (const number of numbers) expectWholeOrNoClone(number);

      wire.aws.throttle("CreatePipeline", { perSecond: 1000 });
      const summary = await reconcileOnce();
      expect(summary.errors).to.deep.equal([]);
      for (const number of numbers) expectCloneExists(number);
      expect(wire.aws.pipelineNames()).to.have.length(numbers.length + 1);
    });
  });
});
