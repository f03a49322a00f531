/**
 * The one implementation of "make pull request n right": create or refresh its clone, or remove the
 * clone and its images. The webhook and the reconciler both call it.
 */
import {
  cloneDeclaration,
  cloneTags,
  isManagedClone,
  sameDeclaration,
  sourceRefOf,
  type CloneTarget,
} from "../core/clone.js";
import type { SourceRef } from "../core/classify.js";
import { ConfigurationError, ConflictError } from "../core/errors.js";
import { chunk, ECR_BATCH_LIMIT, pullRequestImageIds } from "../core/images.js";
import { siblingPipelineArn, type PipelineDeclaration, type Tag } from "../core/pipeline.js";
import { cloneName } from "../shared/names.js";
import {
  PipelineNameInUseError,
  type ImageId,
  type ImageStore,
  type Logger,
  type PipelineStore,
  type StoredPipeline,
} from "./ports.js";

export interface PullRequestPipelinesConfig {
  sourcePipelineName: string;
  repositoryName: string;
}

export interface SourcePipeline extends StoredPipeline {
  ref: SourceRef;
}

export type EnsureOutcome = { result: "created" | "updated" | "unchanged"; pipeline: string };
export interface RemoveOutcome {
  result: "deleted" | "absent";
  pipeline: string;
  executionsStopped: number;
  imagesDeleted: number;
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
  ) {}

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
  ): Promise<EnsureOutcome> {
    const desired = cloneDeclaration(source.declaration, target);
    const tags = cloneTags(this.config.sourcePipelineName, target.prNumber, target.headBranch);
    const created = async (): Promise<EnsureOutcome | undefined> => {
      try {
        await this.pipelines.create(desired, tags);
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

  /**
   * Stops the clone's executions, deletes it and the pull request's images. `knownImages`, when
   * given, is a fresh listing of the repository's image ids (the reconciler lists once per sweep);
   * `knownTags`, the clone's tags as just read by the caller, saves reading them again.
   */
  async remove(
    source: SourcePipeline,
    prNumber: number,
    knownImages?: ImageId[],
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
      result = "deleted";
    }
    const imagesDeleted = await this.removeImages(prNumber, knownImages);
    return { result, pipeline: name, executionsStopped, imagesDeleted };
  }

  /**
   * Deletes the images tagged for the pull request, at most 100 ids a call. Ids ECR could not
   * delete do not stop the other batches: they are reported together at the end, so that a retry
   * has only those left to do.
   */
  async removeImages(prNumber: number, knownImages?: ImageId[]): Promise<number> {
    const ids = pullRequestImageIds(
      knownImages ?? (await this.images.list(this.config.repositoryName)),
      prNumber,
    );
    let deleted = 0;
    const failures: { imageId: ImageId; code: string; reason: string }[] = [];
    for (const batch of chunk(ids, ECR_BATCH_LIMIT)) {
      const answer = await this.images.delete(this.config.repositoryName, batch);
      deleted += answer.deleted;
      failures.push(...answer.failures.filter((failure) => failure.code !== "ImageNotFound"));
    }
    if (failures.length > 0) {
      this.logger.warn("some images could not be deleted", { prNumber, deleted, failures });
      throw new Error(
        `could not delete ${failures.length} image tag(s) of pull request #${prNumber}: ${failures[0]?.code}: ${failures[0]?.reason}`,
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
    return { result: "updated", pipeline: desired.name };
  }
}

function notOurs(name: string): ConflictError {
  return new ConflictError(
    `pipeline ${name} exists but is not managed by branchline (its tags do not name this source pipeline); it is left alone`,
  );
}
