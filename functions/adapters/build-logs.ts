/**
 * BuildLogs over the AWS SDK v3 CodeBuild and CloudWatch Logs clients: BatchGetBuilds names the
 * build's log group and stream, GetLogEvents (from the end) reads its last events. Nothing here
 * logs or keeps what it read.
 */
import { BatchGetBuildsCommand, type CodeBuildClient } from "@aws-sdk/client-codebuild";
import { GetLogEventsCommand, type CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { BuildEnvironmentVariable, BuildLogs } from "../app/checks.js";
import { callOptions, isAwsError } from "./aws-config.js";

export class CodeBuildLogs implements BuildLogs {
  constructor(
    private readonly codebuild: CodeBuildClient,
    private readonly logs: CloudWatchLogsClient,
    private readonly signal?: AbortSignal,
  ) {}

  async tail(
    buildId: string,
    lines: number,
  ): Promise<{ lines: string[]; variables: BuildEnvironmentVariable[] } | undefined> {
    const out = await this.codebuild.send(
      new BatchGetBuildsCommand({ ids: [buildId] }),
      callOptions(this.signal),
    );
    const build = out.builds?.find((candidate) => candidate.id === buildId);
    const group = build?.logs?.groupName;
    const stream = build?.logs?.streamName;
    if (!build || !group || !stream) return undefined;
    try {
      const events = await this.logs.send(
        new GetLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          startFromHead: false,
          limit: lines,
        }),
        callOptions(this.signal),
      );
      return {
        lines: (events.events ?? []).map((event) => (event.message ?? "").replace(/\n$/, "")),
        variables: (build.environment?.environmentVariables ?? []).map((variable) => ({
          ...(variable.name !== undefined ? { name: variable.name } : {}),
          ...(variable.value !== undefined ? { value: variable.value } : {}),
          ...(variable.type !== undefined ? { type: variable.type } : {}),
        })),
      };
    } catch (error) {
      if (isAwsError(error, "ResourceNotFoundException")) return undefined;
      throw error;
    }
  }
}
