/**
 * `branchline cost` over the wire, with a fixed clock and executions seeded at known times: V1
 * clones young and old, active and not, and a V2 clone billed by action-minutes.
 */
import { expect } from "chai";
import { ESTIMATE_NOTE, PRICES } from "../../../functions/cli/cost.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { cloneName } from "../../../functions/shared/names.js";
import { runCli } from "../../helpers/cli.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPO = "Codertocat/Hello-World";
const NOW = new Date("2026-03-01T12:00:00Z");
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

describe("cli cost (wire level)", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  function seedClone(number: number, created: Date, type: "V1" | "V2" = "V1"): string {
    const branch = `feature-${number}`;
    const declaration: PipelineDeclaration = {
      ...cloneDeclaration(pipelineFixture("v1-ecs"), {
        prNumber: number,
        headBranch: branch,
        headRepository: REPO,
      }),
      pipelineType: type,
    };
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch), { created });
    return declaration.name;
  }

  function ran(pipeline: string, status: string, startedAgo: number, durationMs: number): void {
    wire.aws.seedExecution(pipeline, {
      status,
      startTime: ago(startedAgo),
      lastUpdateTime: ago(startedAgo - durationMs),
    });
  }

  beforeEach(() => {
    wire.aws.seedPipeline(pipelineFixture("v1-ecs"), [], { created: ago(400 * DAY) });
    // V1, 10 days old: free, even though it ran.
    ran(seedClone(2, ago(10 * DAY)), "Succeeded", 2 * DAY, 4 * MINUTE);
    // V1, 40 days old, ran 5 days ago: an active month, 1 USD.
    ran(seedClone(3, ago(40 * DAY)), "Succeeded", 5 * DAY, 4 * MINUTE);
    // V1, 60 days old, last ran 45 days ago: inactive, free.
    ran(seedClone(4, ago(60 * DAY)), "Failed", 45 * DAY, 4 * MINUTE);
    // V2 with 2 actions (source, build): 5.5 min -> 6, 2 min, a running one 90 s so far -> 2;
    // the 10-minute run 40 days ago is outside the window. (6 + 2 + 2) x 2 = 20 action-minutes.
    const v2 = seedClone(5, ago(50 * DAY), "V2");
    ran(v2, "Succeeded", 40 * DAY, 10 * MINUTE);
    ran(v2, "Succeeded", 3 * DAY, 5.5 * MINUTE);
    ran(v2, "Failed", DAY, 2 * MINUTE);
    ran(v2, "InProgress", 1.5 * MINUTE, 0);
    // Not managed: never counted.
    wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: cloneName(SOURCE, 6) }, [], {
      created: ago(100 * DAY),
    });
  });

  it("estimates each clone and the totals by type, as JSON", async () => {
    const result = await runCli(["cost", "--source-pipeline", SOURCE, "--json"], { now: NOW });
    expect(result.stderr).to.equal("");
    expect(result.code).to.equal(0);
    expect(JSON.parse(result.stdout)).to.deep.equal({
      clones: [
        {
          pullRequest: 2,
          pipeline: "hello-world-pr-2",
          pipelineType: "V1",
          ageDays: 10,
          ageSeconds: 10 * 86_400,
          executions: 1,
          actionMinutes: null,
          usd: 0,
          basis: "free for its first 30 days",
        },
        {
          pullRequest: 3,
          pipeline: "hello-world-pr-3",
          pipelineType: "V1",
          ageDays: 40,
          ageSeconds: 40 * 86_400,
          executions: 1,
          actionMinutes: null,
          usd: 1,
          basis: "active pipeline",
        },
        {
          pullRequest: 4,
          pipeline: "hello-world-pr-4",
          pipelineType: "V1",
          ageDays: 60,
          ageSeconds: 60 * 86_400,
          executions: 0,
          actionMinutes: null,
          usd: 0,
          basis: "inactive (no execution in 30 days)",
        },
        {
          pullRequest: 5,
          pipeline: "hello-world-pr-5",
          pipelineType: "V2",
          ageDays: 50,
          ageSeconds: 50 * 86_400,
          executions: 3,
          actionMinutes: 20,
          usd: 0.04,
          basis: "20 action-minutes (10 min x 2 actions)",
        },
      ],
      byType: {
        V1: { clones: 3, actionMinutes: 0, usd: 1 },
        V2: { clones: 1, actionMinutes: 20, usd: 0.04 },
      },
      totalUsd: 1.04,
      note: ESTIMATE_NOTE,
    });
  });

  it("prints a table, the totals by type and what the estimate leaves out", async () => {
    const result = await runCli(["cost", "--source-pipeline", SOURCE], { now: NOW });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.equal(
      [
        "PR  PIPELINE          TYPE  AGE  EXECUTIONS (30D)  USD/MONTH  BASIS",
        "#2  hello-world-pr-2  V1    10d  1                 0.000      free for its first 30 days",
        "#3  hello-world-pr-3  V1    40d  1                 1.000      active pipeline",
        "#4  hello-world-pr-4  V1    60d  0                 0.000      inactive (no execution in 30 days)",
        "#5  hello-world-pr-5  V2    50d  3                 0.040      20 action-minutes (10 min x 2 actions)",
        "",
        "V1: 3 clone(s): 1.000 USD a month",
        "V2: 1 clone(s), 20 action-minutes: 0.040 USD a month",
        "total: 1.040 USD a month (estimate)",
        "",
        `Note: ${ESTIMATE_NOTE}`,
        "",
      ].join("\n"),
    );
  });

  it("rounds a young clone's age like list does (hours, minutes), not to 0 days", async () => {
    seedClone(7, ago(5 * 60 * MINUTE + 10 * MINUTE));
    seedClone(8, ago(42 * MINUTE));
    const result = await runCli(["cost", "--source-pipeline", SOURCE], { now: NOW });
    const ages = result.stdout
      .split("\n")
      .filter((row) => /^#[78] /.test(row))
      .map((row) => row.split(/\s+/)[3]);
    expect(ages).to.deep.equal(["5h", "42m"]);
    const list = await runCli(["list", "--source-pipeline", SOURCE], { now: NOW });
    expect(
      list.stdout
        .split("\n")
        .filter((row) => /^#[78] /.test(row))
        .map((row) => row.split(/\s+/).at(-1)),
    ).to.deep.equal(["5h", "42m"]);
  });

  it("keeps the prices in one table", () => {
    expect(PRICES).to.deep.equal({
      V1: { usdPerActiveMonth: 1, freeDays: 30 },
      V2: { usdPerActionMinute: 0.002 },
    });
  });
});
