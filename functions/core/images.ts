/**
 * Which images belong to a pull request: tags `pr-<n>` and `pr-<n>-...`, nothing else (`pr-20` is
 * not pull request 2's). Deleting by tag only removes the image once its last tag is gone, so an image
 * that also carries a tag of another build stays.
 */
import { imageTagPrefix } from "../shared/names.js";

/** ECR's limit on image ids in one BatchDeleteImage call. */
export const ECR_BATCH_LIMIT = 100;

export interface TaggedImageId {
  imageTag?: string;
  imageDigest?: string;
}

export function belongsToPullRequest(tag: string, prNumber: number): boolean {
  const prefix = imageTagPrefix(prNumber);
  return tag === prefix || tag.startsWith(`${prefix}-`);
}

/** The tags to delete for a pull request, one id per tag, without duplicates. */
export function pullRequestImageIds(
  ids: TaggedImageId[],
  prNumber: number,
): { imageTag: string }[] {
  const tags = new Set<string>();
  for (const id of ids) {
    if (id.imageTag !== undefined && belongsToPullRequest(id.imageTag, prNumber))
      tags.add(id.imageTag);
  }
  return [...tags].sort().map((imageTag) => ({ imageTag }));
}

export function chunk<T>(items: T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`chunk size must be a positive integer`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
