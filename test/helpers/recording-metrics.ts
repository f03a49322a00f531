/** A Metrics port that keeps what is recorded, for assertions on what the functions publish. */
import type { MetricDimensions, Metrics } from "../../functions/app/ports.js";

export interface RecordedMetric {
  kind: "count" | "duration";
  name: string;
  value: number;
  dimensions: MetricDimensions;
}

export interface RecordingMetrics extends Metrics {
  /** Every call since the recorder was made, flushed or not. */
  readonly recorded: RecordedMetric[];
  /** How many flushes there were. */
  readonly flushes: number;
  /** The sum of a count's values with exactly these dimensions (0 when none). */
  total(name: string, dimensions?: MetricDimensions): number;
  /** Counts by the value of one dimension: `{ created: 1, deleted: 2 }`. */
  by(name: string, dimension: string): Record<string, number>;
  /** The durations recorded under `name`. */
  durations(name: string): number[];
}

function same(a: MetricDimensions, b: MetricDimensions): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export function recordingMetrics(): RecordingMetrics {
  const recorded: RecordedMetric[] = [];
  let flushes = 0;
  return {
    recorded,
    get flushes() {
      return flushes;
    },
    count(name, value = 1, dimensions = {}) {
      recorded.push({ kind: "count", name, value, dimensions });
    },
    duration(name, ms, dimensions = {}) {
      recorded.push({ kind: "duration", name, value: ms, dimensions });
    },
    flush() {
      flushes++;
    },
    total(name, dimensions = {}) {
      return recorded
        .filter((m) => m.kind === "count" && m.name === name && same(m.dimensions, dimensions))
        .reduce((sum, m) => sum + m.value, 0);
    },
    by(name, dimension) {
      const counts: Record<string, number> = {};
      for (const m of recorded) {
        const value = m.dimensions[dimension];
        if (m.kind !== "count" || m.name !== name || value === undefined) continue;
        counts[value] = (counts[value] ?? 0) + m.value;
      }
      return counts;
    },
    durations(name) {
      return recorded.filter((m) => m.kind === "duration" && m.name === name).map((m) => m.value);
    },
  };
}
