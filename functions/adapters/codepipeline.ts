/** PipelineStore over the AWS SDK v3 CodePipeline client. */
import {
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  ListPipelineExecutionsCommand,
  paginateListPipelines,
  paginateListTagsForResource,
  StartPipelineExecutionCommand,
  StopPipelineExecutionCommand,
  TagResourceCommand,
  UpdatePipelineCommand,
  type CodePipelineClient,
  type PipelineDeclaration as SdkPipelineDeclaration,
} from "@aws-sdk/client-codepipeline";
import type { PipelineDeclaration, Tag } from "../core/pipeline.js";
import {
  PipelineNameInUseError,
  type PipelineExecutionSummary,
  type PipelineStore,
  type PipelineSummary,
  type StoredPipeline,
} from "../app/ports.js";
import { callOptions, isAwsError } from "./aws-config.js";

/** Statuses of executions that still hold the pipeline. */
const RUNNING = new Set(["InProgress", "Stopping"]);

export class CodePipelineStore implements PipelineStore {
  constructor(
    private readonly client: CodePipelineClient,
    private readonly signal?: AbortSignal,
  ) {}

  async get(name: string): Promise<StoredPipeline | undefined> {
    try {
      const out = await this.client.send(
        new GetPipelineCommand({ name }),
        callOptions(this.signal),
      );
      if (!out.pipeline || !out.metadata?.pipelineArn) {
        throw new Error(`GetPipeline ${name} answered without a pipeline or its ARN`);
      }
      return { declaration: fromSdk(out.pipeline), arn: out.metadata.pipelineArn };
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException")) return undefined;
      throw error;
    }
  }

  async create(declaration: PipelineDeclaration, tags: Tag[]): Promise<void> {
    try {
      await this.client.send(
        new CreatePipelineCommand({ pipeline: toSdk(declaration), tags }),
        callOptions(this.signal),
      );
    } catch (error) {
      if (isAwsError(error, "PipelineNameInUseException")) {
        throw new PipelineNameInUseError(`a pipeline named ${declaration.name} exists already`);
      }
      throw error;
    }
  }

  async update(declaration: PipelineDeclaration): Promise<void> {
    await this.client.send(
      new UpdatePipelineCommand({ pipeline: toSdk(declaration) }),
      callOptions(this.signal),
    );
  }

  async delete(name: string): Promise<void> {
    await this.client.send(new DeletePipelineCommand({ name }), callOptions(this.signal));
  }

  async tags(arn: string): Promise<Tag[] | undefined> {
    try {
      const tags: Tag[] = [];
      for await (const page of paginateListTagsForResource(
        { client: this.client },
        { resourceArn: arn },
        callOptions(this.signal),
      )) {
        for (const tag of page.tags ?? [])
          tags.push({ key: tag.key ?? "", value: tag.value ?? "" });
      }
      return tags;
    } catch (error) {
      if (isAwsError(error, "ResourceNotFoundException", "PipelineNotFoundException"))
        return undefined;
      throw error;
    }
  }

  async list(): Promise<PipelineSummary[]> {
    const pipelines: PipelineSummary[] = [];
    for await (const page of paginateListPipelines(
      { client: this.client, pageSize: 1000 },
      {},
      callOptions(this.signal),
    )) {
      for (const summary of page.pipelines ?? []) {
        if (!summary.name) continue;
        pipelines.push({
          name: summary.name,
          ...(summary.pipelineType ? { pipelineType: summary.pipelineType } : {}),
          ...(summary.created ? { created: summary.created } : {}),
          ...(summary.updated ? { updated: summary.updated } : {}),
        });
      }
    }
    return pipelines;
  }

  /**
   * Executions come newest first; those still running are among the newest 100, so one page is
   * enough and keeps a close to a single call.
   */
  async inProgressExecutions(name: string): Promise<PipelineExecutionSummary[]> {
    let out;
    try {
      out = await this.client.send(
        new ListPipelineExecutionsCommand({ pipelineName: name, maxResults: 100 }),
        callOptions(this.signal),
      );
    } catch (error) {
      // Deleted meanwhile (a concurrent close): nothing of it runs any more.
      if (isAwsError(error, "PipelineNotFoundException")) return [];
      throw error;
    }
    return (out.pipelineExecutionSummaries ?? [])
      .filter((summary) => summary.pipelineExecutionId && RUNNING.has(summary.status ?? ""))
      .map((summary) => ({
        pipelineExecutionId: summary.pipelineExecutionId ?? "",
        status: summary.status ?? "",
        ...(summary.startTime ? { startTime: summary.startTime } : {}),
        sourceRevisions: (summary.sourceRevisions ?? []).map((revision) => ({
          actionName: revision.actionName ?? "",
          ...(revision.revisionId ? { revisionId: revision.revisionId } : {}),
        })),
      }));
  }

  async startExecution(
    name: string,
    pins: readonly { actionName: string; commit: string }[],
    clientRequestToken?: string,
  ): Promise<string> {
    const out = await this.client.send(
      new StartPipelineExecutionCommand({
        name,
        ...(pins.length > 0
          ? {
              sourceRevisions: pins.map((pin) => ({
                actionName: pin.actionName,
                revisionType: "COMMIT_ID" as const,
                revisionValue: pin.commit,
              })),
            }
          : {}),
        ...(clientRequestToken !== undefined ? { clientRequestToken } : {}),
      }),
      callOptions(this.signal),
    );
    return out.pipelineExecutionId ?? "";
  }

  async tag(arn: string, tags: Tag[]): Promise<void> {
    await this.client.send(
      new TagResourceCommand({ resourceArn: arn, tags }),
      callOptions(this.signal),
    );
  }

  async recentExecutions(name: string, max: number): Promise<PipelineExecutionSummary[]> {
    let out;
    try {
      out = await this.client.send(
        new ListPipelineExecutionsCommand({ pipelineName: name, maxResults: max }),
        callOptions(this.signal),
      );
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException")) return [];
      throw error;
    }
    return (out.pipelineExecutionSummaries ?? []).slice(0, max).map((summary) => ({
      pipelineExecutionId: summary.pipelineExecutionId ?? "",
      status: summary.status ?? "",
      ...(summary.startTime ? { startTime: summary.startTime } : {}),
      sourceRevisions: (summary.sourceRevisions ?? []).map((revision) => ({
        actionName: revision.actionName ?? "",
        ...(revision.revisionId ? { revisionId: revision.revisionId } : {}),
      })),
    }));
  }

  async stopExecution(name: string, executionId: string, reason: string): Promise<void> {
    try {
      await this.client.send(
        new StopPipelineExecutionCommand({
          pipelineName: name,
          pipelineExecutionId: executionId,
          abandon: true,
          reason: reason.slice(0, 200),
        }),
        callOptions(this.signal),
      );
    } catch (error) {
      if (
        isAwsError(
          error,
          "PipelineExecutionNotStoppableException",
          "DuplicatedStopRequestException",
          // The pipeline was deleted meanwhile, and its executions with it.
          "PipelineNotFoundException",
        )
      )
        return;
      throw error;
    }
  }
}

/**
 * Our declaration type is the SDK's with enums widened to strings; the values come from (and go
 * back to) the same API, so the shapes match member for member.
 */
function toSdk(declaration: PipelineDeclaration): SdkPipelineDeclaration {
  return declaration as unknown as SdkPipelineDeclaration;
}

function fromSdk(declaration: SdkPipelineDeclaration): PipelineDeclaration {
  return declaration as unknown as PipelineDeclaration;
}
