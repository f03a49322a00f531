import { expect } from "chai";
import {
  previewNames,
  previewTargetGroupPrefix,
  TARGET_GROUP_NAME_MAX_LENGTH,
} from "../../../functions/shared/preview-names.js";

describe("shared/preview-names", () => {
  it("names a preview's host, service, family and target group after the stack, service and PR", () => {
    expect(previewNames("shop", "web", 7, "Preview.Example.com.")).to.deep.equal({
      host: "pr-7.web.preview.example.com",
      serviceName: "shop-web-pr-7",
      family: "shop-web-pr-7",
      targetGroupName: "shop-web-7",
    });
  });

  it("makes DNS labels of service names and refuses impossible hosts", () => {
    expect(previewNames("shop", "Web_API", 1, "example.com").host).to.equal(
      "pr-1.web-api.example.com",
    );
    expect(() => previewNames("shop", "web", 1, "bad_domain.com")).to.throw(
      RangeError,
      "not a valid DNS name",
    );
    expect(() => previewNames("shop", "-", 1, "example.com")).to.throw(RangeError, "DNS label");
    expect(() => previewNames("shop", "web", 0, "example.com")).to.throw(
      RangeError,
      "positive integer",
    );
    expect(() => previewNames("shop", "web", 12345678901, "example.com")).to.throw(
      RangeError,
      "10 digits",
    );
  });

  it("keeps target group names within 32 characters, starting with the stack's target group prefix", () => {
    const longPrefix = "acme-platform-production-eu-west";
    const tgPrefix = previewTargetGroupPrefix(longPrefix);
    expect(tgPrefix).to.match(/^acme-pl-[0-9a-f]{6}$/);
    expect(previewTargetGroupPrefix("shop")).to.equal("shop");
    for (const [prefix, service, n] of [
      [longPrefix, "checkout-service-with-a-long-name", 9999999999],
      [longPrefix, "a", 1],
      ["shop", "checkout-service-with-a-long-name", 42],
    ] as const) {
      const { targetGroupName } = previewNames(prefix, service, n, "example.com");
      expect(targetGroupName.length).to.be.at.most(TARGET_GROUP_NAME_MAX_LENGTH);
      expect(targetGroupName).to.match(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/);
      expect(targetGroupName.startsWith(`${previewTargetGroupPrefix(prefix)}-`)).to.equal(true);
      expect(targetGroupName.endsWith(`-${n}`)).to.equal(true);
    }
  });

  it("gives distinct target group names across stacks, services and pull requests", () => {
    const names = new Set<string>();
    const prefixes = [
      "shop",
      "shop-staging",
      "acme-platform-production-eu-west",
      "acme-platform-production-us-east",
    ];
    const services = [
      "web",
      "web-1",
      "checkout-service-with-a-long-name",
      "checkout-service-with-a-longer-name",
    ];
    let count = 0;
    for (const prefix of prefixes) {
      for (const service of services) {
        for (const n of [1, 2, 11, 12, 123456]) {
          names.add(previewNames(prefix, service, n, "example.com").targetGroupName);
          count += 1;
        }
      }
    }
    expect(names.size).to.equal(count);
  });
});
