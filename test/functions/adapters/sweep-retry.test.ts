/**
 * The sweep's retry strategy and its pacer, on a fake clock; then once over the wire against the
 * AWS double with a throttled operation.
 */
import { CodePipelineClient, GetPipelineCommand } from "@aws-sdk/client-codepipeline";
import type { RetryErrorInfo, RetryErrorType, SdkError } from "@smithy/types";
import { expect } from "chai";
import { awsClientConfig } from "../../../functions/adapters/aws-config.js";
import { SweepRetryStrategy, ThrottlePacer } from "../../../functions/adapters/sweep-retry.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { useWireDoubles } from "../../helpers/wire.js";

/** A clock that only moves when the code under test sleeps. */
function fakeClock() {
  const clock = { now: 1_000_000, slept: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
    },
  };
}

function failure(errorType: RetryErrorType, name = "SomeError"): RetryErrorInfo {
  const error: SdkError = Object.assign(new Error(name), { name, $metadata: {}, cause: undefined });
  return { errorType, error };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("ThrottlePacer", () => {
  it("does not hold calls back until the first throttling error", async () => {
    const { clock, now, sleep } = fakeClock();
    const pacer = new ThrottlePacer({ now, sleep });
    for (let i = 0; i < 5; i++) {
      await pacer.turn();
      pacer.succeeded();
    }
    expect(clock.slept).to.deep.equal([]);
    expect(pacer.rate).to.equal(undefined);
  });

  it("starts from 90% of the calls that succeeded in the last second, then spaces calls", async () => {
    const { clock, now, sleep } = fakeClock();
    const pacer = new ThrottlePacer({ now, sleep, growth: 0 });
    for (let i = 0; i < 10; i++) {
      pacer.succeeded();
      clock.now += 50;
    }
    clock.now += 600; // the first three successes are now more than a second old
    pacer.throttled();
    expect(pacer.rate).to.be.closeTo(6.3, 1e-9);
    await pacer.turn();
    await pacer.turn();
    await pacer.turn();
    expect(clock.slept).to.have.length(2);
    for (const ms of clock.slept) expect(ms).to.be.closeTo(1000 / 6.3, 1e-6);
  });

  it("counts a volley of throttling errors once, and later ones again", () => {
    const { clock, now, sleep } = fakeClock();
    const pacer = new ThrottlePacer({ now, sleep });
    pacer.throttled();
    expect(pacer.rate).to.be.closeTo(0.9, 1e-9); // nothing succeeded: from 1 a second
    pacer.throttled();
    pacer.throttled();
    expect(pacer.rate).to.be.closeTo(0.9, 1e-9);
    clock.now += 1200;
    pacer.throttled();
    expect(pacer.rate).to.be.closeTo(0.81, 1e-9);
  });

  it("raises the rate a little with each success, and never goes below the floor", () => {
    const { clock, now, sleep } = fakeClock();
    const pacer = new ThrottlePacer({ now, sleep, minRate: 0.5 });
    pacer.throttled();
    pacer.succeeded();
    expect(pacer.rate).to.be.closeTo(0.9 * 1.005, 1e-9);
    for (let i = 0; i < 20; i++) {
      clock.now += 10_000;
      pacer.throttled();
    }
    expect(pacer.rate).to.equal(0.5);
  });

  it("applies a rate changed while a call waits", async () => {
    const { clock, now } = fakeClock();
    const pacer = new ThrottlePacer({
      now,
      sleep: async (ms) => {
        clock.slept.push(ms);
        clock.now += ms;
        // Halve the rate during the first wait (a throttle of another call, after the hold).
        if (clock.slept.length === 1) pacer.rate = (pacer.rate ?? 0) / 2;
      },
    });
    pacer.throttled(); // 0.9 a second
    await pacer.turn();
    const before = clock.now;
    await pacer.turn();
    expect(clock.now - before).to.be.closeTo(1000 / 0.45, 1e-6);
  });
});

describe("SweepRetryStrategy", () => {
  const pacer = () => {
    const { now, sleep } = fakeClock();
    return new ThrottlePacer({ now, sleep });
  };

  it("keeps retrying throttling errors past maxAttempts and past the SDK's retry quota", async () => {
    const strategy = new SweepRetryStrategy({
      maxAttempts: 3,
      maxThrottledAttempts: 500,
      pacer: pacer(),
      random: () => 0,
    });
    let token = await strategy.acquireInitialRetryToken("");
    // The SDK's standard quota (500, 5 a throttled retry) would refuse the 101st.
    for (let i = 0; i < 120; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, failure("THROTTLING"));
    }
    expect(token.getRetryCount()).to.equal(120);
    expect(token.getRetryDelay()).to.equal(0);
    strategy.recordSuccess(token);
  });

  it("gives up a throttled call after maxThrottledAttempts, with the last error", async () => {
    const strategy = new SweepRetryStrategy({
      maxAttempts: 3,
      maxThrottledAttempts: 5,
      pacer: pacer(),
      random: () => 0,
    });
    let token = await strategy.acquireInitialRetryToken("");
    for (let i = 0; i < 4; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, failure("THROTTLING"));
    }
    const error = await rejection(
      strategy.refreshRetryTokenForRetry(token, failure("THROTTLING", "ThrottlingException")),
    );
    expect(error.name).to.equal("ThrottlingException");
  });

  it("retries transient errors up to maxAttempts in all", async () => {
    const strategy = new SweepRetryStrategy({ maxAttempts: 3, pacer: pacer(), random: () => 0 });
    let token = await strategy.acquireInitialRetryToken("");
    token = await strategy.refreshRetryTokenForRetry(token, failure("TRANSIENT"));
    token = await strategy.refreshRetryTokenForRetry(token, failure("TRANSIENT"));
    const error = await rejection(
      strategy.refreshRetryTokenForRetry(token, failure("TRANSIENT", "InternalFailure")),
    );
    expect(error.name).to.equal("InternalFailure");
  });

  for (const type of ["CLIENT_ERROR", "SERVER_ERROR"] as const) {
    it(`does not retry a ${type}`, async () => {
      const strategy = new SweepRetryStrategy({ maxAttempts: 10, pacer: pacer() });
      const token = await strategy.acquireInitialRetryToken("");
      const error = await rejection(
        strategy.refreshRetryTokenForRetry(token, failure(type, "ValidationException")),
      );
      expect(error.name).to.equal("ValidationException");
    });
  }

  it("never retries an error that means misconfiguration, even one the SDK counts as throttling", async () => {
    const shared = pacer();
    const strategy = new SweepRetryStrategy({ maxAttempts: 10, pacer: shared, random: () => 0 });
    const token = await strategy.acquireInitialRetryToken("");
    for (const [type, name] of [
      ["THROTTLING", "LimitExceededException"],
      ["TRANSIENT", "AccessDeniedException"],
    ] as const) {
      const error = await rejection(strategy.refreshRetryTokenForRetry(token, failure(type, name)));
      expect(error.name).to.equal(name);
    }
    expect(shared.rate).to.equal(undefined);
  });

  it("without pacing (the webhook's clients) only backs off, however often it is throttled", async () => {
    const strategy = new SweepRetryStrategy({ maxAttempts: 3, pace: false, random: () => 0 });
    expect(strategy.pacer).to.equal(undefined);
    let token = await strategy.acquireInitialRetryToken("");
    for (let i = 0; i < 20; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, failure("THROTTLING"));
    }
    strategy.recordSuccess(token);
    expect(token.getRetryCount()).to.equal(20);
  });

  it("backs off with full jitter: 0 up to 100 ms doubling, capped at 1 s", () => {
    const high = new SweepRetryStrategy({ maxAttempts: 3, pacer: pacer(), random: () => 0.5 });
    expect([0, 1, 2, 3, 4, 10].map((n) => high.backoffMs(n))).to.deep.equal([
      50, 100, 200, 400, 500, 500,
    ]);
    const low = new SweepRetryStrategy({ maxAttempts: 3, pacer: pacer(), random: () => 0 });
    expect(low.backoffMs(5)).to.equal(0);
  });

  it("tells onThrottle of each throttled attempt, not of a transient error or a used-up quota", async () => {
    let throttles = 0;
    const strategy = new SweepRetryStrategy({
      maxAttempts: 10,
      pacer: pacer(),
      random: () => 0,
      onThrottle: () => throttles++,
    });
    let token = await strategy.acquireInitialRetryToken("");
    token = await strategy.refreshRetryTokenForRetry(token, failure("THROTTLING"));
    token = await strategy.refreshRetryTokenForRetry(token, failure("THROTTLING"));
    token = await strategy.refreshRetryTokenForRetry(token, failure("TRANSIENT"));
    await rejection(
      strategy.refreshRetryTokenForRetry(token, failure("THROTTLING", "LimitExceededException")),
    );
    expect(throttles).to.equal(2);
  });

  it("only throttling errors slow the pacer down", async () => {
    const shared = pacer();
    const strategy = new SweepRetryStrategy({ maxAttempts: 5, pacer: shared, random: () => 0 });
    const token = await strategy.acquireInitialRetryToken("");
    await strategy.refreshRetryTokenForRetry(token, failure("TRANSIENT"));
    expect(shared.rate).to.equal(undefined);
    await strategy.refreshRetryTokenForRetry(token, failure("THROTTLING"));
    expect(shared.rate).to.be.a("number");
  });
});

describe("webhook clients against a throttled double", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  it("retry a throttled call until the caller's deadline, then give up with the abort", async () => {
    wire.aws.reset();
    wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
    wire.aws.inject({ operation: "GetPipeline", error: "ThrottlingException", times: 10_000 });
    const client = new CodePipelineClient(awsClientConfig());
    try {
      const error = await rejection(
        client.send(new GetPipelineCommand({ name: "hello-world" }), {
          abortSignal: AbortSignal.timeout(3000),
        }),
      );
      expect(["AbortError", "TimeoutError"]).to.include(error.name);
      // Far more than the 4 attempts the webhook used to give up after.
      expect(wire.aws.callCount("GetPipeline")).to.be.greaterThan(4);
    } finally {
      client.destroy();
    }
  });
});

describe("a client's throttles, counted over the wire", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  it("reach onThrottle once per ThrottlingException the double answered", async () => {
    wire.aws.reset();
    wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
    wire.aws.inject({ operation: "GetPipeline", error: "ThrottlingException", times: 3 });
    let throttles = 0;
    const client = new CodePipelineClient(awsClientConfig({ onThrottle: () => throttles++ }));
    try {
      const answer = await client.send(new GetPipelineCommand({ name: "hello-world" }));
      expect(answer.pipeline?.name).to.equal("hello-world");
      expect(wire.aws.callCount("GetPipeline")).to.equal(4);
      expect(throttles).to.equal(3);
    } finally {
      client.destroy();
    }
  });
});

describe("sweep clients against a throttled double", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  it("answers every one of many concurrent calls to an operation throttled at 20 a second", async () => {
    wire.aws.reset();
    wire.aws.seedPipeline(pipelineFixture("v1-ecs"));
    wire.aws.throttle("GetPipeline", { perSecond: 20 });
    const client = new CodePipelineClient(awsClientConfig({ sweep: true, maxAttempts: 4 }));
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          client.send(new GetPipelineCommand({ name: "hello-world" })),
        ),
      );
      expect(answers.every((answer) => answer.pipeline?.name === "hello-world")).to.equal(true);
      const throttled = wire.aws.calls.filter((call) => call.status === 400).length;
      expect(wire.aws.calls.length).to.equal(40 + throttled);
      expect(throttled).to.be.greaterThan(0);
    } finally {
      client.destroy();
    }
  });
});
