/** PipelineExecutions over the AWS SDK v3 CodePipeline client. */
import {
  GetPipelineExecutionCommand,
  ListPipelineExecutionsCommand,
  type CodePipelineClient,
} from "@aws-sdk/client-codepipeline";
import type { ExecutionDetails, PipelineExecutions } from "../app/feedback.js";
import type { PipelineActivity } from "../app/ports.js";
import { callOptions, isAwsError } from "./aws-config.js";

export class CodePipelineExecutions implements PipelineExecutions {
  constructor(
    private readonly client: CodePipelineClient,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * One ListPipelineExecutions page (newest first) gives status, times and source revisions in one
   * call; the execution an event names is almost always on it. Otherwise GetPipelineExecution gives
   * status and revisions, without times.
   */
  async find(pipeline: string, executionId: string): Promise<ExecutionDetails | undefined> {
    try {
      const listed = await this.client.send(
        new ListPipelineExecutionsCommand({ pipelineName: pipeline, maxResults: 100 }),
        callOptions(this.signal),
      );
      const summary = listed.pipelineExecutionSummaries?.find(
        (candidate) => candidate.pipelineExecutionId === executionId,
      );
      if (summary) {
        return {
          status: summary.status ?? "",
          ...(summary.startTime ? { startTime: summary.startTime } : {}),
          ...(summary.lastUpdateTime ? { lastUpdateTime: summary.lastUpdateTime } : {}),
          revisions: (summary.sourceRevisions ?? []).map((revision) => ({
            ...(revision.actionName ? { actionName: revision.actionName } : {}),
            ...(revision.revisionId ? { revisionId: revision.revisionId } : {}),
          })),
        };
      }
      const out = await this.client.send(
        new GetPipelineExecutionCommand({
          pipelineName: pipeline,
          pipelineExecutionId: executionId,
        }),
        callOptions(this.signal),
      );
      const execution = out.pipelineExecution;
      if (!execution) return undefined;
      return {
        status: execution.status ?? "",
        revisions: (execution.artifactRevisions ?? []).map((revision) => ({
          ...(revision.name ? { name: revision.name } : {}),
          ...(revision.revisionId ? { revisionId: revision.revisionId } : {}),
        })),
      };
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException", "PipelineExecutionNotFoundException")) {
        return undefined;
      }
      throw error;
    }
  }
}

/** PipelineActivity: one ListPipelineExecutions call (newest first, one result). */
export class CodePipelineActivity implements PipelineActivity {
  constructor(
    private readonly client: CodePipelineClient,
    private readonly signal?: AbortSignal,
  ) {}

  async latestStart(pipelineName: string): Promise<Date | undefined> {
    try {
      const listed = await this.client.send(
        new ListPipelineExecutionsCommand({ pipelineName, maxResults: 1 }),
        callOptions(this.signal),
      );
      return listed.pipelineExecutionSummaries?.[0]?.startTime;
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException")) return undefined;
      throw error;
    }
  }
}
