/**
 * Figure 1: AWS calls per event type against the fewest calls the job needs. Each case starts from a
 * fresh double, delivers one signed event to the real handler and counts the requests the double
 * received.
 */
import { createHandler } from "../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../functions/webhook/deps.js";
import { cloneName } from "../functions/shared/names.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import { pipelineFixture } from "../test/helpers/fixtures.js";
import { pullRequestPayload, signedEvent } from "../test/helpers/github-events.js";
import { cloneTags } from "../functions/core/clone.js";
import {
  discardLogger,
  figure,
  functionEnv,
  REPOSITORY,
  SECRET,
  seedWorld,
  SOURCE,
  type Figure,
} from "./lib.js";

/** The state table the handler advances the pull request's high-water mark in (replay protection). */
const STATE_TABLE = "branchline-state";
/** The one call replay protection adds to every delivery that changes a clone. */
const MARK = "UpdateItem (the pull request's high-water mark)";

/** The example payloads' pull request and head branch. */
const PR = 2;
const HEAD = "changes";
const CLONE = cloneName(SOURCE, PR);

interface CallCase {
  name: string;
  /** The fewest AWS calls the job needs, and why. */
  minimum: number;
  why: string;
  /** Puts the double in the state the event meets. */
  arrange: (aws: AwsDouble) => unknown;
  action: string;
  expectStatus: number;
}

/** The minimum per case, one line of justification each (also printed in results.json). */
export const CALL_CASES: CallCase[] = [
  {
    name: "opened",
    minimum: 3,
    why: `GetPipeline(source) to learn the repository, branch and stages + ${MARK} + CreatePipeline`,
    arrange: () => undefined,
    action: "opened",
    expectStatus: 200,
  },
  {
    name: "synchronize, clone unchanged",
    minimum: 3,
    why: `GetPipeline(source) + ${MARK} + GetPipeline(clone) to compare declarations`,
    arrange: () => deliverOnce("opened"),
    action: "synchronize",
    expectStatus: 200,
  },
  {
    name: "synchronize, clone stale",
    minimum: 5,
    why: `GetPipeline x2 + ${MARK} + ListTagsForResource (never overwrite a pipeline not ours) + UpdatePipeline`,
    arrange: (aws) => {
      const source = pipelineFixture("v1-ecs");
      const build = source.stages[1]?.actions[0];
      if (build?.configuration) build.configuration["ProjectName"] = "hello-world-build-v2";
      aws.seedPipeline(source);
      aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: CLONE }, cloneTags(SOURCE, PR, HEAD));
    },
    action: "synchronize",
    expectStatus: 200,
  },
  closedCase(0, 0),
  closedCase(1, 0),
  closedCase(250, 1),
];

function closedCase(images: number, running: number): CallCase {
  const batches = Math.ceil(images / 100);
  return {
    name: `closed, ${images} image${images === 1 ? "" : "s"}${running ? `, ${running} running` : ""}`,
    minimum: 6 + batches + running,
    why:
      `GetPipeline(source) + ${MARK} + ListTagsForResource (ours?) + ListPipelineExecutions + DeletePipeline + ListImages` +
      (batches > 0 ? ` + ${batches} BatchDeleteImage (100 ids a call)` : "") +
      (running > 0 ? ` + ${running} StopPipelineExecution` : ""),
    arrange: async (aws) => {
      await deliverOnce("opened");
      aws.seedExecution(CLONE, { status: "Succeeded" });
      for (let i = 0; i < running; i++) aws.seedExecution(CLONE, { status: "InProgress" });
      aws.seedImage(REPOSITORY, { tags: ["latest", "abc1234"] });
      aws.seedImage(REPOSITORY, { tags: ["pr-20", "pr-20-abc1234"] });
      for (let i = 0; i < images; i++)
        aws.seedImage(REPOSITORY, { tags: [`pr-${PR}-${String(i).padStart(7, "0")}`] });
    },
    action: "closed",
    expectStatus: 200,
  };
}

function handler() {
  return createHandler(
    defaultWebhookDeps(functionEnv({ STATE_TABLE_NAME: STATE_TABLE }), {
      logger: discardLogger(),
    }),
  );
}

async function deliverOnce(action: string): Promise<number> {
  const closed = action === "closed";
  const payload = pullRequestPayload({ action, ...(closed ? { state: "closed" } : {}) });
  const response = await handler()(signedEvent(payload, { secret: SECRET }));
  return response.statusCode;
}

export interface CallsDetail {
  name: string;
  measured: number;
  minimum: number;
  why: string;
  operations: string[];
}

export async function measureCalls(
  aws: AwsDouble,
): Promise<{ figures: Figure[]; details: CallsDetail[] }> {
  const figures: Figure[] = [];
  const details: CallsDetail[] = [];
  for (const c of CALL_CASES) {
    seedWorld(aws);
    aws.createTable(STATE_TABLE);
    await c.arrange(aws);
    aws.calls.length = 0;
    const status = await deliverOnce(c.action);
    if (status !== c.expectStatus) {
      throw new Error(
        `calls/${c.name}: the handler answered ${status}, expected ${c.expectStatus}`,
      );
    }
    const operations = aws.calls.map((call) => call.operation);
    details.push({
      name: c.name,
      measured: operations.length,
      minimum: c.minimum,
      why: c.why,
      operations,
    });
    figures.push(figure(`1 calls: ${c.name}`, operations.length, c.minimum, "calls", 1.0, c.why));
  }
  return { figures, details };
}
