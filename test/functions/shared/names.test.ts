import { expect } from "chai";
import {
  cloneName,
  cloneNameWildcard,
  imageTagPrefix,
  PIPELINE_NAME_MAX_LENGTH,
  PIPELINE_NAME_PATTERN,
} from "../../../functions/shared/names.js";

describe("names", () => {
  describe("cloneName", () => {
    const cases: { source: string; pr: number; expected: string }[] = [
      { source: "app", pr: 1, expected: "app-pr-1" },
      { source: "hello-world", pr: 42, expected: "hello-world-pr-42" },
      { source: "A.b@c_d-E9", pr: 7, expected: "A.b@c_d-E9-pr-7" },
      { source: "a".repeat(100), pr: 5, expected: `${"a".repeat(95)}-pr-5` },
      { source: "b".repeat(96), pr: 123456, expected: `${"b".repeat(90)}-pr-123456` },
      { source: "c".repeat(95), pr: 1, expected: `${"c".repeat(95)}-pr-1` },
      { source: "has space/and:colon", pr: 3, expected: "has-space-and-colon-pr-3" },
    ];
    for (const { source, pr, expected } of cases) {
      it(`names PR ${pr} of ${source.length > 20 ? `a ${source.length}-character source` : source}`, () => {
        const name = cloneName(source, pr);
        expect(name).to.equal(expected);
        expect(name.length).to.be.at.most(PIPELINE_NAME_MAX_LENGTH);
        expect(name).to.match(PIPELINE_NAME_PATTERN);
      });
    }

    it("always fits the pipeline name constraints, for every character class and length", () => {
      const alphabet = "aZ09.@-_ /:+=!é漢";
      for (let length = 1; length <= 120; length += 7) {
        for (const pr of [1, 99, 1234567890]) {
          const source = Array.from({ length }, (_, i) => alphabet[i % alphabet.length]).join("");
          const name = cloneName(source, pr);
          expect(name.length, source).to.be.at.most(100);
          expect(name, source).to.match(PIPELINE_NAME_PATTERN);
          expect(name.endsWith(`-pr-${pr}`)).to.equal(true);
        }
      }
    });

    for (const bad of [0, -1, 1.5, Number.NaN]) {
      it(`refuses pull request number ${bad}`, () => {
        expect(() => cloneName("app", bad)).to.throw(RangeError, /positive integer/);
      });
    }
  });

  describe("cloneNameWildcard", () => {
    it("is `<source>-pr-*` for ordinary names", () => {
      expect(cloneNameWildcard("hello-world")).to.equal("hello-world-pr-*");
    });

    it("covers every clone of a long source name", () => {
      const source = "x".repeat(99);
      const pattern = cloneNameWildcard(source);
      const stem = pattern.slice(0, -1);
      expect(pattern.endsWith("*")).to.equal(true);
      for (const pr of [1, 42, 9999999999])
        expect(cloneName(source, pr).startsWith(stem)).to.equal(true);
    });
  });

  it("prefixes image tags with pr-<n>", () => {
    expect(imageTagPrefix(12)).to.equal("pr-12");
  });
});
