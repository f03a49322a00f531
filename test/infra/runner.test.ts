/**
 * Loads the program the way `pulumi up` does: the Node.js language host's `run` from @pulumi/pulumi,
 * which registers the ts-node it vendors with the project's tsconfig.json and requires package.json
 * `main` with Node's CommonJS resolver, in a child process under mocks (see the harness). An import
 * that only resolves under the test runner's loader (tsx) fails here.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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

/** What `npm ci --omit=dev` keeps: every package package-lock.json does not flag `dev`. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([key, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && entry.dev !== true)
    .map(([key]) => key.slice("node_modules/".length));
}

/**
 * A copy of the project as a deployment pipeline has it after `npm ci --omit=dev`: the program's
 * files and config, and a node_modules holding only the non-dev packages (symlinked from this
 * checkout's node_modules, so no network is needed). A dev package the program needs, at run time
 * or for the type check the runner does, is missing here as it is there.
 */
function productionInstall(): string {
  const project = mkdtempSync(path.join(tmpdir(), "branchline-production-"));
  for (const entry of ["package.json", "Pulumi.yaml", "infra", "functions", "templates"]) {
    cpSync(path.join(ROOT, entry), path.join(project, entry), { recursive: true });
  }
  for (const file of readdirSync(ROOT).filter((name) => /^tsconfig.*\.json$/.test(name))) {
    cpSync(path.join(ROOT, file), path.join(project, file));
  }
  for (const name of productionPackages()) {
    const link = path.join(project, "node_modules", name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.join(ROOT, "node_modules", name), link, "dir");
  }
  return project;
}

const MINIMAL_CONFIG = {
  "branchline:repository": "octo/shop",
  "branchline:webhookSecret": "s3cret",
};

interface RunnerReport {
  outputs: string[];
  resources: string[];
}

function reportOf(result: ReturnType<typeof runLikePulumi>): RunnerReport {
  expect(result.status, `the runner failed:\n${result.stderr}`).to.equal(0);
  return JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as RunnerReport;
}

function expectWholeStack(report: RunnerReport): void {
  expect(report.outputs).to.deep.equal([
    "connectionArn",
    "connectionStatus",
    "dashboardName",
    "dashboardUrl",
    "deadLetterQueueUrl",
    "deliveryQueueUrl",
    "logGroups",
    "notificationTopicArn",
    "prArtifactBucketName",
    "prRepositoryNames",
    "reconcilerFunctionName",
    "repositoryUri",
    "services",
    "sourcePipelineConsoleUrl",
    "sourcePipelineName",
    "sourceRepositoryUris",
    "webhookId",
    "webhookUrl",
    "workerFunctionName",
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
    "branchline:delivery:DeliveryQueue",
    "branchline:delivery:DeliveryWorker",
    "aws:sqs/queue:Queue",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
  ]);
  expect(report.resources.filter((type) => type === "aws:lambda/function:Function")).to.have.length(
    4,
  );
}

describe("infra/index under the Pulumi CLI's Node.js runner", function () {
  this.timeout(120_000);

  it("loads the program with the vendored ts-node and declares the whole stack", () => {
    expectWholeStack(reportOf(runLikePulumi(ROOT, MINIMAL_CONFIG)));
  });

  it("loads after a production install (npm ci --omit=dev): no dev dependency needed", () => {
    const project = productionInstall();
    try {
      const linked = readdirSync(path.join(project, "node_modules", "@types"));
      expect(linked, "the production install must leave out the test types").to.not.include(
        "mocha",
      );
      expectWholeStack(reportOf(runLikePulumi(project, MINIMAL_CONFIG)));
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it("fails the deployment on an ECR build image of another account, saying what to write", () => {
    const image = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/build-images:node22";
    const result = runLikePulumi(ROOT, {
      ...MINIMAL_CONFIG,
      "aws:region": "eu-west-1",
      "branchline:build": JSON.stringify({ image }),
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).to.equal(1);
    expect(result.stderr + result.stdout).to.include(
      "branchline:build.image must be an ECR image of this stack's account 123456789012 and " +
        "region eu-west-1",
    );
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
