/**
 * The managed clones of a source pipeline: every pipeline (all pages) whose name has the clone
 * shape, confirmed by its tags. A pipeline without branchline's tags for this source is not listed.
 */
import type { PipelineStore, PipelineSummary } from "../app/ports.js";
import type { SourcePipeline } from "../app/pull-request-pipelines.js";
import { isManagedClone } from "../core/clone.js";
import { siblingPipelineArn } from "../core/pipeline.js";
import { cloneNumberOf } from "../core/reconcile.js";
import { TAG } from "../shared/names.js";
import { mapLimit, type Progress } from "./io.js";

export interface ManagedClone {
  pullRequest: number;
  pipeline: string;
  /** The head branch the clone builds, from its tag. */
  branch: string | undefined;
  pipelineType: string;
  created: Date | undefined;
}

/** Calls made at once when a command reads something per clone. */
export const CONCURRENCY = 8;

export async function managedClones(
  pipelines: PipelineStore,
  source: SourcePipeline,
  progress: Progress,
  listing: () => Promise<PipelineSummary[]> = () => pipelines.list(),
): Promise<ManagedClone[]> {
  const sourceName = source.declaration.name;
  progress.update("listing pipelines");
  const candidates = (await listing()).flatMap((summary) => {
    const number = cloneNumberOf(summary.name, sourceName);
    return number === undefined ? [] : [{ summary, number }];
  });
  let read = 0;
  const confirmed = await mapLimit(candidates, CONCURRENCY, async ({ summary, number }) => {
    const tags = await pipelines.tags(siblingPipelineArn(source.arn, summary.name));
    progress.update(`reading tags ${++read}/${candidates.length}`);
    if (!tags || !isManagedClone(tags, sourceName)) return undefined;
    const value = (key: string) => tags.find((tag) => tag.key === key)?.value;
    const clone: ManagedClone = {
      pullRequest: number,
      pipeline: summary.name,
      branch: value(TAG.branch),
      pipelineType: summary.pipelineType ?? "V1",
      created: summary.created,
    };
    return clone;
  });
  return confirmed
    .filter((clone): clone is ManagedClone => clone !== undefined)
    .sort((a, b) => a.pullRequest - b.pullRequest);
}

/** The account's pipelines listed once for all the services of a command (`list` on first call). */
export function listOnce(pipelines: PipelineStore): () => Promise<PipelineSummary[]> {
  let listing: Promise<PipelineSummary[]> | undefined;
  return () => (listing ??= pipelines.list());
}
