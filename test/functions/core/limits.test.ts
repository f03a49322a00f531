import { expect } from "chai";
import {
  beyondLimit,
  countedClones,
  fullLimit,
  isIdle,
  keptFromIdle,
  oldEnoughToIdle,
  waitingDescription,
} from "../../../functions/core/limits.js";

const DAY = 24 * 60 * 60 * 1000;
const at = (ms: number) => new Date(ms);

describe("core/limits", () => {
  const listed = [
    { name: "shop-api-pr-9", created: at(3000) },
    { name: "shop-api", created: at(0) },
    { name: "shop-web-pr-2", created: at(1000) },
    { name: "shop-api-pr-4", created: at(2000) },
    { name: "shop-api-pr-12", created: at(2000) },
    { name: "other-pr-1", created: at(0) },
  ];
  const clones = countedClones(listed, ["shop-api", "shop-web"]);

  it("counts the services' clones only, oldest first (then source, then number)", () => {
    expect(clones.map((c) => `${c.sourcePipelineName}#${c.prNumber}`)).to.deep.equal([
      "shop-web#2",
      "shop-api#4",
      "shop-api#12",
      "shop-api#9",
    ]);
  });

  it("before creating: the full limit, service first, then the stack's", () => {
    expect(fullLimit(clones, "shop-api", { service: 3, stack: undefined })).to.deep.equal({
      scope: "service",
      limit: 3,
      inUse: 3,
    });
    expect(fullLimit(clones, "shop-web", { service: 3, stack: 4 })).to.deep.equal({
      scope: "stack",
      limit: 4,
      inUse: 4,
    });
    expect(fullLimit(clones, "shop-web", { service: 3, stack: 5 })).to.equal(undefined);
  });

  it("after creating: the clones created first keep their places; the others are beyond", () => {
    const limits = { service: 2, stack: undefined };
    expect(beyondLimit(clones, "shop-api", 4, limits)).to.equal(undefined);
    expect(beyondLimit(clones, "shop-api", 12, limits)).to.equal(undefined);
    expect(beyondLimit(clones, "shop-api", 9, limits)).to.deep.include({ scope: "service" });
    // The stack's limit counts the other service's older clone too.
    expect(beyondLimit(clones, "shop-api", 12, { service: undefined, stack: 2 })).to.deep.include({
      scope: "stack",
    });
    // A clone no longer listed is beyond nothing.
    expect(beyondLimit(clones, "shop-api", 77, limits)).to.equal(undefined);
  });

  it("the waiting status names the scope", () => {
    expect(waitingDescription({ scope: "service", limit: 10, inUse: 10 }, "shop")).to.equal(
      "Waiting: 10 of 10 clones in use for shop; builds when one frees",
    );
    expect(waitingDescription({ scope: "stack", limit: 3, inUse: 4 }, "shop")).to.equal(
      "Waiting: 3 of 3 clones in use for this stack; builds when one frees",
    );
  });

  it("idle: no push for idleDays; a younger clone cannot be; branchline:keep exempts", () => {
    expect(isIdle(0, 7 * DAY, 7)).to.equal(true);
    expect(isIdle(1, 7 * DAY, 7)).to.equal(false);
    expect(oldEnoughToIdle(DAY, 7 * DAY, 7)).to.equal(false);
    expect(oldEnoughToIdle(undefined, 7 * DAY, 7)).to.equal(true);
    expect(keptFromIdle(["Branchline:Keep"])).to.equal(true);
    expect(keptFromIdle(["keep"])).to.equal(false);
    expect(keptFromIdle(undefined)).to.equal(false);
  });
});
