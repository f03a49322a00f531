/**
 * Domain errors. Each names what went wrong in words a caller can act on; the webhook handler maps
 * them to status codes in one place (functions/app/responses.ts).
 */
export class BadRequestError extends Error {
  override readonly name: string = "BadRequestError";
}

export class UnauthorizedError extends Error {
  override readonly name = "UnauthorizedError";
}

/** A pipeline with the clone's name exists but is not managed by branchline. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
}

/** The deployment is misconfigured (missing variables, a source pipeline without a GitHub source). */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

/**
 * What kind of failure an error is, which decides the webhook's answer and whether the reconciler
 * counts it as retryable:
 *
 * - `configuration`: the deployment is wrong and retrying will not help until someone fixes it. Our
 *   own ConfigurationError, and AWS errors that mean the same (see AWS_CONFIGURATION_ERRORS).
 * - `transient`: AWS or GitHub is busy or failing for now: throttling, a 5xx, a network error, a
 *   GitHub rate limit; also a plain `Error`, which is how the adapters and use cases report a failure
 *   AWS or GitHub answered with (ECR deletions that partly failed, a GitHub 5xx).
 * - `timeout`: the time budget ran out, or one call timed out.
 * - `bug`: anything else: TypeError, RangeError and the like, an AWS client error no branch expects,
 *   a thrown value that is not an Error.
 */
export type ErrorKind =
  "unauthorized" | "bad-request" | "conflict" | "configuration" | "transient" | "timeout" | "bug";

/**
 * AWS error names that mean the deployment is misconfigured, not that AWS is busy. They are never
 * retried as transient (the SDK treats LimitExceededException as throttling; for CodePipeline, ECR
 * and Secrets Manager it means a quota is used up, so it is listed here).
 */
export const AWS_CONFIGURATION_ERRORS: ReadonlySet<string> = new Set([
  // The function's role lacks a permission, or AWS does not accept its credentials.
  "AccessDeniedException",
  "AccessDenied",
  "AuthorizationError",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  // CodePipeline refuses the clone's declaration or its tags (the source pipeline is at fault).
  "InvalidStructureException",
  "InvalidActionDeclarationException",
  "InvalidBlockerDeclarationException",
  "InvalidStageDeclarationException",
  "InvalidTagsException",
  "TooManyTagsException",
  "ValidationException",
  // A quota is used up (pipelines per region, ...): raise it or delete something.
  "LimitExceededException",
  // Something the deployment names does not exist: the ECR repository, the secret.
  "RepositoryNotFoundException",
  "ResourceNotFoundException",
  // Secrets Manager cannot decrypt the secret with its KMS key.
  "DecryptionFailure",
]);

/** AWS (and GitHub) error names that mean "busy or failing for now". */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
  "SlowDown",
  "PriorRequestNotComplete",
  "InternalFailure",
  "InternalServerError",
  "InternalServiceError",
  "InternalServiceErrorException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "ConcurrentModificationException",
  "GitHubRateLimitError",
]);

const TIMEOUT_ERRORS: ReadonlySet<string> = new Set([
  "AbortError",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

/** Node's error codes for a connection that failed or was cut. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** The members an AWS SDK v3 service error carries (read structurally: core has no SDK). */
interface ServiceErrorShape {
  name: string;
  code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function classifyError(error: unknown): ErrorKind {
  if (error instanceof UnauthorizedError) return "unauthorized";
  if (error instanceof BadRequestError) return "bad-request";
  if (error instanceof ConflictError) return "conflict";
  if (error instanceof ConfigurationError) return "configuration";
  if (!(error instanceof Error)) return "bug";
  const shape = error as ServiceErrorShape;
  if (TIMEOUT_ERRORS.has(shape.name)) return "timeout";
  if (AWS_CONFIGURATION_ERRORS.has(shape.name)) return "configuration";
  const status = shape.$metadata?.httpStatusCode;
  if (
    TRANSIENT_ERRORS.has(shape.name) ||
    (typeof shape.code === "string" && NETWORK_CODES.has(shape.code)) ||
    shape.$retryable !== undefined ||
    shape.$fault === "server" ||
    (typeof status === "number" && (status === 429 || status >= 500))
  ) {
    return "transient";
  }
  // An AWS answer no branch expects (a client fault we did not plan for) is a bug of ours.
  if (shape.$metadata !== undefined || shape.$fault !== undefined) return "bug";
  return Object.getPrototypeOf(error) === Error.prototype ? "transient" : "bug";
}

/**
 * Takes ARNs and account ids out of a message before it goes where an outsider can read it (an
 * answer's body); the log keeps the original.
 */
export function redact(message: string): string {
  return message
    .replace(/\barn:[A-Za-z0-9-]+:[^\s"'`,;()]*/g, "<arn>")
    .replace(/\b\d{12}\b/g, "<account>");
}
