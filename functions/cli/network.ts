/**
 * A request that never reached its endpoint (refused, unknown host, cut or timed out connection),
 * told apart from an answer, so that it is reported as a network failure: `cannot reach AWS at
 * <host>: ECONNREFUSED`. GitHub's are translated where Octokit is called (adapters/github.ts).
 */

/** Node's error codes for a connection that could not be made or was cut. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

/**
 * The one-line report of an AWS SDK call that failed in the network (the SDK passes Node's socket
 * error on, with its `code`, host and port, and no HTTP status), or `undefined` for anything else.
 */
export function networkFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const shape = error as {
    code?: unknown;
    hostname?: unknown;
    address?: unknown;
    port?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (typeof shape.code !== "string" || !NETWORK_CODES.has(shape.code)) return undefined;
  if (shape.$metadata?.httpStatusCode !== undefined) return undefined;
  const host =
    typeof shape.hostname === "string"
      ? shape.hostname
      : typeof shape.address === "string"
        ? `${shape.address}${typeof shape.port === "number" ? `:${shape.port}` : ""}`
        : undefined;
  const service = shape.$metadata === undefined ? "the endpoint" : "AWS";
  return `cannot reach ${service}${host ? ` at ${host}` : ""}: ${shape.code}`;
}
