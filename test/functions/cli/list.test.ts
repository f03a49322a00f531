/**
 * `branchline list` over the wire: the real CLI and SDK clients against the local CodePipeline
 * double (AWS_ENDPOINT_URL), with a fixed clock.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { cloneName } from "../../../functions/shared/names.js";
import { capture, emptyDirectory, runCli } from "../../helpers/cli.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPO = "Codertocat/Hello-World";
const NOW = new Date("2026-03-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("cli list (wire level)", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  function seedClone(number: number, created: Date): string {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(pipelineFixture("v1-ecs"), {
      prNumber: number,
      headBranch: branch,
      headRepository: REPO,
    });
    wire.aws.seedPipeline(declaration, cloneTags(SOURCE, number, branch), { created });
    return declaration.name;
  }

  let executionId: string;

  beforeEach(() => {
    wire.aws.seedPipeline(pipelineFixture("v1-ecs"), [], { created: ago(90 * DAY) });
    seedClone(2, ago(3 * DAY + 2 * HOUR));
    seedClone(3, ago(5 * HOUR + 10 * 60_000));
    wire.aws.seedExecution(cloneName(SOURCE, 2), {
      status: "Failed",
      startTime: ago(2 * DAY),
      lastUpdateTime: ago(2 * DAY - 60_000),
    });
    executionId = wire.aws.seedExecution(cloneName(SOURCE, 2), {
      status: "Succeeded",
      startTime: ago(HOUR),
      lastUpdateTime: ago(HOUR - 300_000),
    });
    // Clone-shaped names without branchline's tags, and another pipeline: never listed.
    wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: cloneName(SOURCE, 4) });
    wire.aws.seedPipeline(
      { ...pipelineFixture("v1-ecs"), name: cloneName(SOURCE, 5) },
      cloneTags("another-app", 5, "x"),
    );
    wire.aws.seedPipeline({ ...pipelineFixture("v1-ecs"), name: "another-app" });
  });

  const list = (args: string[], stderr = capture()) =>
    runCli(["list", "--source-pipeline", SOURCE, ...args], { now: NOW, stderr });

  it("prints a table of the managed clones", async () => {
    const result = await list([]);
    expect(result.stderr).to.equal("");
    expect(result.code).to.equal(0);
    expect(result.stdout).to.equal(
      [
        "PR  PIPELINE          BRANCH     TYPE  LAST EXECUTION  AGE",
        "#2  hello-world-pr-2  feature-2  V1    Succeeded       3d",
        "#3  hello-world-pr-3  feature-3  V1    never run       5h",
        "",
      ].join("\n"),
    );
  });

  it("prints the same as JSON with --json", async () => {
    const result = await list(["--json"]);
    expect(result.code).to.equal(0);
    expect(JSON.parse(result.stdout)).to.deep.equal([
      {
        pullRequest: 2,
        pipeline: "hello-world-pr-2",
        branch: "feature-2",
        pipelineType: "V1",
        created: ago(3 * DAY + 2 * HOUR).toISOString(),
        ageSeconds: (3 * DAY + 2 * HOUR) / 1000,
        lastExecution: { id: executionId, status: "Succeeded", startTime: ago(HOUR).toISOString() },
      },
      {
        pullRequest: 3,
        pipeline: "hello-world-pr-3",
        branch: "feature-3",
        pipelineType: "V1",
        created: ago(5 * HOUR + 10 * 60_000).toISOString(),
        ageSeconds: (5 * HOUR + 10 * 60_000) / 1000,
        lastExecution: null,
      },
    ]);
  });

  it("reads the last execution with one ListPipelineExecutions call of one result per clone", async () => {
    await list(["--json"]);
    const reads = wire.aws.calls.filter((call) => call.operation === "ListPipelineExecutions");
    expect(reads.map((call) => call.input)).to.have.deep.members([
      { pipelineName: "hello-world-pr-2", maxResults: 1 },
      { pipelineName: "hello-world-pr-3", maxResults: 1 },
    ]);
    // Only the names of clone shape are confirmed by their tags.
    expect(wire.aws.callCount("ListTagsForResource")).to.equal(4);
  });

  it("says so when there is no clone", async () => {
    wire.aws.reset();
    wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
    const result = await list([]);
    expect(result).to.deep.equal({
      code: 0,
      stdout: "no managed clones of hello-world\n",
      stderr: "",
    });
  });

  it("fails clearly when the source pipeline does not exist", async () => {
    const result = await runCli(["list", "--source-pipeline", "nope"], { now: NOW });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.equal(
      "branchline: error: source pipeline nope does not exist in this account and region (check AWS_PROFILE, AWS_REGION or --source-pipeline)\n",
    );
  });

  it("draws a progress indicator on a terminal's stderr only, and never with --json", async () => {
    const tty = capture(true);
    const plain = await list([]);
    const drawn = await list([], tty);
    expect(drawn.stdout).to.equal(plain.stdout);
    expect(tty.text).to.contain("reading hello-world");
    expect(tty.text).to.contain("reading executions 2/2");
    expect(tty.text.endsWith("\r\x1b[K")).to.equal(true);

    const quiet = capture(true);
    const json = await list(["--json"], quiet);
    expect(json.code).to.equal(0);
    expect(quiet.text).to.equal("");
  });

  it("reads the names from the stack outputs when the flags are missing", async () => {
    // A stand-in for the Pulumi CLI that prints the stack's outputs and records its arguments.
    const { writeFileSync, readFileSync, chmodSync } = await import("node:fs");
    const { join } = await import("node:path");
    const bin = emptyDirectory();
    const argsFile = join(bin, "args");
    writeFileSync(
      join(bin, "pulumi"),
      `#!/bin/sh\necho "$@" > '${argsFile}'\necho '{"sourcePipelineName":"${SOURCE}","repositoryUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-world"}'\n`,
    );
    chmodSync(join(bin, "pulumi"), 0o755);
    const result = await runCli(["list", "--stack", "dev", "--json"], {
      now: NOW,
      env: { PATH: bin },
    });
    expect(result.stderr).to.equal("");
    expect(result.code).to.equal(0);
    expect((JSON.parse(result.stdout) as unknown[]).length).to.equal(2);
    expect(readFileSync(argsFile, "utf8")).to.equal(
      "stack output --json --non-interactive --stack dev\n",
    );
  });
});
