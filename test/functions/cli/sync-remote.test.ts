/**
 * `branchline sync --remote` over the wire: the CLI invokes the deployed reconciler through the real
 * Lambda client against the AWS double, which runs the real reconciler handler (its own settings: a
 * GitHub App and a label rule the CLI knows nothing of) against the same doubles.
 */
import { expect } from "chai";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { emptyDirectory, runCli } from "../../helpers/cli.js";
import { installApp } from "../../helpers/github-app.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const FUNCTION = "shop-reconciler";
const SKIP = "branchline:skip";

/** A directory whose `pulumi` prints these stack outputs. */
function pulumiPrinting(outputs: Record<string, unknown>): string {
  const bin = emptyDirectory();
  writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho '${JSON.stringify(outputs)}'\n`);
  chmodSync(join(bin, "pulumi"), 0o755);
  return bin;
}

describe("cli sync --remote: the deployed reconciler (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  const STACK = { sourcePipelineName: SOURCE, reconcilerFunctionName: FUNCTION };

  /** The stack's reconciler, as deployed: a GitHub App and a label rule in its environment. */
  function deployReconciler(): void {
    const app = installApp(wire.github, [REPO]);
    const keyArn = wire.aws.seedSecret("branchline/github-app-private-key", app.privateKey);
    const handler = createReconcileHandler(
      defaultReconcileDeps(
        {
          SOURCE_PIPELINE_NAME: SOURCE,
          ECR_REPOSITORY_NAME: REPOSITORY,
          GITHUB_APP_ID: String(app.id),
          GITHUB_APP_PRIVATE_KEY_SECRET_ARN: keyArn,
          GITHUB_API_URL: wire.github.url,
          PULL_REQUEST_LABELS: JSON.stringify({ skip: [SKIP] }),
        },
        { logger: wire.logger },
      ),
    );
    wire.aws.registerFunction(FUNCTION, (event) => handler(event as never));
  }

  function openPullRequest(number: number, labels: string[] = []): void {
    wire.github.addPullRequest({
      number,
      state: "open",
      head: { ref: `feature-${number}`, sha: "a".repeat(40), repo: REPO },
      base: { ref: "master", repo: REPO },
      labels,
    });
  }

  function seedClone(number: number): void {
    const branch = `feature-${number}`;
    wire.aws.seedPipeline(
      cloneDeclaration(wire.source, { prNumber: number, headBranch: branch, headRepository: REPO }),
      cloneTags(SOURCE, number, branch),
    );
  }

  const cli = (args: string[], outputs: Record<string, unknown> = STACK) =>
    runCli(["sync", ...args], { env: { PATH: pulumiPrinting(outputs) } });

  it("runs the stack's reconciler with its own rules and credentials, and prints its summary", async () => {
    deployReconciler();
    openPullRequest(2);
    openPullRequest(3, [SKIP]);
    seedClone(3);

    const result = await cli(["--remote"]);
    expect(result.stderr).to.equal("");
    expect(result.code).to.equal(0);
    // The label rule the CLI never saw: #3's clone removed, #2's created.
    expect(result.stdout).to.equal(
      [
        "created:        #2",
        "updated:        -",
        "deleted:        #3",
        "images deleted: -",
        "unchanged:      -",
        "errors:         none",
        "",
      ].join("\n"),
    );
    expect(
      wire.aws.invocations.map((i) => [i.functionName, i.invocationType, i.event]),
    ).to.deep.equal([[FUNCTION, "RequestResponse", {}]]);
    // GitHub was read as the App, with the deployed function's credentials, not the CLI's.
    expect(wire.github.installationTokens.size).to.equal(1);
  });

  it("--json prints the reconciler's answer as it is; --function names the function", async () => {
    deployReconciler();
    openPullRequest(2);
    const result = await cli(["--remote", "--json", "--function", FUNCTION], {});
    expect(result.code).to.equal(0);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(printed).to.deep.include({ created: [2], deleted: [], errors: [] });
  });

  it("prints what the stack's rules and previews did, when they did something", async () => {
    wire.aws.registerFunction(FUNCTION, async () => ({
      created: [],
      updated: [8],
      deleted: [5],
      imagesDeleted: [],
      unchanged: [7],
      errors: [],
      waiting: [11],
      previewsRemoved: [5],
      previewsWaiting: [9, 10],
      previewsScaledDown: [7],
    }));
    const result = await cli(["--remote"]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.equal(
      [
        "created:        -",
        "updated:        #8",
        "deleted:        #5",
        "images deleted: -",
        "unchanged:      #7",
        "waiting:        #11",
        "previews gone:  #5",
        "previews wait:  #9, #10",
        "previews idle:  #7",
        "errors:         none",
        "",
      ].join("\n"),
    );
  });

  it("a sweep with errors exits 1; a function error is one clear line", async () => {
    wire.aws.registerFunction(FUNCTION, async () => ({
      created: [],
      updated: [],
      deleted: [],
      imagesDeleted: [],
      unchanged: [],
      errors: ["#4: GitHub answered 502"],
    }));
    const failed = await cli(["--remote"]);
    expect(failed.code).to.equal(1);
    expect(failed.stdout).to.include("errors:         1");

    wire.aws.registerFunction(FUNCTION, async () => {
      throw new TypeError("settings: SOURCE_PIPELINE_NAME is missing");
    });
    const thrown = await cli(["--remote"]);
    expect(thrown.code).to.equal(1);
    expect(thrown.stderr).to.include(
      `the reconciler ${FUNCTION} failed: TypeError: settings: SOURCE_PIPELINE_NAME is missing`,
    );
  });

  it("names what is wrong: no such function, flags that belong to a local sweep, --function alone", async () => {
    const missing = await cli(["--remote"]);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.include(
      `no function ${FUNCTION} in this account and region (check AWS_PROFILE, AWS_REGION or --function)`,
    );

    const mixed = await cli(["--remote", "--github-token", "ghp_x", "--allow-forks"]);
    expect(mixed.code).to.not.equal(0);
    expect(mixed.stderr).to.include(
      "--remote runs the deployed reconciler with the stack's own settings: --github-token, --allow-forks cannot go with it",
    );
    expect(mixed.stderr).to.not.include("ghp_x");

    const alone = await cli(["--function", FUNCTION]);
    expect(alone.code).to.not.equal(0);
    expect(alone.stderr).to.include("--function goes with --remote");

    const noOutput = await cli(["--remote"], { sourcePipelineName: SOURCE });
    expect(noOutput.stderr).to.include(
      "the stack has no output reconcilerFunctionName: pass --function",
    );
    expect(wire.aws.invocations).to.deep.equal([]);
  });
});
