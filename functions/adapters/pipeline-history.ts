/**
 * A pipeline's execution history over the AWS SDK v3 CodePipeline client, for the operator CLI: the
 * latest execution, and every execution started since a given time.
 */
import {
  ListPipelineExecutionsCommand,
  paginateListPipelineExecutions,
  type CodePipelineClient,
  type PipelineExecutionSummary as SdkExecutionSummary,
} from "@aws-sdk/client-codepipeline";
import { callOptions, isAwsError } from "./aws-config.js";

export interface ExecutionRecord {
  pipelineExecutionId: string;
  status: string;
  startTime?: Date;
  lastUpdateTime?: Date;
}

export class CodePipelineHistory {
  constructor(
    private readonly client: CodePipelineClient,
    private readonly signal?: AbortSignal,
  ) {}

  /** The newest execution (one call), or `undefined` when the pipeline never ran or is gone. */
  async latest(pipelineName: string): Promise<ExecutionRecord | undefined> {
    try {
      const out = await this.client.send(
        new ListPipelineExecutionsCommand({ pipelineName, maxResults: 1 }),
        callOptions(this.signal),
      );
      const first = out.pipelineExecutionSummaries?.[0];
      return first ? record(first) : undefined;
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException")) return undefined;
      throw error;
    }
  }

  /**
   * Executions started at or after `since`, newest first. Executions come newest first, so the
   * listing stops at the first page that reaches back before `since`.
   */
  async since(pipelineName: string, since: Date): Promise<ExecutionRecord[]> {
    const found: ExecutionRecord[] = [];
    try {
      for await (const page of paginateListPipelineExecutions(
        { client: this.client, pageSize: 100 },
        { pipelineName },
        callOptions(this.signal),
      )) {
        let older = false;
        for (const summary of page.pipelineExecutionSummaries ?? []) {
          const execution = record(summary);
          if (execution.startTime && execution.startTime < since) {
            older = true;
            continue;
          }
          found.push(execution);
        }
        if (older) break;
      }
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException")) return [];
      throw error;
    }
    return found;
  }
}

function record(summary: SdkExecutionSummary): ExecutionRecord {
  return {
    pipelineExecutionId: summary.pipelineExecutionId ?? "",
    status: summary.status ?? "",
    ...(summary.startTime ? { startTime: summary.startTime } : {}),
    ...(summary.lastUpdateTime ? { lastUpdateTime: summary.lastUpdateTime } : {}),
  };
}
