/**
 * The typed configuration of a branchline stack. `parseConfig` is pure: it reads raw values through a
 * small reader interface, validates them and fails at once with a message naming the key.
 * `loadConfig` binds it to the stack's Pulumi config (namespace `branchline`).
 */
import * as pulumi from "@pulumi/pulumi";
import {
  CLONE_INFIX,
  pathGlobProblem,
  positiveWholeNumberProblem,
  SOURCE_PIPELINE_NAME_MAX_LENGTH,
} from "../functions/shared/names";
import type { ImageSpec, SecondRegistry } from "./build/buildspec";
import {
  PREVIEW_DEFAULTS,
  PREVIEW_FIELDS,
  type PreviewSettings,
} from "../functions/shared/preview-settings";
import { IAM_ROLE_NAME_MAX_LENGTH } from "./policies";

export const CONFIG_NAMESPACE = "branchline";

export type PipelineType = "V1" | "V2";
export const PIPELINE_TYPES: readonly PipelineType[] = ["V1", "V2"];

export interface DeployConfig {
  /** ECS cluster name. */
  cluster: string;
  /** ECS service name. */
  service: string;
  /**
   * The task and execution roles (ARNs) the deploy may pass to ECS tasks; unset: any role, to ECS
   * tasks only (the broader default).
   */
  passRoles?: string[];
}

export interface BuildConfig {
  computeType: string;
  image: string;
  timeoutMinutes: number;
  args: Record<string, string>;
  noCache: boolean;
  /** Also write imageDetail.json for an ECS blue/green (CodeDeploy) deploy action. */
  blueGreen: boolean;
  /** Push every image to this registry too; `undefined`: ECR only. */
  secondRegistry: SecondRegistry | undefined;
}

export interface BranchlineConfig {
  /** `owner/name` of the GitHub repository. */
  repository: string;
  branch: string;
  /** An existing CodeConnections connection; `undefined`: the stack creates one. */
  connectionArn: string | undefined;
  pipelineName: string;
  pipelineType: PipelineType;
  images: ImageSpec[];
  deploy: DeployConfig | undefined;
  build: BuildConfig;
  webhookSecret: pulumi.Output<string>;
  /**
   * The runtime token: repository reads, commit statuses, pull request comments. Stored in Secrets
   * Manager; the Lambdas get its ARN. `undefined`: none.
   */
  githubToken: pulumi.Output<string> | undefined;
  /**
   * `branchline:githubApp`: the functions authenticate as this GitHub App instead of a token (never
   * both). The private key is stored in Secrets Manager; the Lambdas get its ARN. The App's own
   * webhook serves every repository it is installed on: the stack registers no repository webhook.
   */
  githubApp: GitHubAppConfig | undefined;
  /**
   * The registration token: administers the repository's webhooks. Used by `pulumi up` and
   * `pulumi destroy` only (the GitHubWebhook resource); never stored in Secrets Manager nor given to a
   * Lambda. `undefined`: none.
   */
  githubRegistrationToken: pulumi.Output<string> | undefined;
  /** `pulumi up` creates the repository's webhook (needs `githubRegistrationToken`). */
  registerWebhook: boolean;
  allowForkPullRequests: boolean;
  buildDraftPullRequests: boolean;
  /**
   * `branchline:requireApproval` false: untrusted pull requests (a fork's, an author's without write
   * permission) are built without a maintainer's approval. Absent: true (approval required).
   */
  requireApproval?: false;
  /** `branchline:labels`: the stack-wide label rules (a service's own replace them). */
  labels: LabelRules | undefined;
  /** `branchline:paths`: the stack-wide path rules (a service's own replace them). */
  paths: PathRules | undefined;
  /**
   * `branchline:maxClones`: the most clones of every service together; `undefined`: no limit. A
   * pull request beyond it waits (a pending status) until a clone goes.
   */
  maxClones: number | undefined;
  /** `branchline:maxClonesPerService`: each service's limit unless its entry sets `maxClones`. */
  maxClonesPerService: number | undefined;
  /** `branchline:idleDays`: days without a push after which a clone goes; `undefined`: never. */
  idleDays: number | undefined;
  /** When the reconciler runs: an EventBridge `rate(...)` or `cron(...)` expression. */
  reconcileSchedule: string;
  /** Subscribed to the notification topic; `undefined`: no subscription. */
  notificationEmail: string | undefined;
  prImageRetentionDays: number;
  untaggedImageRetentionDays: number;
  /** ECR lifecycle: the newest source images kept per image (besides `latest`, which never expires). */
  sourceImageRetentionCount: number;
  artifactRetentionDays: number;
  logRetentionDays: number;
  forceDestroy: boolean;
  /**
   * Every service of the stack, in the configured order: the one-service form (today's keys) gives
   * one, whose names are today's ({@link ServiceConfig.pipelineName} = `pipelineName`).
   */
  services: ServiceConfig[];
  /**
   * What every physical name starts with: `branchline:prefix` (default `<project>-<stack>`) with
   * `branchline:services`; `pipelineName` in the one-service form.
   */
  prefix: string;
  /** `branchline:services` is set (the many-service form). */
  multiService: boolean;
  /** How webhook deliveries are processed (`branchline:delivery`): stack-wide, in both forms. */
  delivery: DeliveryConfig;
}

/** `branchline:githubApp`: `{ appId, privateKey, installationId? }`, the private key a secret. */
export interface GitHubAppConfig {
  /** The App's numeric id. */
  appId: number;
  /** The App's private key (PEM), as the stack's secret. */
  privateKey: pulumi.Output<string>;
  /** The installation to act as; `undefined`: each repository's, asked of GitHub. */
  installationId: number | undefined;
}

/**
 * `queue`: the webhook verifies, routes and sends each wanted delivery to an SQS FIFO queue, which a
 * worker function consumes. `inline`: no queue, the webhook does the work inside the request.
 */
export type DeliveryMode = "queue" | "inline";
export const DELIVERY_MODES: readonly DeliveryMode[] = ["queue", "inline"];

/** `branchline:delivery`: every field optional (see {@link DEFAULTS}.delivery). */
export interface DeliveryConfig {
  mode: DeliveryMode;
  /**
   * The event source mapping's maximum concurrency: at most this many worker instances at once.
   * CodePipeline's API is throttled per account and region, so a burst of deliveries should drain at
   * the rate it accepts rather than have many workers thrash against the throttle.
   */
  maxConcurrency: number;
  /** Receives of a delivery before SQS moves it to the dead-letter queue. */
  maxReceiveCount: number;
  /**
   * Deliveries per worker invocation (a FIFO event source takes at most 10). Up to maxConcurrency x
   * batchSize deliveries are carried out at once, and each retries its throttled calls for 20 s at
   * most before it goes back to the queue (for the 6-minute visibility timeout): the default 1 keeps
   * a burst's deliveries within what CodePipeline's throttle lets through in that time.
   */
  batchSize: number;
  /** The alarm on the queue's oldest message fires at this age (seconds). */
  oldestMessageAlarmSeconds: number;
}

/** One service of the stack: its source pipeline, build projects, repositories and deploy. */
export interface ServiceConfig {
  /** Lower-case, unique; `undefined`-free: the one-service form names it after `pipelineName`. */
  name: string;
  repository: string;
  branch: string;
  /** Its source pipeline and source build project (`<prefix>-<name>`, or today's `pipelineName`). */
  pipelineName: string;
  pipelineType: PipelineType;
  images: ImageSpec[];
  deploy: DeployConfig | undefined;
  build: BuildConfig;
  allowForkPullRequests: boolean;
  buildDraftPullRequests: boolean;
  /** Its entry's `requireApproval`, else `branchline:requireApproval`: present only when false. */
  requireApproval?: false;
  /** Its label rules (its entry's `labels`, else `branchline:labels`); `undefined`: none. */
  labels: LabelRules | undefined;
  /** Its path rules (its entry's `paths`, else `branchline:paths`); `undefined`: none. */
  paths: PathRules | undefined;
  /** Its clone limit (its entry's `maxClones`, else `branchline:maxClonesPerService`). */
  maxClones: number | undefined;
  /** Its idle expiry in days (its entry's `idleDays`, else `branchline:idleDays`). */
  idleDays: number | undefined;
  /**
   * Its pull requests' preview environments (its entry's `preview`, or `branchline:preview` in the
   * one-service form): absent, none (previews are opt-in, per service).
   */
  preview?: PreviewConfig;
}

/**
 * Which pull requests a service builds by label: only those with one of `require` (when given), and
 * none with one of `skip` (which also removes an existing clone).
 */
export interface LabelRules {
  require?: string[];
  skip?: string[];
}

/** Which pull requests a service builds by the files they change (globs: `*`, `**`, `?`). */
export interface PathRules {
  include?: string[];
  exclude?: string[];
}

/** The keys of the one-service form, which `branchline:services` replaces. */
export const SINGLE_SERVICE_KEYS = [
  "repository",
  "branch",
  "images",
  "deploy",
  "build",
  "pipelineName",
  "pipelineType",
  "preview",
] as const;

/**
 * The longest prefix: the longest auto-named shared resource, `<prefix>-notifications-function-<7>`,
 * must fit Lambda's 64 characters (IAM roles, S3 buckets and EventBridge rules have shorter suffixes).
 */
export const PREFIX_MAX_LENGTH = 32;
/** ECR repository names: 256 characters. */
export const ECR_REPOSITORY_NAME_MAX_LENGTH = 256;
/** CodeBuild project names: 255 characters. */
export const CODEBUILD_PROJECT_NAME_MAX_LENGTH = 255;
/** CloudWatch Logs log group names: 512 characters. */
export const LOG_GROUP_NAME_MAX_LENGTH = 512;

export const DEFAULTS = {
  branch: "main",
  pipelineType: "V1" as PipelineType,
  images: [{ name: "app", context: "." }] as ImageSpec[],
  build: {
    computeType: "BUILD_GENERAL1_SMALL",
    image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    timeoutMinutes: 30,
  },
  reconcileSchedule: "rate(15 minutes)",
  prImageRetentionDays: 14,
  untaggedImageRetentionDays: 7,
  sourceImageRetentionCount: 30,
  artifactRetentionDays: 30,
  logRetentionDays: 30,
  delivery: {
    mode: "queue" as DeliveryMode,
    maxConcurrency: 5,
    maxReceiveCount: 5,
    batchSize: 1,
    oldestMessageAlarmSeconds: 900,
  },
} as const;

/** The delivery queue keeps a message this long (GitHub keeps its deliveries 3 days). */
export const DELIVERY_QUEUE_RETENTION_SECONDS = 4 * 24 * 60 * 60;

/** The bounds of `branchline:delivery`'s numbers (inclusive). */
export const DELIVERY_LIMITS = {
  // Lambda's bounds for an SQS event source's maximum concurrency.
  maxConcurrency: { min: 2, max: 1000 },
  // SQS's bounds for a redrive policy's maxReceiveCount.
  maxReceiveCount: { min: 1, max: 1000 },
  // An SQS FIFO event source takes at most 10 messages per batch.
  batchSize: { min: 1, max: 10 },
  // CloudWatch's standard resolution is one minute; an age beyond the retention is never reached.
  oldestMessageAlarmSeconds: { min: 60, max: DELIVERY_QUEUE_RETENTION_SECONDS },
} as const;

/** The values CloudWatch Logs accepts as a retention period. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

/**
 * A configuration problem. A `pulumi.RunError`: the Pulumi CLI shows its message alone, without a
 * stack, at config time and when an apply fails with it (`checkBuildImageScope`).
 */
export class ConfigError extends pulumi.RunError {
  constructor(key: string, problem: string) {
    super(`${CONFIG_NAMESPACE}:${key} ${problem}`);
    this.name = "ConfigError";
  }
}

/** How `parseConfig` reads raw values: plain strings, and secrets as outputs. */
export interface ConfigReader {
  get(key: string): string | undefined;
  getSecret(key: string): pulumi.Output<string> | undefined;
  /** The pipeline name to use when `pipelineName` is not set. */
  defaultPipelineName: string;
  /**
   * The stack's `aws:region`, when set: an ECR build image must be in it. `undefined` (the region
   * comes from the environment): checked when the stack's region is known (`checkBuildImageScope`).
   */
  awsRegion?: string | undefined;
}

const REPOSITORY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/;
/**
 * The owner of every repository Pulumi.example.yaml names (`example-org/example-app`, ...): a stack
 * file copied from it and left unedited would deploy against a repository that does not exist.
 */
export const EXAMPLE_REPOSITORY_OWNER = "example-org";

/** Refuses a repository the example stack file names, naming the key to set. */
function checkNotExampleRepository(key: string, repository: string): void {
  const owner = repository.slice(0, repository.indexOf("/")).toLowerCase();
  if (owner === EXAMPLE_REPOSITORY_OWNER) {
    throw new ConfigError(
      key,
      `is still the example's placeholder ${JSON.stringify(repository)}: set it to the real GitHub repository, owner/name`,
    );
  }
}
/**
 * The pipeline name also names the CodeBuild project (`[A-Za-z0-9][A-Za-z0-9\-_]{1,254}`), and its
 * clones are `<name>-pr-<n>` within CodePipeline's 100 characters: at most 86.
 */
const PIPELINE_NAME_PATTERN = new RegExp(
  `^[A-Za-z0-9][A-Za-z0-9_-]{1,${SOURCE_PIPELINE_NAME_MAX_LENGTH - 1}}$`,
);
const CONNECTION_ARN_PATTERN =
  /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;
/** An image name names its ECR repositories (`<prefix>/<name>`): a lower-case repository name component. */
const IMAGE_NAME_PATTERN = /^(?=.{1,64}$)[a-z0-9]+([._-][a-z0-9]+)*$/;
const BUILD_ARG_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RATE_PATTERN = /^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_PATTERN = /^cron\((.*)\)$/;
/** The characters EventBridge accepts in each of cron()'s six fields. */
const CRON_FIELDS: readonly { name: string; pattern: RegExp }[] = [
  { name: "minutes", pattern: /^[0-9,*/-]+$/ },
  { name: "hours", pattern: /^[0-9,*/-]+$/ },
  { name: "day-of-month", pattern: /^([0-9,*/LW-]+|\?)$/ },
  { name: "month", pattern: /^[0-9A-Za-z,*/-]+$/ },
  { name: "day-of-week", pattern: /^([0-9A-Za-z,*/L#-]+|\?)$/ },
  { name: "year", pattern: /^[0-9,*/-]+$/ },
];
/** An ECS cluster or service name (not its ARN). */
const ECS_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
/** A private ECR image: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`. */
const ECR_IMAGE_PATTERN = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//;
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** `<host>[:port][/namespace...]`, lower case (what `docker login` and image names accept). */
const REGISTRY_PATTERN =
  /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REGISTRY_REPOSITORY_PATTERN = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;
const SECRET_ARN_PATTERN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** The 6 random characters Secrets Manager appends to a secret's name in its ARN. */
const SECRET_ARN_SUFFIX_PATTERN = /-[A-Za-z0-9]{6}$/;

export function parseConfig(reader: ConfigReader): BranchlineConfig {
  const config = parseServices(reader);
  checkPathRulesReadable(config);
  return config;
}

function parseServices(reader: ConfigReader): BranchlineConfig {
  const rawServices = reader.get("services");
  if (rawServices !== undefined) return parseManyServices(reader, rawServices);
  if (reader.get("prefix") !== undefined) {
    throw new ConfigError(
      "prefix",
      "belongs to the branchline:services form; the one-service form's names start with branchline:pipelineName",
    );
  }
  const single = parseSingleService(reader);
  return {
    ...single,
    services: [
      {
        name: single.pipelineName,
        repository: single.repository,
        branch: single.branch,
        pipelineName: single.pipelineName,
        pipelineType: single.pipelineType,
        images: single.images,
        deploy: single.deploy,
        build: single.build,
        allowForkPullRequests: single.allowForkPullRequests,
        buildDraftPullRequests: single.buildDraftPullRequests,
        ...(single.requireApproval === false ? { requireApproval: false as const } : {}),
        labels: single.labels,
        paths: single.paths,
        maxClones: single.maxClonesPerService,
        idleDays: single.idleDays,
        ...previewOf("preview", jsonKey(reader, "preview"), {
          service: single.pipelineName,
          deploy: single.deploy,
          awsRegion: reader.awsRegion,
        }),
      },
    ],
    prefix: single.pipelineName,
    multiService: false,
  };
}

/** `branchline:labels` or a service's `labels`: `{ require?: string[], skip?: string[] }`. */
export function parseLabelRules(key: string, value: unknown): LabelRules | undefined {
  return stringLists(key, value, ["require", "skip"]);
}

/** `branchline:paths` or a service's `paths`: `{ include?: string[], exclude?: string[] }`. */
export function parsePathRules(key: string, value: unknown): PathRules | undefined {
  const rules = stringLists(key, value, ["include", "exclude"]);
  for (const [field, globs] of Object.entries(rules ?? {})) {
    for (const glob of globs) {
      const problem = pathGlobProblem(glob);
      if (problem !== undefined) {
        throw new ConfigError(`${key}.${field}`, `glob ${JSON.stringify(glob)} ${problem}`);
      }
    }
  }
  return rules;
}

function stringLists<K extends string>(
  key: string,
  value: unknown,
  fields: readonly K[],
): Partial<Record<K, string[]>> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    throw new ConfigError(
      key,
      `must be an object { ${fields.map((field) => `${field}?: string[]`).join(", ")} }`,
    );
  }
  rejectUnknownFields(key, value, [...fields]);
  const rules: Partial<Record<K, string[]>> = {};
  for (const field of fields) {
    const list = value[field];
    if (list === undefined) continue;
    if (
      !Array.isArray(list) ||
      !list.every((item: unknown) => typeof item === "string" && item.trim() !== "")
    ) {
      throw new ConfigError(`${key}.${field}`, "must be a list of non-empty strings");
    }
    if (list.length > 0) rules[field] = [...new Set(list as string[])];
  }
  return Object.keys(rules).length > 0 ? rules : undefined;
}

/**
 * Path rules need the pull request's changed files, which only an authenticated GitHub client lists
 * reliably (private repositories, rate limits): a service with path rules and no GitHub credential
 * is refused here, naming the service, instead of being built as if every pull request matched.
 */
function checkPathRulesReadable(config: BranchlineConfig): void {
  if (config.githubToken !== undefined || config.githubApp !== undefined) return;
  const service = config.services.find((candidate) => candidate.paths !== undefined);
  if (service === undefined) return;
  throw new ConfigError(
    "paths",
    `(service ${service.name}) needs a GitHub credential (branchline:githubToken or branchline:githubApp): a pull request's changed files are read from GitHub to apply path rules`,
  );
}

type StackWideConfig = Omit<BranchlineConfig, "services" | "prefix" | "multiService">;

function parseSingleService(reader: ConfigReader): StackWideConfig {
  const repository = reader.get("repository");
  if (repository === undefined || repository === "") {
    throw new ConfigError("repository", "is required: the GitHub repository as owner/name");
  }
  if (!REPOSITORY_PATTERN.test(repository)) {
    throw new ConfigError("repository", `must be owner/name, got ${JSON.stringify(repository)}`);
  }
  checkNotExampleRepository("repository", repository);

  const branch = reader.get("branch") ?? DEFAULTS.branch;
  if (branch === "") throw new ConfigError("branch", "must not be empty");

  const connectionArn = parseConnectionArn(reader);

  const pipelineName = parsePipelineName(reader.get("pipelineName"), reader.defaultPipelineName);

  const images = parseImages(reader.get("images"));
  checkRepositoryNames(pipelineName);

  const pipelineType = parsePipelineType(reader.get("pipelineType"));

  return {
    repository,
    branch,
    connectionArn,
    pipelineName,
    pipelineType,
    images,
    deploy: parseDeploy(reader.get("deploy")),
    build: parseBuild(reader.get("build"), reader.awsRegion),
    ...parseStackWide(reader),
  };
}

function parseConnectionArn(reader: ConfigReader): string | undefined {
  const connectionArn = reader.get("connectionArn");
  if (connectionArn !== undefined && !CONNECTION_ARN_PATTERN.test(connectionArn)) {
    throw new ConfigError(
      "connectionArn",
      `is not a CodeConnections connection ARN: ${connectionArn}`,
    );
  }
  return connectionArn;
}

function parsePipelineType(raw: string | undefined, key = "pipelineType"): PipelineType {
  const pipelineType = raw ?? DEFAULTS.pipelineType;
  if (!(PIPELINE_TYPES as readonly string[]).includes(pipelineType)) {
    throw new ConfigError(
      key,
      `must be one of ${PIPELINE_TYPES.join(", ")}, got ${JSON.stringify(pipelineType)}`,
    );
  }
  return pipelineType as PipelineType;
}

/** The keys that are the stack's whatever its services: secrets, tokens, schedule, retentions. */
type StackWideKeys = Omit<
  StackWideConfig,
  | "repository"
  | "branch"
  | "connectionArn"
  | "pipelineName"
  | "pipelineType"
  | "images"
  | "deploy"
  | "build"
>;

function parseStackWide(reader: ConfigReader): StackWideKeys {
  const webhookSecret = reader.getSecret("webhookSecret");
  if (webhookSecret === undefined) {
    throw new ConfigError(
      "webhookSecret",
      "is required: set it with `pulumi config set --secret branchline:webhookSecret <value>`",
    );
  }

  const githubToken = reader.getSecret("githubToken");
  const githubApp = parseGitHubApp(reader);
  if (githubApp !== undefined && githubToken !== undefined) {
    throw new ConfigError(
      "githubApp",
      "and branchline:githubToken are both set: the functions authenticate with one of them (remove githubToken to use the App)",
    );
  }
  const githubRegistrationToken = reader.getSecret("githubRegistrationToken");
  const registerWebhook = parseBoolean(
    reader,
    "registerWebhook",
    githubRegistrationToken !== undefined && githubApp === undefined,
  );
  if (registerWebhook && githubApp !== undefined) {
    throw new ConfigError(
      "registerWebhook",
      "cannot be true with branchline:githubApp: the App's webhook (its URL set to the stack's webhookUrl output, its secret branchline:webhookSecret) serves every repository the App is installed on, so the stack registers no repository webhook",
    );
  }
  if (registerWebhook && githubRegistrationToken === undefined) {
    throw new ConfigError(
      "registerWebhook",
      "needs branchline:githubRegistrationToken (a token with admin rights on the repository's webhooks: the admin:repo_hook scope, or the Webhooks read and write permission) to create the webhook",
    );
  }

  return {
    webhookSecret,
    githubToken,
    githubApp,
    githubRegistrationToken,
    registerWebhook,
    allowForkPullRequests: parseBoolean(reader, "allowForkPullRequests", false),
    buildDraftPullRequests: parseBoolean(reader, "buildDraftPullRequests", true),
    ...(parseBoolean(reader, "requireApproval", true) ? {} : { requireApproval: false as const }),
    labels: parseLabelRules("labels", jsonKey(reader, "labels")),
    paths: parsePathRules("paths", jsonKey(reader, "paths")),
    maxClones: parseCount(reader.get("maxClones"), "maxClones"),
    maxClonesPerService: parseCount(reader.get("maxClonesPerService"), "maxClonesPerService"),
    idleDays: parseCount(reader.get("idleDays"), "idleDays"),
    reconcileSchedule: parseSchedule(reader.get("reconcileSchedule")),
    notificationEmail: parseEmail(reader.get("notificationEmail")),
    prImageRetentionDays: parseDays(reader, "prImageRetentionDays", DEFAULTS.prImageRetentionDays),
    untaggedImageRetentionDays: parseDays(
      reader,
      "untaggedImageRetentionDays",
      DEFAULTS.untaggedImageRetentionDays,
    ),
    sourceImageRetentionCount: parseImageCount(
      reader,
      "sourceImageRetentionCount",
      DEFAULTS.sourceImageRetentionCount,
    ),
    artifactRetentionDays: parseDays(
      reader,
      "artifactRetentionDays",
      DEFAULTS.artifactRetentionDays,
    ),
    logRetentionDays: parseLogRetention(reader),
    forceDestroy: parseBoolean(reader, "forceDestroy", false),
    delivery: parseDelivery(reader.get("delivery")),
  };
}

const GITHUB_APP_FIELDS = ["appId", "privateKey", "installationId"] as const;

/**
 * `branchline:githubApp`, an object: `appId` (a positive integer, or its digits), `privateKey` (the
 * App's PEM private key; set it as a secret, e.g. `pulumi config set --secret --path
 * branchline:githubApp.privateKey < app.pem`), optional `installationId` (a positive integer).
 */
export function parseGitHubApp(reader: ConfigReader): GitHubAppConfig | undefined {
  const raw = reader.get("githubApp");
  if (raw === undefined) return undefined;
  const value = parseJson("githubApp", raw);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("githubApp", "must be an object: { appId, privateKey, installationId? }");
  }
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter(
    (field) => !(GITHUB_APP_FIELDS as readonly string[]).includes(field),
  );
  if (unknown.length > 0) {
    throw new ConfigError(
      "githubApp",
      `has unknown field(s) ${unknown.join(", ")} (known: ${GITHUB_APP_FIELDS.join(", ")})`,
    );
  }
  const id = (field: string, optional: boolean): number | undefined => {
    const given = fields[field];
    if (given === undefined && optional) return undefined;
    const number = typeof given === "string" && /^\d+$/.test(given) ? Number(given) : given;
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1) {
      throw new ConfigError(
        `githubApp.${field}`,
        `must be a positive integer${optional ? " when set" : ""}, got ${JSON.stringify(given)}`,
      );
    }
    return number;
  };
  const appId = id("appId", false) as number;
  const installationId = id("installationId", true);
  const key = fields["privateKey"];
  if (
    typeof key !== "string" ||
    !/-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+-----END (?:RSA )?PRIVATE KEY-----/.test(key)
  ) {
    // The value is a secret: the message never shows it.
    throw new ConfigError(
      "githubApp.privateKey",
      "must be the App's private key in PEM form (-----BEGIN RSA PRIVATE KEY----- ...), set as a secret: `pulumi config set --secret --path branchline:githubApp.privateKey < app.pem`",
    );
  }
  const secret = reader.getSecret("githubApp");
  const privateKey =
    secret === undefined
      ? pulumi.secret(key)
      : pulumi.secret(
          secret.apply((text) => (JSON.parse(text) as { privateKey: string }).privateKey),
        );
  return { appId, privateKey, installationId };
}

const DELIVERY_FIELDS = [
  "mode",
  "maxConcurrency",
  "maxReceiveCount",
  "batchSize",
  "oldestMessageAlarmSeconds",
] as const;

/** `branchline:delivery`: an object whose fields are all optional. */
export function parseDelivery(raw: string | undefined): DeliveryConfig {
  const defaults = DEFAULTS.delivery;
  if (raw === undefined) return { ...defaults };
  const value = parseJson("delivery", raw);
  if (!isRecord(value)) {
    throw new ConfigError(
      "delivery",
      `must be an object { ${DELIVERY_FIELDS.map((field) => `${field}?`).join(", ")} }`,
    );
  }
  rejectUnknownFields("delivery", value, [...DELIVERY_FIELDS]);
  const mode = value["mode"] ?? defaults.mode;
  if (typeof mode !== "string" || !(DELIVERY_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      "delivery.mode",
      `must be one of ${DELIVERY_MODES.join(", ")}, got ${JSON.stringify(mode)}`,
    );
  }
  const whole = (field: keyof typeof DELIVERY_LIMITS, unit: string): number => {
    const given = value[field];
    if (given === undefined) return defaults[field];
    const { min, max } = DELIVERY_LIMITS[field];
    if (typeof given !== "number" || !Number.isInteger(given) || given < min || given > max) {
      throw new ConfigError(
        `delivery.${field}`,
        `must be a whole number of ${unit} from ${min} to ${max}, got ${JSON.stringify(given)}`,
      );
    }
    return given;
  };
  return {
    mode: mode as DeliveryMode,
    maxConcurrency: whole("maxConcurrency", "concurrent workers"),
    maxReceiveCount: whole("maxReceiveCount", "receives"),
    batchSize: whole("batchSize", "messages"),
    oldestMessageAlarmSeconds: whole("oldestMessageAlarmSeconds", "seconds"),
  };
}

/** A prefix or service name: lower-case letters and digits, single hyphens between them. */
const SERVICE_NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** `branchline:prefix`, or the default `<project>-<stack>`. */
function parsePrefix(configured: string | undefined, fallback: string): string {
  const prefix = configured ?? fallback;
  const rule = `1-${PREFIX_MAX_LENGTH} lower-case letters and digits with single - between them (every physical name starts with it)`;
  if (SERVICE_NAME_PATTERN.test(prefix) && prefix.length <= PREFIX_MAX_LENGTH) return prefix;
  throw new ConfigError(
    "prefix",
    configured === undefined
      ? `is not set, and the default <project>-<stack> ${JSON.stringify(prefix)} is not ${rule}: set ${CONFIG_NAMESPACE}:prefix`
      : `must be ${rule}, got ${JSON.stringify(prefix)} (${prefix.length} characters)`,
  );
}

/** Re-reads a ConfigError of a service's own key (`images[0].name`) under `services[i].`. */
function underService<T>(index: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) {
      const text = error.message.slice(CONFIG_NAMESPACE.length + 1);
      const space = text.indexOf(" ");
      throw new ConfigError(`services[${index}].${text.slice(0, space)}`, text.slice(space + 1));
    }
    throw error;
  }
}

/**
 * The physical names a service's name ends up in, each with its AWS rule: the error names the one a
 * name breaks (see `serviceResourceNames`).
 */
export function checkServiceNameFits(key: string, prefix: string, name: string): void {
  const names = serviceResourceNames(prefix, name);
  const limits: [string, string, number][] = [
    ["source pipeline", names.pipeline, SOURCE_PIPELINE_NAME_MAX_LENGTH],
    ["pull request build project", names.prProject, CODEBUILD_PROJECT_NAME_MAX_LENGTH],
    ["source build role", names.buildRole, IAM_ROLE_NAME_MAX_LENGTH],
    ["pull request ECR repository prefix", `${names.prProject}/`, ECR_REPOSITORY_NAME_MAX_LENGTH],
    ["build log group", `/branchline/${names.prProject}/build`, LOG_GROUP_NAME_MAX_LENGTH],
  ];
  for (const [what, physical, max] of limits) {
    if (physical.length > max) {
      throw new ConfigError(
        key,
        `is too long: its ${what} ${JSON.stringify(physical)} has ${physical.length} characters, at most ${max} allowed (at most ${name.length - (physical.length - max)} characters for this name with the prefix ${JSON.stringify(prefix)})`,
      );
    }
  }
}

/** The physical names of a service's own resources in the many-service form. */
export function serviceResourceNames(
  prefix: string,
  service: string,
): { pipeline: string; prProject: string; buildRole: string } {
  const pipeline = `${prefix}-${service}`;
  return { pipeline, prProject: `${pipeline}-pr`, buildRole: `${pipeline}-build` };
}

const SERVICE_FIELDS = [
  "name",
  "repository",
  "branch",
  "images",
  "deploy",
  "build",
  "pipelineType",
  "allowForkPullRequests",
  "buildDraftPullRequests",
  "requireApproval",
  "labels",
  "paths",
  "maxClones",
  "idleDays",
  "preview",
];

function parseManyServices(reader: ConfigReader, raw: string): BranchlineConfig {
  const given = SINGLE_SERVICE_KEYS.filter((key) => reader.get(key) !== undefined);
  if (given.length > 0) {
    throw new ConfigError(
      "services",
      `cannot be combined with the one-service keys (${given.map((key) => `${CONFIG_NAMESPACE}:${key}`).join(", ")}): move them into the services' entries`,
    );
  }
  const prefix = parsePrefix(reader.get("prefix"), reader.defaultPipelineName);
  const connectionArn = parseConnectionArn(reader);
  const stackWide = parseStackWide(reader);
  const value = parseJson("services", raw);
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(
      "services",
      "must be a non-empty list of { name, repository, branch?, images?, deploy?, build?, pipelineType?, allowForkPullRequests?, buildDraftPullRequests?, labels?, paths?, maxClones?, idleDays? }",
    );
  }
  const names = new Set<string>();
  const services = value.map((item: unknown, index): ServiceConfig => {
    const key = `services[${index}]`;
    if (!isRecord(item)) throw new ConfigError(key, "must be an object { name, repository, ... }");
    rejectUnknownFields(key, item, SERVICE_FIELDS);
    const name = optionalString(`${key}.name`, item["name"]);
    if (name === undefined) throw new ConfigError(`${key}.name`, "is required");
    if (!SERVICE_NAME_PATTERN.test(name)) {
      throw new ConfigError(
        `${key}.name`,
        `must be lower-case letters and digits with single - between them, got ${JSON.stringify(name)}`,
      );
    }
    if (name.endsWith("-pr") || name.includes(CLONE_INFIX)) {
      throw new ConfigError(
        `${key}.name`,
        `must not end with -pr nor contain ${CLONE_INFIX}: the pull request tier's names and the clones' are <service>-pr and <service>${CLONE_INFIX}<n>, got ${JSON.stringify(name)}`,
      );
    }
    if (names.has(name)) throw new ConfigError(`${key}.name`, `repeats ${JSON.stringify(name)}`);
    names.add(name);
    checkServiceNameFits(`${key}.name`, prefix, name);
    const repository = optionalString(`${key}.repository`, item["repository"]);
    if (repository === undefined) {
      throw new ConfigError(
        `${key}.repository`,
        "is required: the GitHub repository as owner/name",
      );
    }
    if (!REPOSITORY_PATTERN.test(repository)) {
      throw new ConfigError(
        `${key}.repository`,
        `must be owner/name, got ${JSON.stringify(repository)}`,
      );
    }
    checkNotExampleRepository(`${key}.repository`, repository);
    const branch = optionalString(`${key}.branch`, item["branch"]) ?? DEFAULTS.branch;
    if (branch === "") throw new ConfigError(`${key}.branch`, "must not be empty");
    const jsonOf = (field: string): string | undefined =>
      item[field] === undefined ? undefined : JSON.stringify(item[field]);
    const flag = (field: string, fallback: boolean): boolean => {
      const flagValue = item[field];
      if (flagValue === undefined) return fallback;
      if (typeof flagValue !== "boolean") {
        throw new ConfigError(`${key}.${field}`, "must be true or false");
      }
      return flagValue;
    };
    return {
      name,
      repository,
      branch,
      pipelineName: serviceResourceNames(prefix, name).pipeline,
      pipelineType: parsePipelineType(
        optionalString(`${key}.pipelineType`, item["pipelineType"]),
        `${key}.pipelineType`,
      ),
      images: underService(index, () => parseImages(jsonOf("images"))),
      deploy: underService(index, () => parseDeploy(jsonOf("deploy"))),
      build: underService(index, () => parseBuild(jsonOf("build"), reader.awsRegion)),
      allowForkPullRequests: flag("allowForkPullRequests", stackWide.allowForkPullRequests),
      buildDraftPullRequests: flag("buildDraftPullRequests", stackWide.buildDraftPullRequests),
      ...(flag("requireApproval", stackWide.requireApproval !== false)
        ? {}
        : { requireApproval: false as const }),
      labels:
        item["labels"] === undefined
          ? stackWide.labels
          : parseLabelRules(`${key}.labels`, item["labels"]),
      paths:
        item["paths"] === undefined
          ? stackWide.paths
          : parsePathRules(`${key}.paths`, item["paths"]),
      maxClones: parseCount(item["maxClones"], `${key}.maxClones`) ?? stackWide.maxClonesPerService,
      idleDays: parseCount(item["idleDays"], `${key}.idleDays`) ?? stackWide.idleDays,
      ...previewOf(`${key}.preview`, item["preview"], {
        service: name,
        deploy: underService(index, () => parseDeploy(jsonOf("deploy"))),
        awsRegion: reader.awsRegion,
      }),
    };
  });
  const first = services[0] as ServiceConfig;
  return {
    ...stackWide,
    repository: first.repository,
    branch: first.branch,
    connectionArn,
    pipelineName: first.pipelineName,
    pipelineType: first.pipelineType,
    images: first.images,
    deploy: first.deploy,
    build: first.build,
    services,
    prefix,
    multiService: true,
  };
}

/** Reads the stack's configuration (namespace `branchline`). */
export function loadConfig(): BranchlineConfig {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  return parseConfig({
    get: (key) => config.get(key),
    getSecret: (key) => config.getSecret(key),
    defaultPipelineName: `${pulumi.getProject()}-${pulumi.getStack()}`,
    awsRegion: new pulumi.Config("aws").get("region"),
  });
}

const PIPELINE_NAME_RULE =
  `2-${SOURCE_PIPELINE_NAME_MAX_LENGTH} characters of A-Z a-z 0-9 - _, starting with a letter or ` +
  `digit (it names the CodeBuild project too, and the clones <name>${CLONE_INFIX}<n> must fit ` +
  `CodePipeline's 100 characters)`;

/** The pipeline name: `pipelineName`, or the default `<project>-<stack>`; both must fit the rule. */
function parsePipelineName(configured: string | undefined, fallback: string): string {
  const name = configured ?? fallback;
  if (PIPELINE_NAME_PATTERN.test(name)) return name;
  const suggestion = name
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, SOURCE_PIPELINE_NAME_MAX_LENGTH);
  const write = PIPELINE_NAME_PATTERN.test(suggestion)
    ? `, e.g. \`pulumi config set ${CONFIG_NAMESPACE}:pipelineName ${suggestion}\``
    : "";
  if (configured === undefined) {
    throw new ConfigError(
      "pipelineName",
      `is not set, and the default <project>-<stack> ${JSON.stringify(name)} (${name.length} ` +
        `characters) is not a valid name: set ${CONFIG_NAMESPACE}:pipelineName to ` +
        `${PIPELINE_NAME_RULE}${write}`,
    );
  }
  throw new ConfigError(
    "pipelineName",
    `must be ${PIPELINE_NAME_RULE}, got ${JSON.stringify(name)} (${name.length} characters)${write}`,
  );
}

/** A key holding a JSON value; `undefined` when unset. */
function jsonKey(reader: ConfigReader, key: string): unknown {
  const raw = reader.get(key);
  return raw === undefined ? undefined : parseJson(key, raw);
}

function parseJson(key: string, raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ConfigError(key, `is not valid JSON: ${raw}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new ConfigError(key, "must be a non-empty string");
  }
  return value;
}

function rejectUnknownFields(key: string, value: Record<string, unknown>, known: string[]): void {
  for (const field of Object.keys(value)) {
    if (!known.includes(field)) {
      throw new ConfigError(
        key,
        `has an unknown field ${JSON.stringify(field)} (known: ${known.join(", ")})`,
      );
    }
  }
}

export function parseImages(raw: string | undefined): ImageSpec[] {
  if (raw === undefined) return DEFAULTS.images.map((image) => ({ ...image }));
  const value = parseJson("images", raw);
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(
      "images",
      "must be a non-empty list of { name, context, dockerfile?, container? }",
    );
  }
  const names = new Set<string>();
  const containers = new Set<string>();
  return value.map((item: unknown, index) => {
    const key = `images[${index}]`;
    if (!isRecord(item))
      throw new ConfigError(key, "must be an object { name, context, dockerfile?, container? }");
    rejectUnknownFields(key, item, ["name", "context", "dockerfile", "container"]);
    const name = optionalString(`${key}.name`, item["name"]);
    if (name === undefined) throw new ConfigError(`${key}.name`, "is required");
    if (!IMAGE_NAME_PATTERN.test(name)) {
      throw new ConfigError(
        `${key}.name`,
        `must be 1-64 lower-case letters and digits, with . _ - only between them (it names the image's ECR repositories), got ${JSON.stringify(name)}`,
      );
    }
    const context = optionalString(`${key}.context`, item["context"]);
    if (context === undefined) throw new ConfigError(`${key}.context`, "is required");
    const dockerfile = optionalString(`${key}.dockerfile`, item["dockerfile"]);
    const container = optionalString(`${key}.container`, item["container"]);
    if (names.has(name))
      throw new ConfigError(`${key}.name`, `repeats the image name ${JSON.stringify(name)}`);
    names.add(name);
    const containerName = container ?? name;
    if (containers.has(containerName)) {
      throw new ConfigError(
        `${key}.container`,
        `repeats the container name ${JSON.stringify(containerName)}`,
      );
    }
    containers.add(containerName);
    const image: ImageSpec = { name, context };
    if (dockerfile !== undefined) image.dockerfile = dockerfile;
    if (container !== undefined) image.container = container;
    return image;
  });
}

export function parseDeploy(raw: string | undefined): DeployConfig | undefined {
  if (raw === undefined) return undefined;
  const value = parseJson("deploy", raw);
  if (!isRecord(value)) throw new ConfigError("deploy", "must be an object { cluster, service }");
  rejectUnknownFields("deploy", value, ["cluster", "service", "passRoles"]);
  const cluster = optionalString("deploy.cluster", value["cluster"]);
  const service = optionalString("deploy.service", value["service"]);
  if (cluster === undefined) throw new ConfigError("deploy.cluster", "is required");
  if (service === undefined) throw new ConfigError("deploy.service", "is required");
  const deploy: DeployConfig = {
    cluster: parseEcsName("deploy.cluster", "cluster", cluster),
    service: parseEcsName("deploy.service", "service", service),
  };
  const passRoles = parsePassRoles(value["passRoles"]);
  if (passRoles !== undefined) deploy.passRoles = passRoles;
  return deploy;
}

/** `deploy.passRoles`: a non-empty list of distinct IAM role ARNs; absent: `undefined`. */
function parsePassRoles(value: unknown): string[] | undefined {
  const key = "deploy.passRoles";
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(key, "must be a non-empty list of IAM role ARNs");
  }
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    if (typeof item !== "string" || !ROLE_ARN_PATTERN.test(item)) {
      throw new ConfigError(
        `${key}[${i}]`,
        `must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got ${JSON.stringify(item)}`,
      );
    }
    if (seen.has(item)) throw new ConfigError(`${key}[${i}]`, `repeats ${item}`);
    seen.add(item);
    return item;
  });
}

/**
 * The ECR repositories are `<pipelineName>/<image>` and `<pipelineName>-pr/<image>`: ECR names are
 * lower case, with single separators between letters and digits (image names are checked as they
 * are read, by IMAGE_NAME_PATTERN).
 */
function checkRepositoryNames(pipelineName: string): void {
  if (!REGISTRY_REPOSITORY_PATTERN.test(`${pipelineName}-pr`)) {
    throw new ConfigError(
      "pipelineName",
      `names the ECR repositories ${pipelineName}/<image> and ${pipelineName}-pr/<image>: use lower-case letters and digits, with single - or _ between them, got ${JSON.stringify(pipelineName)}`,
    );
  }
}

/** An ECS cluster or service name; an ARN is refused with the name to write instead. */
function parseEcsName(key: string, what: string, value: string): string {
  if (ECS_NAME_PATTERN.test(value)) return value;
  if (value.startsWith("arn:")) {
    const name = value.split("/").pop() ?? "";
    const example = ECS_NAME_PATTERN.test(name) ? ` (${JSON.stringify(name)})` : "";
    throw new ConfigError(key, `must be the ${what}'s name${example}, not its ARN: ${value}`);
  }
  throw new ConfigError(
    key,
    `must be the ${what}'s name: 1-255 letters, digits, - and _, got ${JSON.stringify(value)}`,
  );
}

export function parseBuild(raw: string | undefined, awsRegion?: string): BuildConfig {
  const build: BuildConfig = {
    computeType: DEFAULTS.build.computeType,
    image: DEFAULTS.build.image,
    timeoutMinutes: DEFAULTS.build.timeoutMinutes,
    args: {},
    noCache: false,
    blueGreen: false,
    secondRegistry: undefined,
  };
  if (raw === undefined) return build;
  const value = parseJson("build", raw);
  if (!isRecord(value)) {
    throw new ConfigError(
      "build",
      "must be an object { computeType?, image?, timeoutMinutes?, args?, noCache?, blueGreen?, secondRegistry? }",
    );
  }
  rejectUnknownFields("build", value, [
    "computeType",
    "image",
    "timeoutMinutes",
    "args",
    "noCache",
    "blueGreen",
    "secondRegistry",
  ]);
  build.computeType =
    optionalString("build.computeType", value["computeType"]) ?? build.computeType;
  build.image = optionalString("build.image", value["image"]) ?? build.image;
  if (awsRegion !== undefined) checkBuildImageScope(build.image, { region: awsRegion });
  const timeout = value["timeoutMinutes"];
  if (timeout !== undefined) {
    if (
      typeof timeout !== "number" ||
      !Number.isInteger(timeout) ||
      timeout < 5 ||
      timeout > 2160
    ) {
      throw new ConfigError(
        "build.timeoutMinutes",
        "must be a whole number of minutes from 5 to 2160",
      );
    }
    build.timeoutMinutes = timeout;
  }
  const args = value["args"];
  if (args !== undefined) {
    if (!isRecord(args))
      throw new ConfigError("build.args", "must be an object of name: value strings");
    for (const [name, argValue] of Object.entries(args)) {
      if (!BUILD_ARG_NAME_PATTERN.test(name) || typeof argValue !== "string") {
        throw new ConfigError(
          `build.args.${name}`,
          "must be a string value under a name of letters, digits and _",
        );
      }
      build.args[name] = argValue;
    }
  }
  const noCache = value["noCache"];
  if (noCache !== undefined) {
    if (typeof noCache !== "boolean")
      throw new ConfigError("build.noCache", "must be true or false");
    build.noCache = noCache;
  }
  const blueGreen = value["blueGreen"];
  if (blueGreen !== undefined) {
    if (typeof blueGreen !== "boolean")
      throw new ConfigError("build.blueGreen", "must be true or false");
    build.blueGreen = blueGreen;
  }
  build.secondRegistry = parseSecondRegistry(value["secondRegistry"]);
  return build;
}

function parseSecondRegistry(value: unknown): SecondRegistry | undefined {
  const key = "build.secondRegistry";
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    throw new ConfigError(key, "must be an object { registry, credentialsSecretArn, repository? }");
  }
  rejectUnknownFields(key, value, ["registry", "credentialsSecretArn", "repository"]);
  const registry = optionalString(`${key}.registry`, value["registry"]);
  if (registry === undefined) throw new ConfigError(`${key}.registry`, "is required");
  const host = registry.split("/")[0] ?? "";
  if (
    !REGISTRY_PATTERN.test(registry) ||
    (!host.includes(".") && !host.includes(":") && host !== "localhost")
  ) {
    throw new ConfigError(
      `${key}.registry`,
      `must be <host>[/<namespace>] in lower case, e.g. docker.io/myorg, got ${JSON.stringify(registry)}`,
    );
  }
  const credentialsSecretArn = optionalString(
    `${key}.credentialsSecretArn`,
    value["credentialsSecretArn"],
  );
  if (credentialsSecretArn === undefined) {
    throw new ConfigError(
      `${key}.credentialsSecretArn`,
      'is required: a Secrets Manager secret ARN holding {"username": ..., "password": ...}',
    );
  }
  if (!SECRET_ARN_PATTERN.test(credentialsSecretArn)) {
    throw new ConfigError(
      `${key}.credentialsSecretArn`,
      `is not a Secrets Manager secret ARN: ${credentialsSecretArn}`,
    );
  }
  if (!SECRET_ARN_SUFFIX_PATTERN.test(credentialsSecretArn)) {
    throw new ConfigError(
      `${key}.credentialsSecretArn`,
      "must be the secret's complete ARN, ending in the 6 characters Secrets Manager adds to " +
        "the name (...:secret:<name>-AbCdEf, as `aws secretsmanager describe-secret` shows it): " +
        `a partial ARN never matches the build role's policy, got ${credentialsSecretArn}`,
    );
  }
  const repository = optionalString(`${key}.repository`, value["repository"]);
  if (repository !== undefined && !REGISTRY_REPOSITORY_PATTERN.test(repository)) {
    throw new ConfigError(
      `${key}.repository`,
      `must be a lower-case repository name, got ${JSON.stringify(repository)}`,
    );
  }
  return {
    registry,
    credentialsSecretArn,
    ...(repository === undefined ? {} : { repository }),
  };
}

/**
 * Where a build image from ECR must be: the stack's own account and region (the stack sets the
 * pull policy on that repository *in its own account*). Images outside ECR (CodeBuild's curated
 * images, public registries) pass. Called with the region at config time (`aws:region`) and with
 * the account and region once the stack knows them.
 */
export function checkBuildImageScope(
  image: string,
  scope: { region: string; accountId?: string | undefined },
): void {
  const match = ECR_IMAGE_PATTERN.exec(image);
  if (match === null) return;
  const [, accountId, region] = match;
  if (region !== scope.region || (scope.accountId !== undefined && accountId !== scope.accountId)) {
    const here =
      scope.accountId === undefined
        ? `region ${scope.region}`
        : `account ${scope.accountId} and region ${scope.region}`;
    throw new ConfigError(
      "build.image",
      `must be an ECR image of this stack's ${here} (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), ` +
        `or a public image (a CodeBuild curated image, public.ecr.aws/..., docker.io/...), got ${image}`,
    );
  }
}

function parseSchedule(raw: string | undefined): string {
  if (raw === undefined) return DEFAULTS.reconcileSchedule;
  const problem = scheduleProblem(raw);
  if (problem !== undefined) {
    throw new ConfigError(
      "reconcileSchedule",
      `must be an EventBridge schedule expression, rate(...) or cron(...), got ${JSON.stringify(raw)}: ${problem}`,
    );
  }
  return raw;
}

/** What EventBridge would refuse in a schedule expression, or `undefined`. */
function scheduleProblem(raw: string): string | undefined {
  if (raw.startsWith("rate(")) {
    const rate = RATE_PATTERN.exec(raw);
    if (rate === null) {
      return "write rate(<positive whole number> <unit>) with the unit minute(s), hour(s) or day(s), e.g. rate(15 minutes)";
    }
    const [, value, unit = ""] = rate;
    const singular = !unit.endsWith("s");
    if ((value === "1") !== singular) {
      const base = singular ? unit : unit.slice(0, -1);
      return value === "1"
        ? `a value of 1 takes the singular unit: write rate(1 ${base})`
        : `a value other than 1 takes the plural unit: write rate(${value} ${base}s)`;
    }
    return undefined;
  }
  const cron = CRON_PATTERN.exec(raw);
  if (cron === null) return "write rate(15 minutes) or cron(0/15 * * * ? *), for example";
  const fields = (cron[1] ?? "").trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) {
    return `cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}, e.g. cron(0/15 * * * ? *)`;
  }
  for (const [index, field] of fields.entries()) {
    const rule = CRON_FIELDS[index];
    if (rule !== undefined && !rule.pattern.test(field)) {
      return `the ${rule.name} field ${JSON.stringify(field)} is not valid`;
    }
  }
  if ((fields[2] === "?") === (fields[4] === "?")) {
    return "exactly one of day-of-month and day-of-week must be ?, e.g. cron(0 8 ? * MON-FRI *)";
  }
  return undefined;
}

function parseEmail(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!EMAIL_PATTERN.test(raw)) {
    throw new ConfigError(
      "notificationEmail",
      `must be an email address, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

function parseBoolean(reader: ConfigReader, key: string, fallback: boolean): boolean {
  const raw = reader.get(key);
  if (raw === undefined) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigError(key, `must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * A clone limit or a day count (`maxClones`, `maxClonesPerService`, `idleDays`, or a service's own):
 * a whole number of at least 1, given as a number or its digits; `undefined` when not set.
 */
function parseCount(raw: unknown, key: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = typeof raw === "string" && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  const problem = positiveWholeNumberProblem(value);
  if (problem !== undefined) throw new ConfigError(key, problem);
  return value as number;
}

function parseDays(reader: ConfigReader, key: string, fallback: number): number {
  const raw = reader.get(key);
  if (raw === undefined) return fallback;
  const days = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(days) || days < 1) {
    throw new ConfigError(
      key,
      `must be a whole number of days (1 or more), got ${JSON.stringify(raw)}`,
    );
  }
  return days;
}

function parseImageCount(reader: ConfigReader, key: string, fallback: number): number {
  const raw = reader.get(key);
  if (raw === undefined) return fallback;
  const count = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(count) || count < 1) {
    throw new ConfigError(
      key,
      `must be a positive whole number of images (1 or more), got ${JSON.stringify(raw)}`,
    );
  }
  return count;
}

function parseLogRetention(reader: ConfigReader): number {
  const days = parseDays(reader, "logRetentionDays", DEFAULTS.logRetentionDays);
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new ConfigError(
      "logRetentionDays",
      `must be one of ${LOG_RETENTION_DAYS.join(", ")}, got ${days}`,
    );
  }
  return days;
}

/*
 * Preview environments (`preview` of a service): a per-pull-request ECS service on Fargate behind the
 * team's Application Load Balancer, at `pr-<n>.<service>.<domain>`.
 */

/**
 * A service's `preview`, with its defaults applied: the functions' `PreviewSettings`
 * (functions/shared/preview-settings.ts), which read what the stack writes: the routing table
 * entry's `preview`, or `PREVIEW_SETTINGS` in the one-service form. `taskRoleArn` and
 * `executionRoleArn` are the configured roles; when absent the stack creates them (see
 * infra/components/preview.ts) and writes their ARNs into what the functions read.
 */
export type PreviewConfig = PreviewSettings;

export { PREVIEW_FIELDS };

/** ECS's limits on an awsvpc network configuration. */
export const PREVIEW_LIMITS = { subnets: 16, securityGroups: 5 } as const;

/**
 * The task sizes Fargate accepts (Linux): CPU units -> the memory values (MiB) allowed with it
 * (Amazon ECS developer guide, "Task CPU and memory").
 */
export const FARGATE_TASK_SIZES: Readonly<Record<string, readonly number[]>> = {
  "256": [512, 1024, 2048],
  "512": steps(1024, 4096, 1024),
  "1024": steps(2048, 8192, 1024),
  "2048": steps(4096, 16384, 1024),
  "4096": steps(8192, 30720, 1024),
  "8192": steps(16384, 61440, 4096),
  "16384": steps(32768, 122880, 8192),
};

function steps(from: number, to: number, by: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += by) values.push(value);
  return values;
}

/**
 * The longest host a preview has: `pr-<10 digits>.<service>.<domain>`. An ALB host-header condition
 * value holds at most 128 characters.
 */
export const PREVIEW_HOST_MAX_LENGTH = 128;
const LONGEST_PREVIEW_LABEL = "pr-9999999999";

const CLUSTER_ARN_PATTERN =
  /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster\/([A-Za-z0-9_-]{1,255})$/;
const SUBNET_PATTERN = /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP_PATTERN = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** An Application Load Balancer's listener (host-header rules need one: not a network or gateway LB). */
const LISTENER_ARN_PATTERN =
  /^arn:(aws[a-z-]*):elasticloadbalancing:([a-z0-9-]+):(\d{12}):listener\/app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}\/[0-9a-f]{16}$/;
const DNS_LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** `{ preview }` when the value is given, `{}` when it is absent (the key stays off the service). */
function previewOf(
  key: string,
  value: unknown,
  service: { service: string; deploy: DeployConfig | undefined; awsRegion: string | undefined },
): { preview?: PreviewConfig } {
  if (value === undefined) return {};
  return { preview: parsePreview(key, value, service) };
}

/**
 * A service's `preview`: every field checked, the error naming the field. A preview needs the
 * service's ECS deploy (`deploy: { cluster, service }`): the preview's task definition is derived
 * from that service's.
 */
export function parsePreview(
  key: string,
  value: unknown,
  context: { service: string; deploy: DeployConfig | undefined; awsRegion?: string | undefined },
): PreviewConfig {
  if (!isRecord(value)) {
    throw new ConfigError(
      key,
      "must be an object { cluster, subnets, securityGroups, listenerArn, domain, port?, healthCheckPath?, cpu?, memory?, taskRoleArn?, executionRoleArn?, idleHours?, assignPublicIp?, maxPreviews? }",
    );
  }
  rejectUnknownFields(key, value, [...PREVIEW_FIELDS]);
  if (context.deploy === undefined) {
    const deployKey = key.endsWith(".preview")
      ? `${key.slice(0, -".preview".length)}.deploy`
      : "deploy";
    throw new ConfigError(
      key,
      `needs the service's ECS deploy (${CONFIG_NAMESPACE}:${deployKey} { cluster, service }): a preview runs the task definition of that ECS service with the pull request's images`,
    );
  }
  const field = (name: (typeof PREVIEW_FIELDS)[number]): string => `${key}.${name}`;

  const cluster = optionalString(field("cluster"), value["cluster"]);
  if (cluster === undefined) throw new ConfigError(field("cluster"), "is required");
  const clusterArn = CLUSTER_ARN_PATTERN.exec(cluster);
  if (clusterArn === null && !ECS_NAME_PATTERN.test(cluster)) {
    throw new ConfigError(
      field("cluster"),
      `must be an ECS cluster's name (1-255 letters, digits, - and _) or ARN (arn:aws:ecs:<region>:<account>:cluster/<name>), got ${JSON.stringify(cluster)}`,
    );
  }
  if (clusterArn !== null) checkRegion(field("cluster"), cluster, clusterArn[2], context.awsRegion);

  const subnets = idList(
    field("subnets"),
    value["subnets"],
    SUBNET_PATTERN,
    "subnet-",
    PREVIEW_LIMITS.subnets,
  );
  const securityGroups = idList(
    field("securityGroups"),
    value["securityGroups"],
    SECURITY_GROUP_PATTERN,
    "sg-",
    PREVIEW_LIMITS.securityGroups,
  );

  const listenerArn = optionalString(field("listenerArn"), value["listenerArn"]);
  if (listenerArn === undefined) throw new ConfigError(field("listenerArn"), "is required");
  const listener = LISTENER_ARN_PATTERN.exec(listenerArn);
  if (listener === null) {
    throw new ConfigError(
      field("listenerArn"),
      `must be an Application Load Balancer listener's ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>), got ${JSON.stringify(listenerArn)}`,
    );
  }
  checkRegion(field("listenerArn"), listenerArn, listener[2], context.awsRegion);

  const domain = optionalString(field("domain"), value["domain"]);
  if (domain === undefined) throw new ConfigError(field("domain"), "is required");
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((label) => DNS_LABEL_PATTERN.test(label))) {
    throw new ConfigError(
      field("domain"),
      `must be a lower-case DNS name of two labels or more (letters, digits, - inside a label, no trailing dot), got ${JSON.stringify(domain)}`,
    );
  }
  const serviceLabel = previewServiceLabel(context.service);
  const longestHost = `${LONGEST_PREVIEW_LABEL}.${serviceLabel}.${domain}`;
  if (longestHost.length > PREVIEW_HOST_MAX_LENGTH) {
    throw new ConfigError(
      field("domain"),
      `is too long: the host ${longestHost} has ${longestHost.length} characters, an ALB host-header rule holds at most ${PREVIEW_HOST_MAX_LENGTH}`,
    );
  }

  const port = wholeNumber(field("port"), value["port"], PREVIEW_DEFAULTS.port, 1, 65535);

  const healthCheckPath =
    optionalString(field("healthCheckPath"), value["healthCheckPath"]) ??
    PREVIEW_DEFAULTS.healthCheckPath;
  if (
    !healthCheckPath.startsWith("/") ||
    healthCheckPath.length > 1024 ||
    /\s/.test(healthCheckPath)
  ) {
    throw new ConfigError(
      field("healthCheckPath"),
      `must be a path starting with / (at most 1024 characters, no spaces), got ${JSON.stringify(healthCheckPath)}`,
    );
  }

  const cpu = taskSize(field("cpu"), value["cpu"], PREVIEW_DEFAULTS.cpu);
  const memory = taskSize(field("memory"), value["memory"], PREVIEW_DEFAULTS.memory);
  const memories = FARGATE_TASK_SIZES[cpu];
  if (memories === undefined) {
    throw new ConfigError(
      field("cpu"),
      `must be one of Fargate's CPU values ${Object.keys(FARGATE_TASK_SIZES).join(", ")} (CPU units, 1024 = 1 vCPU), got ${JSON.stringify(cpu)}`,
    );
  }
  if (!memories.includes(Number(memory))) {
    const first = memories[0] as number;
    const last = memories[memories.length - 1] as number;
    const step = memories.length > 1 ? (memories[1] as number) - first : 0;
    const allowed = cpu === "256" ? memories.join(", ") : `${first} to ${last} in steps of ${step}`;
    throw new ConfigError(
      field("memory"),
      `must be a memory value Fargate accepts with cpu ${cpu}: ${allowed} (MiB), got ${JSON.stringify(memory)}`,
    );
  }

  const preview: PreviewConfig = {
    cluster,
    subnets,
    securityGroups,
    listenerArn,
    domain,
    port,
    healthCheckPath,
    cpu,
    memory,
    idleHours: wholeNumber(field("idleHours"), value["idleHours"], PREVIEW_DEFAULTS.idleHours, 1),
    assignPublicIp: previewFlag(field("assignPublicIp"), value["assignPublicIp"]),
    maxPreviews: wholeNumber(
      field("maxPreviews"),
      value["maxPreviews"],
      PREVIEW_DEFAULTS.maxPreviews,
      1,
    ),
  };
  for (const roleField of ["taskRoleArn", "executionRoleArn"] as const) {
    const role = optionalString(field(roleField), value[roleField]);
    if (role === undefined) continue;
    if (!ROLE_ARN_PATTERN.test(role)) {
      throw new ConfigError(
        field(roleField),
        `must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got ${JSON.stringify(role)}`,
      );
    }
    preview[roleField] = role;
  }
  return preview;
}

/**
 * The service's label in a preview's host (`pr-<n>.<label>.<domain>`): its name lower-cased, every
 * character outside a-z 0-9 - turned into -, at most 63 characters, no - at either end.
 */
export function previewServiceLabel(service: string): string {
  return service
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
}

/**
 * The preview's cluster and listener must be in the stack's account and region (IAM scopes the
 * functions to them): checked with the region at config time, and with the partition and the account
 * in the program (the program sizes the preview policies from the listener's ARN before it knows
 * them).
 */
export function checkPreviewScope(
  key: string,
  preview: PreviewConfig,
  scope: { partition?: string | undefined; region: string; accountId?: string | undefined },
): void {
  const arns: [string, string][] = [[`${key}.listenerArn`, preview.listenerArn]];
  if (preview.cluster.startsWith("arn:")) arns.push([`${key}.cluster`, preview.cluster]);
  for (const [field, arn] of arns) {
    const [, partition, , region, accountId] = arn.split(":");
    if (scope.partition !== undefined && partition !== scope.partition) {
      throw new ConfigError(
        field,
        `must be in this stack's partition ${scope.partition}, got ${arn}`,
      );
    }
    if (
      region !== scope.region ||
      (scope.accountId !== undefined && accountId !== scope.accountId)
    ) {
      const here =
        scope.accountId === undefined
          ? `region ${scope.region}`
          : `account ${scope.accountId} and region ${scope.region}`;
      throw new ConfigError(field, `must be in this stack's ${here}, got ${arn}`);
    }
  }
}

function checkRegion(
  key: string,
  arn: string,
  region: string | undefined,
  awsRegion: string | undefined,
): void {
  if (awsRegion !== undefined && region !== awsRegion) {
    throw new ConfigError(key, `must be in this stack's region ${awsRegion}, got ${arn}`);
  }
}

function idList(
  key: string,
  value: unknown,
  pattern: RegExp,
  prefix: string,
  max: number,
): string[] {
  if (value === undefined) throw new ConfigError(key, "is required");
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new ConfigError(key, `must be a list of 1 to ${max} ${prefix}... ids`);
  }
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    if (typeof item !== "string" || !pattern.test(item)) {
      throw new ConfigError(
        `${key}[${index}]`,
        `must be an id ${prefix}<8 or 17 hexadecimal digits>, got ${JSON.stringify(item)}`,
      );
    }
    if (seen.has(item)) throw new ConfigError(`${key}[${index}]`, `repeats ${item}`);
    seen.add(item);
    return item;
  });
}

function wholeNumber(
  key: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new ConfigError(key, `must be a whole number ${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A task size: a string of digits as ECS writes it, or a whole number. */
function taskSize(key: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === "string" && /^[1-9][0-9]*$/.test(value)) return value;
  throw new ConfigError(
    key,
    `must be a whole number as Fargate writes it (CPU units or MiB, e.g. "256", "512"), got ${JSON.stringify(value)}`,
  );
}

function previewFlag(key: string, value: unknown): boolean {
  if (value === undefined) return PREVIEW_DEFAULTS.assignPublicIp;
  if (typeof value !== "boolean") throw new ConfigError(key, "must be true or false");
  return value;
}
