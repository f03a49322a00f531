/**
 * Every answer the webhook gives, and the one place where errors become status codes (the delivery
 * worker reads the same status to decide a queued delivery's fate: functions/worker/handler.ts). Error objects
 * are never serialised, and no answer carries an AWS or SDK message, an ARN or an account id: the
 * body says what kind of failure it was, in words for the person reading GitHub's delivery log, and
 * the details go to the function's log (see `failureLog`).
 *
 * | kind (core/errors.ts `classifyError`)                              | status | outcome        |
 * | ------------------------------------------------------------------ | ------ | -------------- |
 * | UnauthorizedError                                                  | 401    | unauthorized   |
 * | BadRequestError                                                    | 400    | bad-request    |
 * | ConflictError                                                      | 409    | conflict       |
 * | ConfigurationError, AWS configuration errors (AccessDenied, ...)   | 422    | misconfigured  |
 * | throttling, 5xx, network errors, GitHub rate limit, other failures | 503    | failed         |
 * | the time budget ran out, a call timed out                          | 503    | timed-out      |
 * | a bug (TypeError, RangeError, an AWS error no branch expects, ...) | 500    | internal-error |
 *
 * Before the signature is verified the caller may be anyone, so a misconfiguration is answered
 * without naming it (`authenticated: false`).
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { classifyError, ConfigurationError, redact, type ErrorKind } from "../core/errors.js";
import { DIMENSION, METRIC } from "../shared/metrics.js";
import type { Metrics } from "./ports.js";

export type Response = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** The `outcome` of each answer built here, kept for the log line without parsing the body again. */
const outcomes = new WeakMap<Response, string>();

export function respond(statusCode: number, body: Record<string, unknown>): Response {
  const response: Response = {
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  if (typeof body["outcome"] === "string") outcomes.set(response, body["outcome"]);
  return response;
}

/** The `outcome` field of an answer built by `respond`. */
export function outcomeOf(response: Response): string | undefined {
  return outcomes.get(response);
}

export interface ErrorContext {
  /** True once the delivery's signature has been verified: the caller is GitHub. */
  authenticated: boolean;
}

export const MESSAGES = {
  misconfiguredAnonymous: "the webhook is misconfigured; the details are in the function's log",
  failed: "AWS or GitHub is throttling or failing for now; the reconciler will finish the job",
  timedOut: "AWS did not answer in time; the reconciler will finish the job",
  bug: "the webhook failed on an internal error; the details are in the function's log",
  notQueued:
    "the delivery could not be queued for now; redeliver it, or the reconciler will finish the job",
} as const;

/** The status code and message for an error thrown while handling a delivery. */
export function errorResponse(error: unknown, context: ErrorContext): Response {
  const kind = classifyError(error);
  switch (kind) {
    case "unauthorized":
      return respond(401, { outcome: "unauthorized", message: ownMessage(error) });
    case "bad-request":
      return respond(400, { outcome: "bad-request", message: ownMessage(error) });
    case "conflict":
      return respond(409, { outcome: "conflict", message: ownMessage(error) });
    case "configuration":
      return respond(422, {
        outcome: "misconfigured",
        message: context.authenticated
          ? configurationMessage(error)
          : MESSAGES.misconfiguredAnonymous,
      });
    case "timeout":
      return respond(503, { outcome: "timed-out", message: MESSAGES.timedOut });
    case "transient":
      return respond(503, { outcome: "failed", message: MESSAGES.failed });
    case "bug":
      return respond(500, { outcome: "internal-error", message: MESSAGES.bug });
  }
}

/**
 * What the log records about a failed delivery: the error's kind, name and message (which may name
 * ARNs: the log is the operator's), and for a bug its stack.
 */
export function failureLog(error: unknown): {
  level: "warn" | "error";
  fields: Record<string, unknown>;
} {
  const kind: ErrorKind = classifyError(error);
  const fields: Record<string, unknown> = {
    errorKind: kind,
    error: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
  };
  if (kind === "bug" && error instanceof Error && error.stack) fields["stack"] = error.stack;
  const level = kind === "configuration" || kind === "bug" ? "error" : "warn";
  return { level, fields };
}

/** Counts a failure as the `Errors` metric, by its kind (`classifyError`). */
export function countError(metrics: Metrics | undefined, error: unknown): void {
  metrics?.count(METRIC.errors, 1, { [DIMENSION.kind]: classifyError(error) });
}

/** The message of one of our own domain errors (written for the caller), without ARNs. */
function ownMessage(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/**
 * Our own ConfigurationError names the problem; an AWS error that means misconfiguration is named
 * by its kind only (its message may name the role's ARN).
 */
function configurationMessage(error: unknown): string {
  if (error instanceof ConfigurationError) return ownMessage(error);
  const name = error instanceof Error ? error.name : "an error";
  return `${AWS_PROBLEMS[name] ?? "AWS refused the request as invalid: check the source pipeline"} (${name}); the details are in the function's log`;
}

/** What each AWS error of core/errors.ts AWS_CONFIGURATION_ERRORS says about the deployment. */
const AWS_PROBLEMS: Readonly<Record<string, string>> = {
  AccessDeniedException: "AWS refused the function a permission it needs",
  AccessDenied: "AWS refused the function a permission it needs",
  AuthorizationError: "AWS refused the function a permission it needs",
  UnauthorizedOperation: "AWS refused the function a permission it needs",
  UnrecognizedClientException: "AWS does not accept the function's credentials",
  InvalidClientTokenId: "AWS does not accept the function's credentials",
  LimitExceededException: "an AWS quota is used up",
  RepositoryNotFoundException: "the ECR repository does not exist",
  ResourceNotFoundException: "a resource the deployment names does not exist",
  DecryptionFailure: "Secrets Manager cannot decrypt a secret with its KMS key",
};
