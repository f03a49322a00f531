/**
 * The CLI's command line and its errors: usage, unknown commands and flags, names that cannot be
 * found, missing AWS credentials; and the `branchline` bin shim run as a real process.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { expect } from "chai";
import { NO_CREDENTIALS_MESSAGE } from "../../../functions/cli/aws.js";
import { USAGE, version } from "../../../functions/cli/main.js";
import { repositoryNameOf } from "../../../functions/cli/names.js";
import { emptyDirectory, runCli } from "../../helpers/cli.js";
import { withEnv } from "../../helpers/env.js";
import { useWireDoubles } from "../../helpers/wire.js";

const ROOT = join(__dirname, "..", "..", "..");

describe("cli command line", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  it("prints the usage with --help, and each command's with <command> --help", async () => {
    expect(await runCli(["--help"])).to.deep.equal({ code: 0, stdout: USAGE, stderr: "" });
    for (const command of [
      "list",
      "sync",
      "prune",
      "cost",
      "serve",
      "dlq",
      "dlq list",
      "dlq redrive",
    ]) {
      const result = await runCli([...command.split(" "), "--help"]);
      expect(result.code, command).to.equal(0);
      expect(result.stdout, command).to.match(new RegExp(`^Usage: branchline ${command} `));
      expect(result.stderr, command).to.equal("");
    }
  });

  it("exits 2 with the usage for no command, and one error line and a hint for an unknown one", async () => {
    expect(await runCli([])).to.deep.equal({ code: 2, stdout: "", stderr: USAGE });
    expect(await runCli(["deploy"])).to.deep.equal({
      code: 2,
      stdout: "",
      stderr:
        "branchline: error: unknown command \"deploy\"\nhint: run 'branchline --help' for the commands\n",
    });
    expect((await runCli(["constructor"])).code).to.equal(2);
  });

  it("prints the version from package.json with --version, -V and version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    for (const flag of ["--version", "-V", "version"]) {
      expect(await runCli([flag]), flag).to.deep.equal({
        code: 0,
        stdout: `branchline ${version}\n`,
        stderr: "",
      });
    }
  });

  it("reads the version from the nearest package.json named branchline", () => {
    const root = emptyDirectory();
    const nested = join(root, "functions", "cli");
    mkdirSync(nested, { recursive: true });
    writeFileSync(
      join(root, "package.json"),
      JSON.stringify({ name: "branchline", version: "9.8.7" }),
    );
    // A package.json of another package in between is skipped.
    writeFileSync(
      join(root, "functions", "package.json"),
      JSON.stringify({ name: "x", version: "1.0.0" }),
    );
    expect(version(nested)).to.equal("9.8.7");
    expect(version(emptyDirectory())).to.equal("unknown");
  });

  it("exits 2 with one error line and a hint to the command's help for a flag error", async () => {
    const cases: [string[], string, string][] = [
      [["list", "--colour"], "unknown option --colour", "list"],
      [["cost", "--stack"], "--stack needs a value", "cost"],
      [["list", "--json=yes"], "--json takes no value", "list"],
      [["prune", "extra"], 'unexpected argument "extra"', "prune"],
      [["dlq", "list", "--max", "0"], "--max must be a whole number from 1, got 0", "dlq list"],
      [["dlq", "purge"], 'unknown dlq command "purge": list or redrive', "dlq"],
      [["serve", "--port", "http"], "--port must be a port number, got http", "serve"],
    ];
    for (const [argv, message, command] of cases) {
      expect(await runCli(argv), argv.join(" ")).to.deep.equal({
        code: 2,
        stdout: "",
        stderr: `branchline: error: ${message}\nhint: run 'branchline ${command} --help' for its options\n`,
      });
    }
    expect(wire.aws.calls).to.deep.equal([]);
  });

  it("checks --github-api-url when it parses it, naming the flag", async () => {
    for (const [value, problem] of [
      ["api.github.example", 'must be an absolute http(s) URL, got "api.github.example"'],
      ["ftp://github.example/api", 'must be an http(s) URL, got "ftp://github.example/api"'],
    ]) {
      for (const command of ["sync", "prune", "serve"]) {
        const result = await runCli([
          command,
          "--source-pipeline",
          "app",
          "--repository",
          "app",
          "--github-token",
          "t",
          ...(command === "serve" ? ["--webhook-secret", "s"] : []),
          "--github-api-url",
          value as string,
        ]);
        expect(result, `${command} ${value}`).to.deep.equal({
          code: 2,
          stdout: "",
          stderr: `branchline: error: --github-api-url ${problem}\nhint: run 'branchline ${command} --help' for its options\n`,
        });
      }
    }
    expect(wire.aws.calls).to.deep.equal([]);
  });

  it("checks GITHUB_API_URL before any call", async () => {
    for (const command of ["sync", "prune", "serve"]) {
      const result = await runCli(
        [command, "--source-pipeline", "app", "--repository", "app", "--github-token", "t"],
        {
          env: {
            PATH: emptyDirectory(),
            GITHUB_API_URL: "github.example/api",
            WEBHOOK_SECRET: "s",
          },
        },
      );
      expect(result, command).to.deep.equal({
        code: 1,
        stdout: "",
        stderr:
          'branchline: error: GITHUB_API_URL must be an absolute http(s) URL, got "github.example/api"\nhint: set it to GitHub\'s API, e.g. https://github.example.com/api/v3, or unset it for api.github.com\n',
      });
    }
    expect(wire.aws.calls).to.deep.equal([]);
  });

  it("reports an AWS endpoint that cannot be reached as a network failure", async () => {
    const port = await closedPort();
    const result = await withEnv({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` }, () =>
      runCli(["list", "--source-pipeline", "hello-world"]),
    );
    expect(result).to.deep.equal({
      code: 1,
      stdout: "",
      stderr: `branchline: error: cannot reach AWS at 127.0.0.1:${port}: ECONNREFUSED\nhint: check the network, a proxy or VPN, and the endpoint's URL\n`,
    });
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
    const run = (args: string[], cwd = ROOT) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, "functions", "cli", "bin.cjs"), ...args],
          { cwd, env: { ...process.env, PATH: emptyDirectory() } },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const help = await run(["--help"]);
    expect(help).to.deep.equal({ code: 0, stdout: USAGE, stderr: "" });
    const unknown = await run(["deploy"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.equal(
      "branchline: error: unknown command \"deploy\"\nhint: run 'branchline --help' for the commands\n",
    );
    const { version: expected } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    // From another working directory: the version comes from the repository's package.json.
    expect(await run(["--version"], emptyDirectory())).to.deep.equal({
      code: 0,
      stdout: `branchline ${expected}\n`,
      stderr: "",
    });
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
