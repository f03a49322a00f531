import { expect } from "chai";
import {
  belongsToPullRequest,
  chunk,
  pullRequestImageIds,
} from "../../../functions/core/images.js";

describe("core/images", () => {
  const cases: [string, number, boolean][] = [
    ["pr-2", 2, true],
    ["pr-2-abc1234", 2, true],
    ["pr-2-web-abc1234", 2, true],
    ["pr-20", 2, false],
    ["pr-20-abc1234", 2, false],
    ["pr-2abc", 2, false],
    ["latest", 2, false],
    ["abc1234", 2, false],
    ["xpr-2", 2, false],
    ["pr-", 2, false],
    ["pr-20", 20, true],
  ];
  for (const [tag, pr, expected] of cases) {
    it(`${expected ? "counts" : "does not count"} ${tag} as PR ${pr}'s`, () => {
      expect(belongsToPullRequest(tag, pr)).to.equal(expected);
    });
  }

  it("lists each tag of the pull request once, ignoring untagged ids", () => {
    const ids = [
      { imageTag: "pr-2", imageDigest: "sha256:a" },
      { imageTag: "pr-2-abc1234", imageDigest: "sha256:a" },
      { imageTag: "pr-2", imageDigest: "sha256:a" },
      { imageTag: "pr-20", imageDigest: "sha256:b" },
      { imageDigest: "sha256:c" },
      { imageTag: "latest", imageDigest: "sha256:d" },
    ];
    expect(pullRequestImageIds(ids, 2)).to.deep.equal([
      { imageTag: "pr-2" },
      { imageTag: "pr-2-abc1234" },
    ]);
  });

  it("chunks into batches of at most the given size", () => {
    const items = Array.from({ length: 250 }, (_, i) => i);
    const batches = chunk(items, 100);
    expect(batches.map((b) => b.length)).to.deep.equal([100, 100, 50]);
    expect(batches.flat()).to.deep.equal(items);
    expect(chunk([], 100)).to.deep.equal([]);
    expect(() => chunk(items, 0)).to.throw(RangeError);
  });
});
