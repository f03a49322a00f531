/** ImageStore over the AWS SDK v3 ECR client. */
import { BatchDeleteImageCommand, paginateListImages, type ECRClient } from "@aws-sdk/client-ecr";
import type { ImageId, ImageStore } from "../app/ports.js";
import { ConfigurationError } from "../core/errors.js";
import { callOptions, isAwsError } from "./aws-config.js";

export class EcrImageStore implements ImageStore {
  constructor(
    private readonly client: ECRClient,
    private readonly signal?: AbortSignal,
  ) {}

  async list(repositoryName: string): Promise<ImageId[]> {
    const ids: ImageId[] = [];
    try {
      for await (const page of paginateListImages(
        { client: this.client, pageSize: 1000 },
        { repositoryName, filter: { tagStatus: "TAGGED" } },
        callOptions(this.signal),
      )) {
        for (const id of page.imageIds ?? []) ids.push(compact(id));
      }
    } catch (error) {
      throw this.translate(error, repositoryName);
    }
    return ids;
  }

  async delete(repositoryName: string, ids: ImageId[]) {
    if (ids.length === 0) return { deleted: 0, failures: [] };
    try {
      const out = await this.client.send(
        new BatchDeleteImageCommand({ repositoryName, imageIds: ids }),
        callOptions(this.signal),
      );
      return {
        deleted: out.imageIds?.length ?? 0,
        failures: (out.failures ?? []).map((failure) => ({
          imageId: compact(failure.imageId ?? {}),
          code: failure.failureCode ?? "Unknown",
          reason: failure.failureReason ?? "",
        })),
      };
    } catch (error) {
      throw this.translate(error, repositoryName);
    }
  }

  private translate(error: unknown, repositoryName: string): unknown {
    return isAwsError(error, "RepositoryNotFoundException")
      ? new ConfigurationError(`ECR repository ${repositoryName} does not exist`)
      : error;
  }
}

function compact(id: { imageDigest?: string; imageTag?: string }): ImageId {
  return {
    ...(id.imageDigest ? { imageDigest: id.imageDigest } : {}),
    ...(id.imageTag ? { imageTag: id.imageTag } : {}),
  };
}
