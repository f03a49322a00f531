/** PreviewEcs over the AWS SDK v3 ECS client. */
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  paginateListTaskDefinitions,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import type {
  CreateServiceInput,
  EcsServiceView,
  PreviewEcs,
  PreviewTag,
} from "../app/preview-ports.js";
import type { PreviewTaskDefinition, TaskDefinitionLike } from "../core/preview.js";
import { chunk } from "../core/images.js";
import { callOptions, isAwsError } from "./aws-config.js";

/** DeleteTaskDefinitions takes at most 10 revisions a call. */
const DELETE_BATCH = 10;

function tagsOf(tags: { key?: string; value?: string }[] | undefined): PreviewTag[] {
  return (tags ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" }));
}

export class EcsPreviewServices implements PreviewEcs {
  constructor(
    private readonly client: ECSClient,
    private readonly signal?: AbortSignal,
  ) {}

  async describeService(cluster: string, name: string): Promise<EcsServiceView | undefined> {
    return (await this.describeServices(cluster, [name])).get(name);
  }

  async describeServices(
    cluster: string,
    names: readonly string[],
  ): Promise<Map<string, EcsServiceView>> {
    const found = new Map<string, EcsServiceView>();
    // DescribeServices takes at most 10 services a call.
    for (let i = 0; i < names.length; i += 10) {
      const batch = names.slice(i, i + 10);
      const out = await this.client.send(
        new DescribeServicesCommand({ cluster, services: batch, include: ["TAGS"] }),
        callOptions(this.signal),
      );
      for (const service of out.services ?? []) {
        const name = service.serviceName;
        if (name === undefined || !batch.includes(name) || service.status === "INACTIVE") continue;
        const deployedAt = service.deployments?.find((d) => d.status === "PRIMARY")?.createdAt;
        found.set(name, {
          name,
          arn: service.serviceArn ?? "",
          status: service.status ?? "",
          taskDefinition: service.taskDefinition ?? "",
          desiredCount: service.desiredCount ?? 0,
          tags: tagsOf(service.tags),
          ...(deployedAt ? { deployedAt } : {}),
        });
      }
    }
    return found;
  }

  async describeTaskDefinition(reference: string) {
    try {
      const out = await this.client.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: reference, include: ["TAGS"] }),
        callOptions(this.signal),
      );
      if (!out.taskDefinition?.taskDefinitionArn) return undefined;
      return {
        arn: out.taskDefinition.taskDefinitionArn,
        // The SDK's TaskDefinition is structurally a TaskDefinitionLike (its extra members pass through).
        definition: out.taskDefinition as unknown as TaskDefinitionLike,
        tags: tagsOf(out.tags),
      };
    } catch (error) {
      // ECS answers a family or revision that does not exist with a ClientException.
      if (isAwsError(error, "ClientException")) return undefined;
      throw error;
    }
  }

  async registerTaskDefinition(
    definition: PreviewTaskDefinition,
    tags: PreviewTag[],
  ): Promise<string> {
    // PreviewTaskDefinition carries the source's container definitions as read (members the SDK
    // types know); it is sent back as RegisterTaskDefinition's input.
    const input = { ...definition, tags } as unknown as RegisterTaskDefinitionCommandInput;
    const out = await this.client.send(
      new RegisterTaskDefinitionCommand(input),
      callOptions(this.signal),
    );
    return out.taskDefinition?.taskDefinitionArn ?? "";
  }

  async listTaskDefinitions(family: string, status: "ACTIVE" | "INACTIVE"): Promise<string[]> {
    const arns: string[] = [];
    for await (const page of paginateListTaskDefinitions(
      { client: this.client, pageSize: 100 },
      { familyPrefix: family, status, sort: "ASC" },
      callOptions(this.signal),
    )) {
      arns.push(...(page.taskDefinitionArns ?? []));
    }
    return arns;
  }

  async deregisterTaskDefinition(arn: string): Promise<void> {
    try {
      await this.client.send(
        new DeregisterTaskDefinitionCommand({ taskDefinition: arn }),
        callOptions(this.signal),
      );
    } catch (error) {
      if (!isAwsError(error, "ClientException")) throw error;
    }
  }

  async deleteTaskDefinitions(arns: string[]): Promise<void> {
    for (const batch of chunk(arns, DELETE_BATCH)) {
      const out = await this.client.send(
        new DeleteTaskDefinitionsCommand({ taskDefinitions: batch }),
        callOptions(this.signal),
      );
      const failed = (out.failures ?? []).filter((f) => f.reason !== "TASK_DEFINITION_NOT_FOUND");
      if (failed.length > 0) {
        throw new Error(
          `ECS did not delete task definitions: ${failed.map((f) => `${f.arn}: ${f.reason}`).join("; ")}`,
        );
      }
    }
  }

  async createService(input: CreateServiceInput): Promise<string> {
    const out = await this.client.send(
      new CreateServiceCommand({
        cluster: input.cluster,
        serviceName: input.name,
        taskDefinition: input.taskDefinition,
        desiredCount: input.desiredCount,
        launchType: "FARGATE",
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: input.subnets,
            securityGroups: input.securityGroups,
            assignPublicIp: input.assignPublicIp ? "ENABLED" : "DISABLED",
          },
        },
        loadBalancers: [
          {
            targetGroupArn: input.targetGroupArn,
            containerName: input.containerName,
            containerPort: input.containerPort,
          },
        ],
        propagateTags: "SERVICE",
        tags: input.tags,
      }),
      callOptions(this.signal),
    );
    return out.service?.serviceArn ?? "";
  }

  async updateService(
    cluster: string,
    name: string,
    change: { desiredCount?: number; taskDefinition?: string },
  ): Promise<void> {
    await this.client.send(
      new UpdateServiceCommand({ cluster, service: name, ...change }),
      callOptions(this.signal),
    );
  }

  async deleteService(cluster: string, name: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteServiceCommand({ cluster, service: name, force: true }),
        callOptions(this.signal),
      );
    } catch (error) {
      if (!isAwsError(error, "ServiceNotFoundException", "ServiceNotActiveException")) throw error;
    }
  }
}
