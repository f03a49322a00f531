/**
 * The whole stack as one ComponentResource, `branchline:index:Branchline`: every resource is a
 * descendant, every child's name derives from the component's name, so another Pulumi program may
 * declare it (several times, with different names and prefixes) as a library:
 *
 *   import { Branchline } from "branchline/infra/branchline";
 *   const platform = new Branchline("acme-dev", { config, code });
 *
 * Per service (`config.services`): its source pipeline `<prefix>-<service>`, its source and pull request
 * build projects (`<prefix>-<service>`, `<prefix>-<service>-pr`), its repositories in both tiers
 * (`<prefix>-<service>/<image>`, `<prefix>-<service>-pr/<image>`), its source build role
 * (`<prefix>-<service>-build`: it pushes to its own service's source repositories only) and its deploy.
 * Shared, once per stack: both artifact buckets, the source pipeline role, the clone role, the pull
 * request build role, the webhook endpoint and function, the reconciler, notify, the topic, the
 * secrets, the state table, the connection, and one GitHub webhook per repository; with durable
 * delivery (`branchline:delivery` mode `queue`, the default) the delivery queue, its dead-letter
 * queue, the worker function, its event source mapping and two alarms; a CloudWatch dashboard
 * (`<prefix>`) and one error alarm per function (infra/components/monitoring.ts), to the topic, which
 * has its own key for them.
 *
 * `legacyNames` (the one-service form of `infra/index.ts`, today's keys): the children keep the names
 * the stack had before this component (`artifacts`, `pipeline`, ...) and alias their former top-level
 * URNs, so an existing stack updates in place; two such instances in one program would collide.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUILDSPEC_ENVIRONMENT, renderBuildspec } from "./build/buildspec";
import { BUNDLE_FILE, type FunctionArchives } from "./bundle";
import { ArtifactStore } from "./components/artifacts";
import { BuildProject, ecrRepositoryOfImage } from "./components/build";
import { SourceConnection } from "./components/connection";
import { DeliveryQueue } from "./components/delivery-queue";
import { errorAlarmNamePrefix, Monitoring } from "./components/monitoring";
import { Notifications } from "./components/notifications";
import { PreviewEnvironment } from "./components/preview";
import { SharedPipelineRoles, SourcePipeline } from "./components/pipeline";
import { Reconciler } from "./components/reconciler";
import { Registry } from "./components/registry";
import { StateTable } from "./components/state-table";
import { WebhookReceiver, type ManyServices } from "./components/webhook";
import type { CloneManagerArgs } from "./components/clone-manager";
import { declareManagedPolicies } from "./components/managed-policies";
import { DeliveryWorker, WORKER_TIMEOUT_SECONDS } from "./components/worker";
import type {
  BranchlineConfig,
  LabelRules,
  PathRules,
  PreviewConfig,
  ServiceConfig,
} from "./config";
import { GitHubWebhook } from "./github/webhook-resource";
import {
  codebuildProjectArn,
  ecsClusterArn,
  ecsServiceArn,
  inlinePolicyJson,
  previewDeployStatements,
  scopeOfArn,
  serviceTrustPolicy,
  servicePrProjectsArn,
  servicesCloneRolePolicy,
  servicesPipelineRolePolicy,
  servicesPrBuildRolePolicy,
  serviceClonesArn,
  sourcePipelinesTrustPolicy,
  type AccountScope,
  type LimitGrants,
  type PreviewSet,
  type ServiceSet,
} from "./policies";

/** One service's names, as the stack outputs and the CLI read them. */
export interface ServiceOutput {
  pipelineName: string;
  repository: string;
  branch: string;
  /** Image name -> its source tier repository URI. */
  sourceRepositoryUris: Record<string, string>;
  prRepositoryNames: string[];
}

export interface BranchlineOutputs {
  webhookUrl: pulumi.Output<string>;
  /** The first service's source pipeline (the one-service stack's). */
  sourcePipelineName: pulumi.Output<string>;
  sourcePipelineConsoleUrl: pulumi.Output<string>;
  /** The first image's source repository URI (kept from the one-repository layout). */
  repositoryUri: pulumi.Output<string>;
  /** Image name -> its source tier repository URI (`<prefix>/<image>`), of the first service. */
  sourceRepositoryUris: pulumi.Output<Record<string, string>>;
  /** The pull request tier's repositories (`<prefix>-pr/<image>`), of the first service. */
  prRepositoryNames: pulumi.Output<string[]>;
  /** The pull request tier's artifact bucket, every clone's artifact store. */
  prArtifactBucketName: pulumi.Output<string>;
  connectionArn: pulumi.Output<string>;
  connectionStatus: pulumi.Output<string>;
  /** GitHub's id of the (first) repository webhook; `undefined`: the stack does not register it. */
  webhookId: pulumi.Output<number> | undefined;
  /** The SNS topic of execution success and failure messages. */
  notificationTopicArn: pulumi.Output<string>;
  /** The reconciler Lambda (`aws lambda invoke --function-name <name> --payload '{}'` runs a sweep). */
  reconcilerFunctionName: pulumi.Output<string>;
  /** Service name -> its pipeline and repositories. */
  services: pulumi.Output<Record<string, ServiceOutput>>;
  /** The delivery queue (SQS FIFO); `undefined`: inline delivery. */
  deliveryQueueUrl: pulumi.Output<string> | undefined;
  /** The delivery queue's dead-letter queue (the CLI's `dlq` commands); `undefined`: inline delivery. */
  deadLetterQueueUrl: pulumi.Output<string> | undefined;
  /** The delivery worker Lambda; `undefined`: inline delivery. */
  workerFunctionName: pulumi.Output<string> | undefined;
  /** Each function's CloudWatch Logs group (`worker` only with durable delivery). */
  logGroups: pulumi.Output<LogGroupNames>;
  /** The stack's CloudWatch dashboard (`<prefix>`). */
  dashboardName: pulumi.Output<string>;
  /** The dashboard in the CloudWatch console. */
  dashboardUrl: pulumi.Output<string>;
}

/** The functions' log group names, as the stack outputs them. */
export interface LogGroupNames {
  webhook: string;
  /** Absent with inline delivery. */
  worker?: string;
  reconciler: string;
  notify: string;
}

/** One entry of the routing table (S1's format: functions/app reads it). */
export interface RoutingEntry {
  name: string;
  sourcePipeline: string;
  repository: string;
  branch: string;
  ecrRepositories: string[];
  cloneRoleArn: string;
  prBuildProjects: Record<string, string>;
  artifactBucket: string;
  allowForkPullRequests: boolean;
  buildDraftPullRequests: boolean;
  /** Present only when false: untrusted pull requests are built without approval. */
  requireApproval?: false;
  /** Present only when the service has label rules. */
  labels?: LabelRules;
  /** Present only when the service has path rules. */
  paths?: PathRules;
  /** Present only when the service has a clone limit. */
  maxClones?: number;
  /** Present only when the service's clones expire. */
  idleDays?: number;
  /** Present only when the service has previews: its settings with the task and execution roles. */
  preview?: PreviewConfig;
}

/**
 * The delivery alarms are named `<prefix>-delivery-...`, the functions' error alarms
 * `<prefix>-errors-...` (components/monitoring.ts): the topic lets CloudWatch publish for these.
 */
export function alarmNamePrefix(prefix: string): string {
  return `${prefix}-delivery-`;
}

/** The routing table's file in the deployment archives, and its path in the Lambda. */
export const SERVICES_FILE = "services.json";
export const SERVICES_FILE_PATH = `/var/task/${SERVICES_FILE}`;

/** Environment variables the buildspec needs from the CodeBuild project (typed: a new one won't compile). */
type BuildspecVariable = (typeof BUILDSPEC_ENVIRONMENT)[number];

export const CONNECTION_PENDING_NOTE =
  "authorise it once in the AWS console: Developer Tools > Settings > Connections > Update pending connection";

export function connectionStatusNote(status: string): string {
  return status === "AVAILABLE" ? "AVAILABLE" : `${status}: ${CONNECTION_PENDING_NOTE}`;
}

/** The pull request tier's name for a source name: its build project and repository prefix. */
export function pullRequestName(sourceName: string): string {
  return `${sourceName}-pr`;
}

export function pipelineConsoleUrl(region: string, pipelineName: string): string {
  return `https://${region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${encodeURIComponent(pipelineName)}/view?region=${region}`;
}

/** The source build role's name of a service in a many-service stack. */
export function sourceBuildRoleName(pipelineName: string): string {
  return `${pipelineName}-build`;
}

/** The repositories a webhook goes on: each once, whatever its case (GitHub's names are not). */
export function webhookRepositories(services: readonly ServiceConfig[]): string[] {
  const seen = new Map<string, string>();
  for (const service of services) {
    const key = service.repository.toLowerCase();
    if (!seen.has(key)) seen.set(key, service.repository);
  }
  return [...seen.values()];
}

/** `archive` with one more file (the routing table): the bundle stays `index.js`. */
export function withFile(
  archive: pulumi.Input<pulumi.asset.Archive>,
  file: string,
  text: pulumi.Input<string>,
): pulumi.Output<pulumi.asset.Archive> {
  // The archive itself, not an output of it: `pulumi.all` would try to unwrap its assets.
  if (!(archive instanceof pulumi.asset.AssetArchive)) {
    throw new Error(`the routing table needs an AssetArchive holding ${BUNDLE_FILE}`);
  }
  return pulumi.output(text).apply(async (content) => {
    const assets = await archive.assets;
    return new pulumi.asset.AssetArchive({
      ...assets,
      [file]: new pulumi.asset.StringAsset(content),
    });
  });
}

export interface BranchlineArgs {
  config: BranchlineConfig;
  /** The Lambdas' deployment archives (`functionArchives(bundleFunctions(), bundlePreviews())`). */
  code: FunctionArchives;
  /** The one-service stack's former names (see the module's comment); one service only. */
  legacyNames?: boolean;
}

interface DeclaredService {
  config: ServiceConfig;
  registry: Registry;
  prRegistry: Registry;
  build: BuildProject;
  prBuild: BuildProject;
  pipeline: SourcePipeline;
  /** Its preview environments' log group and roles; `undefined`: no previews. */
  preview: PreviewEnvironment | undefined;
}

export class Branchline extends pulumi.ComponentResource {
  public readonly outputs: BranchlineOutputs;
  /** The deployment archives the functions run (with the routing table when many services). */
  public readonly functionCode: FunctionArchives;
  /** The preview environments of the services that have them, in the configured order. */
  public readonly previews: PreviewEnvironment[];
  /**
   * What the preview IAM statements take (`previewManagementStatements`, `previewDeployStatements`);
   * `undefined`: no service has previews. The webhook (inline delivery), the worker and the
   * reconciler get `previewManagementStatements` as their customer managed policies
   * `<role>-previews`, `<role>-previews-2`, ... (the reconciler with `previewTrafficStatements`), the
   * clone role `previewDeployStatements` as `<clone role>-previews`, ...
   */
  public readonly previewSet: pulumi.Output<PreviewSet> | undefined;
  /**
   * `previewSet` before any value is known, no ARN of it shorter (see
   * `PreviewEnvironment.targetBound`): how many managed policies carry the statements is decided
   * from it. `undefined`: no service has previews.
   */
  public readonly previewSetBound: PreviewSet | undefined;
  /** The clone role's previews policies (customer managed, attached); none without previews. */
  public readonly clonePreviewPolicies: aws.iam.Policy[];

  constructor(name: string, args: BranchlineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("branchline:index:Branchline", name, {}, opts);
    const config = args.config;
    const legacy = args.legacyNames === true;
    if (legacy && config.services.length !== 1) {
      throw new Error(
        "Branchline: legacyNames is the one-service form's, with exactly one service",
      );
    }
    const many = config.multiService;
    const child = (suffix: string): string => (legacy ? suffix : `${name}-${suffix}`);
    // The one-service stack's resources were top-level before this component: the alias (no parent:
    // the stack's root) keeps their URNs, and the engine derives their children's from it.
    const top: pulumi.ComponentResourceOptions = {
      parent: this,
      ...(legacy ? { aliases: [{ parent: pulumi.rootStackResource }] } : {}),
    };

    const scope: pulumi.Output<AccountScope> = pulumi
      .all([aws.getCallerIdentityOutput(), aws.getRegionOutput(), aws.getPartitionOutput()])
      .apply(([identity, region, partition]) => ({
        partition: partition.partition,
        region: region.region,
        accountId: identity.accountId,
      }));

    const artifactSettings = {
      retentionDays: config.artifactRetentionDays,
      forceDestroy: config.forceDestroy,
    };
    const artifacts = new ArtifactStore(child("artifacts"), artifactSettings, top);
    const prArtifacts = new ArtifactStore(child("pr-artifacts"), artifactSettings, top);

    let connectionArn: pulumi.Output<string>;
    let connectionStatus: pulumi.Output<string>;
    if (config.connectionArn === undefined) {
      const connection = new SourceConnection(
        child("connection"),
        { connectionName: config.prefix },
        top,
      );
      connectionArn = connection.connectionArn;
      connectionStatus = connection.connectionStatus.apply(connectionStatusNote);
    } else {
      connectionArn = pulumi.output(config.connectionArn);
      connectionStatus = pulumi.output(
        "existing connection (branchline:connectionArn): it must be AVAILABLE",
      );
    }

    const set: pulumi.Output<ServiceSet> = scope.apply((s) => ({
      scope: s,
      prefix: config.prefix,
      sourcePipelineNames: config.services.map((service) => service.pipelineName),
    }));

    // The many-service stack's shared roles (the one-service stack's are its components' own).
    let sharedRoles: SharedPipelineRoles | undefined;
    let sharedPrBuildRole: { arn: pulumi.Output<string>; policy: pulumi.Resource } | undefined;
    if (many) {
      const forks = config.services.some((service) => service.allowForkPullRequests);
      const repositories = config.services.map((service) => service.repository);
      sharedRoles = new SharedPipelineRoles(
        child("pipelines"),
        {
          roleTrust: set.apply((s) => JSON.stringify(sourcePipelinesTrustPolicy(s))),
          rolePolicy: pulumi
            .all([scope, artifacts.bucketArn, connectionArn])
            .apply(([s, bucketArn, connection]) =>
              inlinePolicyJson(
                "the source pipeline role",
                servicesPipelineRolePolicy({
                  bucketArn,
                  // The stack's projects by its prefix: a list of 50 would outgrow the policy.
                  projectsArn: codebuildProjectArn(s, `${config.prefix}-*`),
                  connectionArn: connection,
                  repositories,
                  deploys: config.services.flatMap((service) =>
                    service.deploy === undefined
                      ? []
                      : [
                          {
                            clusterArn: ecsClusterArn(s, service.deploy.cluster),
                            serviceArn: ecsServiceArn(
                              s,
                              service.deploy.cluster,
                              service.deploy.service,
                            ),
                            passRoles: service.deploy.passRoles,
                          },
                        ],
                  ),
                  taskDefinitionArnPattern: `arn:${s.partition}:ecs:${s.region}:${s.accountId}:task-definition/*`,
                }),
              ),
            ),
          cloneRoleTrust: set.apply((s) =>
            JSON.stringify(
              serviceTrustPolicy(
                "codepipeline.amazonaws.com",
                s.scope.accountId,
                serviceClonesArn(s),
              ),
            ),
          ),
          cloneRolePolicy: pulumi
            .all([set, prArtifacts.bucketArn, connectionArn])
            .apply(([s, bucketArn, connection]) =>
              inlinePolicyJson(
                "the clone role",
                servicesCloneRolePolicy({
                  set: s,
                  bucketArn,
                  connectionArn: connection,
                  repositories: forks ? undefined : repositories,
                }),
              ),
            ),
        },
        top,
      );
      const prBuildRole = new aws.iam.Role(
        child("pr-build-role"),
        {
          assumeRolePolicy: set.apply((s) =>
            JSON.stringify(
              serviceTrustPolicy(
                "codebuild.amazonaws.com",
                s.scope.accountId,
                servicePrProjectsArn(s),
              ),
            ),
          ),
          description:
            "branchline: the role of every service's pull request build project (pull request tier)",
        },
        { parent: this },
      );
      const prBuildPolicy = new aws.iam.RolePolicy(
        child("pr-build-role-policy"),
        {
          role: prBuildRole.id,
          policy: pulumi
            .all([set, prArtifacts.bucketArn])
            .apply(([s, bucketArn]) =>
              inlinePolicyJson(
                "the pull request build role",
                servicesPrBuildRolePolicy(s, bucketArn),
              ),
            ),
        },
        { parent: this },
      );
      sharedPrBuildRole = { arn: prBuildRole.arn, policy: prBuildPolicy };
    }

    // A custom build image in ECR: one repository policy per image repository, naming every project
    // that pulls it (the policy replaces the repository's), declared by the first service using it.
    const imagePullers = new Map<string, string[]>();
    for (const service of config.services) {
      const repository = ecrRepositoryOfImage(service.build.image);
      if (repository === undefined) continue;
      const projects = imagePullers.get(repository) ?? [];
      projects.push(service.pipelineName, pullRequestName(service.pipelineName));
      imagePullers.set(repository, projects);
    }

    const declared: DeclaredService[] = config.services.map((service, index) => {
      const serviceChild = (suffix: string): string =>
        legacy ? suffix : many ? `${name}-${service.name}-${suffix}` : `${name}-${suffix}`;
      const serviceOpts = top;
      const secondRegistry = service.build.secondRegistry;
      // One buildspec per tier: the pull request tier's names no second registry, whose secret its
      // role cannot read (CodeBuild fetches `env.secrets-manager` before any phase runs).
      const buildspecOptions = {
        images: service.images,
        buildArgs: service.build.args,
        noCache: service.build.noCache,
        blueGreen: service.build.blueGreen,
      };
      const buildspec = renderBuildspec({
        ...buildspecOptions,
        ...(secondRegistry === undefined ? {} : { secondRegistry }),
        tier: "source",
      });
      const prBuildspec = renderBuildspec({ ...buildspecOptions, tier: "pull-request" });

      const imageNames = service.images.map((image) => image.name);
      const retention = {
        sourceImageRetentionCount: config.sourceImageRetentionCount,
        prImageRetentionDays: config.prImageRetentionDays,
        untaggedImageRetentionDays: config.untaggedImageRetentionDays,
      };
      const prPrefix = pullRequestName(service.pipelineName);
      const registry = new Registry(
        serviceChild("registry"),
        {
          tier: "source",
          namePrefix: service.pipelineName,
          imageNames,
          ...retention,
          forceDelete: config.forceDestroy,
        },
        serviceOpts,
      );
      const prRegistry = new Registry(
        serviceChild("pr-registry"),
        {
          tier: "pull-request",
          namePrefix: prPrefix,
          imageNames,
          ...retention,
          forceDelete: config.forceDestroy,
        },
        serviceOpts,
      );

      const buildBase = {
        computeType: service.build.computeType,
        image: service.build.image,
        timeoutMinutes: service.build.timeoutMinutes,
        logRetentionDays: config.logRetentionDays,
        scope,
      };
      const sourceEnvironment: Record<BuildspecVariable, pulumi.Input<string>> = {
        BRANCHLINE_TIER: "source",
        REPOSITORY_PREFIX: registry.urlPrefix,
        CACHE_REPOSITORY_PREFIX: registry.urlPrefix,
      };
      const imageRepository = ecrRepositoryOfImage(service.build.image);
      const pullers = imageRepository === undefined ? undefined : imagePullers.get(imageRepository);
      const build = new BuildProject(
        serviceChild("build"),
        {
          ...buildBase,
          buildspec,
          bucketArn: artifacts.bucketArn,
          projectName: service.pipelineName,
          description: many
            ? `builds and pushes the ${service.name} service's images (source tier)`
            : "builds and pushes the source branch's images (source tier)",
          environment: sourceEnvironment,
          pushRepositoryArns: registry.repositoryArns,
          secondRegistrySecretArn: secondRegistry?.credentialsSecretArn,
          // The first project pulling a build image declares its repository policy.
          buildImagePolicyProjects: pullers?.[0] === service.pipelineName ? pullers : undefined,
          roleName: many ? sourceBuildRoleName(service.pipelineName) : undefined,
        },
        serviceOpts,
      );
      const prEnvironment: Record<BuildspecVariable, pulumi.Input<string>> = {
        BRANCHLINE_TIER: "pull-request",
        REPOSITORY_PREFIX: prRegistry.urlPrefix,
        CACHE_REPOSITORY_PREFIX: registry.urlPrefix,
      };
      // No second-registry secret: a pull request's code never holds a credential beyond its own pushes.
      const prBuild = new BuildProject(
        serviceChild("pr-build"),
        {
          ...buildBase,
          buildspec: prBuildspec,
          bucketArn: prArtifacts.bucketArn,
          projectName: prPrefix,
          description: many
            ? `builds and pushes the ${service.name} service's pull requests' images (pull request tier)`
            : "builds and pushes pull requests' images (pull request tier)",
          environment: prEnvironment,
          pushRepositoryArns: prRegistry.repositoryArns,
          pullRepositoryArns: registry.repositoryArns,
          sharedRole: sharedPrBuildRole,
        },
        serviceOpts,
      );

      const pipeline = new SourcePipeline(
        serviceChild("pipeline"),
        {
          pipelineName: service.pipelineName,
          pipelineType: service.pipelineType,
          repository: service.repository,
          branch: service.branch,
          connectionArn,
          bucketName: artifacts.bucketName,
          bucketArn: artifacts.bucketArn,
          prBucketArn: prArtifacts.bucketArn,
          projectName: build.projectName,
          projectArn: build.projectArn,
          prProjectArn: prBuild.projectArn,
          allowForkPullRequests: service.allowForkPullRequests,
          deploy: service.deploy,
          scope,
          sharedRoles,
        },
        serviceOpts,
      );
      const preview =
        service.preview === undefined
          ? undefined
          : new PreviewEnvironment(
              serviceChild("preview"),
              {
                configKey: many ? `services[${index}].preview` : "preview",
                sourcePipelineName: service.pipelineName,
                preview: service.preview,
                source: previewSource(service),
                prRepositoryArns: prRegistry.repositoryArns,
                logRetentionDays: config.logRetentionDays,
                scope,
              },
              serviceOpts,
            );
      return { config: service, registry, prRegistry, build, prBuild, pipeline, preview };
    });

    const first = declared[0] as DeclaredService;
    const prBuildProjects = pulumi
      .all([first.build.projectName, first.prBuild.projectName])
      .apply(([source, pr]) => ({ [source]: pr }));

    // The routing table (several services): in the archives, since Lambda's environment holds 4 KB.
    // With one service the functions get today's variables, so their one-service path runs.
    let manyServices: ManyServices | undefined;
    let code = args.code;
    if (declared.length > 1) {
      const table: pulumi.Output<RoutingEntry[]> = pulumi.all(
        declared.map((service) =>
          pulumi
            .all([
              service.pipeline.pipelineName,
              service.prRegistry.repositoryNames,
              service.pipeline.cloneRole.arn,
              service.build.projectName,
              service.prBuild.projectName,
              prArtifacts.bucketName,
              service.preview?.settings,
            ])
            .apply(
              ([
                sourcePipeline,
                ecrRepositories,
                cloneRoleArn,
                project,
                prProject,
                bucket,
                preview,
              ]) => ({
                name: service.config.name,
                sourcePipeline,
                repository: service.config.repository,
                branch: service.config.branch,
                ecrRepositories,
                cloneRoleArn,
                prBuildProjects: { [project]: prProject },
                artifactBucket: bucket,
                allowForkPullRequests: service.config.allowForkPullRequests,
                buildDraftPullRequests: service.config.buildDraftPullRequests,
                ...(service.config.requireApproval === false
                  ? { requireApproval: false as const }
                  : {}),
                ...(service.config.labels !== undefined ? { labels: service.config.labels } : {}),
                ...(service.config.paths !== undefined ? { paths: service.config.paths } : {}),
                ...(service.config.maxClones !== undefined
                  ? { maxClones: service.config.maxClones }
                  : {}),
                ...(service.config.idleDays !== undefined
                  ? { idleDays: service.config.idleDays }
                  : {}),
                ...(preview !== undefined ? { preview } : {}),
              }),
            ),
        ),
      );
      const text = table.apply((entries) => `${JSON.stringify(entries, null, 2)}\n`);
      code = {
        webhook: withFile(args.code.webhook, SERVICES_FILE, text),
        reconcile: withFile(args.code.reconcile, SERVICES_FILE, text),
        notify: withFile(args.code.notify, SERVICES_FILE, text),
        worker: withFile(args.code.worker, SERVICES_FILE, text),
      };
      manyServices = { file: SERVICES_FILE_PATH, set };
    }

    this.functionCode = code;
    this.previews = declared.flatMap((service) =>
      service.preview === undefined ? [] : [service.preview],
    );
    this.previewSet =
      this.previews.length === 0
        ? undefined
        : pulumi
            .all([scope, pulumi.all(this.previews.map((preview) => preview.target))])
            .apply(([s, targets]) => ({ scope: s, stackPrefix: config.prefix, targets }));
    const firstPreview = this.previews[0];
    this.previewSetBound =
      firstPreview === undefined
        ? undefined
        : {
            scope: scopeOfArn(firstPreview.targetBound.listenerArn),
            stackPrefix: config.prefix,
            targets: this.previews.map((preview) => preview.targetBound),
          };
    const previewSet =
      this.previewSet === undefined || this.previewSetBound === undefined
        ? undefined
        : { set: this.previewSet, bound: this.previewSetBound };
    // The clone's Deploy stage retargeted to its preview runs as the clone role (one per stack: the
    // one-service pipeline's, or the many-service stack's shared one).
    this.clonePreviewPolicies =
      previewSet === undefined
        ? []
        : declareManagedPolicies(
            `${child(many ? "pipelines" : "pipeline")}-clone-role-previews`,
            {
              description: `branchline (${config.prefix}): what the clones' deploys may do to the previews`,
              statements: previewSet.set.apply(previewDeployStatements),
              bounds: previewDeployStatements(previewSet.bound),
              role: first.pipeline.cloneRole,
              roleLabel: "the clone role",
              // The clone role has its inline policy only.
              attached: 0,
            },
            { parent: this },
          ).policies;

    const state = new StateTable(child("state"), top);
    // What the webhook, the worker and the reconciler each need to manage the first service's clones
    // (a many-service stack's functions read the routing table instead).
    const cloneManager: CloneManagerArgs = {
      sourcePipelineName: first.pipeline.pipelineName,
      cloneRoleArn: first.pipeline.cloneRole.arn,
      prBuildProjects,
      prArtifactBucketName: prArtifacts.bucketName,
      prRepositoryNames: first.prRegistry.repositoryNames,
      prRepositoryArns: first.prRegistry.repositoryArns,
      connectionArn,
      allowForkPullRequests: first.config.allowForkPullRequests,
      buildDraftPullRequests: first.config.buildDraftPullRequests,
      ...(first.config.requireApproval === false ? { requireApproval: false as const } : {}),
      labels: first.config.labels,
      paths: first.config.paths,
      maxClones: first.config.maxClones,
      idleDays: first.config.idleDays,
      stackMaxClones: config.maxClones,
      limitGrants: limitGrantsOf(config),
      preview: first.preview?.settings,
      previewSet,
      stateTableName: state.tableName,
      stateTableArn: state.tableArn,
    };

    const delivery = config.delivery;
    const deliveryQueue =
      delivery.mode === "queue"
        ? new DeliveryQueue(
            child("delivery"),
            {
              consumerTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
              maxReceiveCount: delivery.maxReceiveCount,
            },
            top,
          )
        : undefined;

    const webhook = new WebhookReceiver(
      child("webhook"),
      {
        ...cloneManager,
        code: code.webhook,
        webhookSecret: config.webhookSecret,
        githubToken: config.githubToken,
        githubApp: config.githubApp,
        logRetentionDays: config.logRetentionDays,
        scope,
        services: manyServices,
        queue:
          deliveryQueue === undefined
            ? undefined
            : { url: deliveryQueue.queueUrl, arn: deliveryQueue.queueArn },
      },
      top,
    );

    const reconciler = new Reconciler(
      child("reconciler"),
      {
        ...cloneManager,
        code: code.reconcile,
        githubTokenSecretArn: webhook.githubTokenSecretArn,
        githubApp: webhook.githubApp,
        webhookUrl: webhook.webhookUrl,
        schedule: config.reconcileSchedule,
        logRetentionDays: config.logRetentionDays,
        scope,
        services: manyServices,
      },
      top,
    );

    const notifications = new Notifications(
      child("notifications"),
      {
        code: code.notify,
        sourcePipelineName: first.pipeline.pipelineName,
        githubTokenSecretArn: webhook.githubTokenSecretArn,
        githubApp: webhook.githubApp,
        prBuildProjects: first.prBuild.projectName.apply((project) => [project]),
        preview: first.preview?.settings,
        email: config.notificationEmail,
        logRetentionDays: config.logRetentionDays,
        scope,
        services:
          manyServices === undefined ? undefined : { ...manyServices, prefix: config.prefix },
        // The functions' error alarms in every stack; the delivery alarms with durable delivery.
        alarms: {
          alarmNamePrefix:
            deliveryQueue === undefined
              ? errorAlarmNamePrefix(config.prefix)
              : [alarmNamePrefix(config.prefix), errorAlarmNamePrefix(config.prefix)],
        },
      },
      top,
    );

    const worker =
      deliveryQueue === undefined
        ? undefined
        : new DeliveryWorker(
            child("worker"),
            {
              ...cloneManager,
              code: code.worker,
              githubTokenSecretArn: webhook.githubTokenSecretArn,
              githubApp: webhook.githubApp,
              logRetentionDays: config.logRetentionDays,
              scope,
              services: manyServices,
              queue: {
                url: deliveryQueue.queueUrl,
                arn: deliveryQueue.queueArn,
                name: deliveryQueue.queue.name,
              },
              deadLetterQueue: {
                url: deliveryQueue.deadLetterQueueUrl,
                arn: deliveryQueue.deadLetterQueueArn,
                name: deliveryQueue.deadLetterQueue.name,
              },
              batchSize: delivery.batchSize,
              maxConcurrency: delivery.maxConcurrency,
              oldestMessageAlarmSeconds: delivery.oldestMessageAlarmSeconds,
              alarmTopicArn: notifications.topicArn,
              alarmNamePrefix: alarmNamePrefix(config.prefix),
              // No delivery is processed once the teardown has begun removing the clones.
              pollAfter: [reconciler.teardown],
            },
            top,
          );

    const monitoring = new Monitoring(
      child("monitoring"),
      {
        dashboardName: config.prefix,
        prefix: config.prefix,
        region: scope.apply((s) => s.region),
        functions: {
          webhook: webhook.function.name,
          worker: worker?.functionName,
          reconciler: reconciler.functionName,
          notify: notifications.function.name,
        },
        queues:
          deliveryQueue === undefined
            ? undefined
            : {
                queueName: deliveryQueue.queue.name,
                deadLetterQueueName: deliveryQueue.deadLetterQueue.name,
              },
        alarmTopicArn: notifications.topicArn,
      },
      top,
    );

    let webhookId: pulumi.Output<number> | undefined;
    // Registration only with the registration token: it stays in the program (and, encrypted, in the
    // stack's state), never in Secrets Manager nor in a Lambda's reach. Once per repository.
    const registrationToken = config.githubRegistrationToken;
    if (config.registerWebhook && registrationToken !== undefined) {
      const repositories = webhookRepositories(config.services);
      const ids = repositories.map(
        (repository) =>
          new GitHubWebhook(
            legacy
              ? "github-webhook"
              : `${name}-github-webhook-${repository.toLowerCase().replace("/", "--")}`,
            {
              repository,
              url: webhook.webhookUrl,
              secret: config.webhookSecret,
              token: registrationToken,
            },
            // GitHub pings the URL at once: the route, integration, stage and invoke permission must
            // exist. On destroy the webhook goes first, before the teardown removes the clones.
            { ...top, dependsOn: [...webhook.deliveryResources, reconciler.teardown] },
          ).webhookId,
      );
      webhookId = ids[0];
    }

    const services = pulumi
      .all(
        declared.map((service) =>
          pulumi
            .all([
              service.pipeline.pipelineName,
              service.registry.repositoryUrls,
              service.prRegistry.repositoryNames,
            ])
            .apply(([pipelineName, sourceRepositoryUris, prRepositoryNames]) => ({
              name: service.config.name,
              pipelineName,
              repository: service.config.repository,
              branch: service.config.branch,
              sourceRepositoryUris,
              prRepositoryNames,
            })),
        ),
      )
      .apply((list) =>
        Object.fromEntries(list.map(({ name: serviceName, ...rest }) => [serviceName, rest])),
      );

    this.outputs = {
      webhookUrl: webhook.webhookUrl,
      sourcePipelineName: first.pipeline.pipelineName,
      sourcePipelineConsoleUrl: pulumi
        .all([scope, first.pipeline.pipelineName])
        .apply(([s, pipelineName]) => pipelineConsoleUrl(s.region, pipelineName)),
      repositoryUri: (first.registry.repositories[0] as aws.ecr.Repository).repositoryUrl,
      sourceRepositoryUris: first.registry.repositoryUrls,
      prRepositoryNames: first.prRegistry.repositoryNames,
      prArtifactBucketName: prArtifacts.bucketName,
      connectionArn,
      connectionStatus,
      webhookId,
      notificationTopicArn: notifications.topicArn,
      reconcilerFunctionName: reconciler.functionName,
      services,
      deliveryQueueUrl: deliveryQueue?.queueUrl,
      deadLetterQueueUrl: deliveryQueue?.deadLetterQueueUrl,
      workerFunctionName: worker?.functionName,
      logGroups: pulumi
        .all([
          webhook.logGroupName,
          worker?.logGroupName,
          reconciler.logGroupName,
          notifications.logGroupName,
        ])
        .apply(([webhookLogs, workerLogs, reconcilerLogs, notifyLogs]) => ({
          webhook: webhookLogs,
          ...(workerLogs === undefined ? {} : { worker: workerLogs }),
          reconciler: reconcilerLogs,
          notify: notifyLogs,
        })),
      dashboardName: monitoring.dashboardName,
      dashboardUrl: monitoring.dashboardUrl,
    };
    this.registerOutputs({
      webhookUrl: this.outputs.webhookUrl,
      services,
      notificationTopicArn: this.outputs.notificationTopicArn,
      reconcilerFunctionName: this.outputs.reconcilerFunctionName,
      deliveryQueueUrl: this.outputs.deliveryQueueUrl,
      deadLetterQueueUrl: this.outputs.deadLetterQueueUrl,
      workerFunctionName: this.outputs.workerFunctionName,
      logGroups: this.outputs.logGroups,
      dashboardName: this.outputs.dashboardName,
    });
  }
}

/** The production ECS service a service's previews start from: its `deploy` (the config requires it). */
function previewSource(service: ServiceConfig): { cluster: string; service: string } {
  if (service.deploy === undefined) {
    throw new Error(
      `service ${service.name}: a preview needs the service's ECS deploy { cluster, service }`,
    );
  }
  return { cluster: service.deploy.cluster, service: service.deploy.service };
}

/** What clone limits and idle expiry need granted, over every service; `undefined`: neither is set. */
export function limitGrantsOf(
  config: Pick<BranchlineConfig, "maxClones" | "services">,
): LimitGrants | undefined {
  const listPipelines =
    config.maxClones !== undefined ||
    config.services.some((service) => service.maxClones !== undefined);
  const idleMarkers = config.services.some((service) => service.idleDays !== undefined);
  return listPipelines || idleMarkers ? { listPipelines, idleMarkers } : undefined;
}
