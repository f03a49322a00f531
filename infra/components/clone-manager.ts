/**
 * What the functions that manage clones (the webhook, the worker and the reconciler) are given
 * alike: the source pipeline, the pull request tier and the state table, the environment the
 * handlers' settings reader expects from them (functions/app/settings.ts), and what their policy
 * builders (infra/policies.ts) take of it.
 */
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../functions/shared/names";
import type { LabelRules, PathRules, PreviewConfig } from "../config";
import {
  previewManagementStatements,
  previewTrafficStatements,
  type AccountScope,
  type LimitGrants,
  type PolicyStatement,
  type PreviewSet,
  type ServiceSet,
} from "../policies";
import type { ManagedPolicyStatements } from "./managed-policies";

/**
 * Every service's previews as the preview IAM statements take them: the set, and the same set with
 * every value the program cannot know before deploying at its longest, which sizes the managed
 * policies that carry the statements before the values are known.
 */
export interface PreviewSetArgs {
  /** `Branchline.previewSet`. */
  set: pulumi.Input<PreviewSet>;
  /** `Branchline.previewSetBound`. */
  bound: PreviewSet;
}

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
  /** False: `REQUIRE_APPROVAL=false` (untrusted pull requests built without approval); else unset. */
  requireApproval?: false;
  /** The service's label rules (`PULL_REQUEST_LABELS`); `undefined`: none, the variable is not set. */
  labels?: LabelRules | undefined;
  /** The service's path rules (`PULL_REQUEST_PATHS`); `undefined`: none, the variable is not set. */
  paths?: PathRules | undefined;
  /** The service's clone limit (`SERVICE_MAX_CLONES`); `undefined`: none, the variable is not set. */
  maxClones?: number | undefined;
  /** The service's idle expiry in days (`IDLE_DAYS`); `undefined`: never. */
  idleDays?: number | undefined;
  /**
   * The stack's limit over every service (`BRANCHLINE_MAX_CLONES`): every function that creates
   * clones gets it, in both forms; `undefined`: none.
   */
  stackMaxClones?: number | undefined;
  /**
   * What clone limits and idle expiry need granted, over every service of the stack; `undefined`:
   * neither is configured.
   */
  limitGrants?: LimitGrants | undefined;
  /**
   * The service's preview settings, roles filled in (`PREVIEW_SETTINGS`); `undefined`: no previews,
   * the variable is not set.
   */
  preview?: pulumi.Input<PreviewConfig> | undefined;
  /**
   * Every service's previews as the preview IAM statements take them: a function that manages
   * previews gets them in its customer managed policies `<role>-previews`, `<role>-previews-2`, ...;
   * `undefined`: no service has previews, no such policy.
   */
  previewSet?: PreviewSetArgs | undefined;
  /** The state table (see `StateTable`): replay protection, idle-expiry markers. */
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
    ...(args.requireApproval === false ? { [ENV.requireApproval]: "false" } : {}),
    ...(args.labels !== undefined ? { [ENV.pullRequestLabels]: JSON.stringify(args.labels) } : {}),
    ...(args.paths !== undefined ? { [ENV.pullRequestPaths]: JSON.stringify(args.paths) } : {}),
    ...(args.maxClones !== undefined ? { [ENV.serviceMaxClones]: String(args.maxClones) } : {}),
    ...(args.idleDays !== undefined ? { [ENV.idleDays]: String(args.idleDays) } : {}),
    ...(args.stackMaxClones !== undefined ? { [ENV.maxClones]: String(args.stackMaxClones) } : {}),
    ...(args.preview !== undefined
      ? { [ENV.preview]: pulumi.output(args.preview).apply((preview) => JSON.stringify(preview)) }
      : {}),
    // Preview resources are named and tagged with the stack's prefix, as IAM holds them to.
    ...(args.previewSet !== undefined
      ? { [ENV.stackPrefix]: pulumi.output(args.previewSet.set).apply((set) => set.stackPrefix) }
      : {}),
  };
}

/**
 * The managed policies a function that manages previews gets (LambdaFunction's `managedPolicies`):
 * `previews`, the preview management statements, with the traffic reads when `traffic` (the
 * reconciler finds idle previews); `undefined` without previews.
 */
export function previewRolePolicies(
  previews: PreviewSetArgs | undefined,
  options: { traffic: boolean },
): Record<string, ManagedPolicyStatements> | undefined {
  if (previews === undefined) return undefined;
  const statements = (set: PreviewSet): PolicyStatement[] => [
    ...previewManagementStatements(set),
    ...(options.traffic ? previewTrafficStatements() : []),
  ];
  return {
    previews: {
      description: `branchline (${previews.bound.stackPrefix}): what a function may do to manage the previews${options.traffic ? " and read their request counts" : ""}`,
      statements: pulumi.output(previews.set).apply(statements),
      bounds: statements(previews.bound),
    },
  };
}

/**
 * A GitHub App the functions authenticate as (`branchline:githubApp`): its id, the optional
 * installation, and the Secrets Manager secret holding its private key (the webhook component's).
 */
export interface GitHubAppAccess {
  appId: number;
  installationId?: number | undefined;
  privateKeySecretArn: pulumi.Input<string>;
}

/** The variables that name the App to a function (functions/app/settings.ts `readGitHubAuth`). */
export function gitHubAppVariables(
  app: GitHubAppAccess | undefined,
): Record<string, pulumi.Input<string>> {
  if (app === undefined) return {};
  return {
    [ENV.githubAppId]: String(app.appId),
    [ENV.githubAppPrivateKeySecretArn]: app.privateKeySecretArn,
    ...(app.installationId !== undefined
      ? { [ENV.githubAppInstallationId]: String(app.installationId) }
      : {}),
  };
}

/** The one-service clone manager's part of a role's policy inputs. */
export function cloneManagerPolicyInputs(
  args: CloneManagerArgs & { scope: pulumi.Input<AccountScope> },
): {
  scope: pulumi.Input<AccountScope>;
  sourcePipelineName: pulumi.Input<string>;
  cloneRoleArn: pulumi.Input<string>;
  prRepositoryArns: pulumi.Input<string[]>;
  connectionArn: pulumi.Input<string>;
  stateTableArn: pulumi.Input<string>;
  limits?: LimitGrants;
} {
  return {
    scope: args.scope,
    sourcePipelineName: args.sourcePipelineName,
    cloneRoleArn: args.cloneRoleArn,
    prRepositoryArns: args.prRepositoryArns,
    connectionArn: args.connectionArn,
    stateTableArn: args.stateTableArn,
    ...(args.limitGrants !== undefined ? { limits: args.limitGrants } : {}),
  };
}

/** The many-service clone manager's part of a role's policy inputs: the services' set. */
export function servicesPolicyInputs(
  args: CloneManagerArgs,
  set: pulumi.Input<ServiceSet>,
): {
  set: pulumi.Input<ServiceSet>;
  cloneRoleArn: pulumi.Input<string>;
  connectionArn: pulumi.Input<string>;
  stateTableArn: pulumi.Input<string>;
  limits?: LimitGrants;
} {
  return {
    set,
    cloneRoleArn: args.cloneRoleArn,
    connectionArn: args.connectionArn,
    stateTableArn: args.stateTableArn,
    ...(args.limitGrants !== undefined ? { limits: args.limitGrants } : {}),
  };
}
