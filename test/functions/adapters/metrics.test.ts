import { expect } from "chai";
import { createMetrics } from "../../../functions/adapters/metrics.js";
import { ERROR_KINDS } from "../../../functions/shared/metrics.js";
import type { ErrorKind } from "../../../functions/core/errors.js";

/** Runs `write` with stdout and stderr captured; returns each stream's lines. */
function captured(write: () => void): { stdout: string[]; stderr: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const keep = (lines: string[]) =>
    ((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split("\n")
          .filter((line) => line.trim() !== ""),
      );
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = keep(out);
  process.stderr.write = keep(err);
  try {
    write();
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  return { stdout: out, stderr: err };
}

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

describe("createMetrics (EMF through Powertools Metrics behind the Metrics port)", () => {
  // The suite keeps Powertools Metrics quiet (test/helpers/quiet-metrics.ts): not here.
  let disabled: string | undefined;
  before(() => {
    disabled = process.env["POWERTOOLS_METRICS_DISABLED"];
    Reflect.deleteProperty(process.env, "POWERTOOLS_METRICS_DISABLED");
  });
  after(() => {
    if (disabled !== undefined) process.env["POWERTOOLS_METRICS_DISABLED"] = disabled;
  });

  it("writes one valid EMF line per set of dimensions on stdout, counts summed, durations kept", () => {
    const before = Date.now();
    const { stdout, stderr } = captured(() => {
      const metrics = createMetrics("acme-webhook-function-1a2b3c4");
      metrics.count("Deliveries", 1, { outcome: "queued" });
      metrics.count("Deliveries", 1, { outcome: "queued" });
      metrics.count("Deliveries", 1, { outcome: "ignored" });
      metrics.count("Throttles", 3);
      metrics.duration("QueueAge", 120);
      metrics.duration("QueueAge", 80);
      metrics.count("Errors", 1, { kind: "transient" });
      metrics.flush();
    });
    expect(stderr).to.deep.equal([]);
    const lines = stdout.map((line) => JSON.parse(line) as Emf);
    expect(lines).to.have.length(4);
    for (const line of lines) {
      expect(line._aws.Timestamp).to.be.at.least(before).and.at.most(Date.now());
      expect(line._aws.CloudWatchMetrics).to.have.length(1);
      expect(line._aws.CloudWatchMetrics[0]?.Namespace).to.equal("branchline");
      expect(line["service"]).to.equal("acme-webhook-function-1a2b3c4");
    }
    const strip = ({ _aws, ...rest }: Emf) => ({
      dimensions: _aws.CloudWatchMetrics[0]?.Dimensions,
      metrics: _aws.CloudWatchMetrics[0]?.Metrics,
      ...rest,
    });
    expect(lines.map(strip)).to.deep.equal([
      {
        dimensions: [["service", "outcome"]],
        metrics: [{ Name: "Deliveries", Unit: "Count" }],
        service: "acme-webhook-function-1a2b3c4",
        outcome: "queued",
        Deliveries: 2,
      },
      {
        dimensions: [["service", "outcome"]],
        metrics: [{ Name: "Deliveries", Unit: "Count" }],
        service: "acme-webhook-function-1a2b3c4",
        outcome: "ignored",
        Deliveries: 1,
      },
      {
        dimensions: [["service"]],
        metrics: [
          { Name: "Throttles", Unit: "Count" },
          { Name: "QueueAge", Unit: "Milliseconds" },
        ],
        service: "acme-webhook-function-1a2b3c4",
        Throttles: 3,
        QueueAge: [120, 80],
      },
      {
        dimensions: [["service", "kind"]],
        metrics: [{ Name: "Errors", Unit: "Count" }],
        service: "acme-webhook-function-1a2b3c4",
        kind: "transient",
        Errors: 1,
      },
    ]);
  });

  it("publishes once: a second flush writes nothing, and nothing recorded writes nothing", () => {
    const { stdout, stderr } = captured(() => {
      const metrics = createMetrics("f");
      metrics.flush();
      metrics.count("Clones", 1, { action: "created" });
      metrics.flush();
      metrics.flush();
    });
    expect(stdout).to.have.length(1);
    expect(stderr).to.deep.equal([]);
  });

  it("never throws: metrics Powertools refuses are lost with a warning on stderr", () => {
    const { stdout, stderr } = captured(() => {
      const metrics = createMetrics("f");
      metrics.count("", 1);
      metrics.count("Throttles", 1, { kind: "transient" });
      expect(() => metrics.flush()).not.to.throw();
    });
    expect(stdout).to.have.length(1);
    expect(stderr).to.have.length(1);
    expect(JSON.parse(stderr[0] as string)).to.include({
      level: "WARN",
      message: "metrics not published",
    });
  });

  it("keeps each invocation's dimensions to its own lines, a refused group's too", () => {
    const { stdout } = captured(() => {
      const metrics = createMetrics("f");
      metrics.count("Deliveries", 1, { outcome: "queued" });
      metrics.flush();
      metrics.count("Throttles", 2);
      metrics.flush();
      metrics.count("", 1, { kind: "bug" });
      metrics.flush();
      metrics.count("Clones", 1, { action: "created" });
      metrics.flush();
    });
    const lines = stdout.map((line) => JSON.parse(line) as Emf);
    expect(lines.map((line) => line._aws.CloudWatchMetrics[0]?.Dimensions)).to.deep.equal([
      [["service", "outcome"]],
      [["service"]],
      [["service", "action"]],
    ]);
    expect(lines[1]).not.to.have.property("outcome");
    expect(lines[2]).not.to.have.property("kind");
  });

  it("names every error kind classifyError gives, and no other", () => {
    const kinds: readonly ErrorKind[] = ERROR_KINDS;
    const all: Record<ErrorKind, true> = {
      unauthorized: true,
      "bad-request": true,
      conflict: true,
      configuration: true,
      transient: true,
      timeout: true,
      bug: true,
    };
    expect([...kinds].sort()).to.deep.equal(Object.keys(all).sort());
  });
});
