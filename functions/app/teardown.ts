/**
 * The teardown run by `pulumi destroy` (the reconciler answers the stack's Lambda invocation resource
 * when it is deleted): removes what branchline created at run time for one source pipeline, while
 * the roles and the repositories still exist.
 *
 * - every clone of the source pipeline whose tags say it is ours (`isManagedClone`): its running
 *   executions are stopped, it is deleted, and so are its pull request's images;
 * - every image tag of a pull request (`pr-<n>`, `pr-<n>-...`) left without a clone, in each of the
 *   PR tier's repositories (the source tier's are never touched);
 * - with previews, every preview of the service (its rule, target group, service and task
 *   definitions), with its clone or without one, before the preview roles go.
 *
 * Pipelines named like clones but not tagged as ours are left alone and reported. One failure does not
 * stop the others; the caller reports every failure so that the destroy stops with the reasons and a
 * second destroy has only those left to do.
 */
import { isManagedClone } from "../core/clone.js";
import { ConfigurationError } from "../core/errors.js";
import { siblingPipelineArn } from "../core/pipeline.js";
import { cloneNumberOf, imagesByPullRequest } from "../core/reconcile.js";
import { cloneNameWildcard, TAG } from "../shared/names.js";
import type { ImageStore, Logger, Metrics, PipelineStore } from "./ports.js";
import { PullRequestPipelines, type KnownImages } from "./pull-request-pipelines.js";
import type { PreviewSettings } from "../core/preview.js";
import { servicePreviews, type PreviewClients } from "./preview-lifecycle.js";

export interface TeardownSummary {
  /** Pull requests whose clone was deleted. */
  deleted: number[];
  /** Pull requests with at least one image tag deleted. */
  imagesDeleted: number[];
  /** Pipelines named like clones of the source that branchline does not manage: left alone. */
  leftAlone: string[];
  errors: string[];
}

export interface TeardownPorts {
  pipelines: PipelineStore;
  images: ImageStore;
  logger: Logger;
  /** Clones deleted; default: none. */
  metrics?: Metrics | undefined;
  /** ECS and the load balancer for previews: only when some service has previews. */
  previews?: PreviewClients | undefined;
}

export interface TeardownOptions {
  sourcePipelineName: string;
  /** The PR tier's repositories: every `pr-` image in each goes. */
  repositoryNames: readonly string[];
  /** The service's name and preview settings: its previews go too. */
  name?: string | undefined;
  preview?: PreviewSettings | undefined;
  /** Aborted when the time is up: what was not reached is reported as an error. */
  signal?: AbortSignal;
}

export async function teardown(
  ports: TeardownPorts,
  options: TeardownOptions,
): Promise<TeardownSummary> {
  const summary: TeardownSummary = { deleted: [], imagesDeleted: [], leftAlone: [], errors: [] };
  const previews = servicePreviews(
    ports.previews,
    {
      name: options.name ?? options.sourcePipelineName,
      preview: options.preview,
      repositoryNames: options.repositoryNames,
    },
    ports.logger,
  );
  const app = new PullRequestPipelines(
    ports.pipelines,
    ports.images,
    ports.logger,
    {
      sourcePipelineName: options.sourcePipelineName,
      repositoryNames: options.repositoryNames,
      previews,
    },
    ports.metrics,
  );

  const source = await app.source().catch((error: unknown) => {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ConfigurationError(
      `${error.message}, so its clones cannot be told apart: delete the pipelines ${cloneNameWildcard(options.sourcePipelineName)} tagged ${TAG.sourcePipeline}=${options.sourcePipelineName} and the images tagged pr-* by hand, then remove the teardown resource from the stack (\`pulumi state delete\` of reconciler-teardown) and run \`pulumi destroy\` again`,
    );
  });
  const [listed, listings, previewed] = await Promise.all([
    ports.pipelines.list(),
    Promise.all(
      options.repositoryNames.map(
        async (repository) =>
          [repository, imagesByPullRequest(await ports.images.list(repository))] as const,
      ),
    ),
    previews?.list() ?? [],
  ]);
  const withPreview = new Set(previewed.map((listing) => listing.prNumber));
  const images = (n: number): KnownImages =>
    new Map(listings.map(([repository, byPr]) => [repository, byPr.get(n) ?? []]));
  const clones = new Map<number, string>();
  for (const { name } of listed) {
    const number = cloneNumberOf(name, options.sourcePipelineName);
    if (number !== undefined) clones.set(number, name);
  }

  const withImages = listings.flatMap(([, byPr]) => [...byPr.keys()]);
  const numbers = [...new Set([...clones.keys(), ...withImages, ...withPreview])].sort(
    (a, b) => a - b,
  );
  const notReached: number[] = [];
  for (const n of numbers) {
    if (options.signal?.aborted) {
      notReached.push(n);
      continue;
    }
    try {
      const name = clones.get(n);
      const tags =
        name === undefined
          ? undefined
          : await ports.pipelines.tags(siblingPipelineArn(source.arn, name));
      if (
        name !== undefined &&
        tags !== undefined &&
        !isManagedClone(tags, options.sourcePipelineName)
      ) {
        summary.leftAlone.push(name);
        ports.logger.info("pipeline left alone: not managed by branchline", {
          pullRequest: n,
          pipeline: name,
        });
      } else if (tags !== undefined) {
        const outcome = await app.remove(source, n, images(n), tags);
        if (outcome.result === "deleted") summary.deleted.push(n);
        if (outcome.imagesDeleted > 0) summary.imagesDeleted.push(n);
        continue;
      }
      // No clone (or not ours): the pull request's preview and images are still branchline's.
      if (previews !== undefined && withPreview.has(n)) await previews.remove(n);
      if ((await app.removeImages(n, images(n))) > 0) summary.imagesDeleted.push(n);
    } catch (error) {
      summary.errors.push(
        `pull request #${n}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  if (notReached.length > 0) {
    summary.errors.push(
      `out of time: ${notReached.length} pull request(s) not torn down: ${notReached.map((n) => `#${n}`).join(", ")}`,
    );
  }
  return summary;
}
