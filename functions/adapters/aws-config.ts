/**
 * Client settings shared by every AWS SDK client the functions create. Region, credentials and
 * endpoints come from the SDK's standard variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
 *
 * Retries (`SweepRetryStrategy`): a throttled call is retried after a jittered backoff (0 to 100 ms,
 * doubling, at most 1 s) until the caller's deadline, the abort signal each call carries (the
 * webhook's 8-second budget, the reconciler's sweep), with no retry quota; `maxThrottledAttempts`
 * is only a backstop for calls without a deadline. Transient errors (5xx, timeouts, network) are
 * retried the same way, at most `maxAttempts` attempts in all (default 4); errors that mean
 * misconfiguration (core/errors.ts, e.g. AccessDenied or LimitExceeded, which the SDK counts as
 * throttling) and other client errors are not retried. Each attempt times out, so that a webhook
 * answer stays inside GitHub's 10-second limit.
 *
 * `sweep` suits a long batch of calls (the reconciler's sweep): the client also paces itself to
 * the rate AWS accepts once it is throttled (see `ThrottlePacer`). The webhook's calls are not
 * paced: a container makes two or three calls a delivery, and a pacer slowed down by one burst
 * would space the calls of every later delivery.
 */
import { SweepRetryStrategy } from "./sweep-retry.js";

export interface AwsClientOptions {
  /** Attempts in all for a call failing with transient errors (default 4). */
  maxAttempts?: number;
  /** Attempts in all for a call that keeps being throttled (default 100 for `sweep`, else 30). */
  maxThrottledAttempts?: number;
  requestTimeoutMs?: number;
  /** Pace the client to the rate AWS accepts once it is throttled. */
  sweep?: boolean;
  /** Called for each throttled attempt (the `Throttles` metric; see `SweepRetryOptions`). */
  onThrottle?: () => void;
}

export function awsClientConfig(options: AwsClientOptions = {}) {
  const maxAttempts = options.maxAttempts ?? 4;
  return {
    maxAttempts,
    retryStrategy: new SweepRetryStrategy({
      maxAttempts,
      maxThrottledAttempts: options.maxThrottledAttempts ?? (options.sweep ? 100 : 30),
      pace: options.sweep === true,
      ...(options.onThrottle ? { onThrottle: options.onThrottle } : {}),
    }),
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
