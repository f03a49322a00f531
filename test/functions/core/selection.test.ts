import { expect } from "chai";
import {
  byLabels,
  byPaths,
  globMatcher,
  hasLabelRules,
  hasPathRules,
  parseSelection,
} from "../../../functions/core/selection.js";
import { ConfigurationError } from "../../../functions/core/errors.js";

describe("core/selection", () => {
  describe("globMatcher", () => {
    const cases: [string, string, boolean][] = [
      ["services/shop/**", "services/shop/a.ts", true],
      ["services/shop/**", "services/shop/src/deep/a.ts", true],
      ["services/shop/**", "services/shopping/a.ts", false],
      ["services/shop/**", "services/shop", false],
      ["**/*.md", "README.md", true],
      ["**/*.md", "docs/guide/intro.md", true],
      ["**/*.md", "docs/guide/intro.mdx", false],
      ["*.md", "docs/intro.md", true],
      ["*.md", "intro.md", true],
      ["docs/*.md", "docs/intro.md", true],
      ["docs/*.md", "docs/a/intro.md", false],
      ["src/**/test/*.ts", "src/test/a.ts", true],
      ["src/**/test/*.ts", "src/a/b/test/a.ts", true],
      ["src/**/test/*.ts", "src/a/b/test/c/a.ts", false],
      ["file?.txt", "file1.txt", true],
      ["file?.txt", "file/.txt", false],
      ["a+b(c).txt", "a+b(c).txt", true],
      ["a+b(c).txt", "aab(c).txt", false],
      ["/Dockerfile", "Dockerfile", true],
      ["Dockerfile", "services/api/Dockerfile", true],
      ["**", "any/thing/at/all", true],
      ["services/*/Dockerfile", "services/api/Dockerfile", true],
      ["services/*/Dockerfile", "services/api/v2/Dockerfile", false],
    ];
    for (const [glob, path, expected] of cases) {
      it(`${glob} ${expected ? "matches" : "does not match"} ${path}`, () => {
        expect(globMatcher(glob)(path)).to.equal(expected);
      });
    }
  });

  describe("byLabels", () => {
    const rules = { labels: { require: ["preview"], skip: ["branchline:skip"] } };
    it("builds with a required label, case-insensitively", () => {
      expect(byLabels(rules, ["bug", "Preview"])).to.deep.equal({ build: true });
    });
    it("refuses without a required label, naming them", () => {
      expect(byLabels(rules, ["bug"])).to.deep.equal({
        build: false,
        reason: "not built: no label `preview`",
        description: "Not built: no label `preview`",
      });
    });
    it("skip wins over require", () => {
      expect(byLabels(rules, ["preview", "branchline:skip"])).to.deep.include({
        build: false,
        description: "Not built: label `branchline:skip`",
      });
    });
    it("without rules, everything is built", () => {
      expect(byLabels(undefined, [])).to.deep.equal({ build: true });
      expect(byLabels({}, ["anything"])).to.deep.equal({ build: true });
    });
  });

  describe("byPaths", () => {
    const rules = { paths: { include: ["services/shop/**"], exclude: ["**/*.md"] } };
    it("builds when one file matches include and not exclude", () => {
      expect(
        byPaths(rules, { files: ["README.md", "services/shop/a.ts"], truncated: false }),
      ).to.deep.equal({ build: true });
    });
    it("refuses when every file is outside include or excluded, saying which rules", () => {
      expect(
        byPaths(rules, { files: ["services/shop/README.md", "lib/a.ts"], truncated: false }),
      ).to.deep.equal({
        build: false,
        reason: "not built: no changed file matches services/shop/** outside **/*.md",
        description: "Not built: no changed file matches services/shop/** outside **/*.md",
      });
    });
    it("exclude alone: everything else counts", () => {
      const docsOnly = { paths: { exclude: ["docs/**", "**/*.md"] } };
      expect(byPaths(docsOnly, { files: ["docs/a.txt"], truncated: false })).to.deep.include({
        build: false,
        reason: "not built: no changed file matches any path outside docs/**, **/*.md",
      });
      expect(byPaths(docsOnly, { files: ["src/a.ts"], truncated: false })).to.deep.equal({
        build: true,
      });
    });
    it("a list GitHub truncated counts as matching, and says so", () => {
      const decision = byPaths(rules, { files: ["README.md"], truncated: true });
      expect(decision.build).to.equal(true);
      expect(decision)
        .to.have.property("note")
        .that.matches(/at most 3000 changed files/);
    });
    it("an empty pull request matches nothing", () => {
      expect(byPaths(rules, { files: [], truncated: false }).build).to.equal(false);
    });
    it("keeps the status description within GitHub's 140 characters", () => {
      const long = {
        paths: { include: Array.from({ length: 20 }, (_, i) => `services/s${i}/**`) },
      };
      const decision = byPaths(long, { files: ["x"], truncated: false });
      expect(decision.build).to.equal(false);
      if (!decision.build) {
        expect(decision.description).to.have.length(140);
        expect(decision.reason.length).to.be.greaterThan(140);
      }
    });
  });

  describe("parseSelection", () => {
    const where = (key: string) => `entry 0: ${key}`;
    it("reads both rules, dropping empty lists and repeats", () => {
      const selection = parseSelection(
        { require: ["a", "a"], skip: [] },
        { include: ["x/**"] },
        where,
      );
      expect(selection).to.deep.equal({
        labels: { require: ["a"] },
        paths: { include: ["x/**"] },
      });
      expect(hasLabelRules(selection)).to.equal(true);
      expect(hasPathRules(selection)).to.equal(true);
      expect(hasPathRules(parseSelection(undefined, { include: [] }, where))).to.equal(false);
    });
    for (const [labels, paths, message] of [
      [
        ["a"],
        undefined,
        "entry 0: labels must be an object { require?: string[], skip?: string[] }",
      ],
      [{ only: ["a"] }, undefined, "entry 0: labels: only is not one of require, skip"],
      [{ skip: "a" }, undefined, "entry 0: labels.skip must be a list of non-empty strings"],
      [undefined, { include: [""] }, "entry 0: paths.include must be a list of non-empty strings"],
      [
        undefined,
        { exclude: ["!docs/**"] },
        'entry 0: paths: glob "!docs/**" starts with !: use exclude instead of negation',
      ],
      [
        undefined,
        { include: ["src/{a,b}/**"] },
        'entry 0: paths: glob "src/{a,b}/**" uses [ ] or { }, which are not supported (only *, ** and ?)',
      ],
    ] as const) {
      it(`refuses ${JSON.stringify(labels ?? paths)}`, () => {
        expect(() => parseSelection(labels, paths, where))
          .to.throw(ConfigurationError)
          .with.property("message", message);
      });
    }
  });
});
