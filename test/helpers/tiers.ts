/**
 * The pull request tier of the pipeline fixtures (v1-ecs, v2-triggers): the clone role and the PR
 * build project of each of their CodeBuild projects, as infra sets them on the webhook and the
 * reconciler (`CLONE_ROLE_ARN`, `PR_BUILD_PROJECTS`, `PR_ARTIFACT_BUCKET`).
 */
export const CLONE_ROLE_ARN = "arn:aws:iam::123456789012:role/hello-world-clone-role";

export const PR_BUILD_PROJECTS: Readonly<Record<string, string>> = {
  "hello-world-build": "hello-world-pr",
  "hello-world-test": "hello-world-pr-test",
};

/** The pull request tier's artifact bucket (`PR_ARTIFACT_BUCKET`). */
export const PR_ARTIFACT_BUCKET = "hello-world-pr-artifacts";

/** The three variables, ready to spread into a function's environment. */
export const PR_TIER_ENV = {
  CLONE_ROLE_ARN,
  PR_BUILD_PROJECTS: JSON.stringify(PR_BUILD_PROJECTS),
  PR_ARTIFACT_BUCKET,
} as const;
