/**
 * `branchline serve`: the webhook handler on a local HTTP port, for trying it with a tunnel. Each
 * `POST /webhook` becomes the API Gateway (HTTP API, payload 2.0) event the Lambda would receive, and
 * the handler's answer goes back as it is.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { awsClientConfig } from "../adapters/aws-config.js";
import { secretReader } from "../adapters/secrets.js";
import type { Logger } from "../app/ports.js";
import { ENV } from "../shared/names.js";
import { defaultWebhookDeps } from "../webhook/deps.js";
import { createHandler, type WebhookEvent } from "../webhook/handler.js";
import { connectAws, loadSource } from "./aws.js";
import {
  GITHUB_FLAGS,
  GITHUB_HELP,
  gitHubAccess,
  NAME_FLAGS,
  NAME_HELP,
  parseFlags,
  REPOSITORY_HELP,
} from "./flags.js";
import { CliError, line, UsageError, type CliIo, type ParentCheck } from "./io.js";
import { resolveServices } from "./names.js";

/** How often `serve` checks that the process that started it is still there. */
export const PARENT_POLL_MS = 2000;

export const SERVE_USAGE = `Usage: branchline serve [options]

Serves the webhook handler on http://<host>:<port>/webhook until Ctrl-C, with this machine's AWS
credentials. Point a tunnel (ngrok, cloudflared, ...) at it and set the tunnel's URL on the
repository's webhook, with the same secret. It serves one service: with a stack of several, pick
it with --service.

Before listening it checks that the source pipeline exists and can be read and that the webhook
secret can be read and is not empty, and says what is wrong. It stops on Ctrl-C, and by itself when
the process that started it goes away (checked every ${PARENT_POLL_MS / 1000} seconds), so that a closed terminal
or a killed npx leaves no server holding the port.

Options:
  --port <n>                  the port (default 3000; 0 picks a free one)
  --host <address>            the address to listen on (default 127.0.0.1)
  --webhook-secret <secret>   the webhook secret (default: WEBHOOK_SECRET, or WEBHOOK_SECRET_ARN)
${NAME_HELP}
${REPOSITORY_HELP}
${GITHUB_HELP}
  --json                      print one JSON line when listening ({"url", "sourcePipeline"}) and
                              one when stopped ({"stopped"}), for scripts
  -h, --help                  show this help
`;

const MAX_BODY_BYTES = 25 * 1024 * 1024;

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const values = parseFlags(
    argv,
    {
      ...NAME_FLAGS,
      ...GITHUB_FLAGS,
      port: { type: "string" },
      host: { type: "string" },
      "webhook-secret": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    "serve",
  );
  if (values.help) {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  const port = Number(values.port ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number, got ${values.port}`, "serve");
  }
  const host = values.host ?? "127.0.0.1";
  const secret = values["webhook-secret"] || io.env[ENV.webhookSecret] || undefined;
  if (!secret && !io.env[ENV.webhookSecretArn]) {
    throw new CliError(
      "serve needs the webhook secret: pass --webhook-secret or set WEBHOOK_SECRET (or WEBHOOK_SECRET_ARN)",
    );
  }
  const github = gitHubAccess(values, io.env);
  // One service: the handler serves one source pipeline here (the stack's routing table is in its
  // deployment archive, not in the outputs).
  const services = await resolveServices(
    io,
    {
      stack: values.stack,
      service: values.service,
      sourcePipeline: values["source-pipeline"],
      repository: values.repository,
      repositories: values.repositories,
    },
    { repositories: true },
  );
  const [names] = services;
  if (names === undefined || services.length > 1) {
    throw new CliError(
      `serve serves one service: pass --service (the stack's services are ${services.map((service) => service.name ?? service.sourcePipelineName).join(", ")})`,
      2,
    );
  }
  const json = values.json === true;
  // Fails now, with one clear line, when there are no AWS credentials.
  const aws = await connectAws(io.signal);
  await startupCheck(io, aws, names.sourcePipelineName, secret);

  const env: Record<string, string | undefined> = {
    ...io.env,
    [ENV.sourcePipelineName]: names.sourcePipelineName,
    [ENV.ecrRepositoryNames]: JSON.stringify(names.repositoryNames),
    [ENV.webhookSecret]: secret,
    [ENV.githubToken]: github.token,
    [ENV.githubApiUrl]: github.apiUrl,
    // serve does the work itself, whatever queue the shell's environment names.
    [ENV.queueUrl]: undefined,
  };
  const handler = createHandler(defaultWebhookDeps(env, { logger: stderrLogger(io) }));

  const server = createServer((request, response) => {
    serve(handler, request, response).catch((error: unknown) => {
      line(io.stderr, `error: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) answer(response, 500, { message: "the local server failed" });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new CliError(`port ${port} is in use`, 1, "pass another --port (0 picks a free one)")
          : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}/webhook`;
  if (json) {
    line(io.stdout, JSON.stringify({ url, sourcePipeline: names.sourcePipelineName }));
  } else {
    line(io.stdout, `serving the webhook of ${names.sourcePipelineName} on ${url}`);
    line(io.stdout, "press Ctrl-C to stop");
  }

  const stopped = await new Promise<"interrupted" | "parent-gone">((resolve) => {
    const done = (reason: "interrupted" | "parent-gone") => {
      stopWatching();
      io.signal?.removeEventListener("abort", onAbort);
      resolve(reason);
    };
    const onAbort = () => done("interrupted");
    const stopWatching = watchParent(io.parentCheck ?? processParentCheck(), () =>
      done("parent-gone"),
    );
    if (io.signal?.aborted) done("interrupted");
    else io.signal?.addEventListener("abort", onAbort, { once: true });
  });
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  if (json) line(io.stdout, JSON.stringify({ stopped: stopped }));
  else if (stopped === "parent-gone") {
    line(io.stdout, "stopped: the process that started serve went away");
  } else line(io.stdout, "stopped");
  return 0;
}

/**
 * What can be checked before listening, every problem in one line: the source pipeline exists and
 * can be read; the webhook secret (given, or read from Secrets Manager) is not empty.
 */
async function startupCheck(
  io: CliIo,
  aws: Awaited<ReturnType<typeof connectAws>>,
  sourcePipelineName: string,
  secret: string | undefined,
): Promise<void> {
  const problems: string[] = [];
  try {
    await loadSource(aws, sourcePipelineName);
  } catch (error) {
    problems.push(
      error instanceof CliError
        ? error.message
        : `the source pipeline ${sourcePipelineName} cannot be read (${describeError(error)})`,
    );
  }
  const arn = io.env[ENV.webhookSecretArn];
  if (secret !== undefined) {
    if (secret.trim() === "") problems.push("the webhook secret is blank");
  } else if (arn) {
    try {
      const read = secretReader(
        "webhook",
        { arn },
        () => new SecretsManagerClient(awsClientConfig({ requestTimeoutMs: 15_000 })),
      );
      const value = read ? await read() : "";
      if (value.trim() === "") problems.push(`the webhook secret ${arn} is empty`);
    } catch (error) {
      problems.push(`the webhook secret ${arn} cannot be read (${describeError(error)})`);
    }
  }
  if (problems.length > 0) {
    throw new CliError(
      `serve cannot start: ${problems.join("; ")}`,
      1,
      "check AWS_PROFILE, AWS_REGION, the names given, and the webhook secret",
    );
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
}

/**
 * Calls `gone` once the parent process is gone, checking every `check.everyMs`; returns the stop.
 * The timer does not keep the process alive.
 */
export function watchParent(check: ParentCheck, gone: () => void): () => void {
  const timer = setInterval(() => {
    if (check.alive()) return;
    clearInterval(timer);
    gone();
  }, check.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The parent at start-up is alive while this process is still its child (an orphan is adopted by
 * init or a subreaper, which changes `process.ppid`) and a signal 0 reaches it.
 */
export function processParentCheck(everyMs = PARENT_POLL_MS): ParentCheck {
  const parent = process.ppid;
  return {
    everyMs,
    alive: () => {
      if (process.ppid !== parent) return false;
      try {
        process.kill(parent, 0);
        return true;
      } catch (error) {
        // EPERM: it exists, under another user.
        return (error as NodeJS.ErrnoException).code === "EPERM";
      }
    },
  };
}

type Handler = ReturnType<typeof createHandler>;

async function serve(
  handler: Handler,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path !== "/webhook") {
    answer(response, 404, { message: "not found: GitHub's deliveries go to POST /webhook" });
    return;
  }
  if (request.method !== "POST") {
    answer(response, 405, { message: "only POST is served" }, { allow: "POST" });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      answer(response, 413, { message: "the body is larger than GitHub's 25 MB" });
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const result = await handler(toEvent(request, Buffer.concat(chunks)));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  response.writeHead(result.statusCode, headers);
  response.end(result.body);
}

/**
 * The API Gateway v2 event for a request: header names in lower case, repeated headers joined with
 * commas, the body as text when it is valid UTF-8 and base64 otherwise.
 */
export function toEvent(request: IncomingMessage, body: Buffer): WebhookEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headersDistinct)) {
    if (value) headers[name.toLowerCase()] = value.join(",");
  }
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    text = undefined;
  }
  return text === undefined
    ? { headers, body: body.toString("base64"), isBase64Encoded: true }
    : { headers, body: text, isBase64Encoded: false };
}

function answer(
  response: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** The handler's structured log lines, one JSON object a line on stderr. */
function stderrLogger(io: CliIo): Logger {
  const write =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      line(io.stderr, JSON.stringify({ level, message, ...fields }));
    };
  return { info: write("info"), warn: write("warn"), error: write("error") };
}
