/** Which deliveries to redeliver: per event, once, only failed pull_request events of the window. */
import { expect } from "chai";
import {
  deliveriesToRedeliver,
  deliverySucceeded,
  type DeliveryRecord,
} from "../../../functions/core/redelivery.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
let nextId = 1;

function delivery(variant: Partial<DeliveryRecord> & { at: number }): DeliveryRecord {
  const { at, ...rest } = variant;
  return {
    id: nextId++,
    guid: `guid-${nextId}`,
    deliveredAt: new Date(T0 + at * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    redelivery: false,
    statusCode: 200,
    event: "pull_request",
    action: "opened",
    ...rest,
  };
}

describe("core/redelivery", () => {
  it("counts any 2xx as success, and 0 (no answer), 3xx, 4xx and 5xx as failure", () => {
    expect([200, 201, 202, 204, 299].every(deliverySucceeded)).to.equal(true);
    expect([0, 199, 301, 400, 401, 422, 500, 502, 503, 504].some(deliverySucceeded)).to.equal(
      false,
    );
  });

  it("chooses each failed event once, oldest first", () => {
    const late = delivery({ guid: "b", statusCode: 0, at: 5 });
    const early = delivery({ guid: "a", statusCode: 502, at: 1 });
    const ok = delivery({ guid: "c", statusCode: 202, at: 3 });
    expect(deliveriesToRedeliver([late, ok, early], T0).map((d) => d.guid)).to.deep.equal([
      "a",
      "b",
    ]);
  });

  it("leaves an event alone once any of its deliveries succeeded or is a redelivery", () => {
    const list = [
      delivery({ guid: "healed", statusCode: 500, at: 1 }),
      delivery({ guid: "healed", statusCode: 200, redelivery: true, at: 2 }),
      delivery({ guid: "tried", statusCode: 500, at: 1 }),
      delivery({ guid: "tried", statusCode: 500, redelivery: true, at: 2 }),
      delivery({ guid: "second-ok", statusCode: 0, at: 1 }),
      delivery({ guid: "second-ok", statusCode: 204, at: 2 }),
    ];
    expect(deliveriesToRedeliver(list, T0)).to.deep.equal([]);
  });

  it("redelivers only the events the webhook acts on: pull requests and commands", () => {
    const list = [
      delivery({ guid: "push", event: "push", action: null, statusCode: 500, at: 1 }),
      delivery({ guid: "ping", event: "ping", action: null, statusCode: 500, at: 1 }),
      delivery({ guid: "pr", statusCode: 500, at: 1 }),
      delivery({
        guid: "comment",
        event: "issue_comment",
        action: "created",
        statusCode: 502,
        at: 2,
      }),
      delivery({
        guid: "rerun",
        event: "check_suite",
        action: "rerequested",
        statusCode: 0,
        at: 3,
      }),
    ];
    expect(deliveriesToRedeliver(list, T0).map((d) => d.guid)).to.deep.equal([
      "pr",
      "comment",
      "rerun",
    ]);
  });

  it("leaves out what was delivered before `since`, or at an unreadable time", () => {
    const list = [
      delivery({ guid: "before", statusCode: 500, at: -1 }),
      delivery({ guid: "at", statusCode: 500, at: 0 }),
      { ...delivery({ guid: "garbled", statusCode: 500, at: 1 }), deliveredAt: "yesterday" },
    ];
    expect(deliveriesToRedeliver(list, T0).map((d) => d.guid)).to.deep.equal(["at"]);
  });
});
