import { expect } from "chai";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { loadBalancerDimension, targetGroupDimension } from "../../../functions/core/preview.js";

const LISTENER =
  "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2";
const TARGET_GROUP =
  "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-web-pr-7/73e2d6bc24d8a067";

function refusal(run: () => string): Error {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return error as Error;
  }
  throw new Error("expected a ConfigurationError");
}

describe("preview traffic dimensions", () => {
  it("takes the LoadBalancer dimension from a listener ARN", () => {
    expect(loadBalancerDimension(LISTENER)).to.equal("app/previews/50dc6c495c0c9188");
    expect(
      loadBalancerDimension(
        "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:listener/app/my-alb-2/0a1b2c3d4e5f6071/0123456789abcdef",
      ),
    ).to.equal("app/my-alb-2/0a1b2c3d4e5f6071");
  });

  it("takes the TargetGroup dimension from a target group ARN", () => {
    expect(targetGroupDimension(TARGET_GROUP)).to.equal(
      "targetgroup/shop-web-pr-7/73e2d6bc24d8a067",
    );
  });

  it("refuses ARNs of another shape with a ConfigurationError naming them", () => {
    for (const arn of [
      "",
      TARGET_GROUP,
      // A Network Load Balancer's listener: its metrics are AWS/NetworkELB.
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/previews/50dc6c495c0c9188/f2f7dc8efc522ab2",
      // A listener rule, not the listener.
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/previews/50dc6c495c0c9188",
      `${LISTENER}/extra`,
    ]) {
      expect(refusal(() => loadBalancerDimension(arn)).message).to.contain(arn);
    }
    for (const arn of [
      "",
      LISTENER,
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-web-pr-7",
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop_web/73e2d6bc24d8a067",
      "targetgroup/shop-web-pr-7/73e2d6bc24d8a067",
    ]) {
      expect(refusal(() => targetGroupDimension(arn)).message).to.contain(arn);
    }
  });
});
