/** ActionExecutions over the AWS SDK v3 CodePipeline client (ListActionExecutions). */
import {
  paginateListActionExecutions,
  type CodePipelineClient,
} from "@aws-sdk/client-codepipeline";
import type { ActionExecutions } from "../app/checks.js";
import type { ActionRun } from "../core/checks.js";
import { callOptions, isAwsError } from "./aws-config.js";

export class CodePipelineActionExecutions implements ActionExecutions {
  constructor(
    private readonly client: CodePipelineClient,
    private readonly signal?: AbortSignal,
  ) {}

  /** The execution's action runs (100 a page); none when the pipeline or execution is gone. */
  async list(pipeline: string, executionId: string): Promise<ActionRun[]> {
    const runs: ActionRun[] = [];
    try {
      for await (const page of paginateListActionExecutions(
        { client: this.client, pageSize: 100 },
        { pipelineName: pipeline, filter: { pipelineExecutionId: executionId } },
        callOptions(this.signal),
      )) {
        for (const detail of page.actionExecutionDetails ?? []) {
          const result = detail.output?.executionResult;
          const configuration = detail.input?.resolvedConfiguration ?? detail.input?.configuration;
          const run: ActionRun = {
            stageName: detail.stageName ?? "",
            actionName: detail.actionName ?? "",
            status: detail.status ?? "",
          };
          if (detail.startTime) run.startTime = detail.startTime;
          if (detail.lastUpdateTime) run.lastUpdateTime = detail.lastUpdateTime;
          if (detail.input?.actionTypeId?.provider)
            run.provider = detail.input.actionTypeId.provider;
          if (configuration?.["ProjectName"]) run.projectName = configuration["ProjectName"];
          if (result?.externalExecutionId) run.externalExecutionId = result.externalExecutionId;
          if (result?.externalExecutionUrl) run.externalExecutionUrl = result.externalExecutionUrl;
          if (result?.errorDetails?.message) run.errorMessage = result.errorDetails.message;
          runs.push(run);
        }
      }
    } catch (error) {
      if (isAwsError(error, "PipelineNotFoundException", "PipelineExecutionNotFoundException")) {
        return [];
      }
      throw error;
    }
    return runs;
  }
}
