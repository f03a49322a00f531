/** Structured JSON logs through Powertools' Logger, behind the Logger port. */
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import type { Logger } from "../app/ports.js";

export function createLogger(serviceName: string): Logger & {
  appendKeys(keys: Record<string, unknown>): void;
  resetKeys(): void;
} {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
    appendKeys: (keys) => logger.appendKeys(keys),
    resetKeys: () => logger.resetKeys(),
  };
}
