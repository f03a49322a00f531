/**
 * Every answer the webhook gives, and the one place where errors become status codes. Error objects
 * are never serialised: the body carries a message written for the person reading GitHub's delivery
 * log.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import {
  BadRequestError,
  ConfigurationError,
  ConflictError,
  UnauthorizedError,
} from "../core/errors.js";

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

/** The status code and message for an error thrown while handling a delivery. */
export function errorResponse(error: unknown): Response {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UnauthorizedError) return respond(401, { outcome: "unauthorized", message });
  if (error instanceof BadRequestError) return respond(400, { outcome: "bad-request", message });
  if (error instanceof ConflictError) return respond(409, { outcome: "conflict", message });
  if (error instanceof ConfigurationError)
    return respond(500, { outcome: "misconfigured", message });
  if (isTimeout(error)) {
    return respond(503, {
      outcome: "timed-out",
      message: "AWS did not answer in time; the reconciler will finish the job",
    });
  }
  return respond(503, {
    outcome: "failed",
    message: `AWS refused or failed the request (${errorName(error)}); the reconciler will finish the job`,
  });
}

export function isTimeout(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "AbortError" ||
      error.name === "TimeoutError" ||
      error.name === "RequestTimeout")
  );
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown error";
}
