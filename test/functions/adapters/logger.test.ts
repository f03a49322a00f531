import { expect } from "chai";
import { createLogger } from "../../../functions/adapters/logger.js";

/**
 * Runs `write` with the process's stdout and stderr captured (Powertools writes INFO to one and WARN
 * and ERROR to the other); returns the JSON lines written.
 */
function captured(write: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const keep = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = keep;
  process.stderr.write = keep;
  try {
    write();
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  return lines
    .flatMap((text) => text.split("\n"))
    .filter((text) => text.trim().startsWith("{"))
    .map((text) => JSON.parse(text) as Record<string, unknown>);
}

describe("createLogger (Powertools Logger behind the Logger port)", () => {
  it("keeps a field Powertools reserves (service) under a name of its own, without a warning", () => {
    const lines = captured(() => {
      const logger = createLogger("branchline-webhook");
      logger.info("delivery failed for a service", { service: "shop", pullRequest: 7 });
    });
    expect(lines).to.have.length(1);
    const [line] = lines;
    expect(line).to.include({
      level: "INFO",
      message: "delivery failed for a service",
      service: "branchline-webhook",
      branchlineService: "shop",
      pullRequest: 7,
    });
  });

  it("leaves other fields as they are", () => {
    const [line] = captured(() =>
      createLogger("branchline-reconcile").warn("w", { clone: "app-pr-1", deliveryId: "d" }),
    );
    expect(line).to.include({ level: "WARN", clone: "app-pr-1", deliveryId: "d" });
    expect(line).not.to.have.property("branchlineService");
  });
});
