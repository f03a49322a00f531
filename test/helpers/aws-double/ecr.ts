/** ECR state (repositories and their images) and operations of the AWS test double. */
import { createHash } from "node:crypto";
import { AwsError, page } from "./errors.js";

export interface ImageState {
  digest: string;
  tags: string[];
  /** Epoch milliseconds. */
  pushedAt: number;
  sizeInBytes: number;
}

export interface SeedImage {
  tags: string[];
  digest?: string;
}

interface ImageIdInput {
  imageDigest?: string;
  imageTag?: string;
}

type Input = Record<string, unknown>;

/** Image ids that BatchDeleteImage reports as failures instead of deleting (a partial failure). */
export interface ImageDeleteFailure {
  repository: string;
  /** Ids naming one of these tags fail. */
  tags: string[];
  /** ECR's failure code (default "ImageReferencedByManifestList"). */
  code?: string;
  reason?: string;
  /** How many BatchDeleteImage calls that hit one of the tags fail them (default: every call). */
  times?: number;
}

interface ActiveDeleteFailure extends ImageDeleteFailure {
  remaining: number;
}

export class EcrState {
  readonly repositories = new Map<string, ImageState[]>();
  private counter = 0;
  private deleteFailures: ActiveDeleteFailure[] = [];

  constructor(private readonly accountId: string) {}

  reset(): void {
    this.repositories.clear();
    this.deleteFailures = [];
  }

  failImageDeletes(failure: ImageDeleteFailure): void {
    this.deleteFailures.push({ ...failure, remaining: failure.times ?? Infinity });
  }

  private injectedFailure(repository: string, id: ImageIdInput): ActiveDeleteFailure | undefined {
    return this.deleteFailures.find(
      (f) =>
        f.remaining > 0 &&
        f.repository === repository &&
        id.imageTag !== undefined &&
        f.tags.includes(id.imageTag),
    );
  }

  createRepository(name: string): void {
    if (!this.repositories.has(name)) this.repositories.set(name, []);
  }

  seedImage(repository: string, seed: SeedImage): string {
    const images = this.repositories.get(repository);
    if (!images) throw new Error(`no repository '${repository}': call createRepository first`);
    this.counter += 1;
    const digest =
      seed.digest ??
      `sha256:${createHash("sha256").update(`${repository}/${this.counter}`).digest("hex")}`;
    // A tag names one image: pushing it elsewhere moves it.
    for (const image of images) image.tags = image.tags.filter((t) => !seed.tags.includes(t));
    const existing = images.find((i) => i.digest === digest);
    if (existing) {
      existing.tags = [...new Set([...existing.tags, ...seed.tags])];
    } else {
      images.push({
        digest,
        tags: [...new Set(seed.tags)],
        pushedAt: Date.now() + this.counter,
        sizeInBytes: 1024 * this.counter,
      });
    }
    return digest;
  }

  private repository(input: Input): ImageState[] {
    const name = String(input.repositoryName);
    const registryId = (input.registryId as string | undefined) ?? this.accountId;
    const images = registryId === this.accountId ? this.repositories.get(name) : undefined;
    if (!images) {
      throw new AwsError(
        "RepositoryNotFoundException",
        `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
      );
    }
    return images;
  }

  handle(operation: string, input: Input): unknown {
    switch (operation) {
      case "ListImages": {
        const images = this.repository(input);
        const tagStatus = (input.filter as { tagStatus?: string } | undefined)?.tagStatus ?? "ANY";
        const ids: ImageIdInput[] = [];
        for (const image of images) {
          if (image.tags.length > 0 && tagStatus !== "UNTAGGED") {
            for (const tag of image.tags) ids.push({ imageDigest: image.digest, imageTag: tag });
          }
          if (image.tags.length === 0 && tagStatus !== "TAGGED") {
            ids.push({ imageDigest: image.digest });
          }
        }
        const { items, nextToken } = page(
          ids,
          `ListImages:${String(input.repositoryName)}:${tagStatus}`,
          input.nextToken,
          input.maxResults,
          100,
          "InvalidParameterException",
        );
        return { imageIds: items, ...(nextToken ? { nextToken } : {}) };
      }
      case "DescribeImages": {
        const images = this.repository(input);
        const tagStatus = (input.filter as { tagStatus?: string } | undefined)?.tagStatus ?? "ANY";
        let selected: ImageState[];
        const requested = input.imageIds as ImageIdInput[] | undefined;
        if (requested && requested.length > 0) {
          selected = requested.map((id) => {
            const image = this.find(images, id);
            if (!image) {
              throw new AwsError(
                "ImageNotFoundException",
                `The image with imageId ${describeId(id)} does not exist within the repository with name '${String(input.repositoryName)}'`,
              );
            }
            return image;
          });
        } else {
          selected = images.filter(
            (i) =>
              tagStatus === "ANY" ||
              (tagStatus === "TAGGED" ? i.tags.length > 0 : i.tags.length === 0),
          );
        }
        const { items, nextToken } = page(
          selected,
          `DescribeImages:${String(input.repositoryName)}:${tagStatus}`,
          input.nextToken,
          input.maxResults,
          100,
          "InvalidParameterException",
        );
        return {
          imageDetails: items.map((image) => ({
            registryId: this.accountId,
            repositoryName: String(input.repositoryName),
            imageDigest: image.digest,
            ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
            imageSizeInBytes: image.sizeInBytes,
            imagePushedAt: image.pushedAt / 1000,
            imageManifestMediaType: "application/vnd.docker.distribution.manifest.v2+json",
          })),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case "BatchDeleteImage": {
        const images = this.repository(input);
        const deleted: ImageIdInput[] = [];
        const failures: { imageId: ImageIdInput; failureCode: string; failureReason: string }[] =
          [];
        const hit = new Set<ActiveDeleteFailure>();
        for (const id of input.imageIds as ImageIdInput[]) {
          const imageId = { ...id };
          const injected = this.injectedFailure(String(input.repositoryName), id);
          if (injected) {
            hit.add(injected);
            failures.push({
              imageId,
              failureCode: injected.code ?? "ImageReferencedByManifestList",
              failureReason:
                injected.reason ??
                "The image is referenced by a manifest list and cannot be deleted",
            });
            continue;
          }
          if (!id.imageDigest && !id.imageTag) {
            failures.push({
              imageId,
              failureCode: "MissingDigestAndTag",
              failureReason: "Missing image digest and image tag",
            });
            continue;
          }
          const image = this.find(images, id);
          if (!image) {
            const mismatch =
              id.imageDigest &&
              id.imageTag &&
              images.some((i) => i.digest === id.imageDigest) &&
              images.some((i) => i.tags.includes(id.imageTag as string));
            failures.push(
              mismatch
                ? {
                    imageId,
                    failureCode: "ImageTagDoesNotMatchDigest",
                    failureReason: "Invalid image digest or tag",
                  }
                : {
                    imageId,
                    failureCode: "ImageNotFound",
                    failureReason: "Requested image not found",
                  },
            );
            continue;
          }
          if (id.imageTag && !id.imageDigest) {
            // By tag: untag; the image goes when its last tag does.
            image.tags = image.tags.filter((t) => t !== id.imageTag);
            if (image.tags.length === 0) images.splice(images.indexOf(image), 1);
            deleted.push({ imageDigest: image.digest, imageTag: id.imageTag });
          } else {
            // By digest: the image and all its tags.
            images.splice(images.indexOf(image), 1);
            if (image.tags.length === 0) deleted.push({ imageDigest: image.digest });
            for (const tag of image.tags)
              deleted.push({ imageDigest: image.digest, imageTag: tag });
          }
        }
        for (const failure of hit) failure.remaining -= 1;
        this.deleteFailures = this.deleteFailures.filter((f) => f.remaining > 0);
        return { imageIds: deleted, failures };
      }
      default:
        throw new AwsError("UnknownOperationException", `Unknown operation ${operation}`);
    }
  }

  private find(images: ImageState[], id: ImageIdInput): ImageState | undefined {
    return images.find(
      (i) =>
        (id.imageDigest === undefined || i.digest === id.imageDigest) &&
        (id.imageTag === undefined || i.tags.includes(id.imageTag)) &&
        (id.imageDigest !== undefined || id.imageTag !== undefined),
    );
  }
}

function describeId(id: ImageIdInput): string {
  return `'{imageDigest:'${id.imageDigest ?? "null"}', imageTag:'${id.imageTag ?? "null"}'}'`;
}
