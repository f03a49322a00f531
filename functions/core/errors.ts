/**
 * Domain errors. Each names what went wrong in words a caller can act on; the webhook handler maps
 * them to status codes in one place (functions/webhook/responses.ts).
 */
export class BadRequestError extends Error {
  override readonly name = "BadRequestError";
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
