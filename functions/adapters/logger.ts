/** Structured JSON logs through Powertools' Logger, behind the Logger port. */
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import type { Logger } from "../app/ports.js";

/**
 * Our fields whose names Powertools keeps for itself (it drops them, with a warning of its own) and
 * the names they are logged under instead: `service` is Powertools' function name
 * (`branchline-webhook`), so a service of the routing table is `branchlineService`.
 */
const RESERVED_FIELDS: Readonly<Record<string, string>> = {
  service: "branchlineService",
  level: "branchlineLevel",
  message: "branchlineMessage",
  timestamp: "branchlineTimestamp",
  sampling_rate: "branchlineSamplingRate",
  xray_trace_id: "branchlineXrayTraceId",
};

function loggable(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (fields === undefined) return {};
  if (!Object.keys(fields).some((key) => Object.hasOwn(RESERVED_FIELDS, key))) return fields;
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    renamed[Object.hasOwn(RESERVED_FIELDS, key) ? (RESERVED_FIELDS[key] as string) : key] = value;
  }
  return renamed;
}

export function createLogger(serviceName: string): Logger & {
  appendKeys(keys: Record<string, unknown>): void;
  resetKeys(): void;
} {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    info: (message, fields) => logger.info(message, loggable(fields)),
    warn: (message, fields) => logger.warn(message, loggable(fields)),
    error: (message, fields) => logger.error(message, loggable(fields)),
    appendKeys: (keys) => logger.appendKeys(loggable(keys)),
    resetKeys: () => logger.resetKeys(),
  };
}
