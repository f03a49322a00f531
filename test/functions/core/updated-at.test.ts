/** `updated_at` in pull_request payloads: read, normalised so that strings order like times. */
import { expect } from "chai";
import { normaliseTimestamp, parsePullRequestEvent } from "../../../functions/core/classify.js";
import { BadRequestError } from "../../../functions/core/errors.js";
import { pullRequestPayload } from "../../helpers/github-events.js";

function withUpdatedAt(value: unknown): Record<string, unknown> {
  const payload = pullRequestPayload({ action: "opened" });
  const pr = payload["pull_request"] as Record<string, unknown>;
  if (value === undefined) delete pr["updated_at"];
  else pr["updated_at"] = value;
  return payload;
}

describe("core/classify: updated_at", () => {
  it("reads the example payload's updated_at in the normalised form", () => {
    const event = parsePullRequestEvent(pullRequestPayload({ action: "closed", state: "closed" }));
    expect(event.pullRequest.updatedAt).to.equal("2019-05-15T15:21:18.000Z");
  });

  it("normalises offsets and fractions to UTC with milliseconds", () => {
    expect(normaliseTimestamp("2026-03-01T10:00:01Z")).to.equal("2026-03-01T10:00:01.000Z");
    expect(normaliseTimestamp("2026-03-01T12:00:01+02:00")).to.equal("2026-03-01T10:00:01.000Z");
    expect(normaliseTimestamp("2026-03-01T10:00:01.5Z")).to.equal("2026-03-01T10:00:01.500Z");
  });

  it("orders normalised timestamps as strings the way it orders them in time", () => {
    const times = [
      "2026-03-01T12:00:00+02:00",
      "2026-03-01T10:00:00.001Z",
      "2026-03-01T09:59:59Z",
      "2025-12-31T23:59:59-05:00",
    ];
    const asStrings = times.map((t) => normaliseTimestamp(t) as string).sort();
    const asTimes = [...times].sort((a, b) => Date.parse(a) - Date.parse(b));
    expect(asStrings).to.deep.equal(asTimes.map((t) => normaliseTimestamp(t)));
  });

  it("refuses what is not an ISO-8601 timestamp", () => {
    for (const value of ["yesterday", "2026-03-01", "2026-13-01T00:00:00Z", "", 1700000000]) {
      expect(normaliseTimestamp(String(value)), String(value)).to.equal(undefined);
      expect(() => parsePullRequestEvent(withUpdatedAt(value)), String(value)).to.throw(
        BadRequestError,
        "pull_request.updated_at must be an ISO-8601 timestamp",
      );
    }
  });

  it("leaves updatedAt undefined when the payload has none", () => {
    expect(parsePullRequestEvent(withUpdatedAt(undefined)).pullRequest.updatedAt).to.equal(
      undefined,
    );
    expect(parsePullRequestEvent(withUpdatedAt(null)).pullRequest.updatedAt).to.equal(undefined);
  });
});
