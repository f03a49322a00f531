import { expect } from "chai";
import { registryLifecyclePolicy, type LifecyclePolicy } from "../../infra/policies.js";
import {
  PR_REPOSITORY_POLICY,
  READINGS,
  SOURCE_REPOSITORY_POLICY,
  expiredImages,
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

describe("ECR lifecycle (registryLifecyclePolicy per repository, evaluated)", () => {
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

  describe("a source repository (tags <sha7> and latest)", () => {
    const policy = registryLifecyclePolicy({
      tier: "source",
      sourceImageRetentionCount: 3,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
    });
    const repository = [
      // Production rolled back to an old commit: latest moved to an image pushed 30 days ago.
      image("latest", 30, "c0ffee1", "latest"),
      image("source-2d", 2, "0a1b2c3"),
      image("source-20d", 20, "1b2c3d4"),
      image("source-25d", 25, "2c3d4e5"),
      image("source-50d", 50, "3d4e5f6"),
      image("source-60d", 60, "4e5f6a7"),
      image("untagged-old", 8),
      image("untagged-new", 2),
    ];

    it("is valid for ECR: one untagged rule, no tagStatus any rule", () => {
      validatePolicy(policy);
      expect(policy.rules.map((rule) => rule.selection.tagStatus)).to.deep.equal([
        "tagged",
        "untagged",
        "tagged",
      ]);
    });

    for (const reading of READINGS) {
      it(`keeps latest and the newest images, expires untagged ones after their days (${reading})`, () => {
        const expired = expiry(policy, repository, reading);
        // Never latest, never the two newest tagged images, whichever reading ECR follows.
        for (const kept of ["latest", "source-2d", "source-20d", "untagged-new"]) {
          expect(expired, kept).to.not.have.property(kept);
        }
        expect(expired["untagged-old"]).to.equal(2);
        expect(expired["source-50d"]).to.equal(3);
        expect(expired["source-60d"]).to.equal(3);
      });

      it(`never expires latest, however many images are newer (${reading})`, () => {
        const many = [
          image("latest", 100, "0000000", "latest"),
          ...Array.from({ length: 10 }, (_, i) => image(`new-${i}`, i + 1, `abcdef${i}`)),
        ];
        const expired = expiry(policy, many, reading);
        expect(expired).to.not.have.property("latest");
        expect(Object.keys(expired)).to.have.length.of.at.least(6);
      });
    }
  });

  describe("a pull request repository (tags pr-<n>-<sha7> and pr-<n>)", () => {
    const policy = registryLifecyclePolicy({
      tier: "pull-request",
      sourceImageRetentionCount: 3,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
    });
    const repository = [
      image("pr-recent", 3, "pr-12", "pr-12-5f6a7b8"),
      image("pr-stale", 15, "pr-3", "pr-3-6a7b8c9"),
      image("pr-old-commit", 20, "pr-12-0a1b2c3"),
      image("untagged-old", 8),
      image("untagged-new", 2),
    ];

    for (const reading of READINGS) {
      it(`expires pr- images after their days and untagged ones after theirs (${reading})`, () => {
        expect(expiry(policy, repository, reading)).to.deep.equal({
          "pr-old-commit": 1,
          "pr-stale": 1,
          "untagged-old": 2,
        });
      });
    }
  });

  it("the default stack's policies, exactly", () => {
    const retention = {
      sourceImageRetentionCount: 30,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
    };
    expect(registryLifecyclePolicy({ tier: "source", ...retention })).to.deep.equal(
      SOURCE_REPOSITORY_POLICY,
    );
    expect(registryLifecyclePolicy({ tier: "pull-request", ...retention })).to.deep.equal(
      PR_REPOSITORY_POLICY,
    );
  });
});
