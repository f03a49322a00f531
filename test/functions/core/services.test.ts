/** The routing table's pure parts: routing a delivery, finding a pipeline's service, the sweep order. */
import { expect } from "chai";
import {
  parseServicesTable,
  rotate,
  routeDelivery,
  serviceOfPipeline,
  sweepStart,
} from "../../../functions/core/services.js";

const services = parseServicesTable(
  JSON.stringify(
    [
      ["api", "acme/shop", "main"],
      ["web", "acme/shop", "main"],
      ["admin", "acme/shop", "release"],
      ["docs", "acme/docs", "main"],
    ].map(([name, repository, branch]) => ({
      name,
      sourcePipeline: `shop-${name}`,
      repository,
      branch,
      ecrRepositories: [`shop-${name}-pr`],
    })),
  ),
  "test",
);
const names = (list: { name: string }[]) => list.map((s) => s.name);

describe("core/services", () => {
  it("routes by repository (case-insensitive) and base branch", () => {
    const route = (action: string, repository: string, baseBranch: string, previous?: string) =>
      names(
        routeDelivery(services, { action, repository, baseBranch, previousBaseBranch: previous }),
      );
    expect(route("opened", "ACME/Shop", "main")).to.deep.equal(["api", "web"]);
    expect(route("synchronize", "acme/shop", "release")).to.deep.equal(["admin"]);
    expect(route("opened", "acme/shop", "feature")).to.deep.equal([]);
    expect(route("opened", "acme/other", "main")).to.deep.equal([]);
    // closed: every service of the repository whose clone may exist.
    expect(route("closed", "acme/shop", "feature")).to.deep.equal(["api", "web", "admin"]);
    // A retarget reaches the old base's services and the new one's.
    expect(route("edited", "acme/shop", "release", "main")).to.deep.equal(["api", "web", "admin"]);
  });

  it("finds a pipeline's service: its source pipeline or a clone named like one", () => {
    expect(serviceOfPipeline(services, "shop-web")?.name).to.equal("web");
    expect(serviceOfPipeline(services, "shop-web-pr-12")?.name).to.equal("web");
    expect(serviceOfPipeline(services, "shop-web-pr-0")).to.equal(undefined);
    expect(serviceOfPipeline(services, "shop-billing-pr-1")).to.equal(undefined);
  });

  it("rotates an order from a start, wrapping around", () => {
    expect(rotate([1, 2, 3], 1)).to.deep.equal([2, 3, 1]);
    expect(rotate([1, 2, 3], 5)).to.deep.equal([3, 1, 2]);
    expect(rotate([], 2)).to.deep.equal([]);
    expect(sweepStart(123_456_789, 1)).to.equal(0);
    for (let minute = 0; minute < 50; minute++) {
      expect(sweepStart(minute * 60_000 + 59_999, 7)).to.equal(sweepStart(minute * 60_000, 7));
    }
  });
});
