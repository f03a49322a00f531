/**
 * Runs the Pulumi program the way `pulumi up` does, minus the engine: the Node.js language host's own
 * `run` function from @pulumi/pulumi (cmd/run), which registers the ts-node it vendors with the
 * project's tsconfig.json and requires package.json `main`, under Pulumi mocks instead of an engine.
 * Plain CommonJS on purpose: nothing but Node and @pulumi/pulumi is loaded before the runner.
 *
 * Usage: node pulumi-runner-harness.cjs <project root> <config JSON>; prints one JSON line
 * `{"outputs": [...names], "resources": [...types]}` and exits 0, or exits non-zero.
 */
"use strict";

const path = require("node:path");

const [projectRoot, configJson] = process.argv.slice(2);
process.chdir(projectRoot);
process.env.PULUMI_NODEJS_TYPESCRIPT = "true";

const Module = require("node:module");

const pulumiRoot = path.dirname(require.resolve("@pulumi/pulumi", { paths: [projectRoot] }));
const pulumi = require(pulumiRoot);

// cmd/run/run.js requires its package's cmd/run/index.js, whose top level parses the language
// host's command line and exits without `--monitor`. Under mocks there is no monitor, so that module
// is replaced by the one constant run.js reads from it.
const languageHostEntry = path.join(pulumiRoot, "cmd", "run", "index.js");
const stub = new Module(languageHostEntry);
stub.filename = languageHostEntry;
stub.loaded = true;
stub.exports = { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 };
require.cache[languageHostEntry] = stub;

const runner = require(path.join(pulumiRoot, "cmd", "run", "run.js"));

const account = "123456789012";
const region = "eu-west-1";
const resources = [];

const mocks = {
  newResource(args) {
    resources.push(args.type);
    const name = args.inputs.name ?? `${args.name}-0000000`;
    // A connection's ARN names its service: the policies derive the IAM prefix from it.
    const arn =
      args.type === "aws:codeconnections/connection:Connection"
        ? `arn:aws:codeconnections:${region}:${account}:connection/${args.name}`
        : `arn:aws:mock:${region}:${account}:${args.name}`;
    return {
      id: `${args.name}-id`,
      state: {
        ...args.inputs,
        name,
        arn,
        bucket: name,
        repositoryUrl: `${account}.dkr.ecr.${region}.amazonaws.com/${name}`,
        invokeArn: arn,
        executionArn: arn,
        apiEndpoint: "https://example.execute-api.eu-west-1.amazonaws.com",
        connectionStatus: "PENDING",
      },
    };
  },
  call(args) {
    switch (args.token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: account, arn: `arn:aws:iam::${account}:user/test`, userId: "AIDATEST" };
      case "aws:index/getRegion:getRegion":
        return { name: region, region };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com" };
      default:
        throw new Error(`no mock for ${args.token}`);
    }
  },
};

async function main() {
  await pulumi.runtime.setMocks(mocks, "branchline", "dev", false);
  const config = JSON.parse(configJson);
  pulumi.runtime.setAllConfig(
    config,
    Object.keys(config).filter((key) => key.endsWith("Secret")),
  );
  // The language host logs an error the program throws (also inside an apply) once, reports it
  // here, and the deployment fails: as the stubbed cmd/run/index.js does, remember the errors
  // already logged (the same rejection reaches several awaiters) and count every uncaught error as
  // a failure. Stop at the first one instead of waiting for RPCs the failed output never finishes.
  let failure;
  const logged = new Set();
  let reportFailure = () => undefined;
  const failed = new Promise((_, reject) => {
    reportFailure = reject;
  });
  failed.catch(() => undefined);
  process.on("uncaughtException", (error) => reportFailure(error));
  process.on("unhandledRejection", (error) => reportFailure(error));
  const outputs = await Promise.race([
    runner.run(
      { _: ["."] },
      () => undefined,
      (error) => {
        logged.add(error);
        failure = error;
        reportFailure(error);
      },
      (error) => logged.has(error),
    ),
    failed,
  ]);
  if (failure !== undefined) throw failure;
  await Promise.race([pulumi.runtime.waitForRPCs(), failed]);
  process.stdout.write(
    `${JSON.stringify({ outputs: Object.keys(outputs ?? {}).sort(), resources })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
