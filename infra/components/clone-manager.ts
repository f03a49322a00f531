/**
 * What the two functions that manage clones (the webhook and the reconciler) are given alike: the
 * source pipeline, the pull request tier and the state table, and the environment the handlers'
 * settings reader expects from them (functions/app/settings.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../functions/shared/names";
import type { LabelRules, PathRules } from "../config";

export interface CloneManagerArgs {
  sourcePipelineName: pulumi.Input<string>;
  /** The role every clone runs with (`CLONE_ROLE_ARN`); the role may pass it to CodePipeline only. */
  cloneRoleArn: pulumi.Input<string>;
  /** Source build project name -> its pull request build project (`PR_BUILD_PROJECTS`). */
  prBuildProjects: pulumi.Input<Record<string, string>>;
  /** The pull request tier's artifact bucket, every clone's artifact store (`PR_ARTIFACT_BUCKET`). */
  prArtifactBucketName: pulumi.Input<string>;
  /** The pull request tier's repositories (`ECR_REPOSITORY_NAMES`): the only images it may delete. */
  prRepositoryNames: pulumi.Input<string[]>;
  prRepositoryArns: pulumi.Input<string[]>;
  /** The source pipeline's connection: the role passes it to CodePipeline with every clone. */
  connectionArn: pulumi.Input<string>;
  allowForkPullRequests: boolean;
  buildDraftPullRequests: boolean;
  /** The service's label rules (`PULL_REQUEST_LABELS`); `undefined`: none, the variable is not set. */
  labels?: LabelRules | undefined;
  /** The service's path rules (`PULL_REQUEST_PATHS`); `undefined`: none, the variable is not set. */
  paths?: PathRules | undefined;
  /** The state table (see `StateTable`): replay protection. */
  stateTableName: pulumi.Input<string>;
  stateTableArn: pulumi.Input<string>;
}

/** The one-service environment of a clone manager (a many-service stack replaces it: see the webhook). */
export function cloneManagerVariables(
  args: CloneManagerArgs,
): Record<string, pulumi.Input<string>> {
  return {
    [ENV.sourcePipelineName]: args.sourcePipelineName,
    [ENV.ecrRepositoryNames]: pulumi
      .output(args.prRepositoryNames)
      .apply((names) => JSON.stringify(names)),
    [ENV.cloneRoleArn]: args.cloneRoleArn,
    [ENV.prBuildProjects]: pulumi
      .output(args.prBuildProjects)
      .apply((projects) => JSON.stringify(projects)),
    [ENV.prArtifactBucket]: args.prArtifactBucketName,
    [ENV.allowForks]: String(args.allowForkPullRequests),
    [ENV.buildDrafts]: String(args.buildDraftPullRequests),
    [ENV.stateTableName]: args.stateTableName,
    ...(args.labels !== undefined ? { [ENV.pullRequestLabels]: JSON.stringify(args.labels) } : {}),
    ...(args.paths !== undefined ? { [ENV.pullRequestPaths]: JSON.stringify(args.paths) } : {}),
  };
}
