/**
 * The clone transform: from the source pipeline's declaration to the declaration of a pull request's
 * pipeline. Pure and deterministic, so an unchanged clone can be recognised and left alone.
 */
import {
  cloneName,
  ENV,
  IMAGE_TAG_PREFIX_VARIABLE,
  imageTagPrefix,
  MANAGED_BY_VALUE,
  TAG,
} from "../shared/names.js";
import { sameRepository, type SourceRef } from "./classify.js";
import { ConfigurationError } from "./errors.js";
import { APPROVED_SHA_VARIABLE } from "./commands.js";
import {
  CODEBUILD_PROVIDER,
  COMMANDS_PROVIDER,
  CONNECTION_SOURCE_PROVIDER,
  type ActionDeclaration,
  type GitBranchFilterCriteria,
  type PipelineDeclaration,
  type PipelineTriggerDeclaration,
  type StageDeclaration,
  type Tag,
} from "./pipeline.js";

export interface CloneTarget {
  prNumber: number;
  /** The pull request's head branch: what the clone builds. */
  headBranch: string;
  /** `owner/name` of the head repository (differs from the source's only for allowed forks). */
  headRepository: string;
  /**
   * Set for an untrusted pull request: the head commit a maintainer approved. Its clone then starts
   * only when branchline starts it, pinned to that commit: no triggers, `DetectChanges` false on
   * its source actions, and `BRANCHLINE_APPROVED_SHA` on its CodeBuild actions, which branchline's
   * buildspec checks against the commit it builds.
   */
  approvedSha?: string | undefined;
}

/**
 * The pull request tier a clone runs in (issue 11: a pull request's code never holds the source
 * tier's credentials). Both members are optional for local runs: unset, the clone keeps the source's.
 */
export interface CloneTier {
  /** The role every clone runs with (the pipeline-level `roleArn`). */
  roleArn?: string | undefined;
  /**
   * Source CodeBuild project name -> the PR build project that mirrors it. When given, every
   * CodeBuild action of the clone runs in its PR project, and one whose project has none is a
   * configuration error.
   */
  buildProjects?: Readonly<Record<string, string>> | undefined;
  /**
   * The pull request tier's artifact bucket (in the stack's region, S3-managed encryption). When
   * given, the clone's artifacts go there: its `artifactStore` is `{ type: "S3", location }`, with no
   * `encryptionKey` (the source's KMS key guards the source tier's bucket), and it has no
   * `artifactStores`; a clone that keeps an action in another region is a configuration error (the
   * pull request tier has no bucket there).
   */
  artifactBucket?: string | undefined;
  /**
   * The source pipeline's region (its ARN's), which is the stack's and so the artifact bucket's:
   * with `artifactBucket`, an action naming another region is refused. Unset, the declaration tells
   * it where it can (see {@link cloneDeclaration}).
   */
  region?: string | undefined;
  /**
   * The pull request's preview environment (its own ECS service: functions/core/preview.ts). When
   * given, the clone keeps the source's first ECS deploy action that no approval gates, retargeted
   * to that service, so each push redeploys the preview through the pull request's own pipeline;
   * every other Deploy action is still dropped. A source without such an action is a configuration
   * error.
   */
  preview?: PreviewTarget | undefined;
}

/** Where a clone's ECS deploy action deploys a pull request's preview. */
export interface PreviewTarget {
  /** The preview cluster (name or ARN). */
  cluster: string;
  /** The pull request's own ECS service in that cluster. */
  service: string;
}

/** The repository and branch of the source pipeline: its first CodeConnections source action. */
export function sourceRefOf(pipeline: PipelineDeclaration): SourceRef {
  for (const action of allActions(pipeline)) {
    if (!isConnectionSource(action)) continue;
    const repository = action.configuration?.["FullRepositoryId"];
    const branch = action.configuration?.["BranchName"];
    if (repository && branch) return { repository, branch };
  }
  throw new ConfigurationError(
    `pipeline ${pipeline.name} has no CodeStarSourceConnection source action with FullRepositoryId and BranchName`,
  );
}

/**
 * Action categories a clone never runs: a pull request must not deploy anywhere, nor page the source
 * pipeline's approvers.
 */
const DROPPED_CATEGORIES: ReadonlySet<string> = new Set(["Deploy", "Approval"]);

/** CodePipeline's limits that the transform itself can reach (API model and quotas). */
const LIMITS = {
  /** ActionConfigurationValue: 1..1000 characters. */
  configurationValue: 1000,
  /** ActionDeclaration.environmentVariables: 1..10 entries. */
  actionEnvironmentVariables: 10,
  /** GitBranchNamePattern: 1..255 characters. */
  branchPattern: 255,
  /** A pipeline has at least two stages. */
  stages: 2,
} as const;

/**
 * The declaration of the clone of `source` for one pull request:
 * - source actions reading the repository read the pull request's head branch (and repository);
 * - Deploy and Approval actions are dropped, and so is everything an approval gates (the actions
 *   after it in its stage and every later stage), then every action that reads an artifact or a
 *   variable namespace that no remaining action provides, then every stage left empty; with a
 *   tier's `preview`, its first ungated ECS deploy action is kept, aimed at the preview's service;
 * - CodeBuild and Commands actions get `IMAGE_TAG_PREFIX=pr-<n>`;
 * - with a {@link CloneTier}: the pipeline's `roleArn` becomes the clone role, and each CodeBuild
 *   action's `ProjectName` the PR build project its source project maps to. An action's own
 *   `roleArn` is kept: CodePipeline assumes it (from the pipeline's role) for a cross-account action,
 *   and it names a role of the other account that branchline cannot mirror; the clone role can
 *   assume it only where that account's trust policy and the clone role's grants allow it;
 * - with a {@link CloneTier} `artifactBucket`: the clone's artifacts go to the pull request tier's
 *   bucket (see {@link inArtifactBucket});
 * - triggers of the rewritten source actions fire on pushes to the pull request's branch only;
 * - everything else (without a tier bucket the artifact stores and their encryption keys; variables,
 *   namespaces, other actions, source actions of other repositories, other triggers) is kept as it is.
 * Throws {@link ConfigurationError} when the result would break one of CodePipeline's shape rules.
 */
export function cloneDeclaration(
  source: PipelineDeclaration,
  target: CloneTarget,
  tier: CloneTier = {},
): PipelineDeclaration {
  const repo = sourceRefOf(source).repository;
  const rewritten = new Set<string>();
  const where = (action: ActionDeclaration) => `pipeline ${source.name}, action ${action.name}`;

  const stages: StageDeclaration[] = [];
  const gated = gatedByApproval(source);
  let preview = tier.preview;
  for (const stage of source.stages) {
    const actions: ActionDeclaration[] = [];
    for (const action of stage.actions) {
      if (preview !== undefined && isEcsDeploy(action) && !gated.has(action)) {
        actions.push(retargeted(action, preview));
        preview = undefined;
        continue;
      }
      if (DROPPED_CATEGORIES.has(action.actionTypeId.category) || gated.has(action)) continue;
      if (readsRepository(action, repo)) {
        rewritten.add(action.name);
        actions.push(
          withConfiguration(action, {
            FullRepositoryId: target.headRepository,
            BranchName: target.headBranch,
            ...(target.approvedSha !== undefined ? { DetectChanges: "false" } : {}),
          }),
        );
      } else if (action.actionTypeId.provider === CODEBUILD_PROVIDER) {
        const built = withImageTagPrefix(
          action,
          imageTagPrefix(target.prNumber),
          where(action),
          target.approvedSha,
        );
        actions.push(
          tier.buildProjects ? inProject(built, tier.buildProjects, where(action)) : built,
        );
      } else if (isCommands(action)) {
        actions.push(
          withCommandsImageTagPrefix(action, imageTagPrefix(target.prNumber), where(action)),
        );
      } else {
        actions.push(copyData(action));
      }
    }
    // The stage's own members only: its actions were copied one by one above.
    if (actions.length > 0) stages.push({ ...copyData(stageMembers(stage)), actions });
  }

  if (preview !== undefined) {
    throw new ConfigurationError(
      `pipeline ${source.name} has no ECS deploy action (provider ECS) that no approval gates: a preview environment redeploys through one`,
    );
  }
  const clone: PipelineDeclaration = {
    ...copyData(keptMembers(source)),
    name: cloneName(source.name, target.prNumber),
    ...(tier.roleArn !== undefined ? { roleArn: tier.roleArn } : {}),
    stages: dropOrphans(stages, declaredNamespaces(source)),
  };
  if (tier.artifactBucket !== undefined) {
    inArtifactBucket(clone, source, tier.artifactBucket, tier.region);
  }
  if (source.triggers && target.approvedSha === undefined) {
    clone.triggers = source.triggers.map((trigger) =>
      rewritten.has(trigger.gitConfiguration.sourceActionName)
        ? branchOnlyTrigger(trigger, target.headBranch, source.name)
        : copyData(trigger),
    );
  }
  checkShape(clone, source.name);
  return clone;
}

/**
 * The ECS service a preview environment starts from: the cluster and service of the source's first
 * ECS deploy action that no approval gates (the action a clone with a preview keeps, retargeted).
 * Throws {@link ConfigurationError} when there is none.
 */
export function previewSourceOf(source: PipelineDeclaration): PreviewTarget {
  const gated = gatedByApproval(source);
  for (const action of allActions(source)) {
    if (!isEcsDeploy(action) || gated.has(action)) continue;
    const cluster = action.configuration?.["ClusterName"];
    const service = action.configuration?.["ServiceName"];
    if (cluster && service) return { cluster, service };
  }
  throw new ConfigurationError(
    `pipeline ${source.name} has no ECS deploy action (provider ECS) with ClusterName and ServiceName that no approval gates: a preview environment starts from its service and redeploys through it`,
  );
}

/**
 * Whether a clone deploys a preview: a clone keeps an ECS deploy action only when it is aimed at
 * the pull request's preview service.
 */
export function deploysPreview(clone: PipelineDeclaration): boolean {
  return [...allActions(clone)].some(isEcsDeploy);
}

/** CodePipeline's standard ECS deploy action (not CodeDeployToECS, the blue/green one). */
function isEcsDeploy(action: ActionDeclaration): boolean {
  const type = action.actionTypeId;
  return type.category === "Deploy" && type.owner === "AWS" && type.provider === "ECS";
}

/**
 * The ECS deploy action aimed at the preview's service: the cluster and service replaced, and its
 * own `roleArn` and `region` dropped, so that it runs with the clone's role (the pull request tier's)
 * in the pipeline's region, where the preview is. Everything else (input artifact, FileName,
 * DeploymentTimeout, namespace) is kept.
 */
function retargeted(action: ActionDeclaration, preview: PreviewTarget): ActionDeclaration {
  const aimed = withConfiguration(action, {
    ClusterName: preview.cluster,
    ServiceName: preview.service,
  });
  delete aimed.roleArn;
  delete aimed.region;
  return aimed;
}

/**
 * Points the clone (built from `source`, whose stages are already dropped) at the pull request tier's
 * artifact bucket: a single `artifactStore` `{ type: "S3", location: bucket }`. The source's
 * `encryptionKey` is dropped (the tier's bucket uses S3-managed encryption, and the clone role holds
 * no grant on the source's KMS key), and so are its cross-region `artifactStores`: the tier has one
 * bucket, in the pipeline's region, so a clone that keeps an action in another region is refused.
 * An action that names the pipeline's own region keeps it (GetPipeline returns such actions).
 */
function inArtifactBucket(
  clone: PipelineDeclaration,
  source: PipelineDeclaration,
  bucket: string,
  region: string | undefined,
): void {
  const home = pipelineRegion(source, region);
  for (const stage of clone.stages) {
    for (const action of stage.actions) {
      if (action.region === undefined || action.region === home || home === SINGLE_REGION) {
        continue;
      }
      throw new ConfigurationError(
        `pipeline ${source.name}, action ${action.name}: its pull request clone would keep this action in region ${action.region}, and the pull request tier's artifact bucket is in the pipeline's region only`,
      );
    }
  }
  delete clone.artifactStores;
  clone.artifactStore = { type: "S3", location: bucket };
}

/** A pipeline without `artifactStores`: every action runs in its region (CodePipeline's rule). */
const SINGLE_REGION = Symbol("single region");

/**
 * The source pipeline's region: `region` (the tier's, its ARN's) when given; else, for a pipeline
 * with one `artifactStore`, {@link SINGLE_REGION}; else the one region of its `artifactStores`
 * (CodePipeline requires one for the pipeline's region); `undefined` when the declaration does not
 * tell: then every action naming a region counts as running in another one.
 */
function pipelineRegion(
  source: PipelineDeclaration,
  region: string | undefined,
): string | typeof SINGLE_REGION | undefined {
  if (region !== undefined) return region;
  if (source.artifactStores === undefined) return SINGLE_REGION;
  const regions = Object.keys(source.artifactStores);
  return regions.length === 1 ? regions[0] : undefined;
}

/**
 * The actions an Approval action gates: those after it in its stage (a higher `runOrder`) and every
 * action of the later stages. A clone drops the approval, so it drops what the approval protects too
 * (a Terraform "apply" behind a "plan" approval must never run from a pull request's branch).
 */
function gatedByApproval(source: PipelineDeclaration): Set<ActionDeclaration> {
  const gated = new Set<ActionDeclaration>();
  let approved = false;
  for (const stage of source.stages) {
    if (approved) {
      for (const action of stage.actions) gated.add(action);
      continue;
    }
    const approvals = stage.actions.filter((action) => action.actionTypeId.category === "Approval");
    if (approvals.length === 0) continue;
    const first = Math.min(...approvals.map((action) => action.runOrder ?? 1));
    for (const action of stage.actions) {
      if ((action.runOrder ?? 1) > first) gated.add(action);
    }
    approved = true;
  }
  return gated;
}

/**
 * A deep copy of declaration data (JSON from the API: objects, arrays, strings, numbers, booleans),
 * so that a clone never shares an object with its source. Several times faster than
 * `structuredClone`, which handles types a declaration never holds.
 */
export function copyData<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyData(item)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === "__proto__") {
      // A member named like this stays a member instead of setting the copy's prototype.
      Object.defineProperty(copy, key, {
        value: copyData(inner),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      copy[key] = copyData(inner);
    }
  }
  return copy as T;
}

/** The members of the source copied as they are: stages and triggers are rebuilt, version dropped. */
const keptMembers = ({
  stages: _stages,
  triggers: _triggers,
  version: _version,
  ...rest
}: PipelineDeclaration) => rest;

const stageMembers = ({ actions: _actions, ...rest }: StageDeclaration) => rest;

/** The tags that mark a clone as branchline's and say whose it is. */
export function cloneTags(
  sourcePipelineName: string,
  prNumber: number,
  branch: string,
  approvedSha?: string,
): Tag[] {
  return [
    { key: TAG.managedBy, value: MANAGED_BY_VALUE },
    { key: TAG.sourcePipeline, value: sanitiseTagValue(sourcePipelineName) },
    { key: TAG.pullRequest, value: String(prNumber) },
    { key: TAG.branch, value: sanitiseTagValue(branch) },
    ...(approvedSha !== undefined ? [{ key: TAG.approvedSha, value: approvedSha }] : []),
  ];
}

/** The commit a maintainer approved, as the clone's tags record it; `undefined`: none. */
export function approvedShaOf(tags: readonly Tag[] | undefined): string | undefined {
  return tags?.find((tag) => tag.key === TAG.approvedSha)?.value;
}

/**
 * The source actions of a clone that read the pull request's head (the ones an execution is pinned
 * by): CodeConnections sources of `headRepository`, branch `headBranch`.
 */
export function headSourceActions(
  clone: PipelineDeclaration,
  headRepository: string,
  headBranch: string,
): string[] {
  return [...allActions(clone)]
    .filter(
      (action) =>
        isConnectionSource(action) &&
        sameRepository(action.configuration?.["FullRepositoryId"] ?? "", headRepository) &&
        action.configuration?.["BranchName"] === headBranch,
    )
    .map((action) => action.name);
}

/** True when the tags say the pipeline is a branchline clone of this source pipeline. */
export function isManagedClone(tags: Tag[], sourcePipelineName: string): boolean {
  const value = (key: string) => tags.find((tag) => tag.key === key)?.value;
  return (
    value(TAG.managedBy) === MANAGED_BY_VALUE &&
    value(TAG.sourcePipeline) === sanitiseTagValue(sourcePipelineName)
  );
}

/** AWS tag values: letters, digits, spaces and `_ . : / = + - @`, at most 256 characters. */
export function sanitiseTagValue(value: string): string {
  return value.replace(/[^\p{L}\p{N} _.:/=+\-@]/gu, "_").slice(0, 256);
}

/**
 * Whether two declarations describe the same pipeline: `version` and members whose value is
 * `undefined` are ignored, and so is the order of object keys.
 */
export function sameDeclaration(a: PipelineDeclaration, b: PipelineDeclaration): boolean {
  const strip = ({ version: _version, ...rest }: PipelineDeclaration) => rest;
  return canonical(strip(a)) === canonical(strip(b));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return Object.fromEntries(entries);
  });
}

function* allActions(pipeline: PipelineDeclaration): Generator<ActionDeclaration> {
  for (const stage of pipeline.stages) yield* stage.actions;
}

function isConnectionSource(action: ActionDeclaration): boolean {
  return (
    action.actionTypeId.category === "Source" &&
    action.actionTypeId.provider === CONNECTION_SOURCE_PROVIDER
  );
}

function readsRepository(action: ActionDeclaration, repository: string): boolean {
  const id = action.configuration?.["FullRepositoryId"];
  return isConnectionSource(action) && id !== undefined && sameRepository(id, repository);
}

function withConfiguration(
  action: ActionDeclaration,
  values: Record<string, string>,
): ActionDeclaration {
  const copy = copyData(action);
  copy.configuration = { ...copy.configuration, ...values };
  return copy;
}

interface CodeBuildVariable {
  name: string;
  value: string;
  type?: string;
}

/**
 * Adds `IMAGE_TAG_PREFIX` to a CodeBuild action's `EnvironmentVariables` JSON, keeping the others.
 * `null` entries (Terraform's `jsonencode` renders a conditional entry that is off that way) are
 * dropped.
 */
function withImageTagPrefix(
  action: ActionDeclaration,
  prefix: string,
  where: string,
  approvedSha?: string,
): ActionDeclaration {
  const current = action.configuration?.["EnvironmentVariables"];
  let variables: CodeBuildVariable[] = [];
  if (current !== undefined && current !== "") {
    const invalid = () =>
      new ConfigurationError(
        `${where}: EnvironmentVariables is not a JSON list of {name, value, type}`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(current);
    } catch {
      throw invalid();
    }
    if (!Array.isArray(parsed)) throw invalid();
    const entries = parsed.filter((entry: unknown) => entry !== null);
    if (!entries.every(isVariable)) throw invalid();
    variables = entries;
  }
  const kept = variables.filter(
    (variable) =>
      variable.name !== IMAGE_TAG_PREFIX_VARIABLE && variable.name !== APPROVED_SHA_VARIABLE,
  );
  kept.push({ name: IMAGE_TAG_PREFIX_VARIABLE, value: prefix, type: "PLAINTEXT" });
  if (approvedSha !== undefined) {
    kept.push({ name: APPROVED_SHA_VARIABLE, value: approvedSha, type: "PLAINTEXT" });
  }
  const json = JSON.stringify(kept);
  if (json.length > LIMITS.configurationValue) {
    throw new ConfigurationError(
      `${where}: EnvironmentVariables with ${IMAGE_TAG_PREFIX_VARIABLE} would be ${json.length} characters, more than CodePipeline's ${LIMITS.configurationValue}`,
    );
  }
  return withConfiguration(action, { EnvironmentVariables: json });
}

/**
 * The CodeBuild action `action` (already a copy) pointed at the PR build project that mirrors its
 * source project.
 */
function inProject(
  action: ActionDeclaration,
  projects: Readonly<Record<string, string>>,
  where: string,
): ActionDeclaration {
  const project = action.configuration?.["ProjectName"];
  if (project === undefined || !Object.hasOwn(projects, project)) {
    const known = Object.keys(projects).join(", ") || "none";
    throw new ConfigurationError(
      `${where}: its CodeBuild project ${project ?? "(no ProjectName)"} has no pull request build project in ${ENV.prBuildProjects} (mapped: ${known}); a clone never builds in a source project`,
    );
  }
  action.configuration = { ...action.configuration, ProjectName: projects[project] as string };
  return action;
}

/** An entry with a name; its other members are CodeBuild's to judge and are kept as they are. */
function isVariable(entry: unknown): entry is CodeBuildVariable {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return false;
  return typeof (entry as Record<string, unknown>)["name"] === "string";
}

function isCommands(action: ActionDeclaration): boolean {
  return (
    action.actionTypeId.category === "Compute" && action.actionTypeId.provider === COMMANDS_PROVIDER
  );
}

/**
 * Adds `IMAGE_TAG_PREFIX` to a Commands action. Unlike CodeBuild actions, whose variables are a JSON
 * string in `configuration.EnvironmentVariables`, a Commands action declares them in the action's
 * own `environmentVariables` member (a list of `{name, value, type?}`, at most 10).
 */
function withCommandsImageTagPrefix(
  action: ActionDeclaration,
  prefix: string,
  where: string,
): ActionDeclaration {
  const copy = copyData(action);
  const kept = (copy.environmentVariables ?? []).filter(
    (variable) => variable.name !== IMAGE_TAG_PREFIX_VARIABLE,
  );
  kept.push({ name: IMAGE_TAG_PREFIX_VARIABLE, value: prefix });
  if (kept.length > LIMITS.actionEnvironmentVariables) {
    throw new ConfigurationError(
      `${where}: a Commands action holds at most ${LIMITS.actionEnvironmentVariables} environment variables, and the clone adds ${IMAGE_TAG_PREFIX_VARIABLE} to ${kept.length - 1}`,
    );
  }
  copy.environmentVariables = kept;
  return copy;
}

/** The variable namespaces the actions of a declaration declare. */
function declaredNamespaces(pipeline: PipelineDeclaration): Set<string> {
  const namespaces = new Set<string>();
  for (const action of allActions(pipeline)) {
    if (action.namespace) namespaces.add(action.namespace);
  }
  return namespaces;
}

/** The namespaces an action reads through `#{Namespace.Variable}` references anywhere in it. */
function namespacesRead(action: ActionDeclaration): Set<string> {
  const read = new Set<string>();
  for (const match of JSON.stringify(action).matchAll(/#\{([A-Za-z0-9@\-_]+)\./g)) {
    if (match[1]) read.add(match[1]);
  }
  return read;
}

/**
 * Drops actions whose input artifacts no remaining action produces, or that read variables of a
 * namespace the source declared but no remaining action declares any more (a dropped action's), and
 * stages left empty; repeats until nothing changes, since each drop can orphan more actions.
 * Built-in namespaces (`codepipeline`, `variables`) are never declared by an action: never dropped.
 */
function dropOrphans(
  stages: StageDeclaration[],
  sourceNamespaces: Set<string>,
): StageDeclaration[] {
  let current = stages;
  for (;;) {
    const remaining = current.flatMap((stage) => stage.actions);
    const produced = new Set(
      remaining.flatMap((a) => (a.outputArtifacts ?? []).map((o) => o.name)),
    );
    const declared = new Set(remaining.flatMap((a) => (a.namespace ? [a.namespace] : [])));
    const provided = (action: ActionDeclaration): boolean =>
      (action.inputArtifacts ?? []).every((input) => produced.has(input.name)) &&
      [...namespacesRead(action)].every((ns) => declared.has(ns) || !sourceNamespaces.has(ns));
    let dropped = false;
    const next = current
      .map((stage) => {
        const actions = stage.actions.filter(provided);
        if (actions.length !== stage.actions.length) dropped = true;
        return { ...stage, actions };
      })
      .filter((stage) => stage.actions.length > 0);
    if (!dropped) return next;
    current = next;
  }
}

/**
 * The shape rules of CodePipeline that dropping actions can break (the source pipeline, which
 * CodePipeline accepted, holds them all): at least two stages; a first stage of source actions only
 * and no source action after it; stage conditions whose rules read only artifacts that still exist;
 * triggers that name a source action of the clone.
 */
function checkShape(clone: PipelineDeclaration, sourceName: string): void {
  const fail = (why: string): never => {
    throw new ConfigurationError(`pipeline ${sourceName}: ${why}`);
  };
  const stages = clone.stages;
  if (stages.length < LIMITS.stages) {
    const left = stages.map((stage) => stage.name).join(", ") || "none";
    fail(
      `its pull request clone would keep ${stages.length} stage (${left}) once Deploy and Approval actions and the actions depending on them are dropped, and CodePipeline needs at least ${LIMITS.stages}; add a build or test stage to the source pipeline`,
    );
  }
  stages.forEach((stage, index) => {
    for (const action of stage.actions) {
      const isSource = action.actionTypeId.category === "Source";
      if (index === 0 && !isSource) {
        fail(
          `the clone's first stage ${stage.name} would hold action ${action.name}, not a source action`,
        );
      }
      if (index > 0 && isSource) {
        fail(`the clone's source action ${action.name} would not be in its first stage`);
      }
    }
  });
  const produced = new Set(
    stages.flatMap((s) => s.actions.flatMap((a) => (a.outputArtifacts ?? []).map((o) => o.name))),
  );
  for (const stage of stages) {
    for (const conditions of [stage.beforeEntry, stage.onSuccess, stage.onFailure]) {
      for (const condition of conditions?.conditions ?? []) {
        for (const rule of condition.rules ?? []) {
          const missing = (rule.inputArtifacts ?? []).find((input) => !produced.has(input.name));
          if (missing) {
            fail(
              `rule ${rule.name} of stage ${stage.name} reads artifact ${missing.name}, which only dropped actions produce`,
            );
          }
        }
      }
    }
  }
  const sources = new Set(stages[0]?.actions.map((action) => action.name));
  for (const trigger of clone.triggers ?? []) {
    if (!sources.has(trigger.gitConfiguration.sourceActionName)) {
      fail(
        `a trigger names ${trigger.gitConfiguration.sourceActionName}, not a source action of the clone`,
      );
    }
  }
}

/**
 * A glob pattern (CodePipeline trigger filters: `*`, `**`, `?`, `[]`, `{}`, `\` escapes) that matches
 * exactly `text`: every character with a meaning in a glob is escaped with `\`.
 */
export function globLiteral(text: string): string {
  return text.replace(/[\\*?[\]{}]/g, (c) => `\\${c}`);
}

/**
 * A V2 trigger that starts the clone on pushes to the pull request's branch, and only those: the
 * branch goes in as a glob literal, so `{main,evil}` never matches `main`.
 *
 * File paths: the source trigger starts the source pipeline when a push or pull request filter
 * matches, each with its own `filePaths` (a filter without them matches any path). The clone's
 * trigger keeps that "any of them" exactly with one push filter per distinct `filePaths` (includes and
 * excludes verbatim) when there are at most 3 (CodePipeline's limit of push filters). More than 3 are
 * merged into one: the union of the includes and the excludes every one of them has, which starts the
 * clone whenever one of the original filters would (and possibly more often). Tag-only push filters
 * never match a branch push and are ignored; when a filter that does has no `filePaths` (or the merged
 * includes exceed 8 patterns), the clone starts on any change, as that filter does.
 */
function branchOnlyTrigger(
  trigger: PipelineTriggerDeclaration,
  branch: string,
  sourceName: string,
): PipelineTriggerDeclaration {
  const pattern = globLiteral(branch);
  if (pattern.length > LIMITS.branchPattern) {
    throw new ConfigurationError(
      `pipeline ${sourceName}: the trigger branch pattern for ${branch.slice(0, 40)}... would be ${pattern.length} characters, more than CodePipeline's ${LIMITS.branchPattern}`,
    );
  }
  const branches = { includes: [pattern] };
  return {
    providerType: trigger.providerType,
    gitConfiguration: {
      sourceActionName: trigger.gitConfiguration.sourceActionName,
      push: clonePathFilters(trigger).map((filePaths) =>
        filePaths ? { branches: copyData(branches), filePaths } : { branches: copyData(branches) },
      ),
    },
  };
}

/** Up to 3 `filePaths` for the clone's push filters (see branchOnlyTrigger); `undefined`: any path. */
function clonePathFilters(
  trigger: PipelineTriggerDeclaration,
): (GitBranchFilterCriteria | undefined)[] {
  const { push = [], pullRequest = [] } = trigger.gitConfiguration;
  const filters = [...push.filter((filter) => !filter.tags || filter.branches), ...pullRequest];
  if (filters.length === 0 || filters.some((filter) => !hasPaths(filter.filePaths))) {
    return [undefined];
  }
  const distinct = new Map<string, GitBranchFilterCriteria>();
  for (const { filePaths } of filters) {
    const paths = normalisedPaths(filePaths ?? {});
    distinct.set(JSON.stringify(paths), paths);
  }
  const all = [...distinct.values()];
  if (all.length <= MAX_PUSH_FILTERS) return all;
  if (all.some((paths) => !paths.includes)) {
    // One of them includes every path: only excludes common to all can stay.
    const excludes = commonExcludes(all);
    return [excludes.length > 0 ? { excludes } : undefined];
  }
  const includes = unique(all.flatMap((paths) => paths.includes ?? []));
  if (includes.length > MAX_PATH_PATTERNS) return [undefined];
  const excludes = commonExcludes(all);
  return [excludes.length > 0 ? { includes, excludes } : { includes }];
}

const MAX_PUSH_FILTERS = 3;
const MAX_PATH_PATTERNS = 8;

function hasPaths(paths: GitBranchFilterCriteria | undefined): boolean {
  return (paths?.includes?.length ?? 0) > 0 || (paths?.excludes?.length ?? 0) > 0;
}

/** A copy with only non-empty `includes` and `excludes`, in that order. */
function normalisedPaths(paths: GitBranchFilterCriteria): GitBranchFilterCriteria {
  const out: GitBranchFilterCriteria = {};
  if (paths.includes?.length) out.includes = [...paths.includes];
  if (paths.excludes?.length) out.excludes = [...paths.excludes];
  return out;
}

function commonExcludes(all: GitBranchFilterCriteria[]): string[] {
  const [first, ...rest] = all;
  return unique(first?.excludes ?? []).filter((pattern) =>
    rest.every((paths) => paths.excludes?.includes(pattern)),
  );
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
