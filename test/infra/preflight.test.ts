import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { checkNodeVersion, SUPPORTED_NODE } from "../../infra/preflight.js";

describe("infra/preflight", () => {
  describe("checkNodeVersion", () => {
    for (const version of ["22.12.0", "v22.23.0", "23.0.0", "24.11.1", "26.1.0"]) {
      it(`accepts Node.js ${version}`, () => {
        expect(() => checkNodeVersion(version)).to.not.throw();
      });
    }

    for (const version of [
      "20.19.0",
      "v20.20.2",
      "20.18.3",
      "v18.20.8",
      "21.7.3",
      "22.0.0",
      "22.11.0",
      "v22.11.9",
      "16.20.2",
      "",
      "lts",
    ]) {
      it(`refuses Node.js ${JSON.stringify(version)}, saying which Node.js to install`, () => {
        expect(() => checkNodeVersion(version)).to.throw(
          `branchline needs Node.js 22.12 or later (>=22.12.0): the Lambdas run on Node.js 22, ` +
            `and the GitHub webhook resource loads the ES module @octokit/rest with require(), ` +
            `which older versions refuse. This is Node.js ${version}: install Node.js 22 (22.12 ` +
            `or later) and run pulumi again.`,
        );
      });
    }

    it("accepts the Node.js running the tests (the range includes it)", () => {
      expect(() => checkNodeVersion(process.version)).to.not.throw();
    });
  });

  it("is the range package.json `engines` declares", () => {
    const root = path.join(__dirname, "..", "..");
    const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
      engines?: { node?: string };
    };
    expect(manifest.engines?.node).to.equal(SUPPORTED_NODE);
  });
});
