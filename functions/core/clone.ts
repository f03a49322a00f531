/**
 * The clone transform: from the source pipeline's declaration to the declaration of a pull request's
 * pipeline. Pure and deterministic, so an unchanged clone can be recognised and left alone.
 */
import {
  cloneName,
  IMAGE_TAG_PREFIX_VARIABLE,
  imageTagPrefix,
  MANAGED_BY_VALUE,
  TAG,
} from "../shared/names.js";
import { sameRepository, type SourceRef } from "./classify.js";
import { ConfigurationError } from "./errors.js";
import {
  CODEBUILD_PROVIDER,
  CONNECTION_SOURCE_PROVIDER,
  type ActionDeclaration,
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

/** The declaration of the clone of `source` for one pull request. */
export function cloneDeclaration(
  source: PipelineDeclaration,
  target: CloneTarget,
): PipelineDeclaration {
  const repo = sourceRefOf(source).repository;
  const rewritten = new Set<string>();

  const stages: StageDeclaration[] = [];
  for (const stage of source.stages) {
    const actions: ActionDeclaration[] = [];
    for (const action of stage.actions) {
      if (action.actionTypeId.category === "Deploy") continue;
      if (readsRepository(action, repo)) {
        rewritten.add(action.name);
        actions.push(
          withConfiguration(action, {
            FullRepositoryId: target.headRepository,
            BranchName: target.headBranch,
          }),
        );
      } else if (action.actionTypeId.provider === CODEBUILD_PROVIDER) {
        actions.push(withImageTagPrefix(action, imageTagPrefix(target.prNumber)));
      } else {
        actions.push(copyData(action));
      }
    }
    // The stage's own members only: its actions were copied one by one above.
    if (actions.length > 0) stages.push({ ...copyData(stageMembers(stage)), actions });
  }

  const clone: PipelineDeclaration = {
    ...copyData(keptMembers(source)),
    name: cloneName(source.name, target.prNumber),
    stages: dropOrphans(stages),
  };
  if (source.triggers) {
    clone.triggers = source.triggers.map((trigger) =>
      rewritten.has(trigger.gitConfiguration.sourceActionName)
        ? branchOnlyTrigger(trigger, target.headBranch)
        : copyData(trigger),
    );
  }
  return clone;
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
export function cloneTags(sourcePipelineName: string, prNumber: number, branch: string): Tag[] {
  return [
    { key: TAG.managedBy, value: MANAGED_BY_VALUE },
    { key: TAG.sourcePipeline, value: sanitiseTagValue(sourcePipelineName) },
    { key: TAG.pullRequest, value: String(prNumber) },
    { key: TAG.branch, value: sanitiseTagValue(branch) },
  ];
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

/** Adds `IMAGE_TAG_PREFIX` to the action's `EnvironmentVariables` JSON, keeping the others. */
function withImageTagPrefix(action: ActionDeclaration, prefix: string): ActionDeclaration {
  const current = action.configuration?.["EnvironmentVariables"];
  let variables: CodeBuildVariable[] = [];
  if (current !== undefined && current !== "") {
    try {
      const parsed: unknown = JSON.parse(current);
      if (!Array.isArray(parsed)) throw new Error("not a list");
      variables = parsed as CodeBuildVariable[];
    } catch {
      throw new ConfigurationError(
        `action ${action.name}: EnvironmentVariables is not a JSON list of {name, value, type}`,
      );
    }
  }
  const kept = variables.filter((variable) => variable.name !== IMAGE_TAG_PREFIX_VARIABLE);
  kept.push({ name: IMAGE_TAG_PREFIX_VARIABLE, value: prefix, type: "PLAINTEXT" });
  return withConfiguration(action, { EnvironmentVariables: JSON.stringify(kept) });
}

/** Drops actions whose input artifacts no remaining action produces, and stages left empty. */
function dropOrphans(stages: StageDeclaration[]): StageDeclaration[] {
  let current = stages;
  for (;;) {
    const produced = new Set(
      current.flatMap((stage) =>
        stage.actions.flatMap((a) => (a.outputArtifacts ?? []).map((o) => o.name)),
      ),
    );
    let dropped = false;
    const next = current
      .map((stage) => {
        const actions = stage.actions.filter((a) =>
          (a.inputArtifacts ?? []).every((input) => produced.has(input.name)),
        );
        if (actions.length !== stage.actions.length) dropped = true;
        return { ...stage, actions };
      })
      .filter((stage) => stage.actions.length > 0);
    if (!dropped) return next;
    current = next;
  }
}

/** A V2 trigger that starts the clone on pushes to the pull request's branch, and only those. */
function branchOnlyTrigger(
  trigger: PipelineTriggerDeclaration,
  branch: string,
): PipelineTriggerDeclaration {
  const pushes = trigger.gitConfiguration.push ?? [];
  const filePaths = pushes.find((push) => push.filePaths)?.filePaths;
  return {
    providerType: trigger.providerType,
    gitConfiguration: {
      sourceActionName: trigger.gitConfiguration.sourceActionName,
      push: [
        {
          branches: { includes: [branch] },
          ...(filePaths ? { filePaths: copyData(filePaths) } : {}),
        },
      ],
    },
  };
}
