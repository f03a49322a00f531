/**
 * Names shared by the Lambda functions and the Pulumi program: the handler's environment contract,
 * the tags that mark a managed clone, and the clone naming rule. Pure data and pure functions only:
 * infra/ imports this module and nothing else from functions/.
 */

/** Environment variables read by the webhook, reconciler and notify handlers. */
export const ENV = {
  sourcePipelineName: "SOURCE_PIPELINE_NAME",
  ecrRepositoryName: "ECR_REPOSITORY_NAME",
  ecrRepositoryNames: "ECR_REPOSITORY_NAMES",
  cloneRoleArn: "CLONE_ROLE_ARN",
  prBuildProjects: "PR_BUILD_PROJECTS",
  /** The pull request tier's artifact bucket, every clone's artifact store (webhook, reconciler). */
  prArtifactBucket: "PR_ARTIFACT_BUCKET",
  webhookSecretArn: "WEBHOOK_SECRET_ARN",
  webhookSecret: "WEBHOOK_SECRET",
  githubTokenSecretArn: "GITHUB_TOKEN_SECRET_ARN",
  githubToken: "GITHUB_TOKEN",
  /**
   * A GitHub App instead of a token (webhook, worker, reconciler, notify): the App's id, its
   * private key (PEM) in a Secrets Manager secret (or, for local runs, the PEM itself), and
   * optionally the installation to act as; unset, the installation of each repository is asked of
   * GitHub (`GET /repos/{owner}/{repo}/installation`) once per container.
   */
  githubAppId: "GITHUB_APP_ID",
  githubAppPrivateKeySecretArn: "GITHUB_APP_PRIVATE_KEY_SECRET_ARN",
  githubAppPrivateKey: "GITHUB_APP_PRIVATE_KEY",
  githubAppInstallationId: "GITHUB_APP_INSTALLATION_ID",
  githubApiUrl: "GITHUB_API_URL",
  allowForks: "ALLOW_FORK_PULL_REQUESTS",
  buildDrafts: "BUILD_DRAFT_PULL_REQUESTS",
  /**
   * Whether the one service builds untrusted pull requests (a fork's, or an author's without write
   * permission) only once a maintainer comments `/branchline approve <sha>` (default true). A table
   * entry's `requireApproval`.
   */
  requireApproval: "REQUIRE_APPROVAL",
  /**
   * The one service's label rules, JSON `{ "require"?: [...], "skip"?: [...] }` (webhook, worker,
   * reconciler); unset: every pull request, whatever its labels. A table entry's `labels`.
   */
  pullRequestLabels: "PULL_REQUEST_LABELS",
  /**
   * The one service's path rules, JSON `{ "include"?: [globs], "exclude"?: [globs] }`; unset: every
   * pull request, whatever it changes. A table entry's `paths`.
   */
  pullRequestPaths: "PULL_REQUEST_PATHS",
  /** The SNS topic that receives execution success and failure messages (notify function). */
  notificationTopicArn: "NOTIFICATION_TOPIC_ARN",
  /**
   * The DynamoDB table of per-pull-request high-water marks (webhook and reconciler): an older
   * delivery never undoes a newer state. Unset: no replay protection.
   */
  stateTableName: "STATE_TABLE_NAME",
  /**
   * The routing table of a stack serving many services (webhook, reconciler, notify): a JSON list of
   * `{ name, sourcePipeline, repository, branch, ecrRepositories, ... }` (functions/core/services.ts).
   * Unset, with {@link ENV.servicesFile} unset too: one service, from the variables above.
   */
  services: "BRANCHLINE_SERVICES",
  /** The same table in a JSON file (the deployment archive's: Lambda's environment holds 4 KB). */
  servicesFile: "BRANCHLINE_SERVICES_FILE",
  /**
   * The SQS FIFO queue the webhook sends each wanted delivery to (durable delivery); the worker
   * function processes it. Unset: the webhook processes the delivery inside the request (inline).
   */
  queueUrl: "QUEUE_URL",
  /**
   * The delivery queue's dead-letter queue (worker): a delivery that cannot succeed until an
   * operator changes something (a configuration problem) is moved there at once instead of retried.
   */
  deadLetterQueueUrl: "DEAD_LETTER_QUEUE_URL",
  /**
   * The webhook's URL (reconciler): its GitHub hook is found by this URL, and the hook's failed
   * deliveries are redelivered once before each sweep. Unset: no redelivery.
   */
  webhookUrl: "WEBHOOK_URL",
  /**
   * The most clones the stack has at once over every service (webhook, worker, reconciler); unset:
   * no limit. A pull request beyond it waits with a pending status (functions/core/limits.ts).
   */
  maxClones: "BRANCHLINE_MAX_CLONES",
  /** The one service's own clone limit; unset: none. A table entry's `maxClones`. */
  serviceMaxClones: "SERVICE_MAX_CLONES",
  /** Days without a push after which the one service's clone is removed; unset: never. `idleDays`. */
  idleDays: "IDLE_DAYS",
  /**
   * The one service's preview environments, JSON `PreviewSettings` (functions/core/preview.ts) with
   * the task and execution roles filled in (webhook, worker, reconciler); unset: no previews. A table
   * entry's `preview`.
   */
  preview: "PREVIEW_SETTINGS",
  /**
   * The stack's prefix (`branchline:prefix`), which every preview resource's name starts with and
   * which IAM holds the functions to (webhook, worker, reconciler); set only when some service has
   * previews.
   */
  stackPrefix: "BRANCHLINE_PREFIX",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Tags written on every clone. A pipeline without `managed-by` = `branchline` is never touched. */
export const TAG = {
  managedBy: "branchline:managed-by",
  sourcePipeline: "branchline:source-pipeline",
  pullRequest: "branchline:pull-request",
  branch: "branchline:branch",
  /**
   * On an untrusted pull request's clone: the head commit a maintainer approved
   * (`/branchline approve <sha>`); only that commit is built.
   */
  approvedSha: "branchline:approved-sha",
} as const;

export const MANAGED_BY_VALUE = "branchline";

/** The environment variable every CodeBuild action of a clone receives. */
export const IMAGE_TAG_PREFIX_VARIABLE = "IMAGE_TAG_PREFIX";

/** CodePipeline's limits on pipeline names (API model: PipelineName). */
export const PIPELINE_NAME_MAX_LENGTH = 100;
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9.@\-_]+$/;

/** The suffix that marks a clone: `<source>-pr-<n>`. */
export const CLONE_INFIX = "-pr-";

/**
 * The state table's attributes: the partition key, and the TTL attribute (epoch seconds) after which
 * DynamoDB deletes a mark.
 */
export const STATE_TABLE = { key: "pk", expiresAt: "expiresAt" } as const;

/** Separates the source pipeline's name from the pull request number in a state table key. */
export const MARK_KEY_SEPARATOR = "#";

/**
 * The state table key (`pk`) of a pull request's high-water mark: `<source>#<n>`. IAM limits the
 * functions to keys starting with `<source>#` ({@link markKeyPattern}).
 */
export function pullRequestMarkKey(sourcePipelineName: string, prNumber: number): string {
  return `${sourcePipelineName}${MARK_KEY_SEPARATOR}${prNumber}`;
}

/**
 * The state table key of a pull request's idle-expiry marker: `<source>#<n>#idle` (under the same
 * `<source>#` prefix IAM allows).
 */
export function idleMarkerKey(sourcePipelineName: string, prNumber: number): string {
  return `${pullRequestMarkKey(sourcePipelineName, prNumber)}${MARK_KEY_SEPARATOR}idle`;
}

/** The IAM `dynamodb:LeadingKeys` pattern covering every mark key of a source pipeline. */
export function markKeyPattern(sourcePipelineName: string): string {
  return `${sourcePipelineName}${MARK_KEY_SEPARATOR}*`;
}
/** The most digits a pull request number has (GitHub's numbers are 32-bit: up to 10 digits). */
export const PR_NUMBER_MAX_DIGITS = 10;

/**
 * The longest source pipeline name branchline accepts (86): `<source>-pr-<n>` then fits
 * {@link PIPELINE_NAME_MAX_LENGTH} for every pull request number, so a clone's name is never cut
 * and never equals the source's or another clone's. The stack's config refuses longer names.
 */
export const SOURCE_PIPELINE_NAME_MAX_LENGTH =
  PIPELINE_NAME_MAX_LENGTH - CLONE_INFIX.length - PR_NUMBER_MAX_DIGITS;

/** The image tag prefix for a pull request: `pr-<n>`. */
export function imageTagPrefix(prNumber: number): string {
  return `pr-${prNumber}`;
}

/** The source name with characters outside CodePipeline's set replaced by `-`, checked for length. */
function cloneStem(sourcePipelineName: string): string {
  const safeSource = sourcePipelineName.replace(/[^A-Za-z0-9.@\-_]/g, "-");
  if (safeSource.length === 0 || safeSource.length > SOURCE_PIPELINE_NAME_MAX_LENGTH) {
    throw new RangeError(
      `source pipeline name must be 1-${SOURCE_PIPELINE_NAME_MAX_LENGTH} characters so that ` +
        `its clones' names (<source>${CLONE_INFIX}<n>) fit ${PIPELINE_NAME_MAX_LENGTH}, ` +
        `got ${safeSource.length}: ${JSON.stringify(sourcePipelineName)}`,
    );
  }
  return safeSource;
}

/**
 * The clone's name: `<source>-pr-<n>`, never cut (the source is at most
 * {@link SOURCE_PIPELINE_NAME_MAX_LENGTH} characters; a longer one throws a `RangeError`).
 * Characters outside CodePipeline's set become `-`.
 */
export function cloneName(sourcePipelineName: string, prNumber: number): string {
  if (!Number.isSafeInteger(prNumber) || prNumber < 1) {
    throw new RangeError(`pull request number must be a positive integer, got ${prNumber}`);
  }
  const suffix = `${CLONE_INFIX}${prNumber}`;
  if (suffix.length > CLONE_INFIX.length + PR_NUMBER_MAX_DIGITS) {
    throw new RangeError(
      `pull request number must have at most ${PR_NUMBER_MAX_DIGITS} digits, got ${prNumber}`,
    );
  }
  return `${cloneStem(sourcePipelineName)}${suffix}`;
}

/**
 * The IAM resource-name pattern that covers every clone of a source pipeline: exactly
 * `<source>-pr-*`, which never matches the source pipeline itself (same limits as {@link cloneName}).
 */
export function cloneNameWildcard(sourcePipelineName: string): string {
  return `${cloneStem(sourcePipelineName)}${CLONE_INFIX}*`;
}

/**
 * Why a path glob of a service's `paths` rules is refused, or `undefined` (functions/core/selection.ts
 * matches `*`, `**` and `?` only); shared by the stack's configuration and the functions' settings.
 */
export function pathGlobProblem(glob: string): string | undefined {
  if (glob.trim() === "") return "is empty";
  if (glob.startsWith("!")) return "starts with !: use exclude instead of negation";
  if (/[[\]{}]/.test(glob)) return "uses [ ] or { }, which are not supported (only *, ** and ?)";
  return undefined;
}

/**
 * Why a clone limit's or a day count's value (`maxClones`, `idleDays`) is refused: it must be a
 * whole number of at least 1; `undefined` when it is one. Shared by the stack's configuration and the
 * functions' settings.
 */
export function positiveWholeNumberProblem(value: unknown): string | undefined {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    return `must be a whole number of at least 1, got ${JSON.stringify(value)}`;
  }
  return undefined;
}
