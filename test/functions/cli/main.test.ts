/**
 * The CLI's command line and its errors: usage, unknown commands and flags, names that cannot be
 * found, missing AWS credentials; and the `branchline` bin shim run as a real process.
 */
import { execFile } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { NO_CREDENTIALS_MESSAGE } from "../../../functions/cli/aws.js";
import { USAGE } from "../../../functions/cli/main.js";
import { repositoryNameOf } from "../../../functions/cli/names.js";
import { emptyDirectory, runCli } from "../../helpers/cli.js";
import { withEnv } from "../../helpers/env.js";
import { useWireDoubles } from "../../helpers/wire.js";

const ROOT = join(__dirname, "..", "..", "..");

describe("cli command line", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  it("prints the usage with --help, and each command's with <command> --help", async () => {
    expect(await runCli(["--help"])).to.deep.equal({ code: 0, stdout: USAGE, stderr: "" });
    for (const command of ["list", "sync", "prune", "cost", "serve"]) {
      const result = await runCli([command, "--help"]);
      expect(result.code, command).to.equal(0);
      expect(result.stdout, command).to.match(new RegExp(`^Usage: branchline ${command} `));
      expect(result.stderr, command).to.equal("");
    }
  });

  it("exits 2 with the usage for no command or an unknown one", async () => {
    expect(await runCli([])).to.deep.equal({ code: 2, stdout: "", stderr: USAGE });
    expect(await runCli(["deploy"])).to.deep.equal({
      code: 2,
      stdout: "",
      stderr: `branchline: unknown command "deploy"\n\n${USAGE}`,
    });
    expect((await runCli(["constructor"])).code).to.equal(2);
  });

  it("exits 2 with the command's usage for an unknown flag", async () => {
    const result = await runCli(["list", "--colour"]);
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.match(/^branchline: Unknown option '--colour'/);
    expect(result.stderr).to.contain("Usage: branchline list");
  });

  it("names the flag to pass when the Pulumi CLI is absent", async () => {
    expect(await runCli(["list"])).to.deep.equal({
      code: 1,
      stdout: "",
      stderr:
        "branchline: error: the Pulumi CLI was not found, so the stack outputs could not be read: pass --source-pipeline\n",
    });
    expect((await runCli(["sync"])).stderr).to.equal(
      "branchline: error: the Pulumi CLI was not found, so the stack outputs could not be read: pass --source-pipeline and --repository\n",
    );
    expect(
      (await runCli(["prune", "--source-pipeline", "x", "--github-token", "t"])).stderr,
    ).to.equal(
      "branchline: error: the Pulumi CLI was not found, so the stack outputs could not be read: pass --repository\n",
    );
    expect(wire.aws.calls).to.deep.equal([]);
  });

  it("names the flag to pass when pulumi fails or the stack lacks the output", async () => {
    const bin = emptyDirectory();
    const pulumi = join(bin, "pulumi");
    writeFileSync(pulumi, "#!/bin/sh\necho 'error: no stack selected' >&2\nexit 255\n");
    chmodSync(pulumi, 0o755);
    expect(await runCli(["cost"], { env: { PATH: bin } })).to.deep.equal({
      code: 1,
      stdout: "",
      stderr:
        "branchline: error: pulumi stack output failed (error: no stack selected): pass --source-pipeline, or pick the stack with --stack\n",
    });

    writeFileSync(pulumi, `#!/bin/sh\necho '{"sourcePipelineName":"app"}'\n`);
    expect((await runCli(["sync"], { env: { PATH: bin } })).stderr).to.equal(
      "branchline: error: the stack has no output repositoryUri: pass --repository\n",
    );
  });

  it("takes the repository name from the repository URI", () => {
    expect(repositoryNameOf("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app")).to.equal("app");
    expect(repositoryNameOf("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app")).to.equal(
      "team/app",
    );
  });

  it("says there are no AWS credentials, without a stack trace, and exits 1", async () => {
    const empty = emptyDirectory();
    writeFileSync(join(empty, "config"), "");
    writeFileSync(join(empty, "credentials"), "");
    const result = await withEnv(
      {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_DEFAULT_PROFILE: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        AWS_ROLE_ARN: undefined,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
        AWS_CONFIG_FILE: join(empty, "config"),
        AWS_SHARED_CREDENTIALS_FILE: join(empty, "credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
      },
      () => runCli(["list", "--source-pipeline", "hello-world"]),
    );
    expect(result).to.deep.equal({
      code: 1,
      stdout: "",
      stderr: `branchline: error: ${NO_CREDENTIALS_MESSAGE}\n`,
    });
    expect(wire.aws.calls).to.deep.equal([]);
  });

  it("runs through the bin shim as a real process", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, "functions", "cli", "bin.cjs"), ...args],
          { cwd: ROOT, env: { ...process.env, PATH: emptyDirectory() } },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const help = await run(["--help"]);
    expect(help).to.deep.equal({ code: 0, stdout: USAGE, stderr: "" });
    const unknown = await run(["deploy"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.equal(`branchline: unknown command "deploy"\n\n${USAGE}`);
  });
});
