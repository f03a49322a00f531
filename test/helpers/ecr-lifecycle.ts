/**
 * A small evaluator of Amazon ECR lifecycle policies, written from the ECR user guide ("Lifecycle
 * policy properties", "Lifecycle policy evaluation rules" and the worked examples of "Examples of
 * lifecycle policies"), so that tests can show which images a policy expires without AWS:
 * - every rule is evaluated, then the rules are applied by priority (1 first);
 * - an image is expired by exactly one or zero rules;
 * - an image that matches the tagging requirements of a rule cannot be expired by a rule with a lower
 *   priority;
 * - `tagPrefixList` / `tagPatternList`: the image matches when EVERY entry matches one of its tags
 *   (`*` is the only wildcard of a pattern, at most four per pattern);
 * - `imageCountMoreThan`: images sorted youngest first by push time, all past the count are marked;
 *   `sinceImagePushed`: images pushed more than `countNumber` days ago are marked.
 * The guide is ambiguous on one point: whether a rule still counts images that a higher-priority rule
 * matched ("can still identify them as if they haven't been expired", worked example A) or does not
 * see them at all (worked example B). Both readings are implemented; tests should hold under both.
 */
import type { LifecyclePolicy, LifecycleRule } from "../../infra/policies.js";

export interface RepositoryImage {
  /** A name for the test's messages (ECR would use the digest). */
  id: string;
  tags: string[];
  /** Days since the image was pushed (distinct values keep the order unambiguous). */
  pushedDaysAgo: number;
}

/** How a rule treats images that a higher-priority rule matched (see the module comment). */
export type Reading = "counts-matched-by-higher-rules" | "skips-matched-by-higher-rules";
export const READINGS: readonly Reading[] = [
  "counts-matched-by-higher-rules",
  "skips-matched-by-higher-rules",
];

function globMatches(pattern: string, tag: string): boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(tag);
}

/** Whether the image meets the rule's tagging requirements. */
export function matchesRule(rule: LifecycleRule, image: RepositoryImage): boolean {
  const { tagStatus, tagPrefixList, tagPatternList } = rule.selection;
  if (tagStatus === "any") return true;
  if (tagStatus === "untagged") return image.tags.length === 0;
  if (image.tags.length === 0) return false;
  const prefixes = tagPrefixList ?? [];
  const patterns = tagPatternList ?? [];
  return (
    prefixes.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix))) &&
    patterns.every((pattern) => image.tags.some((tag) => globMatches(pattern, tag)))
  );
}

/** Throws on a policy the guide says ECR refuses. */
export function validatePolicy(policy: LifecyclePolicy): void {
  const rules = policy.rules;
  const priorities = rules.map((r) => r.rulePriority);
  if (new Set(priorities).size !== priorities.length) throw new Error("duplicate rulePriority");
  const sorted = [...rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const prefixSets = new Set<string>();
  let untaggedRules = 0;
  sorted.forEach((rule, index) => {
    const s = rule.selection;
    if (!Number.isInteger(rule.rulePriority) || rule.rulePriority < 1) {
      throw new Error(`rule ${rule.rulePriority}: rulePriority must be a positive integer`);
    }
    if (rule.action.type !== "expire") throw new Error(`rule ${rule.rulePriority}: action`);
    if (!Number.isInteger(s.countNumber) || s.countNumber < 1) {
      throw new Error(`rule ${rule.rulePriority}: countNumber must be a positive integer`);
    }
    if ((s.countType === "sinceImagePushed") !== (s.countUnit === "days")) {
      throw new Error(
        `rule ${rule.rulePriority}: countUnit "days" goes with sinceImagePushed only`,
      );
    }
    const lists = [s.tagPrefixList, s.tagPatternList].filter((l) => l !== undefined);
    if (s.tagStatus === "tagged") {
      if (lists.length !== 1 || (lists[0] ?? []).length === 0) {
        throw new Error(
          `rule ${rule.rulePriority}: tagged needs one tagPrefixList or tagPatternList`,
        );
      }
    } else if (lists.length !== 0) {
      throw new Error(`rule ${rule.rulePriority}: ${s.tagStatus} takes no tag list`);
    }
    if (s.tagStatus === "any" && index !== sorted.length - 1) {
      throw new Error(`rule ${rule.rulePriority}: an "any" rule must have the highest priority`);
    }
    if (s.tagStatus !== "tagged") untaggedRules += 1;
    for (const pattern of s.tagPatternList ?? []) {
      if ((pattern.match(/\*/g) ?? []).length > 4) {
        throw new Error(`rule ${rule.rulePriority}: more than four wildcards in ${pattern}`);
      }
    }
    if (s.tagPrefixList !== undefined) {
      const key = JSON.stringify([...s.tagPrefixList].sort());
      if (prefixSets.has(key)) throw new Error(`rule ${rule.rulePriority}: repeated tag prefixes`);
      prefixSets.add(key);
    }
  });
  if (untaggedRules > 1) throw new Error("only one rule may select untagged images");
}

/** The images the policy expires: image id -> rulePriority of the rule that expires it. */
export function expiredImages(
  policy: LifecyclePolicy,
  images: RepositoryImage[],
  reading: Reading,
): Map<string, number> {
  validatePolicy(policy);
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const expired = new Map<string, number>();
  rules.forEach((rule, index) => {
    const higher = rules.slice(0, index);
    const matchedByHigher = (image: RepositoryImage): boolean =>
      higher.some((h) => matchesRule(h, image));
    let visible = images.filter((image) => matchesRule(rule, image));
    if (reading === "skips-matched-by-higher-rules") {
      visible = visible.filter((image) => !matchedByHigher(image));
    }
    const { countType, countNumber } = rule.selection;
    const marked =
      countType === "imageCountMoreThan"
        ? [...visible].sort((a, b) => a.pushedDaysAgo - b.pushedDaysAgo).slice(countNumber)
        : visible.filter((image) => image.pushedDaysAgo > countNumber);
    for (const image of marked) {
      if (expired.has(image.id) || matchedByHigher(image)) continue;
      expired.set(image.id, rule.rulePriority);
    }
  });
  return expired;
}

// The default stack's policies (30 source images, 14 and 7 days), exactly, for assertions in tests.

const untaggedRule = (rulePriority: number, days: number) => ({
  rulePriority,
  description: `Expire untagged images ${days} days after push`,
  selection: {
    tagStatus: "untagged",
    countType: "sinceImagePushed",
    countUnit: "days",
    countNumber: days,
  },
  action: { type: "expire" },
});

/** A source tier repository's policy (`<prefix>/<image>`: tags `<sha7>` and `latest`). */
export const SOURCE_REPOSITORY_POLICY = {
  rules: [
    {
      rulePriority: 1,
      description: "Never expire the image tagged latest",
      selection: {
        tagStatus: "tagged",
        tagPatternList: ["latest"],
        countType: "imageCountMoreThan",
        countNumber: 1,
      },
      action: { type: "expire" },
    },
    untaggedRule(2, 7),
    {
      rulePriority: 3,
      description: "Keep the newest 30 tagged images",
      selection: {
        tagStatus: "tagged",
        tagPatternList: ["*"],
        countType: "imageCountMoreThan",
        countNumber: 30,
      },
      action: { type: "expire" },
    },
  ],
};

/** A pull request tier repository's policy (`<prefix>-pr/<image>`: tags `pr-<n>-<sha7>`, `pr-<n>`). */
export const PR_REPOSITORY_POLICY = {
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
    untaggedRule(2, 7),
  ],
};
