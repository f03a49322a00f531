/**
 * One service's preview environments as the clone use case sees them (app/pull-request-pipelines.ts):
 * a preview is ensured before the clone is written, so that the clone's ECS deploy action is aimed
 * at a service that exists, and removed after the clone is deleted, so that no execution deploys to
 * it any more. A service beyond its `maxPreviews`, or a listener without a free rule, makes the
 * preview wait: the clone is still built, without its deploy stage, until a preview slot frees (the
 * reconciler's sweep fills free slots).
 */
import { previewSourceOf, type PreviewTarget } from "../core/clone.js";
import { previewNames, previewUrl, type PreviewSettings } from "../core/preview.js";
import {
  ensurePreview,
  listPreviews,
  PreviewLimitError,
  removePreview,
  scaleDownIdle,
  type PreviewListing,
  type PreviewBuildScope,
  type PreviewScope,
} from "./previews.js";
import {
  isListenerFull,
  type PreviewEcs,
  type PreviewLoadBalancer,
  type PreviewTraffic,
} from "./preview-ports.js";
import type { Logger } from "./ports.js";
import type { StoredPipeline } from "./ports.js";
import { ConfigurationError } from "../core/errors.js";
import { locationOfArn } from "../core/feedback.js";
import { ENV } from "../shared/names.js";

export interface PreviewPorts {
  ecs: PreviewEcs;
  elb: PreviewLoadBalancer;
  /** Request counts for idleness: the reconciler's only. */
  traffic?: PreviewTraffic | undefined;
}

export interface ServicePreviewConfig {
  /** The stack's prefix (`branchline:prefix`): every preview resource's name starts with it. */
  stackPrefix: string;
  /** The service's name in the services table. */
  service: string;
  settings: PreviewSettings;
  /** The pull request tier's ECR repositories: the preview runs their `pr-<n>` images. */
  repositories: readonly string[];
}

/** What became of a pull request's preview when its clone was ensured. */
export type PreviewOutcome =
  | {
      kind: "running";
      /** Where the clone's ECS deploy action deploys. */
      target: PreviewTarget;
      url: string;
      /** What this call created or changed (empty: nothing, or not checked). */
      changed: string[];
    }
  | { kind: "waiting"; reason: string };

/** The ECR registry host of the account and region of an ARN (`arn:<partition>:<svc>:<region>:<account>:…`). */
export function registryOf(arn: string): string {
  const at = locationOfArn(arn);
  if (at === undefined)
    throw new ConfigurationError(`${arn} is not an ARN of an account and region`);
  const suffix = at.partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `${at.account}.dkr.ecr.${at.region}.${suffix}`;
}

/** ECS and the load balancer with the stack's prefix, as the functions get them. */
export interface PreviewClients {
  ports: PreviewPorts;
  stackPrefix: string;
}

/**
 * A service's previews, when it has them (`undefined`: none). A service with previews and no
 * clients is a configuration error: the function has no stack prefix.
 */
export function servicePreviews(
  clients: PreviewClients | undefined,
  service: {
    name: string;
    preview?: PreviewSettings | undefined;
    repositoryNames: readonly string[];
  },
  logger: Pick<Logger, "info" | "warn">,
): ServicePreviews | undefined {
  if (service.preview === undefined) return undefined;
  if (clients === undefined) {
    throw new ConfigurationError(
      `service ${service.name} has previews but the function has no stack prefix (${ENV.stackPrefix}): run pulumi up again`,
    );
  }
  return new ServicePreviews(
    clients.ports,
    {
      stackPrefix: clients.stackPrefix,
      service: service.name,
      settings: service.preview,
      repositories: service.repositoryNames,
    },
    logger,
  );
}

export class ServicePreviews {
  constructor(
    private readonly ports: PreviewPorts,
    readonly config: ServicePreviewConfig,
    private readonly logger: Pick<Logger, "info" | "warn">,
  ) {}

  /** The scope of the service's previews, from its source pipeline (its ECS deploy, its region). */
  scope(source: StoredPipeline): PreviewBuildScope {
    return {
      stackPrefix: this.config.stackPrefix,
      service: this.config.service,
      settings: this.config.settings,
      source: previewSourceOf(source.declaration),
      images: { registry: registryOf(source.arn), repositories: [...this.config.repositories] },
    };
  }

  /** Where pull request `prNumber`'s clone deploys its preview. */
  target(prNumber: number): PreviewTarget {
    const { stackPrefix, service, settings } = this.config;
    const names = previewNames(stackPrefix, service, prNumber, settings.domain);
    return { cluster: settings.cluster, service: names.serviceName };
  }

  url(prNumber: number): string {
    return previewUrl(this.config.service, prNumber, this.config.settings.domain);
  }

  /** A preview known to exist (listed by a sweep): its target, nothing called. */
  known(prNumber: number): PreviewOutcome {
    return { kind: "running", target: this.target(prNumber), url: this.url(prNumber), changed: [] };
  }

  /**
   * Creates or refreshes the pull request's preview; `wake`: scale an idle one back to a task. The
   * per-service cap and a full listener make it wait; any other failure is thrown (a retry is safe).
   */
  async ensure(source: StoredPipeline, prNumber: number, wake: boolean): Promise<PreviewOutcome> {
    try {
      const ensured = await ensurePreview(this.deps(), this.scope(source), prNumber, { wake });
      return {
        kind: "running",
        target: this.target(prNumber),
        url: this.url(prNumber),
        changed: ensured.changed,
      };
    } catch (error) {
      if (error instanceof PreviewLimitError || isListenerFull(error)) {
        this.logger.info("preview waits", { pullRequest: prNumber, reason: error.message });
        return { kind: "waiting", reason: error.message };
      }
      throw error;
    }
  }

  /** Removes the pull request's preview; returns what it removed (nothing: it had none). */
  async remove(prNumber: number): Promise<string[]> {
    return (await removePreview(this.deps(), this.previews, prNumber)).removed;
  }

  /** The service's previews (rules and target groups tagged as this stack's). */
  list(): Promise<PreviewListing[]> {
    return listPreviews(this.deps(), this.previews);
  }

  /**
   * The pull requests among `listings` whose preview is whole: its rule, its target group and an
   * ACTIVE service of its name (one DescribeServices per 10). A preview missing a piece (a
   * creation that stopped half-way) is not: the sweep ensures it again.
   */
  async whole(listings: readonly PreviewListing[]): Promise<Set<number>> {
    const candidates = listings.filter(
      (listing) => listing.ruleArn !== undefined && listing.targetGroupArn !== undefined,
    );
    if (candidates.length === 0) return new Set();
    const names = new Map(candidates.map((l) => [this.target(l.prNumber).service, l.prNumber]));
    const services = await this.ports.ecs.describeServices(this.config.settings.cluster, [
      ...names.keys(),
    ]);
    const whole = new Set<number>();
    for (const [name, prNumber] of names) {
      if (services.get(name)?.status === "ACTIVE") whole.add(prNumber);
    }
    return whole;
  }

  /**
   * Scales the idle previews among `listings` to zero (app/previews.ts `scaleDownIdle`); without
   * request counts (not the reconciler), none.
   */
  async scaleDownIdle(listings: readonly PreviewListing[], now: Date): Promise<number[]> {
    const traffic = this.ports.traffic;
    if (traffic === undefined) return [];
    return scaleDownIdle(this.deps(), traffic, this.previews, listings, now);
  }

  private deps() {
    return { ecs: this.ports.ecs, elb: this.ports.elb, logger: this.logger };
  }

  /**
   * Removing, listing and scaling need nothing of the source pipeline: a source whose ECS deploy is
   * gone must not keep its previews alive.
   */
  private get previews(): PreviewScope {
    const { stackPrefix, service, settings } = this.config;
    return { stackPrefix, service, settings };
  }
}
