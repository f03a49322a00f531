/**
 * `branchline sync --remote`: runs the deployed reconciler (the stack's `reconcilerFunctionName`)
 * now, with the stack's own settings and credentials (its GitHub token or App, its routing table and
 * every rule in it), and prints its summary as `sync` prints its own. The sweep runs in AWS; this
 * side waits for the answer (Lambda's synchronous invocation) with a progress line of the time spent.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { awsClientConfig } from "../adapters/aws-config.js";
import type { ReconcileSummary } from "../app/reconcile.js";
import { isCredentialsError, isRejectedCredentials, NO_CREDENTIALS_MESSAGE } from "./aws.js";
import { CliError, startProgress, type CliIo } from "./io.js";

/**
 * How long the CLI waits for the answer: the reconciler's own timeout (5 minutes, see
 * infra/components/reconciler.ts) and a margin; Lambda answers a synchronous invocation when the
 * function returns or times out.
 */
export const REMOTE_SYNC_TIMEOUT_MS = 6 * 60 * 1000;

/** What the deployed reconciler answered: its sweep's summary (see functions/reconcile/handler.ts). */
export type RemoteSummary = ReconcileSummary & {
  services?: Record<string, ReconcileSummary>;
  notReached?: string[];
};

/** Invokes `functionName` with `{}` (an on-demand sweep) and returns its summary. */
export async function invokeReconciler(
  io: CliIo,
  functionName: string,
  json: boolean,
): Promise<RemoteSummary> {
  const lambda = new LambdaClient(
    // One attempt: a sweep retried by the SDK after a lost answer would run twice.
    awsClientConfig({ requestTimeoutMs: REMOTE_SYNC_TIMEOUT_MS, maxAttempts: 1 }),
  );
  const started = Date.now();
  const text = () =>
    `the deployed reconciler ${functionName} is sweeping (${Math.round((Date.now() - started) / 1000)} s)`;
  const progress = startProgress(io, json, text());
  const ticker = setInterval(() => progress.update(text()), 1000);
  ticker.unref();
  let answer;
  try {
    answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: new TextEncoder().encode("{}"),
      }),
      io.signal ? { abortSignal: io.signal } : {},
    );
  } catch (error) {
    throw invokeError(error, functionName);
  } finally {
    clearInterval(ticker);
    progress.stop();
  }
  const body = answer.Payload ? new TextDecoder().decode(answer.Payload) : "";
  if (answer.FunctionError !== undefined) {
    throw new CliError(`the reconciler ${functionName} failed: ${functionErrorText(body)}`);
  }
  let summary: unknown;
  try {
    summary = JSON.parse(body);
  } catch {
    throw new CliError(`the reconciler ${functionName} answered something that is not JSON`);
  }
  if (!isSummary(summary)) {
    throw new CliError(
      `the reconciler ${functionName} answered without a sweep summary: is it branchline's reconciler?`,
    );
  }
  return summary;
}

/** Lambda's `{errorType, errorMessage}` for a function error, as one line. */
function functionErrorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof parsed.errorType === "string" ? parsed.errorType : "Error";
    const message = typeof parsed.errorMessage === "string" ? parsed.errorMessage : body;
    return `${type}: ${message}`;
  } catch {
    return body || "no details";
  }
}

function isSummary(value: unknown): value is RemoteSummary {
  if (typeof value !== "object" || value === null) return false;
  const summary = value as Record<string, unknown>;
  return ["created", "updated", "deleted", "imagesDeleted", "unchanged", "errors"].every((key) =>
    Array.isArray(summary[key]),
  );
}

function invokeError(error: unknown, functionName: string): unknown {
  if (isCredentialsError(error)) return new CliError(NO_CREDENTIALS_MESSAGE);
  if (isRejectedCredentials(error)) {
    return new CliError(`AWS refused the credentials: ${(error as Error).message}`);
  }
  if (error instanceof Error && error.name === "ResourceNotFoundException") {
    return new CliError(
      `no function ${functionName} in this account and region (check AWS_PROFILE, AWS_REGION or --function)`,
    );
  }
  if (error instanceof Error && error.name === "AccessDeniedException") {
    return new CliError(
      `AWS refused to invoke ${functionName}: your credentials need lambda:InvokeFunction on it (${error.message})`,
    );
  }
  return error;
}
