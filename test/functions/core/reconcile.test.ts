import { expect } from "chai";
import type { PullRequest } from "../../../functions/core/classify.js";
import type { TaggedImageId } from "../../../functions/core/images.js";
import {
  cloneNumberOf,
  imagesByPullRequest,
  verdictFor,
} from "../../../functions/core/reconcile.js";
import { cloneName } from "../../../functions/shared/names.js";

const SOURCE_REF = { repository: "Octo/App", branch: "main" };
const OPTIONS = { allowForks: false, buildDrafts: true };

function pr(variant: Partial<PullRequest> = {}): PullRequest {
  return {
    number: 7,
    state: "open",
    draft: false,
    merged: false,
    headBranch: "feature",
    headSha: "a".repeat(40),
    headRepository: "Octo/App",
    baseBranch: "main",
    baseRepository: "octo/app",
    ...variant,
  };
}

describe("core/reconcile", () => {
  describe("verdictFor", () => {
    it("wants an open pull request into the source branch", () => {
      expect(verdictFor(pr(), SOURCE_REF, OPTIONS)).to.deep.equal({
        kind: "ensure",
        pullRequest: pr(),
        headRepository: "Octo/App",
      });
    });

    it("removes an open pull request whose fork was deleted, forks allowed or not", () => {
      for (const allowForks of [false, true]) {
        expect(
          verdictFor(pr({ headRepository: undefined }), SOURCE_REF, { ...OPTIONS, allowForks }),
        ).to.deep.equal({
          kind: "remove",
          reason:
            "pull request #7: its head repository was deleted, so it can never be built again; its clone, if any, is removed",
        });
      }
    });

    describe("a pull request of another repository name (GitHub followed a rename)", () => {
      const renamed = { baseRepository: "Octo/Renamed", headRepository: "Octo/Renamed" };
      const configured = { id: 42, fullName: "Octo/Renamed" };

      it("never removes it when the id is unknown or differs: a configuration problem", () => {
        const cases: [Partial<PullRequest>, typeof configured | undefined][] = [
          [{ ...renamed, baseRepositoryId: 42 }, undefined],
          [{ ...renamed, state: "closed", baseRepositoryId: 42 }, undefined],
          [{ ...renamed, baseBranch: "develop" }, configured],
          [{ ...renamed, baseRepositoryId: 43, state: "closed" }, configured],
        ];
        for (const [variant, identity] of cases) {
          expect(verdictFor(pr(variant), SOURCE_REF, OPTIONS, identity)).to.deep.equal({
            kind: "misconfigured",
            reason: "pull request #7 belongs to Octo/Renamed, not Octo/App",
          });
        }
      });

      it("treats it as the source's repository when the ids match", () => {
        const same = { ...renamed, baseRepositoryId: 42 };
        expect(verdictFor(pr(same), SOURCE_REF, OPTIONS, configured)).to.deep.equal({
          kind: "ensure",
          pullRequest: pr({ ...same, baseRepository: "Octo/App", headRepository: "Octo/App" }),
          headRepository: "Octo/App",
        });
        expect(
          verdictFor(pr({ ...same, state: "closed" }), SOURCE_REF, OPTIONS, configured),
        ).to.deep.equal({ kind: "remove", reason: "pull request #7 is closed" });
        expect(
          verdictFor(pr({ ...same, baseBranch: "develop" }), SOURCE_REF, OPTIONS, configured),
        ).to.deep.equal({
          kind: "remove",
          reason: "pull request #7 targets Octo/Renamed:develop, not Octo/App:main",
        });
        expect(
          verdictFor(pr({ ...same, headRepository: "else/App" }), SOURCE_REF, OPTIONS, configured)
            .kind,
        ).to.equal("keep");
      });
    });

    it("removes closed and retargeted pull requests", () => {
      expect(verdictFor(pr({ state: "closed" }), SOURCE_REF, OPTIONS).kind).to.equal("remove");
      expect(verdictFor(pr({ baseBranch: "develop" }), SOURCE_REF, OPTIONS)).to.deep.equal({
        kind: "remove",
        reason: "pull request #7 targets octo/app:develop, not Octo/App:main",
      });
    });

    it("keeps what exists for pull requests the webhook would ignore", () => {
      expect(
        verdictFor(pr({ draft: true }), SOURCE_REF, { ...OPTIONS, buildDrafts: false }),
      ).to.deep.equal({
        kind: "keep",
        reason: "pull request #7 is a draft; waiting for ready_for_review",
      });
      expect(verdictFor(pr({ headRepository: "else/App" }), SOURCE_REF, OPTIONS).kind).to.equal(
        "keep",
      );
      expect(
        verdictFor(pr({ headRepository: "else/App" }), SOURCE_REF, { ...OPTIONS, allowForks: true })
          .kind,
      ).to.equal("ensure");
    });
  });

  describe("cloneNumberOf", () => {
    it("reads the number of names made by cloneName only", () => {
      expect(cloneNumberOf("app-pr-12", "app")).to.equal(12);
      expect(cloneNumberOf("app-pr-012", "app")).to.equal(undefined);
      expect(cloneNumberOf("other-pr-12", "app")).to.equal(undefined);
      expect(cloneNumberOf("app-pr-12-x", "app")).to.equal(undefined);
      expect(cloneNumberOf("app", "app")).to.equal(undefined);
      expect(cloneNumberOf("my app-pr-3", "my app")).to.equal(undefined);
      expect(cloneNumberOf(cloneName("my app", 3), "my app")).to.equal(3);
      const long = "x".repeat(86);
      expect(cloneNumberOf(cloneName(long, 4567), long)).to.equal(4567);
      // A number longer than any pull request's is no clone (and does not make cloneName throw).
      expect(cloneNumberOf("app-pr-12345678901", "app")).to.equal(undefined);
    });
  });

  describe("imagesByPullRequest", () => {
    it("groups pr-<n> and pr-<n>-... tags by number and leaves the rest out", () => {
      const ids = ["pr-2", "pr-2-abc", "pr-20", "pr-2x", "pr-02", "latest", "pr-", "x-pr-2"].map(
        (imageTag) => ({ imageTag, imageDigest: `sha256:${imageTag}` }),
      );
      const all: TaggedImageId[] = [...ids, { imageDigest: "sha256:untagged" }];
      const groups = imagesByPullRequest(all);
      expect([...groups.keys()].sort((a, b) => a - b)).to.deep.equal([2, 20]);
      expect(groups.get(2)?.map((id) => id.imageTag)).to.deep.equal(["pr-2", "pr-2-abc"]);
      expect(groups.get(20)?.map((id) => id.imageTag)).to.deep.equal(["pr-20"]);
    });
  });
});
