/**
 * ECS state (clusters, services, task definitions and their tags) and the operations of the AWS
 * test double that preview environments use (JSON 1.1). The checks are those ECS makes: Fargate's
 * cpu/memory combinations and awsvpc network mode, container secrets needing an execution role, a
 * service's network configuration and load balancers (the target group must exist and be reached
 * by a listener rule), services not ACTIVE refusing updates, and deletion needing `force` while
 * tasks are wanted. Deployments as ECS makes them: CreateService starts the PRIMARY one; an
 * UpdateService that changes the task definition (or forces a new deployment) starts a new PRIMARY
 * one, created then, and the previous one stays ACTIVE while it is replaced (one older than that
 * is gone); an UpdateService of the desired count alone starts none.
 */
import { randomUUID } from "node:crypto";
import { AwsError, page } from "./errors.js";

type Input = Record<string, unknown>;

export interface EcsTag {
  key: string;
  value: string;
}

export interface StoredTaskDefinition {
  arn: string;
  family: string;
  revision: number;
  status: "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS";
  /** The RegisterTaskDefinition input as sent (without tags). */
  definition: Input;
  registeredAt: number;
  deregisteredAt?: number;
  tags: EcsTag[];
}

export interface StoredDeployment {
  id: string;
  status: "PRIMARY" | "ACTIVE";
  taskDefinition: string;
  createdAt: number;
  updatedAt: number;
}

export interface StoredService {
  arn: string;
  name: string;
  clusterArn: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  taskDefinition: string;
  desiredCount: number;
  launchType?: string;
  networkConfiguration?: unknown;
  loadBalancers: { targetGroupArn?: string; containerName?: string; containerPort?: number }[];
  createdAt: number;
  tags: EcsTag[];
  /** Every UpdateService input applied, oldest first. */
  updates: Input[];
  /** The PRIMARY deployment first, then the ACTIVE one it replaces, if any. */
  deployments: StoredDeployment[];
}

function newDeployment(taskDefinition: string, now: number): StoredDeployment {
  return {
    id: `ecs-svc/${randomUUID().replace(/-/g, "").slice(0, 19)}`,
    status: "PRIMARY",
    taskDefinition,
    createdAt: now,
    updatedAt: now,
  };
}

/** The Fargate task sizes ECS accepts: cpu units → allowed memory (MiB). */
const FARGATE_SIZES: Record<string, (memory: number) => boolean> = {
  "256": (m) => [512, 1024, 2048].includes(m),
  "512": (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  "1024": (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  "2048": (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  "4096": (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  "8192": (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  "16384": (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** Answers whether a target group exists and whether a listener or rule forwards to it. */
export interface TargetGroupLookup {
  targetGroup(arn: string): { exists: boolean; attached: boolean };
}

export class EcsState {
  readonly clusters = new Map<string, string>();
  readonly taskDefinitions = new Map<string, StoredTaskDefinition[]>();
  /** By cluster ARN, then service name (the newest service of that name). */
  readonly services = new Map<string, Map<string, StoredService>>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
    private readonly targetGroups: TargetGroupLookup,
  ) {}

  reset(): void {
    this.clusters.clear();
    this.taskDefinitions.clear();
    this.services.clear();
  }

  private arn(resource: string): string {
    return `arn:aws:ecs:${this.region}:${this.accountId}:${resource}`;
  }

  createCluster(name: string): string {
    const arn = this.arn(`cluster/${name}`);
    this.clusters.set(name, arn);
    if (!this.services.has(arn)) this.services.set(arn, new Map());
    return arn;
  }

  /** Registers a task definition directly (a source service's); returns its ARN. */
  seedTaskDefinition(definition: Input, tags: EcsTag[] = []): string {
    return this.register({ ...definition, tags }).arn;
  }

  handle(operation: string, input: Input): unknown {
    switch (operation) {
      case "RegisterTaskDefinition": {
        const stored = this.register(input);
        return {
          taskDefinition: this.wireTaskDefinition(stored),
          ...(stored.tags.length > 0 ? { tags: stored.tags } : {}),
        };
      }
      case "DescribeTaskDefinition": {
        const stored = this.taskDefinition(str(input.taskDefinition) ?? "");
        const include = (input.include as string[] | undefined) ?? [];
        return {
          taskDefinition: this.wireTaskDefinition(stored),
          ...(include.includes("TAGS") ? { tags: stored.tags } : {}),
        };
      }
      case "DeregisterTaskDefinition":
        return this.deregister(input);
      case "DeleteTaskDefinitions":
        return this.deleteTaskDefinitions(input);
      case "ListTaskDefinitions":
        return this.listTaskDefinitions(input);
      case "CreateService":
        return { service: this.wireService(this.createService(input)) };
      case "UpdateService":
        return { service: this.wireService(this.updateService(input)) };
      case "DeleteService":
        return { service: this.wireService(this.deleteService(input)) };
      case "DescribeServices":
        return this.describeServices(input);
      case "TagResource":
        this.tagResource(input);
        return {};
      case "ListTagsForResource":
        return { tags: this.resourceTags(str(input.resourceArn) ?? "") };
      default:
        throw new AwsError("UnsupportedOperation", `Unknown operation ${operation}`);
    }
  }

  // ---- task definitions ----

  private register(input: Input): StoredTaskDefinition {
    const family = str(input.family) ?? "";
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new AwsError(
        "ClientException",
        "Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.",
      );
    }
    const containers = (input.containerDefinitions as Input[] | undefined) ?? [];
    if (containers.length === 0) {
      throw new AwsError("ClientException", "Container list cannot be empty.");
    }
    const compatibilities = (input.requiresCompatibilities as string[] | undefined) ?? [];
    if (compatibilities.includes("FARGATE")) {
      if (input.networkMode !== "awsvpc") {
        throw new AwsError("ClientException", "Fargate only supports network mode 'awsvpc'.");
      }
      const cpu = str(input.cpu);
      const memory = str(input.memory);
      if (cpu === undefined) {
        throw new AwsError(
          "ClientException",
          "Fargate requires that 'cpu' be defined at the task level.",
        );
      }
      if (memory === undefined) {
        throw new AwsError(
          "ClientException",
          "Fargate requires that 'memory' be defined at the task level.",
        );
      }
      const fits = FARGATE_SIZES[cpu];
      if (!fits || !fits(Number(memory))) {
        throw new AwsError(
          "ClientException",
          `No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory. See the Amazon ECS documentation for the valid values.`,
        );
      }
    }
    for (const container of containers) {
      const secrets = (container.secrets as unknown[] | undefined) ?? [];
      if (secrets.length > 0 && input.executionRoleArn === undefined) {
        throw new AwsError(
          "ClientException",
          "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        );
      }
      if (str(container.name) === undefined || str(container.image) === undefined) {
        throw new AwsError(
          "ClientException",
          "Container.name and Container.image should not be null or empty.",
        );
      }
    }
    const tags = (input.tags as EcsTag[] | undefined) ?? [];
    const definition = { ...input };
    delete definition.tags;
    const revisions = this.taskDefinitions.get(family) ?? [];
    const revision = revisions.length + 1;
    const stored: StoredTaskDefinition = {
      arn: this.arn(`task-definition/${family}:${revision}`),
      family,
      revision,
      status: "ACTIVE",
      definition: structuredClone(definition),
      registeredAt: Date.now(),
      tags: structuredClone(tags),
    };
    revisions.push(stored);
    this.taskDefinitions.set(family, revisions);
    return stored;
  }

  /** A task definition by `family` (newest ACTIVE revision), `family:revision` or ARN. */
  private taskDefinition(reference: string, mustExist = true): StoredTaskDefinition {
    const name = reference.startsWith("arn:") ? (reference.split("/").pop() ?? "") : reference;
    const [family = "", revision] = name.split(":");
    const revisions = this.taskDefinitions.get(family) ?? [];
    const found =
      revision === undefined
        ? [...revisions].reverse().find((t) => t.status === "ACTIVE")
        : revisions.find(
            (t) => t.revision === Number(revision) && t.status !== "DELETE_IN_PROGRESS",
          );
    if (!found && mustExist) {
      throw new AwsError("ClientException", "Unable to describe task definition.");
    }
    return found as StoredTaskDefinition;
  }

  private deregister(input: Input): unknown {
    const reference = str(input.taskDefinition) ?? "";
    if (!/:\d+$/.test(reference)) {
      throw new AwsError(
        "ClientException",
        "The specified task definition identifier is invalid. Specify a valid name or ARN and revision.",
      );
    }
    const stored = this.taskDefinition(reference);
    if (stored.status === "ACTIVE") {
      stored.status = "INACTIVE";
      stored.deregisteredAt = Date.now();
    }
    return { taskDefinition: this.wireTaskDefinition(stored) };
  }

  private deleteTaskDefinitions(input: Input): unknown {
    const deleted: unknown[] = [];
    const failures: unknown[] = [];
    for (const reference of (input.taskDefinitions as string[] | undefined) ?? []) {
      const name = reference.startsWith("arn:") ? (reference.split("/").pop() ?? "") : reference;
      const [family = "", revision] = name.split(":");
      const stored = (this.taskDefinitions.get(family) ?? []).find(
        (t) => t.revision === Number(revision),
      );
      if (!stored || stored.status === "DELETE_IN_PROGRESS") {
        failures.push({ arn: reference, reason: "TASK_DEFINITION_NOT_FOUND" });
      } else if (stored.status === "ACTIVE") {
        failures.push({
          arn: stored.arn,
          reason:
            "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
        });
      } else {
        stored.status = "DELETE_IN_PROGRESS";
        deleted.push(this.wireTaskDefinition(stored));
      }
    }
    return { taskDefinitions: deleted, failures };
  }

  private listTaskDefinitions(input: Input): unknown {
    const prefix = str(input.familyPrefix);
    const status = str(input.status) ?? "ACTIVE";
    const arns = [...this.taskDefinitions.entries()]
      .filter(([family]) => prefix === undefined || family === prefix)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([, revisions]) => revisions)
      .filter((t) => t.status === status)
      .map((t) => t.arn);
    if (input.sort === "DESC") arns.reverse();
    const { items, nextToken } = page(
      arns,
      `ListTaskDefinitions ${prefix ?? ""} ${status}`,
      input.nextToken,
      input.maxResults,
      100,
      "InvalidParameterException",
    );
    return nextToken ? { taskDefinitionArns: items, nextToken } : { taskDefinitionArns: items };
  }

  private wireTaskDefinition(stored: StoredTaskDefinition): unknown {
    const compatibilities = ["EC2"];
    if (stored.definition.networkMode === "awsvpc") compatibilities.push("FARGATE");
    return {
      ...structuredClone(stored.definition),
      taskDefinitionArn: stored.arn,
      family: stored.family,
      revision: stored.revision,
      status: stored.status,
      compatibilities,
      registeredAt: stored.registeredAt / 1000,
      ...(stored.deregisteredAt ? { deregisteredAt: stored.deregisteredAt / 1000 } : {}),
    };
  }

  // ---- services ----

  private cluster(reference: unknown): string {
    const name = str(reference) ?? "default";
    const arn = name.startsWith("arn:") ? name : this.clusters.get(name);
    if (!arn || !this.services.has(arn)) {
      throw new AwsError("ClusterNotFoundException", "Cluster not found.");
    }
    return arn;
  }

  private service(clusterArn: string, reference: unknown): StoredService | undefined {
    const name = (str(reference) ?? "").split("/").pop() ?? "";
    return this.services.get(clusterArn)?.get(name);
  }

  private createService(input: Input): StoredService {
    const clusterArn = this.cluster(input.cluster);
    const name = str(input.serviceName) ?? "";
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,254}$/.test(name)) {
      throw new AwsError(
        "InvalidParameterException",
        "Service name must be up to 255 letters (uppercase and lowercase), numbers, underscores and hyphens, starting with a letter.",
      );
    }
    const definition = this.taskDefinition(str(input.taskDefinition) ?? "", false);
    if (!definition || definition.status !== "ACTIVE") {
      throw new AwsError("InvalidParameterException", "TaskDefinition not found.");
    }
    const existing = this.service(clusterArn, name);
    if (existing?.status === "ACTIVE") {
      throw new AwsError("InvalidParameterException", "Creation of service was not idempotent.");
    }
    if (existing?.status === "DRAINING") {
      throw new AwsError(
        "InvalidParameterException",
        "Unable to Start a service that is still Draining.",
      );
    }
    if (definition.definition.networkMode === "awsvpc") {
      const network = input.networkConfiguration as
        { awsvpcConfiguration?: { subnets?: string[] } } | undefined;
      if (!network?.awsvpcConfiguration) {
        throw new AwsError(
          "InvalidParameterException",
          "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        );
      }
    }
    const loadBalancers = (input.loadBalancers as StoredService["loadBalancers"] | undefined) ?? [];
    const containerNames = ((definition.definition.containerDefinitions as Input[]) ?? []).map(
      (c) => c.name,
    );
    for (const lb of loadBalancers) {
      const arn = lb.targetGroupArn ?? "";
      const found = this.targetGroups.targetGroup(arn);
      if (!found.exists) {
        throw new AwsError("InvalidParameterException", `Unable to find target group ${arn}.`);
      }
      if (!found.attached) {
        throw new AwsError(
          "InvalidParameterException",
          `The target group with targetGroupArn ${arn} does not have an associated load balancer.`,
        );
      }
      if (!containerNames.includes(lb.containerName)) {
        throw new AwsError(
          "InvalidParameterException",
          `The container ${lb.containerName} does not exist in the task definition.`,
        );
      }
    }
    const now = Date.now();
    const service: StoredService = {
      arn: this.arn(`service/${clusterArn.split("/").pop()}/${name}`),
      name,
      clusterArn,
      status: "ACTIVE",
      taskDefinition: definition.arn,
      desiredCount: typeof input.desiredCount === "number" ? input.desiredCount : 0,
      ...(str(input.launchType) ? { launchType: str(input.launchType) } : {}),
      ...(input.networkConfiguration
        ? { networkConfiguration: structuredClone(input.networkConfiguration) }
        : {}),
      loadBalancers: structuredClone(loadBalancers),
      createdAt: now,
      tags: structuredClone((input.tags as EcsTag[] | undefined) ?? []),
      updates: [],
      deployments: [newDeployment(definition.arn, now)],
    };
    this.services.get(clusterArn)?.set(name, service);
    return service;
  }

  private updateService(input: Input): StoredService {
    const clusterArn = this.cluster(input.cluster);
    const service = this.service(clusterArn, input.service);
    if (!service) throw new AwsError("ServiceNotFoundException", "Service not found.");
    if (service.status !== "ACTIVE") {
      throw new AwsError("ServiceNotActiveException", "Service was not ACTIVE.");
    }
    let redeploy = input.forceNewDeployment === true;
    if (input.taskDefinition !== undefined) {
      const definition = this.taskDefinition(str(input.taskDefinition) ?? "", false);
      if (!definition || definition.status !== "ACTIVE") {
        throw new AwsError("InvalidParameterException", "TaskDefinition not found.");
      }
      redeploy ||= definition.arn !== service.taskDefinition;
      service.taskDefinition = definition.arn;
    }
    const now = Date.now();
    if (typeof input.desiredCount === "number") {
      service.desiredCount = input.desiredCount;
      for (const deployment of service.deployments) {
        if (deployment.status === "PRIMARY") deployment.updatedAt = now;
      }
    }
    if (redeploy) {
      const previous = service.deployments.find((d) => d.status === "PRIMARY");
      service.deployments = [
        newDeployment(service.taskDefinition, now),
        ...(previous ? [{ ...previous, status: "ACTIVE" as const, updatedAt: now }] : []),
      ];
    }
    service.updates.push(structuredClone(input));
    return service;
  }

  private deleteService(input: Input): StoredService {
    const clusterArn = this.cluster(input.cluster);
    const service = this.service(clusterArn, input.service);
    if (!service || service.status !== "ACTIVE") {
      throw new AwsError("ServiceNotFoundException", "Service not found.");
    }
    if (service.desiredCount > 0 && input.force !== true) {
      throw new AwsError(
        "InvalidParameterException",
        "The service cannot be stopped while it is scaled above 0.",
      );
    }
    service.desiredCount = 0;
    service.status = "DRAINING";
    return service;
  }

  /** Moves every DRAINING service to INACTIVE (its tasks have stopped). */
  finishDraining(): void {
    for (const services of this.services.values()) {
      for (const service of services.values()) {
        if (service.status === "DRAINING") service.status = "INACTIVE";
      }
    }
  }

  private describeServices(input: Input): unknown {
    const clusterArn = this.cluster(input.cluster);
    const include = (input.include as string[] | undefined) ?? [];
    const services: unknown[] = [];
    const failures: unknown[] = [];
    const references = (input.services as string[] | undefined) ?? [];
    if (references.length > 10) {
      throw new AwsError("InvalidParameterException", "The services list may hold up to 10 names.");
    }
    for (const reference of references) {
      const service = this.service(clusterArn, reference);
      if (!service) {
        failures.push({
          arn: reference.startsWith("arn:")
            ? reference
            : this.arn(`service/${clusterArn.split("/").pop()}/${reference}`),
          reason: "MISSING",
        });
        continue;
      }
      const wire = this.wireService(service) as Input;
      if (!include.includes("TAGS")) delete wire.tags;
      services.push(wire);
    }
    return { services, failures };
  }

  private wireService(service: StoredService): unknown {
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: service.clusterArn,
      status: service.status,
      taskDefinition: service.taskDefinition,
      desiredCount: service.desiredCount,
      runningCount: service.status === "ACTIVE" ? service.desiredCount : 0,
      pendingCount: 0,
      ...(service.launchType ? { launchType: service.launchType } : {}),
      ...(service.networkConfiguration
        ? { networkConfiguration: structuredClone(service.networkConfiguration) }
        : {}),
      loadBalancers: structuredClone(service.loadBalancers),
      createdAt: service.createdAt / 1000,
      schedulingStrategy: "REPLICA",
      ...(service.tags.length > 0 ? { tags: structuredClone(service.tags) } : {}),
      deployments: service.deployments.map((d) => {
        const wanted = d.status === "PRIMARY" && service.status === "ACTIVE";
        return {
          id: d.id,
          status: d.status,
          taskDefinition: d.taskDefinition,
          desiredCount: wanted ? service.desiredCount : 0,
          runningCount: wanted ? service.desiredCount : 0,
          pendingCount: 0,
          createdAt: d.createdAt / 1000,
          updatedAt: d.updatedAt / 1000,
        };
      }),
    };
  }

  /** Moves the service's creation and its deployments `ms` into the past. */
  ageDeployments(cluster: string, name: string, ms: number): void {
    const clusterArn = cluster.startsWith("arn:") ? cluster : this.clusters.get(cluster);
    const service = clusterArn ? this.services.get(clusterArn)?.get(name) : undefined;
    if (!service) throw new Error(`no service ${name} in cluster ${cluster}`);
    service.createdAt -= ms;
    for (const deployment of service.deployments) {
      deployment.createdAt -= ms;
      deployment.updatedAt -= ms;
    }
  }

  // ---- tags ----

  private tagged(arn: string): { tags: EcsTag[] } {
    for (const services of this.services.values()) {
      for (const service of services.values()) {
        if (service.arn === arn && service.status !== "INACTIVE") return service;
      }
    }
    const name = arn.startsWith(this.arn("task-definition/"))
      ? (arn.split("/").pop() ?? "")
      : undefined;
    if (name !== undefined) {
      const [family = "", revision] = name.split(":");
      const found = (this.taskDefinitions.get(family) ?? []).find(
        (t) => t.revision === Number(revision) && t.status !== "DELETE_IN_PROGRESS",
      );
      if (found) return found;
    }
    throw new AwsError(
      arn.includes(":cluster/") ? "ClusterNotFoundException" : "InvalidParameterException",
      "The specified resource is not valid.",
    );
  }

  private tagResource(input: Input): void {
    const target = this.tagged(str(input.resourceArn) ?? "");
    for (const tag of (input.tags as EcsTag[] | undefined) ?? []) {
      target.tags = [...target.tags.filter((t) => t.key !== tag.key), { ...tag }];
    }
  }

  private resourceTags(arn: string): EcsTag[] {
    return structuredClone(this.tagged(arn).tags);
  }
}
