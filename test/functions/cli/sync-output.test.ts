/**
 * What `sync` and `prune` print besides their summary: the progress line with counts (on a
 * terminal's stderr), long error lists cut to the first ten unless --verbose, and a GitHub that
 * cannot be reached reported as a network failure rather than as an answer.
 */
import { createServer } from "node:net";
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { capture, emptyDirectory, runCli } from "../../helpers/cli.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { PR_TIER_ENV } from "../../helpers/tiers.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const NAMES = ["--source-pipeline", SOURCE, "--repository", REPOSITORY];

describe("cli sync and prune output (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });

  const env = (apiUrl = wire.github.url) => ({
    PATH: emptyDirectory(),
    GITHUB_API_URL: apiUrl,
    GITHUB_TOKEN: "ghs_test-token",
  });

  function seedClone(number: number): void {
    const branch = `feature-${number}`;
    wire.aws.seedPipeline(
      cloneDeclaration(pipelineFixture("v1-ecs"), {
        prNumber: number,
        headBranch: branch,
        headRepository: REPO,
      }),
      cloneTags(SOURCE, number, branch),
    );
  }

  it("sync draws its progress with counts on a terminal's stderr, stdout unchanged", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    wire.github.addPullRequest(fakePullRequest(3));
    seedClone(3);
    wire.github.addPullRequest(fakePullRequest(4, { state: "closed" }));
    seedClone(4);
    const tty = capture(true);
    const drawn = await runCli(["sync", ...NAMES], {
      env: { ...env(), ...PR_TIER_ENV },
      stderr: tty,
    });
    expect(drawn.code).to.equal(0);
    // Each redraw is `\r<frame> <text><ESC>[K`.
    const texts = tty.text
      .split("\r")
      .map((draw) => draw.slice(2).split("\u001b[K")[0] ?? "")
      .filter((text) => text.startsWith("reconciling "));
    expect(texts).to.include(
      "reconciling hello-world: 2 open, 0 checked, 0 created, 0 updated, 0 deleted",
    );
    expect(texts.at(-1)).to.equal(
      "reconciling hello-world: 2 open, 1 checked, 1 created, 1 updated, 1 deleted",
    );
    expect(tty.text.endsWith("\r\x1b[K")).to.equal(true);
    expect(drawn.stdout).to.equal(
      [
        "created:        #2",
        // The clone of #3 moves to the pull request tier (PR_TIER_ENV).
        "updated:        #3",
        "deleted:        #4",
        "images deleted: -",
        "unchanged:      -",
        "errors:         none",
        "",
      ].join("\n"),
    );
  });

  it("sync lists the first 10 problems (in order) and how many more; all of them with --verbose", async () => {
    for (let n = 1; n <= 12; n++) wire.github.addPullRequest(fakePullRequest(n));
    wire.aws.inject({
      operation: "CreatePipeline",
      error: { status: 400, type: "InvalidStructureException", message: "the clone is refused" },
      times: 100,
    });
    const error = (n: number) => `  - pull request #${n}: the clone is refused`;
    const short = await runCli(["sync", ...NAMES], { env: { ...env(), ...PR_TIER_ENV } });
    expect(short.code).to.equal(1);
    const lines = short.stdout.split("\n");
    expect(lines.slice(lines.indexOf("misconfigured:  12") + 1)).to.deep.equal([
      ...Array.from({ length: 10 }, (_, i) => error(i + 1)),
      "  ... and 2 more (run with --verbose)",
      "",
    ]);

    const all = await runCli(["sync", ...NAMES, "--verbose"], {
      env: { ...env(), ...PR_TIER_ENV },
    });
    const every = all.stdout.split("\n");
    expect(every.slice(every.indexOf("misconfigured:  12") + 1)).to.deep.equal([
      ...Array.from({ length: 12 }, (_, i) => error(i + 1)),
      "",
    ]);
    // --verbose also logs each failed pull request on stderr.
    expect(all.stderr.match(/^error: pull request not reconciled/gm)).to.have.length(12);

    const json = await runCli(["sync", ...NAMES, "--json"], { env: { ...env(), ...PR_TIER_ENV } });
    expect((JSON.parse(json.stdout) as { misconfigured: string[] }).misconfigured).to.have.length(
      12,
    );
  });

  it("prune reports an unreachable GitHub as a network failure, summarised", async () => {
    for (let n = 1; n <= 12; n++) seedClone(n);
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const result = await runCli(["prune", ...NAMES], { env: env(url) });
    expect(result.code).to.equal(1);
    const failure = (n: number) =>
      `  - pull request #${n}: cannot reach GitHub at ${url}: ECONNREFUSED (reading pull request #${n} of ${REPO})`;
    expect(result.stdout).to.equal(
      [
        "deleted:        -",
        "images deleted: -",
        "kept (open):    -",
        "errors:         12",
        ...Array.from({ length: 10 }, (_, i) => failure(i + 1)),
        "  ... and 2 more (run with --verbose)",
        "",
      ].join("\n"),
    );
    expect(result.stderr).to.equal("");
  });

  it("sync reports an unreachable GitHub as a network failure", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const result = await runCli(["sync", ...NAMES, "--json"], {
      env: { ...env(url), ...PR_TIER_ENV },
    });
    expect(result.code).to.equal(1);
    const { errors } = JSON.parse(result.stdout) as { errors: string[] };
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(
      new RegExp(
        `^sweep not started: cannot reach GitHub at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED \\(reading `,
      ),
    );
  });
});

/** A local port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
