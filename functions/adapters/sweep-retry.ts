/**
 * The retry strategy of a long batch of calls (the reconciler's sweep), where being throttled is
 * expected and the batch has minutes rather than GitHub's 10 seconds.
 *
 * - Throttling is never a reason to give up: a throttled call is retried after a short backoff
 *   (exponential, full jitter, capped at `maxDelayMs`) without drawing on a retry quota, so one sweep
 *   goes on at the rate AWS accepts instead of failing every call after the first few hundred
 *   throttles. The caller's abort signal (the sweep's deadline) ends it; `maxThrottledAttempts` is
 *   only a backstop.
 * - Transient errors (timeouts, 500, 502, 503, 504) are retried the same way at most `maxAttempts`
 *   attempts in all; other errors are not retried.
 * - Every attempt first takes a token from a client-side rate limiter, which learns the rate AWS
 *   accepts from the throttling it sees, so the sweep's concurrent calls do not keep hitting the limit.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";
import type { RateLimiter } from "@smithy/util-retry";

export interface SweepRetryOptions {
  /** Attempts in all for a call failing with transient errors. */
  maxAttempts: number;
  /** Attempts in all for a call that keeps being throttled (default 100). */
  maxThrottledAttempts?: number;
  /** Backoff before the first retry is at most this long (default 100 ms); it doubles each retry. */
  baseDelayMs?: number;
  /** The longest backoff (default 1 s). */
  maxDelayMs?: number;
  /** Paces every attempt of the client's calls. */
  rateLimiter: RateLimiter;
  /** A number in [0, 1); `Math.random` unless a test fixes it. */
  random?: () => number;
}

class SweepRetryToken implements RetryToken {
  constructor(
    private readonly count: number,
    private readonly delayMs: number,
  ) {}

  getRetryCount(): number {
    return this.count;
  }

  getRetryDelay(): number {
    return this.delayMs;
  }
}

export class SweepRetryStrategy implements RetryStrategyV2 {
  readonly mode = "sweep";
  private readonly maxThrottledAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(private readonly options: SweepRetryOptions) {
    this.maxThrottledAttempts = options.maxThrottledAttempts ?? 100;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.random = options.random ?? Math.random;
  }

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    await this.options.rateLimiter.getSendToken();
    return new SweepRetryToken(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    this.options.rateLimiter.updateClientSendingRate(info);
    const attempts = token.getRetryCount() + 1;
    const limit =
      info.errorType === "THROTTLING"
        ? this.maxThrottledAttempts
        : info.errorType === "TRANSIENT"
          ? this.options.maxAttempts
          : 0;
    if (attempts >= limit) throw info.error ?? new Error("no retry for this error");
    const delay = this.backoffMs(token.getRetryCount());
    await new Promise((resolve) => setTimeout(resolve, delay));
    await this.options.rateLimiter.getSendToken();
    return new SweepRetryToken(attempts, 0);
  }

  recordSuccess(_token: RetryToken): void {
    this.options.rateLimiter.updateClientSendingRate({});
  }

  /** Full jitter: anywhere from 0 to the capped exponential delay for the n-th retry (0-based). */
  backoffMs(retry: number): number {
    return Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** retry));
  }
}
