/**
 * The parts of a CodePipeline declaration that branchline reads or rewrites, shaped like the
 * CodePipeline JSON API (GetPipeline's `pipeline` member). Kept free of the AWS SDK: adapters map
 * the SDK's types onto these, which they match structurally.
 */

export interface ActionTypeId {
  category: "Source" | "Build" | "Deploy" | "Test" | "Invoke" | "Approval" | "Compute" | string;
  owner: "AWS" | "ThirdParty" | "Custom" | string;
  provider: string;
  version: string;
}

export interface ActionDeclaration {
  name: string;
  actionTypeId: ActionTypeId;
  runOrder?: number;
  configuration?: Record<string, string>;
  commands?: string[];
  outputArtifacts?: { name: string }[];
  inputArtifacts?: { name: string }[];
  outputVariables?: string[];
  roleArn?: string;
  region?: string;
  namespace?: string;
  timeoutInMinutes?: number;
  /** Commands actions (Compute category) only: their environment, at most 10 entries. */
  environmentVariables?: EnvironmentVariable[];
}

export interface EnvironmentVariable {
  name: string;
  value: string;
  type?: "PLAINTEXT" | "SECRETS_MANAGER" | string;
}

export interface StageDeclaration {
  name: string;
  blockers?: unknown[];
  actions: ActionDeclaration[];
  onFailure?: StageConditions;
  onSuccess?: StageConditions;
  beforeEntry?: StageConditions;
}

/** The conditions of a stage's entry, success or failure; their rules may read input artifacts. */
export interface StageConditions {
  result?: string;
  conditions?: { result?: string; rules?: RuleDeclaration[] }[];
  [member: string]: unknown;
}

export interface RuleDeclaration {
  name: string;
  ruleTypeId: { category: string; owner?: string; provider: string; version?: string };
  configuration?: Record<string, string>;
  inputArtifacts?: { name: string }[];
  [member: string]: unknown;
}

export interface GitBranchFilterCriteria {
  includes?: string[];
  excludes?: string[];
}

export interface GitPushFilter {
  tags?: GitBranchFilterCriteria;
  branches?: GitBranchFilterCriteria;
  filePaths?: GitBranchFilterCriteria;
}

export interface GitPullRequestFilter {
  events?: string[];
  branches?: GitBranchFilterCriteria;
  filePaths?: GitBranchFilterCriteria;
}

export interface PipelineTriggerDeclaration {
  providerType: "CodeStarSourceConnection" | string;
  gitConfiguration: {
    sourceActionName: string;
    push?: GitPushFilter[];
    pullRequest?: GitPullRequestFilter[];
  };
}

export interface PipelineDeclaration {
  name: string;
  roleArn: string;
  artifactStore?: { type: string; location: string; encryptionKey?: { id: string; type: string } };
  artifactStores?: Record<
    string,
    { type: string; location: string; encryptionKey?: { id: string; type: string } }
  >;
  stages: StageDeclaration[];
  version?: number;
  executionMode?: "QUEUED" | "SUPERSEDED" | "PARALLEL" | string;
  pipelineType?: "V1" | "V2" | string;
  variables?: { name: string; defaultValue?: string; description?: string }[];
  triggers?: PipelineTriggerDeclaration[];
}

export interface Tag {
  key: string;
  value: string;
}

/** The source action provider that reads a GitHub repository through AWS CodeConnections. */
export const CONNECTION_SOURCE_PROVIDER = "CodeStarSourceConnection";
export const CODEBUILD_PROVIDER = "CodeBuild";
/** The provider of CodePipeline's Commands action (Compute category, V2 pipelines only). */
export const COMMANDS_PROVIDER = "Commands";

/** The ARN of another pipeline in the same account and region as `arn`. */
export function siblingPipelineArn(arn: string, name: string): string {
  const cut = arn.lastIndexOf(":");
  if (cut < 0 || !arn.startsWith("arn:")) throw new RangeError(`not a pipeline ARN: ${arn}`);
  return `${arn.slice(0, cut + 1)}${name}`;
}
