/** A Logger that keeps every line, for assertions on what the functions log. */
import type { Logger } from "../../functions/app/ports.js";

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  fields: Record<string, unknown>;
}

export function captureLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const add = (level: LogLine["level"]) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields: fields ?? {} });
  };
  return {
    lines,
    info: add("info"),
    warn: add("warn"),
    error: add("error"),
    text: () => lines.map((line) => JSON.stringify(line)).join("\n"),
  };
}
