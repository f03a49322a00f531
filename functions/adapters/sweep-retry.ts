/**
 * The retry strategy of every AWS client the functions build (see aws-config.ts): made for a long
 * batch of calls (the reconciler's sweep), where being throttled is expected and the batch has
 * minutes, and used without its pacer by the webhook, which retries throttling until its budget's
 * deadline.
 *
 * - Throttling is never a reason to give up: a throttled call is retried after a short backoff
 *   (exponential, full jitter, capped at `maxDelayMs`) without drawing on a retry quota, so one sweep
 *   goes on at the rate AWS accepts instead of failing every call after the first few hundred
 *   throttles. The caller's abort signal (the sweep's deadline) ends it; `maxThrottledAttempts` is
 *   only a backstop.
 * - Transient errors (timeouts, 500, 502, 503, 504) are retried the same way at most `maxAttempts`
 *   attempts in all; other errors are not retried.
 * - Every attempt first waits for its turn in a `ThrottlePacer`, which learns the rate AWS accepts
 *   from the throttling it sees, so the sweep's concurrent calls go at about that rate instead of
 *   hitting the limit over and over. (The SDK's adaptive mode does the same with a CUBIC rate limiter,
 *   but against a limit without burst capacity it settles at about half the accepted rate.)
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";
import { AWS_CONFIGURATION_ERRORS } from "../core/errors.js";

export interface PacerOptions {
  /** Throttling cuts the rate to this share of itself (default 0.9). */
  decrease?: number;
  /** Each call that succeeds raises the rate by this share (default 0.005). */
  growth?: number;
  /** The lowest rate, in calls a second (default 0.1). */
  minRate?: number;
  /** Milliseconds on a monotonic clock; `performance.now` unless a test fixes it. */
  now?: () => number;
  /** Waits; `setTimeout` unless a test replaces it. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Client-side pacing that adapts to throttling, shared by all calls of one client (like the SDK's
 * adaptive mode, it does not tell operations apart). Unlimited until the first throttling error;
 * from then on calls are spaced `1 / rate` seconds apart. The first throttle sets the rate from the
 * calls that succeeded in the last second; each later one cuts it (at most once per call interval,
 * so a volley of calls throttled together counts once), and every success raises it a little, so
 * it keeps probing the limit. A cut of 10% and a rise of 0.5% a success waste about one call in
 * twenty at a limit of 1 a second with no burst, where each throttled call costs a whole second.
 */
export class ThrottlePacer {
  /** Calls a second; `undefined` until the first throttling error. */
  rate: number | undefined;
  private lastSentAt = -Infinity;
  private holdUntil = 0;
  private readonly successes: number[] = [];
  private readonly decrease: number;
  private readonly growth: number;
  private readonly minRate: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PacerOptions = {}) {
    this.decrease = options.decrease ?? 0.9;
    this.growth = options.growth ?? 0.005;
    this.minRate = options.minRate ?? 0.1;
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Waits until a call may go: `1 / rate` seconds after the previous one. Checked again after each
   * wait, so a rate changed meanwhile applies at once.
   */
  async turn(): Promise<void> {
    for (;;) {
      if (this.rate === undefined) return;
      const now = this.now();
      const at = this.lastSentAt + 1000 / this.rate;
      if (at <= now) {
        this.lastSentAt = now;
        return;
      }
      await this.sleep(at - now);
    }
  }

  succeeded(): void {
    const now = this.now();
    this.successes.push(now);
    while ((this.successes[0] ?? now) <= now - 1000) this.successes.shift();
    if (this.rate !== undefined) this.rate *= 1 + this.growth;
  }

  throttled(): void {
    const now = this.now();
    if (now < this.holdUntil) return;
    const accepted = this.successes.filter((t) => t > now - 1000).length;
    const base = this.rate === undefined ? Math.max(1, accepted) : this.rate;
    this.rate = Math.max(this.minRate, base * this.decrease);
    this.holdUntil = now + 1000 / this.rate;
  }
}

export interface SweepRetryOptions {
  /** Attempts in all for a call failing with transient errors. */
  maxAttempts: number;
  /** Attempts in all for a call that keeps being throttled (default 100). */
  maxThrottledAttempts?: number;
  /** Backoff before the first retry is at most this long (default 100 ms); it doubles each retry. */
  baseDelayMs?: number;
  /** The longest backoff (default 1 s). */
  maxDelayMs?: number;
  /** Paces every attempt of the client's calls (default: a new one for this strategy). */
  pacer?: ThrottlePacer;
  /** `false`: no pacing, each call only backs off (the webhook's clients). Default `true`. */
  pace?: boolean;
  /** A number in [0, 1); `Math.random` unless a test fixes it. */
  random?: () => number;
  /**
   * Called once for each throttled attempt (not for a misconfiguration the SDK counts as throttling,
   * such as LimitExceededException): the functions count it as their `Throttles` metric.
   */
  onThrottle?: () => void;
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
  /** `undefined` when the strategy does not pace (`pace: false`). */
  readonly pacer: ThrottlePacer | undefined;

  constructor(private readonly options: SweepRetryOptions) {
    this.maxThrottledAttempts = options.maxThrottledAttempts ?? 100;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.random = options.random ?? Math.random;
    this.pacer = options.pace === false ? undefined : (options.pacer ?? new ThrottlePacer());
  }

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    await this.pacer?.turn();
    return new SweepRetryToken(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    // A misconfiguration is never retried, even when the SDK counts it as throttling
    // (LimitExceededException: a quota is used up) or as transient.
    const misconfigured = info.error !== undefined && AWS_CONFIGURATION_ERRORS.has(info.error.name);
    if (info.errorType === "THROTTLING" && !misconfigured) {
      this.pacer?.throttled();
      this.options.onThrottle?.();
    }
    const attempts = token.getRetryCount() + 1;
    const limit = misconfigured
      ? 0
      : info.errorType === "THROTTLING"
        ? this.maxThrottledAttempts
        : info.errorType === "TRANSIENT"
          ? this.options.maxAttempts
          : 0;
    if (attempts >= limit) throw info.error ?? new Error("no retry for this error");
    const delay = this.backoffMs(token.getRetryCount());
    await new Promise((resolve) => setTimeout(resolve, delay));
    await this.pacer?.turn();
    return new SweepRetryToken(attempts, 0);
  }

  recordSuccess(_token: RetryToken): void {
    this.pacer?.succeeded();
  }

  /** Full jitter: anywhere from 0 to the capped exponential delay for the n-th retry (0-based). */
  backoffMs(retry: number): number {
    return Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** retry));
  }
}
