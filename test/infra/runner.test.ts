/**
 * Loads the program the way `pulumi up` does: the Node.js language host's `run` from @pulumi/pulumi,
 * which registers the ts-node it vendors with the project's tsconfig.json and requires package.json
 * `main` with Node's CommonJS resolver, in a child process under mocks (see the harness). An import
 * that only resolves under the test runner's loader (tsx) fails here.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect } from "chai";

const ROOT = path.join(__dirname, "..", "..");
const HARNESS = path.join(__dirname, "pulumi-runner-harness.cjs");

function runLikePulumi(projectRoot: string, config: Record<string, string>) {
  const child = spawnSync(process.execPath, [HARNESS, projectRoot, JSON.stringify(config)], {
    encoding: "utf8",
    // The child must not inherit the test runner's loader (mocha's --import=tsx).
    env: { ...process.env, NODE_OPTIONS: "" },
    timeout: 90_000,
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe("infra/index under the Pulumi CLI's Node.js runner", function () {
  this.timeout(120_000);

  it("loads the program with the vendored ts-node and declares the whole stack", () => {
    const result = runLikePulumi(ROOT, {
      "branchline:repository": "octo/shop",
      "branchline:webhookSecret": "s3cret",
    });
    expect(result.status, `the runner failed:\n${result.stderr}`).to.equal(0);
    const report = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as {
      outputs: string[];
      resources: string[];
    };
    expect(report.outputs).to.deep.equal([
      "connectionArn",
      "connectionStatus",
      "notificationTopicArn",
      "reconcilerFunctionName",
      "repositoryUri",
      "sourcePipelineConsoleUrl",
      "sourcePipelineName",
      "webhookId",
      "webhookUrl",
    ]);
    expect(report.resources).to.include.members([
      "pulumi:pulumi:Stack",
      "aws:codepipeline/pipeline:Pipeline",
      "aws:codebuild/project:Project",
      "aws:lambda/function:Function",
      "aws:apigatewayv2/route:Route",
      "branchline:reconciler:Reconciler",
      "branchline:notifications:Notifications",
      "aws:cloudwatch/eventRule:EventRule",
      "aws:cloudwatch/eventTarget:EventTarget",
      "aws:sns/topic:Topic",
    ]);
    expect(
      report.resources.filter((type) => type === "aws:lambda/function:Function"),
    ).to.have.length(3);
  });

  it("fails on a relative import that only the test runner resolves (a `.js` suffix on a .ts file)", () => {
    const project = mkdtempSync(path.join(tmpdir(), "branchline-runner-"));
    try {
      symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"), "dir");
      writeFileSync(
        path.join(project, "package.json"),
        JSON.stringify({
          name: "probe",
          main: "src/index.ts",
          devDependencies: { typescript: "*" },
        }),
      );
      writeFileSync(
        path.join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            skipLibCheck: true,
            types: [],
          },
        }),
      );
      mkdirSync(path.join(project, "src"));
      writeFileSync(path.join(project, "src", "lib.ts"), "export const answer = 42;\n");
      writeFileSync(
        path.join(project, "src", "index.ts"),
        'import { answer } from "./lib.js";\nexport const out = answer;\n',
      );
      const result = runLikePulumi(project, {});
      expect(result.status).to.not.equal(0);
      expect(result.stderr + result.stdout).to.include("Cannot find module './lib.js'");
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
