import { expect } from "chai";
import {
  cloneName,
  cloneNameWildcard,
  imageTagPrefix,
  PIPELINE_NAME_MAX_LENGTH,
  PIPELINE_NAME_PATTERN,
  SOURCE_PIPELINE_NAME_MAX_LENGTH,
} from "../../../functions/shared/names.js";

/** IAM's resource-name wildcards: `*` any run of characters, `?` one character. */
function iamNameMatches(pattern: string, name: string): boolean {
  const escape = (text: string) => text.replace(/[.+^$()|[\]\\{}]/g, "\\$&");
  const source = escape(pattern).replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(name);
}

describe("names", () => {
  describe("cloneName", () => {
    const cases: { source: string; pr: number; expected: string }[] = [
      { source: "app", pr: 1, expected: "app-pr-1" },
      { source: "hello-world", pr: 42, expected: "hello-world-pr-42" },
      { source: "A.b@c_d-E9", pr: 7, expected: "A.b@c_d-E9-pr-7" },
      { source: "b".repeat(86), pr: 123456, expected: `${"b".repeat(86)}-pr-123456` },
      { source: "c".repeat(86), pr: 1, expected: `${"c".repeat(86)}-pr-1` },
      { source: "d".repeat(86), pr: 2147483647, expected: `${"d".repeat(86)}-pr-2147483647` },
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
      for (let length = 1; length <= SOURCE_PIPELINE_NAME_MAX_LENGTH; length += 5) {
        for (const pr of [1, 99, 1234567890]) {
          const source = Array.from({ length }, (_, i) => alphabet[i % alphabet.length]).join("");
          const name = cloneName(source, pr);
          expect(name.length, source).to.be.at.most(100);
          expect(name, source).to.match(PIPELINE_NAME_PATTERN);
          expect(name, source).to.have.length(length + `-pr-${pr}`.length);
          expect(name.endsWith(`-pr-${pr}`)).to.equal(true);
        }
      }
    });

    it("allows source names of 100 - len('-pr-') - 10 digits = 86 characters", () => {
      expect(SOURCE_PIPELINE_NAME_MAX_LENGTH).to.equal(86);
    });

    it("never gives a clone the name of its source pipeline or of another clone", () => {
      // A 100-character source ending in -pr-1 used to be cut so that PR 1 got the source's name.
      const lookalike = `${"s".repeat(81)}-pr-1`;
      const sources = ["app", "app-pr-1", lookalike, "e".repeat(86)];
      for (const source of sources) {
        const names = new Set<string>([source]);
        for (const pr of [1, 2, 10, 11, 12, 110, 2147483647, 9999999999]) {
          const name = cloneName(source, pr);
          expect(names.has(name), `${source} #${pr}`).to.equal(false);
          names.add(name);
        }
      }
    });

    it("refuses a source name longer than 86 characters instead of cutting it", () => {
      const source = `${"a".repeat(95)}-pr-1`;
      expect(() => cloneName(source, 1)).to.throw(
        RangeError,
        /source pipeline name must be 1-86 characters .*got 100/,
      );
      expect(() => cloneName("f".repeat(87), 1)).to.throw(RangeError, /1-86 characters/);
    });

    it("refuses a pull request number of more than 10 digits", () => {
      expect(() => cloneName("app", 12345678901)).to.throw(RangeError, /at most 10 digits/);
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

    it("is exactly `<source>-pr-*` for the longest source, and never matches the source", () => {
      for (const source of ["e".repeat(86), `${"s".repeat(81)}-pr-1`, "app-pr-1"]) {
        const pattern = cloneNameWildcard(source);
        expect(pattern).to.equal(`${source}-pr-*`);
        const matches = (name: string) => iamNameMatches(pattern, name);
        expect(matches(source), source).to.equal(false);
        for (const pr of [1, 42, 9999999999]) expect(matches(cloneName(source, pr))).to.equal(true);
      }
    });

    it("refuses a source name longer than 86 characters", () => {
      expect(() => cloneNameWildcard("x".repeat(99))).to.throw(RangeError, /1-86 characters/);
    });
  });

  it("prefixes image tags with pr-<n>", () => {
    expect(imageTagPrefix(12)).to.equal("pr-12");
  });
});
