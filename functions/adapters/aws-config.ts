/**
 * Client settings shared by every AWS SDK client the functions create. Region, credentials and
 * endpoints come from the SDK's standard variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
 *
 * Retries: throttling and transient errors are retried with exponential backoff (100 ms doubling,
 * capped at 1 s, at most 4 attempts), and each attempt times out, so that together with the caller's
 * deadline a webhook answer stays inside GitHub's 10-second limit.
 *
 * `sweep` suits a long batch of calls (the reconciler's sweep): throttled calls are retried until the
 * caller's deadline, with no retry quota, and the client paces itself to the rate AWS accepts once it
 * is throttled (see `SweepRetryStrategy`), instead of spending its retries in a few seconds and
 * failing the rest of the batch. `maxAttempts` then bounds transient errors only.
 */
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { SweepRetryStrategy } from "./sweep-retry.js";

export interface AwsClientOptions {
  maxAttempts?: number;
  /** Backoff before retry n (1-based), in milliseconds. */
  backoff?: (attempt: number) => number;
  requestTimeoutMs?: number;
  /** Retry throttling until the deadline, pacing the client to the rate AWS accepts. */
  sweep?: boolean;
}

export function awsClientConfig(options: AwsClientOptions = {}) {
  const maxAttempts = options.maxAttempts ?? 4;
  const backoff =
    options.backoff ?? ((attempt: number) => Math.min(100 * 2 ** (attempt - 1), 1000));
  return {
    maxAttempts,
    retryStrategy: options.sweep
      ? new SweepRetryStrategy({ maxAttempts })
      : new ConfiguredRetryStrategy(maxAttempts, backoff),
    requestHandler: {
      connectionTimeout: 1000,
      requestTimeout: options.requestTimeoutMs ?? 3000,
    },
  };
}

/** The SDK's per-call options carrying the caller's deadline. */
export function callOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

/** True for an error the SDK raised with the given exception name. */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
