/** CodePipeline state and operations of the AWS test double. */
import { randomUUID } from "node:crypto";
import type { PipelineDeclaration, Tag } from "../../../functions/core/pipeline.js";
import { AwsError, page } from "./errors.js";

export interface StoredPipelineState {
  declaration: PipelineDeclaration;
  tags: Tag[];
  arn: string;
  version: number;
  /** Epoch milliseconds. */
  created: number;
  updated: number;
}

export interface SourceRevision {
  actionName: string;
  revisionId?: string;
  revisionSummary?: string;
  revisionUrl?: string;
}

export interface ExecutionState {
  pipelineExecutionId: string;
  pipelineVersion: number;
  status: string;
  statusSummary?: string;
  /** Epoch milliseconds. */
  startTime: number;
  lastUpdateTime: number;
  sourceRevisions: SourceRevision[];
  trigger: { triggerType: string; triggerDetail?: string };
  stopTrigger?: { reason?: string };
  executionMode: string;
  clientRequestToken?: string;
}

export interface SeedExecution {
  status: string;
  /** When the execution started (default: now). */
  startTime?: Date;
  /** When it last changed (default: its start). */
  lastUpdateTime?: Date;
  sourceRevisions?: SourceRevision[];
  trigger?: { triggerType: string; triggerDetail?: string };
  statusSummary?: string;
}

/** One action's run in a pipeline execution (ListActionExecutions). */
export interface SeedActionExecution {
  stageName: string;
  actionName: string;
  /** InProgress, Abandoned, Succeeded or Failed. */
  status: string;
  startTime?: Date;
  lastUpdateTime?: Date;
  actionTypeId?: { category: string; owner: string; provider: string; version: string };
  configuration?: Record<string, string>;
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  errorDetails?: { code: string; message: string };
}

interface ActionExecutionState extends SeedActionExecution {
  pipelineExecutionId: string;
  actionExecutionId: string;
  startTime: Date;
  lastUpdateTime: Date;
}

type Input = Record<string, unknown>;

const clone = <T>(value: T): T => structuredClone(value);
const seconds = (ms: number): number => ms / 1000;

function str(input: Input, name: string): string {
  return String(input[name] ?? "");
}

export class CodePipelineState {
  readonly pipelines = new Map<string, StoredPipelineState>();
  readonly executionsByPipeline = new Map<string, ExecutionState[]>();
  /** Action executions by pipeline name, in the order seeded. */
  readonly actionExecutions = new Map<string, ActionExecutionState[]>();
  /** Strictly increasing clock so that listings sorted by time are deterministic. */
  private lastTick = 0;

  constructor(
    private readonly region: string,
    private readonly accountId: string,
    /** Where StopPipelineExecution leaves an execution: real CodePipeline shows Stopping first. */
    private readonly stoppedStatus: "Stopped" | "Stopping" = "Stopped",
  ) {}

  now(): number {
    this.lastTick = Math.max(Date.now(), this.lastTick + 1);
    return this.lastTick;
  }

  arn(name: string): string {
    return `arn:aws:codepipeline:${this.region}:${this.accountId}:${name}`;
  }

  reset(): void {
    this.pipelines.clear();
    this.executionsByPipeline.clear();
    this.actionExecutions.clear();
  }

  /** Records an action's run in an execution; returns its action execution id. */
  seedActionExecution(
    pipelineName: string,
    pipelineExecutionId: string,
    seed: SeedActionExecution,
  ): string {
    const list = this.actionExecutions.get(pipelineName) ?? [];
    const now = new Date(this.now());
    const action: ActionExecutionState = {
      ...clone(seed),
      pipelineExecutionId,
      actionExecutionId: randomUUID(),
      startTime: seed.startTime ?? now,
      lastUpdateTime: seed.lastUpdateTime ?? seed.startTime ?? now,
    };
    list.push(action);
    this.actionExecutions.set(pipelineName, list);
    return action.actionExecutionId;
  }

  /** Changes a seeded action execution (its status, times, result). */
  updateActionExecution(
    pipelineName: string,
    actionExecutionId: string,
    change: Partial<SeedActionExecution>,
  ): void {
    const action = this.actionExecutions
      .get(pipelineName)
      ?.find((a) => a.actionExecutionId === actionExecutionId);
    if (!action) throw new Error(`no action execution ${actionExecutionId} in ${pipelineName}`);
    Object.assign(action, clone(change));
  }

  /** Changes a seeded execution's status (and when it last changed: now unless given). */
  updateExecution(
    pipelineName: string,
    executionId: string,
    change: { status: string; lastUpdateTime?: Date },
  ): void {
    const execution = this.findExecution(pipelineName, executionId);
    if (!execution) throw new Error(`no execution ${executionId} in ${pipelineName}`);
    execution.status = change.status;
    execution.lastUpdateTime = change.lastUpdateTime?.getTime() ?? this.now();
  }

  // ---- seeding (test-facing) ----

  seedPipeline(
    declaration: PipelineDeclaration,
    tags: Tag[] = [],
    options: { created?: Date } = {},
  ): string {
    const now = options.created?.getTime() ?? this.now();
    const version = declaration.version ?? 1;
    const stored: StoredPipelineState = {
      declaration: { ...clone(declaration), version },
      tags: clone(tags),
      arn: this.arn(declaration.name),
      version,
      created: now,
      updated: now,
    };
    this.pipelines.set(declaration.name, stored);
    return stored.arn;
  }

  seedExecution(pipelineName: string, seed: SeedExecution): string {
    const pipeline = this.pipelines.get(pipelineName);
    const now = seed.startTime?.getTime() ?? this.now();
    const execution: ExecutionState = {
      pipelineExecutionId: randomUUID(),
      pipelineVersion: pipeline?.version ?? 1,
      status: seed.status,
      startTime: now,
      lastUpdateTime: seed.lastUpdateTime?.getTime() ?? now,
      sourceRevisions: clone(seed.sourceRevisions ?? []),
      trigger: clone(seed.trigger ?? { triggerType: "Webhook" }),
      executionMode: pipeline?.declaration.executionMode ?? "SUPERSEDED",
    };
    if (seed.statusSummary !== undefined) execution.statusSummary = seed.statusSummary;
    this.executionList(pipelineName).push(execution);
    return execution.pipelineExecutionId;
  }

  private executionList(pipelineName: string): ExecutionState[] {
    let list = this.executionsByPipeline.get(pipelineName);
    if (!list) {
      list = [];
      this.executionsByPipeline.set(pipelineName, list);
    }
    return list;
  }

  private requirePipeline(name: string): StoredPipelineState {
    const pipeline = this.pipelines.get(name);
    if (!pipeline) {
      throw new AwsError(
        "PipelineNotFoundException",
        `Account '${this.accountId}' does not have a pipeline with name '${name}'`,
      );
    }
    return pipeline;
  }

  private pipelineByArn(arn: string): StoredPipelineState {
    if (!arn.startsWith("arn:")) throw new AwsError("InvalidArnException", `Invalid ARN: ${arn}`);
    for (const pipeline of this.pipelines.values()) {
      if (pipeline.arn === arn) return pipeline;
    }
    throw new AwsError("ResourceNotFoundException", `The resource with ARN ${arn} was not found.`);
  }

  private describe(pipeline: StoredPipelineState): unknown {
    return {
      pipeline: clone(pipeline.declaration),
      metadata: {
        pipelineArn: pipeline.arn,
        created: seconds(pipeline.created),
        updated: seconds(pipeline.updated),
      },
    };
  }

  // ---- operations ----

  handle(operation: string, input: Input): unknown {
    switch (operation) {
      case "GetPipeline": {
        const pipeline = this.requirePipeline(str(input, "name"));
        if (input.version !== undefined && input.version !== pipeline.version) {
          throw new AwsError(
            "PipelineVersionNotFoundException",
            `Pipeline '${pipeline.declaration.name}' has no version ${String(input.version)}`,
          );
        }
        return this.describe(pipeline);
      }
      case "CreatePipeline": {
        const declaration = clone(input.pipeline) as PipelineDeclaration;
        if (this.pipelines.has(declaration.name)) {
          throw new AwsError(
            "PipelineNameInUseException",
            `A pipeline with the name '${declaration.name}' already exists in account '${this.accountId}'`,
          );
        }
        checkStructure(declaration);
        const tags = (input.tags as Tag[] | undefined) ?? [];
        checkTags(tags);
        const now = this.now();
        const stored: StoredPipelineState = {
          declaration: {
            ...declaration,
            pipelineType: declaration.pipelineType ?? "V1",
            executionMode: declaration.executionMode ?? "SUPERSEDED",
            version: 1,
          },
          tags: clone(tags),
          arn: this.arn(declaration.name),
          version: 1,
          created: now,
          updated: now,
        };
        this.pipelines.set(declaration.name, stored);
        return { pipeline: clone(stored.declaration), tags: clone(stored.tags) };
      }
      case "UpdatePipeline": {
        const declaration = clone(input.pipeline) as PipelineDeclaration;
        const existing = this.pipelines.get(declaration.name);
        if (!existing) {
          // The model lists no PipelineNotFoundException for UpdatePipeline.
          throw new AwsError(
            "ValidationException",
            `Pipeline '${declaration.name}' does not exist in account '${this.accountId}'`,
          );
        }
        checkStructure(declaration);
        existing.version += 1;
        existing.updated = this.now();
        existing.declaration = {
          ...declaration,
          pipelineType: declaration.pipelineType ?? existing.declaration.pipelineType ?? "V1",
          executionMode:
            declaration.executionMode ?? existing.declaration.executionMode ?? "SUPERSEDED",
          version: existing.version,
        };
        return { pipeline: clone(existing.declaration) };
      }
      case "DeletePipeline": {
        // Deleting a pipeline that does not exist succeeds (the model lists no not-found error).
        const name = str(input, "name");
        this.pipelines.delete(name);
        this.executionsByPipeline.delete(name);
        return {};
      }
      case "ListPipelines": {
        const all = [...this.pipelines.values()].sort((a, b) =>
          a.declaration.name < b.declaration.name ? -1 : 1,
        );
        const { items, nextToken } = page(
          all,
          "ListPipelines",
          input.nextToken,
          input.maxResults,
          100,
          "InvalidNextTokenException",
        );
        return {
          pipelines: items.map((p) => ({
            name: p.declaration.name,
            version: p.version,
            pipelineType: p.declaration.pipelineType ?? "V1",
            executionMode: p.declaration.executionMode ?? "SUPERSEDED",
            created: seconds(p.created),
            updated: seconds(p.updated),
          })),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case "ListTagsForResource": {
        const pipeline = this.pipelineByArn(str(input, "resourceArn"));
        const { items, nextToken } = page(
          pipeline.tags,
          `ListTagsForResource:${pipeline.arn}`,
          input.nextToken,
          input.maxResults,
          50,
          "InvalidNextTokenException",
        );
        return { tags: clone(items), ...(nextToken ? { nextToken } : {}) };
      }
      case "TagResource": {
        const pipeline = this.pipelineByArn(str(input, "resourceArn"));
        const tags = input.tags as Tag[];
        checkTags(tags);
        for (const tag of tags) {
          const existing = pipeline.tags.find((t) => t.key === tag.key);
          if (existing) existing.value = tag.value;
          else pipeline.tags.push({ key: tag.key, value: tag.value });
        }
        if (pipeline.tags.length > 50) {
          throw new AwsError("TooManyTagsException", "A resource can have at most 50 tags.");
        }
        return {};
      }
      case "UntagResource": {
        const pipeline = this.pipelineByArn(str(input, "resourceArn"));
        const keys = new Set(input.tagKeys as string[]);
        pipeline.tags = pipeline.tags.filter((t) => !keys.has(t.key));
        return {};
      }
      case "ListPipelineExecutions": {
        const name = str(input, "pipelineName");
        this.requirePipeline(name);
        const newestFirst = [...this.executionList(name)].sort((a, b) => b.startTime - a.startTime);
        const { items, nextToken } = page(
          newestFirst,
          `ListPipelineExecutions:${name}`,
          input.nextToken,
          input.maxResults,
          100,
          "InvalidNextTokenException",
        );
        return {
          pipelineExecutionSummaries: items.map((e) => executionSummary(e)),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case "GetPipelineExecution": {
        const name = str(input, "pipelineName");
        const pipeline = this.requirePipeline(name);
        const execution = this.findExecution(name, str(input, "pipelineExecutionId"));
        if (!execution) {
          throw new AwsError(
            "PipelineExecutionNotFoundException",
            `Pipeline execution '${str(input, "pipelineExecutionId")}' not found in pipeline '${name}'`,
          );
        }
        return {
          pipelineExecution: {
            pipelineName: pipeline.declaration.name,
            pipelineVersion: execution.pipelineVersion,
            pipelineExecutionId: execution.pipelineExecutionId,
            status: execution.status,
            ...(execution.statusSummary ? { statusSummary: execution.statusSummary } : {}),
            artifactRevisions: execution.sourceRevisions.map((r) => ({
              name: r.actionName,
              revisionId: r.revisionId,
              revisionSummary: r.revisionSummary,
              revisionUrl: r.revisionUrl,
            })),
            trigger: clone(execution.trigger),
            executionMode: execution.executionMode,
            executionType: "STANDARD",
          },
        };
      }
      case "GetPipelineState": {
        const name = str(input, "name");
        const pipeline = this.requirePipeline(name);
        const latest = [...this.executionList(name)].sort((a, b) => b.startTime - a.startTime)[0];
        return {
          pipelineName: name,
          pipelineVersion: pipeline.version,
          stageStates: pipeline.declaration.stages.map((stage) => ({
            stageName: stage.name,
            inboundTransitionState: { enabled: true },
            actionStates: stage.actions.map((a) => ({ actionName: a.name })),
            ...(latest
              ? {
                  latestExecution: {
                    pipelineExecutionId: latest.pipelineExecutionId,
                    status: latest.status,
                  },
                }
              : {}),
          })),
          created: seconds(pipeline.created),
          updated: seconds(pipeline.updated),
        };
      }
      case "ListActionExecutions": {
        const name = str(input, "pipelineName");
        this.requirePipeline(name);
        const filter = (input.filter as Input | undefined) ?? {};
        const executionId = filter.pipelineExecutionId as string | undefined;
        if (executionId !== undefined && !this.findExecution(name, executionId)) {
          throw new AwsError(
            "PipelineExecutionNotFoundException",
            `Pipeline execution '${executionId}' not found in pipeline '${name}'`,
          );
        }
        // Newest first, as CodePipeline lists them.
        const matching = (this.actionExecutions.get(name) ?? [])
          .filter((a) => executionId === undefined || a.pipelineExecutionId === executionId)
          .map((a, index) => ({ a, index }))
          .sort((x, y) => y.a.startTime.getTime() - x.a.startTime.getTime() || y.index - x.index)
          .map(({ a }) => a);
        const { items, nextToken } = page(
          matching,
          `ListActionExecutions:${name}:${executionId ?? ""}`,
          input.nextToken,
          input.maxResults,
          100,
          "InvalidNextTokenException",
        );
        return {
          actionExecutionDetails: items.map((a) => actionExecutionDetail(a)),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case "StartPipelineExecution": {
        const name = str(input, "name");
        const pipeline = this.requirePipeline(name);
        const token = input.clientRequestToken as string | undefined;
        const list = this.executionList(name);
        const repeated = token ? list.find((e) => e.clientRequestToken === token) : undefined;
        if (repeated) return { pipelineExecutionId: repeated.pipelineExecutionId };
        const now = this.now();
        const execution: ExecutionState = {
          pipelineExecutionId: randomUUID(),
          pipelineVersion: pipeline.version,
          status: "InProgress",
          startTime: now,
          lastUpdateTime: now,
          sourceRevisions: ((input.sourceRevisions as Input[] | undefined) ?? []).map((r) => ({
            actionName: String(r.actionName),
            revisionId: String(r.revisionValue ?? ""),
          })),
          trigger: {
            triggerType: "StartPipelineExecution",
            triggerDetail: `arn:aws:sts::${this.accountId}:assumed-role/branchline/test`,
          },
          executionMode: pipeline.declaration.executionMode ?? "SUPERSEDED",
        };
        if (token) execution.clientRequestToken = token;
        list.push(execution);
        return { pipelineExecutionId: execution.pipelineExecutionId };
      }
      case "StopPipelineExecution": {
        const name = str(input, "pipelineName");
        this.requirePipeline(name);
        const id = str(input, "pipelineExecutionId");
        const execution = this.findExecution(name, id);
        if (!execution) {
          throw new AwsError(
            "PipelineExecutionNotStoppableException",
            `Pipeline execution '${id}' of pipeline '${name}' was not found or cannot be stopped.`,
          );
        }
        if (execution.status === "Stopping" || execution.status === "Stopped") {
          throw new AwsError(
            "DuplicatedStopRequestException",
            `Pipeline execution '${id}' is already ${execution.status.toLowerCase()}.`,
          );
        }
        if (execution.status !== "InProgress") {
          throw new AwsError(
            "PipelineExecutionNotStoppableException",
            `Pipeline execution '${id}' is ${execution.status} and cannot be stopped.`,
          );
        }
        // Real CodePipeline passes through Stopping; by default the double settles at once.
        execution.status = this.stoppedStatus;
        execution.lastUpdateTime = this.now();
        const reason = input.reason as string | undefined;
        execution.stopTrigger = reason === undefined ? {} : { reason };
        return { pipelineExecutionId: id };
      }
      default:
        throw new AwsError("UnknownOperationException", `Unknown operation ${operation}`);
    }
  }

  private findExecution(pipelineName: string, id: string): ExecutionState | undefined {
    return this.executionList(pipelineName).find((e) => e.pipelineExecutionId === id);
  }
}

function executionSummary(e: ExecutionState): unknown {
  return {
    pipelineExecutionId: e.pipelineExecutionId,
    status: e.status,
    ...(e.statusSummary ? { statusSummary: e.statusSummary } : {}),
    startTime: seconds(e.startTime),
    lastUpdateTime: seconds(e.lastUpdateTime),
    sourceRevisions: clone(e.sourceRevisions),
    trigger: clone(e.trigger),
    ...(e.stopTrigger ? { stopTrigger: clone(e.stopTrigger) } : {}),
    executionMode: e.executionMode,
    executionType: "STANDARD",
  };
}

function checkTags(tags: Tag[]): void {
  const keys = new Set<string>();
  for (const tag of tags) {
    if (keys.has(tag.key)) {
      throw new AwsError("InvalidTagsException", `Duplicate tag key '${tag.key}'.`);
    }
    if (tag.key.toLowerCase().startsWith("aws:")) {
      throw new AwsError("InvalidTagsException", `Tag keys may not start with 'aws:'.`);
    }
    keys.add(tag.key);
  }
  if (tags.length > 50) throw new AwsError("TooManyTagsException", "At most 50 tags are allowed.");
}

/** A modest version of CodePipeline's structural checks on a declaration. */
function checkStructure(declaration: PipelineDeclaration): void {
  const fail = (message: string): never => {
    throw new AwsError("InvalidStructureException", message);
  };
  const stores = declaration.artifactStores ? Object.keys(declaration.artifactStores).length : 0;
  if (!declaration.artifactStore && stores === 0) {
    fail("Pipeline must have either artifactStore or artifactStores");
  }
  if (declaration.artifactStore && stores > 0) {
    fail("Pipeline cannot have both artifactStore and artifactStores");
  }
  const stages = declaration.stages;
  if (stages.length < 2) fail("Pipeline must contain at least two stages");
  const stageNames = new Set<string>();
  const produced = new Set<string>();
  stages.forEach((stage, index) => {
    if (stageNames.has(stage.name)) fail(`Stage name '${stage.name}' is not unique`);
    stageNames.add(stage.name);
    if (stage.actions.length === 0) fail(`Stage '${stage.name}' must contain at least one action`);
    const actionNames = new Set<string>();
    for (const action of stage.actions) {
      if (actionNames.has(action.name)) {
        fail(`Action name '${action.name}' is not unique in stage '${stage.name}'`);
      }
      actionNames.add(action.name);
      const isSource = action.actionTypeId.category === "Source";
      if (index === 0 && !isSource) {
        fail(`The first stage '${stage.name}' may contain only Source actions`);
      }
      if (index > 0 && isSource) {
        fail(`Source action '${action.name}' must be in the first stage`);
      }
    }
    // Input artifacts must come from an earlier stage or an earlier run order in this stage.
    const byRunOrder = [...stage.actions].sort((a, b) => (a.runOrder ?? 1) - (b.runOrder ?? 1));
    const producedHere = new Map<string, number>();
    for (const action of byRunOrder) {
      for (const artifact of action.inputArtifacts ?? []) {
        const order = producedHere.get(artifact.name);
        const earlier = order !== undefined && order < (action.runOrder ?? 1);
        if (!produced.has(artifact.name) && !earlier) {
          fail(
            `Input artifact '${artifact.name}' of action '${action.name}' is not the output of an earlier action`,
          );
        }
      }
      for (const artifact of action.outputArtifacts ?? []) {
        if (produced.has(artifact.name) || producedHere.has(artifact.name)) {
          fail(`Output artifact name '${artifact.name}' is not unique in the pipeline`);
        }
        producedHere.set(artifact.name, action.runOrder ?? 1);
      }
    }
    for (const name of producedHere.keys()) produced.add(name);
  });
}

function actionExecutionDetail(a: ActionExecutionState): unknown {
  const result = {
    ...(a.externalExecutionId ? { externalExecutionId: a.externalExecutionId } : {}),
    ...(a.externalExecutionUrl ? { externalExecutionUrl: a.externalExecutionUrl } : {}),
    ...(a.errorDetails ? { errorDetails: clone(a.errorDetails) } : {}),
  };
  return {
    pipelineExecutionId: a.pipelineExecutionId,
    actionExecutionId: a.actionExecutionId,
    pipelineVersion: 1,
    stageName: a.stageName,
    actionName: a.actionName,
    startTime: seconds(a.startTime.getTime()),
    lastUpdateTime: seconds(a.lastUpdateTime.getTime()),
    status: a.status,
    input: {
      actionTypeId: clone(
        a.actionTypeId ?? { category: "Build", owner: "AWS", provider: "CodeBuild", version: "1" },
      ),
      configuration: clone(a.configuration ?? {}),
      resolvedConfiguration: clone(a.configuration ?? {}),
      inputArtifacts: [],
    },
    output: { outputArtifacts: [], executionResult: result, outputVariables: {} },
  };
}
