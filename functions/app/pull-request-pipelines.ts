/**
 * The one implementation of "make pull request n right": create or refresh its clone, or remove the
 * clone and its images. The webhook and the reconciler both call it.
 */
import {
  approvedShaOf,
  cloneDeclaration,
  cloneTags,
  headSourceActions,
  isManagedClone,
  sameDeclaration,
  sourceRefOf,
  type CloneTarget,
  type CloneTier,
  type PreviewTarget,
} from "../core/clone.js";
import type { SourceRef } from "../core/classify.js";
import { ConfigurationError, ConflictError } from "../core/errors.js";
import { chunk, ECR_BATCH_LIMIT, pullRequestImageIds } from "../core/images.js";
import { siblingPipelineArn, type PipelineDeclaration, type Tag } from "../core/pipeline.js";
import { cloneName } from "../shared/names.js";
import { CLONE_ACTIONS, DIMENSION, METRIC } from "../shared/metrics.js";
import {
  noMetrics,
  PipelineNameInUseError,
  type ImageId,
  type ImageStore,
  type Logger,
  type Metrics,
  type PipelineStore,
  type StoredPipeline,
} from "./ports.js";
import type { PreviewOutcome, ServicePreviews } from "./preview-lifecycle.js";

export interface PullRequestPipelinesConfig {
  sourcePipelineName: string;
  /** The PR tier's repositories: a pull request's images are deleted from each, and only there. */
  repositoryNames: readonly string[];
  /** The role every clone runs with; `undefined`: the source's. */
  cloneRoleArn?: string | undefined;
  /** Source CodeBuild project -> PR build project; `undefined`: the source's projects. */
  prBuildProjects?: Readonly<Record<string, string>> | undefined;
  /** The pull request tier's artifact bucket; `undefined`: the source's artifact store. */
  prArtifactBucket?: string | undefined;
  /**
   * The service's preview environments; `undefined`: none. A preview is ensured before its clone is
   * written (the clone deploys to it) and removed with the clone.
   */
  previews?: ServicePreviews | undefined;
}

/**
 * How an ensure treats the pull request's preview (with previews configured): `wake` scales an
 * idle one back (a push); `known` says a sweep listed it already, so only its target is used.
 */
export interface PreviewMode {
  wake?: boolean;
  known?: boolean;
}

/**
 * Image ids already listed, per repository name (a repository missing from it is listed when
 * needed): all of a repository's ids, or only the pull request's.
 */
export type KnownImages = ReadonlyMap<string, ImageId[]>;

export interface SourcePipeline extends StoredPipeline {
  ref: SourceRef;
}

export interface EnsureOutcome {
  result: "created" | "updated" | "unchanged";
  pipeline: string;
  /** The pull request's preview, with previews configured. */
  preview?: PreviewOutcome;
}
export interface RemoveOutcome {
  result: "deleted" | "absent";
  pipeline: string;
  executionsStopped: number;
  imagesDeleted: number;
  /** With previews configured: what of the pull request's preview was removed. */
  previewRemoved?: string[];
}

/**
 * `create-first` suits `opened` and `reopened`, where the clone is usually missing: one call when it
 * is. `read-first` suits the other actions, where it usually exists.
 */
export type EnsureStrategy = "create-first" | "read-first";

export class PullRequestPipelines {
  constructor(
    private readonly pipelines: PipelineStore,
    private readonly images: ImageStore,
    private readonly logger: Logger,
    private readonly config: PullRequestPipelinesConfig,
    /** Counts each clone created, updated or deleted (`Clones`, by `action`). */
    private readonly metrics: Metrics = noMetrics,
  ) {}

  private changed(action: (typeof CLONE_ACTIONS)[number]): void {
    this.metrics.count(METRIC.clones, 1, { [DIMENSION.action]: action });
  }

  /** The source pipeline, with the repository and branch it builds. */
  async source(): Promise<SourcePipeline> {
    const stored = await this.pipelines.get(this.config.sourcePipelineName);
    if (!stored) {
      throw new ConfigurationError(
        `source pipeline ${this.config.sourcePipelineName} does not exist`,
      );
    }
    return { ...stored, ref: sourceRefOf(stored.declaration) };
  }

  async ensure(
    source: SourcePipeline,
    target: CloneTarget,
    strategy: EnsureStrategy,
    mode: PreviewMode = {},
  ): Promise<EnsureOutcome> {
    const previews = this.config.previews;
    let preview: PreviewOutcome | undefined;
    if (previews !== undefined) {
      preview = mode.known
        ? previews.known(target.prNumber)
        : await previews.ensure(source, target.prNumber, mode.wake === true);
    }
    const aimed = preview?.kind === "running" ? preview.target : undefined;
    const outcome = await this.ensureDeclared(source, target, strategy, aimed);
    if (target.approvedSha !== undefined && outcome.result !== "created") {
      await this.recordApproval(source, target, target.approvedSha);
    }
    return preview === undefined ? outcome : { ...outcome, preview };
  }

  /**
   * Tags the clone with the commit a maintainer approved (with branchline's other tags: the clone
   * managers may tag a clone only with them), unless it carries it already.
   */
  private async recordApproval(
    source: SourcePipeline,
    target: CloneTarget,
    sha: string,
  ): Promise<void> {
    const arn = siblingPipelineArn(
      source.arn,
      cloneName(this.config.sourcePipelineName, target.prNumber),
    );
    const tags = await this.pipelines.tags(arn);
    if (tags === undefined || approvedShaOf(tags) === sha) return;
    await this.pipelines.tag(
      arn,
      cloneTags(this.config.sourcePipelineName, target.prNumber, target.headBranch, sha),
    );
  }

  /**
   * Starts an execution of the clone pinned to `commit` on each source action that reads the pull
   * request's head (StartPipelineExecution `sourceRevisions`, COMMIT_ID): whatever was pushed
   * since, that commit is what it builds. Returns the execution's id.
   */
  async startPinned(
    source: SourcePipeline,
    target: CloneTarget,
    commit: string,
    token?: string,
  ): Promise<string> {
    const desired = cloneDeclaration(source.declaration, target, this.tier(source));
    const pins = headSourceActions(desired, target.headRepository, target.headBranch).map(
      (actionName) => ({ actionName, commit }),
    );
    return this.pipelines.startExecution(desired.name, pins, token);
  }

  /** Stops the clone's executions in progress; returns how many. */
  async stopRunning(prNumber: number, reason: string): Promise<number> {
    const name = cloneName(this.config.sourcePipelineName, prNumber);
    let stopped = 0;
    for (const execution of await this.pipelines.inProgressExecutions(name)) {
      await this.pipelines.stopExecution(name, execution.pipelineExecutionId, reason);
      stopped++;
    }
    return stopped;
  }

  private async ensureDeclared(
    source: SourcePipeline,
    target: CloneTarget,
    strategy: EnsureStrategy,
    preview: PreviewTarget | undefined,
  ): Promise<EnsureOutcome> {
    const desired = cloneDeclaration(source.declaration, target, this.tier(source, preview));
    const tags = cloneTags(
      this.config.sourcePipelineName,
      target.prNumber,
      target.headBranch,
      target.approvedSha,
    );
    const created = async (): Promise<EnsureOutcome | undefined> => {
      try {
        await this.pipelines.create(desired, tags);
        this.changed("created");
        return { result: "created", pipeline: desired.name };
      } catch (error) {
        if (error instanceof PipelineNameInUseError) return undefined;
        throw error;
      }
    };

    if (strategy === "create-first") {
      return (await created()) ?? (await this.refresh(desired, undefined));
    }
    const existing = await this.pipelines.get(desired.name);
    if (existing) return this.refresh(desired, existing);
    // Created meanwhile by a concurrent delivery: refresh what is there.
    return (await created()) ?? (await this.refresh(desired, undefined));
  }

  /** The pull request tier; the source's region is its ARN's (`arn:<partition>:codepipeline:<region>:…`). */
  private tier(source: StoredPipeline, preview?: PreviewTarget): CloneTier {
    return {
      ...(preview !== undefined ? { preview } : {}),
      roleArn: this.config.cloneRoleArn,
      buildProjects: this.config.prBuildProjects,
      artifactBucket: this.config.prArtifactBucket,
      region: source.arn.split(":")[3] || undefined,
    };
  }

  /**
   * Stops the clone's executions, deletes it and the pull request's images. `knownImages`, when
   * given, is a fresh listing of image ids per repository (the reconciler lists once per sweep);
   * `knownTags`, the clone's tags as just read by the caller, saves reading them again.
   */
  async remove(
    source: SourcePipeline,
    prNumber: number,
    knownImages?: KnownImages,
    knownTags?: Tag[],
  ): Promise<RemoveOutcome> {
    const name = cloneName(this.config.sourcePipelineName, prNumber);
    const tags = knownTags ?? (await this.pipelines.tags(siblingPipelineArn(source.arn, name)));
    let executionsStopped = 0;
    let result: RemoveOutcome["result"] = "absent";
    if (tags !== undefined) {
      if (!isManagedClone(tags, this.config.sourcePipelineName)) throw notOurs(name);
      for (const execution of await this.pipelines.inProgressExecutions(name)) {
        await this.pipelines.stopExecution(
          name,
          execution.pipelineExecutionId,
          `pull request #${prNumber} closed`,
        );
        executionsStopped++;
      }
      await this.pipelines.delete(name);
      this.changed("deleted");
      result = "deleted";
    }
    // After the clone (no execution deploys to it any more), before the images (a preview left
    // running by an image failure would cost money until the retry).
    const previewRemoved = await this.config.previews?.remove(prNumber);
    const imagesDeleted = await this.removeImages(prNumber, knownImages);
    return {
      result,
      pipeline: name,
      executionsStopped,
      imagesDeleted,
      ...(previewRemoved !== undefined ? { previewRemoved } : {}),
    };
  }

  /**
   * Deletes the images tagged for the pull request from each PR repository, at most 100 ids a call.
   * A repository that cannot be listed, or ids ECR could not delete, do not stop the other batches
   * and repositories: they are reported together at the end (a failed call's own error first), so
   * that a retry has only those left to do.
   */
  async removeImages(prNumber: number, knownImages?: KnownImages): Promise<number> {
    let deleted = 0;
    const failures: { repository: string; imageId: ImageId; code: string; reason: string }[] = [];
    const errors: { repository: string; error: unknown }[] = [];
    for (const repository of this.config.repositoryNames) {
      try {
        const ids = pullRequestImageIds(
          knownImages?.get(repository) ?? (await this.images.list(repository)),
          prNumber,
        );
        for (const batch of chunk(ids, ECR_BATCH_LIMIT)) {
          const answer = await this.images.delete(repository, batch);
          deleted += answer.deleted;
          for (const failure of answer.failures) {
            if (failure.code !== "ImageNotFound") failures.push({ repository, ...failure });
          }
        }
      } catch (error) {
        errors.push({ repository, error });
      }
    }
    if (errors.length > 0 || failures.length > 0) {
      this.logger.warn("some images could not be deleted", {
        prNumber,
        deleted,
        failures,
        errors: errors.map(({ repository, error }) => ({ repository, error: message(error) })),
      });
    }
    // The first failed call's own error, so that its kind (a missing repository is a
    // configuration error) reaches the caller.
    if (errors[0] !== undefined) throw errors[0].error;
    const first = failures[0];
    if (first !== undefined) {
      throw new Error(
        `could not delete ${failures.length} image tag(s) of pull request #${prNumber}: ${first.repository}: ${first.code}: ${first.reason}`,
      );
    }
    return deleted;
  }

  private async refresh(
    desired: PipelineDeclaration,
    known: StoredPipeline | undefined,
  ): Promise<EnsureOutcome> {
    const existing = known ?? (await this.pipelines.get(desired.name));
    if (!existing) {
      // Deleted between our calls (a concurrent close): leave it deleted.
      throw new ConflictError(
        `pipeline ${desired.name} changed while it was being updated; try again`,
      );
    }
    if (sameDeclaration(existing.declaration, desired))
      return { result: "unchanged", pipeline: desired.name };
    const tags = await this.pipelines.tags(existing.arn);
    if (!tags || !isManagedClone(tags, this.config.sourcePipelineName)) throw notOurs(desired.name);
    await this.pipelines.update(desired);
    this.changed("updated");
    return { result: "updated", pipeline: desired.name };
  }
}

function notOurs(name: string): ConflictError {
  return new ConflictError(
    `pipeline ${name} exists but is not managed by branchline (its tags do not name this source pipeline); it is left alone`,
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
