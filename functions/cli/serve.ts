/**
 * `branchline serve`: the webhook handler on a local HTTP port, for trying it with a tunnel. Each
 * `POST /webhook` becomes the API Gateway (HTTP API, payload 2.0) event the Lambda would receive, and
 * the handler's answer goes back as it is.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../app/ports.js";
import { ENV } from "../shared/names.js";
import { defaultWebhookDeps } from "../webhook/deps.js";
import { createHandler, type WebhookEvent } from "../webhook/handler.js";
import { connectAws } from "./aws.js";
import {
  GITHUB_FLAGS,
  GITHUB_HELP,
  gitHubAccess,
  NAME_FLAGS,
  NAME_HELP,
  parseFlags,
  REPOSITORY_HELP,
} from "./flags.js";
import { CliError, line, UsageError, type CliIo } from "./io.js";
import { resolveServices } from "./names.js";

export const SERVE_USAGE = `Usage: branchline serve [options]

Serves the webhook handler on http://<host>:<port>/webhook until Ctrl-C, with this machine's AWS
credentials. Point a tunnel (ngrok, cloudflared, ...) at it and set the tunnel's URL on the
repository's webhook, with the same secret. It serves one service: with a stack of several, pick
it with --service.

Options:
  --port <n>                  the port (default 3000; 0 picks a free one)
  --host <address>            the address to listen on (default 127.0.0.1)
  --webhook-secret <secret>   the webhook secret (default: WEBHOOK_SECRET, or WEBHOOK_SECRET_ARN)
${NAME_HELP}
${REPOSITORY_HELP}
${GITHUB_HELP}
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
  const github = gitHubAccess(values, io.env);
  // Fails now, with one clear line, when there are no AWS credentials.
  await connectAws(io.signal);

  const env: Record<string, string | undefined> = {
    ...io.env,
    [ENV.sourcePipelineName]: names.sourcePipelineName,
    [ENV.ecrRepositoryNames]: JSON.stringify(names.repositoryNames),
    [ENV.webhookSecret]: secret,
    [ENV.githubToken]: github.token,
    [ENV.githubApiUrl]: github.apiUrl,
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
          ? new CliError(`port ${port} is in use: pass another --port`)
          : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  line(
    io.stdout,
    `serving the webhook of ${names.sourcePipelineName} on http://${shownHost}:${address.port}/webhook`,
  );
  line(io.stdout, "press Ctrl-C to stop");

  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  line(io.stdout, "stopped");
  return 0;
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
