import { expect } from "chai";
import {
  LIFECYCLE_POLICY_MAX_CHARS,
  registryLifecyclePolicy,
  type LifecyclePolicy,
} from "../../infra/policies.js";
import {
  ONE_IMAGE_POLICY,
  READINGS,
  daysSelection,
  expiredImages,
  latestSelection,
  sourceSelection,
  validatePolicy,
  type RepositoryImage,
} from "../helpers/ecr-lifecycle.js";

/** Expired image ids, sorted, with the priority of the rule that expired each. */
function expiry(
  policy: LifecyclePolicy,
  images: RepositoryImage[],
  reading: (typeof READINGS)[number],
): Record<string, number> {
  return Object.fromEntries([...expiredImages(policy, images, reading)].sort());
}

const image = (id: string, pushedDaysAgo: number, ...tags: string[]): RepositoryImage => ({
  id,
  tags,
  pushedDaysAgo,
});

describe("ECR lifecycle (registryLifecyclePolicy, evaluated)", () => {
  describe("the evaluator", () => {
    // The worked examples of the ECR user guide, "Examples of lifecycle policies".
    const rule = (rulePriority: number, prefixes: string[], count: number) => ({
      rulePriority,
      description: `Rule ${rulePriority}`,
      selection: {
        tagStatus: "tagged" as const,
        tagPrefixList: prefixes,
        countType: "imageCountMoreThan" as const,
        countNumber: count,
      },
      action: { type: "expire" as const },
    });
    const abc = [
      image("A", 10, "beta-1", "prod-1"),
      image("B", 9, "beta-2", "prod-2"),
      image("C", 8, "beta-3"),
    ];

    for (const reading of READINGS) {
      it(`reproduces the guide's examples (${reading})`, () => {
        // Multiple rules, example A: only A expires (B matches rule 1, so rule 2 may not expire it).
        expect(
          expiry({ rules: [rule(1, ["prod"], 1), rule(2, ["beta"], 1)] }, abc, reading),
        ).to.deep.equal({ A: 1 });
        // Multiple rules, example B: A and B expire.
        expect(
          expiry({ rules: [rule(1, ["beta"], 1), rule(2, ["prod"], 1)] }, abc, reading),
        ).to.deep.equal({ A: 1, B: 1 });
        // Multiple tags in one rule, example B: all prefixes must match; A and B expire.
        expect(
          expiry(
            { rules: [rule(1, ["alpha", "beta"], 1)] },
            [
              image("A", 10, "alpha-1", "beta-1", "gamma-1"),
              image("B", 9, "alpha-2", "beta-2"),
              image("C", 8, "alpha-3", "beta-3", "gamma-2"),
            ],
            reading,
          ),
        ).to.deep.equal({ A: 1, B: 1 });
        // Multiple tags in one rule, example A: only images with alpha AND beta tags are seen.
        expect(
          expiry(
            {
              rules: [
                {
                  ...rule(1, ["alpha", "beta"], 1),
                  selection: {
                    tagStatus: "tagged",
                    tagPrefixList: ["alpha", "beta"],
                    countType: "sinceImagePushed",
                    countUnit: "days",
                    countNumber: 5,
                  },
                },
              ],
            },
            [
              image("A", 12, "alpha-1"),
              image("B", 11, "beta-1"),
              image("C", 10, "alpha-2", "beta-2"),
              image("D", 4, "alpha-3"),
              image("E", 3, "beta-3"),
              image("F", 2, "alpha-4", "beta-4"),
            ],
            reading,
          ),
        ).to.deep.equal({ C: 1 });
      });
    }

    it("refuses what the guide says ECR refuses", () => {
      expect(() => validatePolicy({ rules: [rule(1, ["a"], 1), rule(1, ["b"], 1)] })).to.throw(
        /duplicate rulePriority/,
      );
      expect(() => validatePolicy({ rules: [rule(1, ["a"], 1), rule(2, ["a"], 2)] })).to.throw(
        /repeated tag prefixes/,
      );
      expect(() =>
        validatePolicy({
          rules: [{ ...rule(1, ["a"], 1), selection: { ...rule(1, [], 1).selection } }],
        }),
      ).to.throw(/tagged needs/);
    });
  });

  describe("one image (tags <sha7>, latest, app-<sha7>; pr-<n>, pr-<n>-<sha7>)", () => {
    const policy = registryLifecyclePolicy({
      imageNames: ["app"],
      sourceImageRetentionCount: 3,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
    });
    const repository = [
      // Production rolled back to an old commit: a fully cached rebuild moved latest to an image pushed
      // 30 days ago, which a pull request build had also tagged.
      image("latest", 30, "c0ffee1", "latest", "app-c0ffee1", "pr-9-c0ffee1", "pr-9"),
      image("source-new", 2, "0a1b2c3", "app-0a1b2c3"),
      // A production digest that a fully cached pull request build reproduced (pr- tags added), older
      // than the pr- days but among the newest 3 source images.
      image("production-with-pr-tags", 20, "1b2c3d4", "app-1b2c3d4", "pr-5", "pr-5-1b2c3d4"),
      image("source-25d", 25, "2c3d4e5", "app-2c3d4e5"),
      image("source-50d", 50, "3d4e5f6", "app-3d4e5f6"),
      image("source-60d", 60, "4e5f6a7", "app-4e5f6a7"),
      image("pr-recent", 3, "pr-12", "pr-12-5f6a7b8"),
      image("pr-stale", 15, "pr-3", "pr-3-6a7b8c9"),
      image("pr-old-cache", 15, "pr-3-buildcache-app"),
      image("old-cache", 10, "buildcache-app"),
      image("untagged-old", 8),
      image("untagged-new", 2),
    ];

    for (const reading of READINGS) {
      it(`keeps latest, the newest 3 source images and source images with pr- tags (${reading})`, () => {
        expect(expiry(policy, repository, reading)).to.deep.equal({
          "source-50d": 2,
          "source-60d": 2,
          "pr-stale": 3,
          "pr-old-cache": 3,
          "old-cache": 4,
          "untagged-old": 5,
        });
      });

      it(`never expires latest, however many source images are newer (${reading})`, () => {
        const newer = Array.from({ length: 10 }, (_, i) =>
          image(`source-${i}`, i + 1, `${i}000000`.slice(0, 7), `app-${i}000000`.slice(0, 11)),
        );
        const expired = expiredImages(
          policy,
          [image("latest", 400, "c0ffee1", "latest", "app-c0ffee1", "pr-1"), ...newer],
          reading,
        );
        expect(expired.has("latest")).to.equal(false);
        expect([...expired.keys()].sort()).to.deep.equal([
          "source-3",
          "source-4",
          "source-5",
          "source-6",
          "source-7",
          "source-8",
          "source-9",
        ]);
      });
    }

    it("the previous policy (pr- rule first, no source rules) expired production images", () => {
      // What registryLifecyclePolicy(14, 7) returned before: the defect the rules above fix.
      const previous: LifecyclePolicy = {
        rules: [
          {
            rulePriority: 1,
            description: "Expire pull request images (pr-*) 14 days after push",
            selection: {
              tagStatus: "tagged",
              tagPrefixList: ["pr-"],
              countType: "sinceImagePushed",
              countUnit: "days",
              countNumber: 14,
            },
            action: { type: "expire" },
          },
          {
            rulePriority: 2,
            description: "Expire untagged images 7 days after push",
            selection: {
              tagStatus: "untagged",
              countType: "sinceImagePushed",
              countUnit: "days",
              countNumber: 7,
            },
            action: { type: "expire" },
          },
        ],
      };
      for (const reading of READINGS) {
        const expired = expiredImages(previous, repository, reading);
        expect(expired.get("latest")).to.equal(1);
        expect(expired.get("production-with-pr-tags")).to.equal(1);
        // ... and never expired a source image.
        expect(expired.has("source-60d")).to.equal(false);
      }
    });
  });

  describe("several images (tags <name>-<sha7>, <name>-latest; pr-<n>-<name>-<sha7>, pr-<n>-<name>)", () => {
    const policy = registryLifecyclePolicy({
      imageNames: ["web", "api"],
      sourceImageRetentionCount: 2,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
    });
    const repository = [
      image("web-latest", 30, "web-aaaaaaa", "web-latest", "pr-4-web-aaaaaaa"),
      image("web-1d", 1, "web-bbbbbbb"),
      image("web-20d-with-pr-tags", 20, "web-ccccccc", "pr-6-web-ccccccc", "pr-6-web"),
      image("web-40d", 40, "web-ddddddd"),
      image("api-latest", 5, "api-1111111", "api-latest"),
      image("api-10d", 10, "api-2222222"),
      image("api-12d", 12, "api-3333333"),
      image("api-50d", 50, "api-4444444"),
      image("pr-stale", 20, "pr-6-api-5555555", "pr-6-api"),
      image("pr-recent", 1, "pr-8-api-6666666", "pr-8-api"),
    ];

    it("keeps each image's latest and its newest 2 source images, per image", () => {
      // web-latest is older than the newest 2 web images: kept all the same. api-latest is the
      // newest api image: counted among the 2 (first reading) or besides them (second reading).
      expect(expiry(policy, repository, "counts-matched-by-higher-rules")).to.deep.equal({
        "web-40d": 3,
        "api-12d": 4,
        "api-50d": 4,
        "pr-stale": 5,
      });
      expect(expiry(policy, repository, "skips-matched-by-higher-rules")).to.deep.equal({
        "web-40d": 3,
        "api-50d": 4,
        "pr-stale": 5,
      });
    });
  });

  describe("the policy JSON", () => {
    it("for one image: latest, app-*, pr-*, buildcache-*, untagged", () => {
      const policy = registryLifecyclePolicy({
        imageNames: ["app"],
        sourceImageRetentionCount: 30,
        prImageRetentionDays: 14,
        untaggedImageRetentionDays: 7,
      });
      expect(policy).to.deep.equal(ONE_IMAGE_POLICY);
      validatePolicy(policy);
    });

    it("for several images: one latest rule and one source rule per image", () => {
      const policy = registryLifecyclePolicy({
        imageNames: ["web", "api"],
        sourceImageRetentionCount: 5,
        prImageRetentionDays: 3,
        untaggedImageRetentionDays: 1,
      });
      validatePolicy(policy);
      expect(policy.rules.map((r) => [r.rulePriority, r.selection])).to.deep.equal([
        [1, latestSelection("web-latest")],
        [2, latestSelection("api-latest")],
        [3, sourceSelection("web-", 5)],
        [4, sourceSelection("api-", 5)],
        [5, daysSelection("pr-", 3)],
        [6, daysSelection("buildcache-", 1)],
        [
          7,
          {
            tagStatus: "untagged",
            countType: "sinceImagePushed",
            countUnit: "days",
            countNumber: 1,
          },
        ],
      ]);
    });

    it("refuses a policy longer than ECR accepts, naming the limit", () => {
      const imageNames = Array.from({ length: 80 }, (_, i) => `service-number-${i}`);
      expect(() =>
        registryLifecyclePolicy({
          imageNames,
          sourceImageRetentionCount: 30,
          prImageRetentionDays: 14,
          untaggedImageRetentionDays: 7,
        }),
      ).to.throw(new RegExp(`80 images .* at most ${LIFECYCLE_POLICY_MAX_CHARS}`));
    });
  });
});
