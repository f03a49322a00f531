/** CodeBuild (BatchGetBuilds) state of the AWS test double: builds a test seeds. */
import { AwsError } from "./errors.js";

export interface SeedBuild {
  /** `<project>:<uuid>`, as CodeBuild names builds. */
  id: string;
  buildStatus?: string;
  /** The build's CloudWatch Logs group and stream; absent: the build logs to S3 only. */
  logs?: { groupName: string; streamName: string };
  /** The build's environment variables, as BatchGetBuilds lists them. */
  environmentVariables?: { name: string; value: string; type: string }[];
}

type Input = Record<string, unknown>;

export class CodeBuildState {
  readonly builds = new Map<string, SeedBuild>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  reset(): void {
    this.builds.clear();
  }

  seedBuild(build: SeedBuild): void {
    this.builds.set(build.id, structuredClone(build));
  }

  handle(operation: string, input: Input): unknown {
    if (operation !== "BatchGetBuilds") {
      throw new AwsError("UnknownOperationException", `Unknown operation ${operation}`);
    }
    const ids = (input["ids"] as string[] | undefined) ?? [];
    if (ids.length === 0 || ids.length > 100) {
      throw new AwsError("InvalidInputException", "ids must hold 1 to 100 build ids");
    }
    const found = ids.flatMap((id) => {
      const build = this.builds.get(id);
      return build ? [this.render(build)] : [];
    });
    return { builds: found, buildsNotFound: ids.filter((id) => !this.builds.has(id)) };
  }

  private render(build: SeedBuild): unknown {
    const project = build.id.split(":")[0] ?? build.id;
    return {
      id: build.id,
      arn: `arn:aws:codebuild:${this.region}:${this.accountId}:build/${build.id}`,
      projectName: project,
      buildStatus: build.buildStatus ?? "FAILED",
      buildComplete: true,
      environment: {
        type: "LINUX_CONTAINER",
        image: "aws/codebuild/standard:7.0",
        computeType: "BUILD_GENERAL1_SMALL",
        environmentVariables: structuredClone(build.environmentVariables ?? []),
        privilegedMode: true,
      },
      logs: build.logs
        ? {
            groupName: build.logs.groupName,
            streamName: build.logs.streamName,
            cloudWatchLogsArn: `arn:aws:logs:${this.region}:${this.accountId}:log-group:${build.logs.groupName}:log-stream:${build.logs.streamName}`,
            cloudWatchLogs: { status: "ENABLED", groupName: build.logs.groupName },
          }
        : { cloudWatchLogs: { status: "DISABLED" } },
    };
  }
}
