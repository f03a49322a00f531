/**
 * `branchline serve` over the wire: the CLI started on a free port, signed deliveries POSTed to it
 * over HTTP, the real webhook handler behind it, the AWS double behind that.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { expect } from "chai";
import { processParentCheck, toEvent } from "../../../functions/cli/serve.js";
import { cloneTags } from "../../../functions/core/clone.js";
import { capture, emptyDirectory, runCli, type CliResult } from "../../helpers/cli.js";
import { examplePayload, pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";

describe("cli serve (wire level)", function () {
  const wire = useWireDoubles({ github: false, repository: REPOSITORY });

  /** Starts `serve` on a free port; resolves with its URL once it listens. */
  function start(
    args: string[] = [],
    parentCheck?: { alive: () => boolean; everyMs: number },
    env: Record<string, string> = {},
  ) {
    const controller = new AbortController();
    const stdout = capture();
    let listening: (url: string) => void = () => undefined;
    const url = new Promise<string>((resolve) => (listening = resolve));
    const write = stdout.write.bind(stdout);
    stdout.write = (chunk: string) => {
      write(chunk);
      const match = /(http:\/\/[^\s"]+\/webhook)/.exec(stdout.text);
      if (match?.[1]) listening(match[1]);
      return true;
    };
    const stderr = capture();
    const done: Promise<CliResult> = runCli(
      [
        "serve",
        "--port",
        "0",
        "--source-pipeline",
        SOURCE,
        "--repository",
        REPOSITORY,
        "--webhook-secret",
        SECRET,
        ...args,
      ],
      {
        env: { PATH: emptyDirectory(), ...env },
        signal: controller.signal,
        stdout,
        stderr,
        ...(parentCheck ? { parentCheck } : {}),
      },
    );
    return { url, done, stop: () => controller.abort(), stdout, stderr };
  }

  async function post(url: string, event: ReturnType<typeof signedEvent>) {
    const response = await fetch(url, {
      method: "POST",
      headers: event.headers as Record<string, string>,
      body: event.body ?? "",
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("answers a signed ping, creates a clone for a signed opened, and stops on abort", async () => {
    const server = start();
    const url = await server.url;
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/webhook$/);

    const ping = await post(
      url,
      signedEvent(examplePayload("ping"), { secret: SECRET, event: "ping" }),
    );
    expect(ping).to.deep.equal({ status: 200, body: { outcome: "pong" } });

    const opened = await post(
      url,
      signedEvent(pullRequestPayload({ number: 2 }), { secret: SECRET }),
    );
    expect(opened.status).to.equal(200);
    expect(opened.body).to.include({ outcome: "created", pipeline: "hello-world-pr-2" });
    expect(wire.aws.pipeline("hello-world-pr-2")?.tags).to.deep.equal(
      cloneTags(SOURCE, 2, headRef()),
    );

    const forged = await post(
      url,
      signedEvent(pullRequestPayload({ number: 3 }), {
        secret: SECRET,
        signature: `sha256=${"0".repeat(64)}`,
      }),
    );
    expect(forged.status).to.equal(401);
    expect(wire.aws.pipeline("hello-world-pr-3")).to.equal(undefined);

    server.stop();
    const result = await server.done;
    expect(result.code).to.equal(0);
    expect(result.stdout).to.equal(
      `serving the webhook of ${SOURCE} on ${url}\npress Ctrl-C to stop\nstopped\n`,
    );
    // One structured log line per delivery, on stderr.
    const lines = result.stderr
      .trim()
      .split("\n")
      .map((text) => JSON.parse(text) as { message: string; status?: number });
    expect(
      lines.filter((l) => l.message === "delivery handled").map((l) => l.status),
    ).to.deep.equal([200, 200, 401]);
  });

  it("does the work itself even where the shell exports a delivery queue's QUEUE_URL", async () => {
    const server = start([], undefined, {
      QUEUE_URL: `https://sqs.${wire.aws.region}.amazonaws.com/${wire.aws.accountId}/q.fifo`,
    });
    try {
      const opened = await post(
        await server.url,
        signedEvent(pullRequestPayload({ number: 4 }), { secret: SECRET }),
      );
      expect(opened.status).to.equal(200);
      expect(opened.body).to.include({ outcome: "created", pipeline: "hello-world-pr-4" });
    } finally {
      server.stop();
    }
    expect((await server.done).code).to.equal(0);
  });

  it("answers 404 off /webhook and 405 for other methods", async () => {
    const server = start();
    const url = await server.url;
    const other = await fetch(url.replace(/\/webhook$/, "/"), { method: "POST", body: "{}" });
    expect(other.status).to.equal(404);
    const get = await fetch(url);
    expect(get.status).to.equal(405);
    server.stop();
    expect((await server.done).code).to.equal(0);
  });

  it("needs the webhook secret", async () => {
    const result = await runCli(
      ["serve", "--port", "0", "--source-pipeline", SOURCE, "--repository", REPOSITORY],
      { env: { PATH: emptyDirectory() } },
    );
    expect(result).to.deep.equal({
      code: 1,
      stdout: "",
      stderr:
        "branchline: error: serve needs the webhook secret: pass --webhook-secret or set WEBHOOK_SECRET (or WEBHOOK_SECRET_ARN)\n",
    });
  });

  it("says what is wrong before listening: the source pipeline and the webhook secret", async () => {
    const missingSecret = `arn:aws:secretsmanager:us-east-1:${wire.aws.accountId}:secret:nope-AbCdEf`;
    const result = await runCli(
      ["serve", "--port", "0", "--source-pipeline", "nope", "--repository", REPOSITORY],
      { env: { PATH: emptyDirectory(), WEBHOOK_SECRET_ARN: missingSecret } },
    );
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal("");
    const [error, hint, ...rest] = result.stderr.split("\n");
    expect(error).to.match(
      new RegExp(
        `^branchline: error: serve cannot start: source pipeline nope does not exist in this account and region \\(check AWS_PROFILE, AWS_REGION or --source-pipeline\\); the webhook secret ${missingSecret} cannot be read \\(ResourceNotFoundException: .+\\)$`,
      ),
    );
    expect(hint).to.equal(
      "hint: check AWS_PROFILE, AWS_REGION, the names given, and the webhook secret",
    );
    expect(rest).to.deep.equal([""]);
  });

  it("refuses a blank webhook secret, given or read from Secrets Manager", async () => {
    const blank = wire.aws.seedSecret("branchline/webhook", "  ");
    for (const env of [{ WEBHOOK_SECRET_ARN: blank }, { WEBHOOK_SECRET: " " }]) {
      const result = await runCli(
        ["serve", "--port", "0", "--source-pipeline", SOURCE, "--repository", REPOSITORY],
        { env: { PATH: emptyDirectory(), ...env } },
      );
      expect(result.code).to.equal(1);
      expect(result.stderr.split("\n")[0]).to.equal(
        `branchline: error: serve cannot start: ${"WEBHOOK_SECRET" in env ? "the webhook secret is blank" : `the webhook secret ${blank} is empty`}`,
      );
    }
  });

  it("reads the webhook secret from Secrets Manager at start-up, and serves with it", async () => {
    const arn = wire.aws.seedSecret("branchline/webhook", SECRET);
    const controller = new AbortController();
    const stdout = capture();
    const done = runCli(
      ["serve", "--port", "0", "--source-pipeline", SOURCE, "--repository", REPOSITORY, "--json"],
      {
        env: { PATH: emptyDirectory(), WEBHOOK_SECRET_ARN: arn },
        signal: controller.signal,
        stdout,
      },
    );
    while (!stdout.text.includes("\n")) await new Promise((resolve) => setTimeout(resolve, 5));
    const listening = JSON.parse(stdout.text) as { url: string; sourcePipeline: string };
    expect(listening.sourcePipeline).to.equal(SOURCE);
    const ping = await post(
      listening.url,
      signedEvent(examplePayload("ping"), { secret: SECRET, event: "ping" }),
    );
    expect(ping.status).to.equal(200);
    controller.abort();
    const result = await done;
    expect(result.code).to.equal(0);
    expect(result.stdout.split("\n").slice(1)).to.deep.equal(['{"stopped":"interrupted"}', ""]);
  });

  it("stops by itself when its parent process goes away", async () => {
    let checks = 0;
    const server = start([], { everyMs: 5, alive: () => ++checks < 3 });
    const url = await server.url;
    const result = await server.done;
    expect(checks).to.equal(3);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.equal(
      `serving the webhook of ${SOURCE} on ${url}\npress Ctrl-C to stop\nstopped: the process that started serve went away\n`,
    );
    // The port is free again.
    await fetch(url).then(
      () => expect.fail("still listening"),
      (error: unknown) => expect(error).to.be.instanceOf(TypeError),
    );
  });

  it("sees its real parent alive, and stops as a real process once the parent exits", async function () {
    expect(processParentCheck().alive()).to.equal(true);
    // sh starts serve in the background, waits until it listens, and exits: serve is orphaned.
    const dir = emptyDirectory();
    const out = join(dir, "out");
    const bin = join(__dirname, "..", "..", "..", "functions", "cli", "bin.cjs");
    const script = [
      `"${process.execPath}" "${bin}" serve --port 0 --source-pipeline ${SOURCE} --repository ${REPOSITORY} --webhook-secret s > "${out}" 2>&1 &`,
      `while ! grep -q serving "${out}" 2>/dev/null; do sleep 0.05; done`,
    ].join("\n");
    const shell = spawn("sh", ["-c", script], { stdio: "ignore", env: { ...process.env } });
    await new Promise((resolve) => shell.on("exit", resolve));
    // It notices within a poll or two and stops; the test's own timeout bounds the wait.
    while (!(existsSync(out) && readFileSync(out, "utf8").includes("stopped"))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(readFileSync(out, "utf8")).to.match(
      /serving the webhook of hello-world on http:\/\/127\.0\.0\.1:\d+\/webhook\npress Ctrl-C to stop\nstopped: the process that started serve went away\n$/,
    );
  });

  it("builds the API Gateway event: lower-case headers, text or base64 body", () => {
    const request = {
      headersDistinct: { "x-github-event": ["ping"], accept: ["a", "b"] },
    } as unknown as IncomingMessage;
    expect(toEvent(request, Buffer.from('{"zen":"é"}'))).to.deep.equal({
      headers: { "x-github-event": "ping", accept: "a,b" },
      body: '{"zen":"é"}',
      isBase64Encoded: false,
    });
    expect(toEvent(request, Buffer.from([0xff, 0xfe, 0x00]))).to.deep.equal({
      headers: { "x-github-event": "ping", accept: "a,b" },
      body: "//4A",
      isBase64Encoded: true,
    });
  });
});

function headRef(): string {
  const payload = pullRequestPayload() as { pull_request: { head: { ref: string } } };
  return payload.pull_request.head.ref;
}
