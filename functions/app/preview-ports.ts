/**
 * Ports of the preview environments (functions/app/previews.ts): the ECS services and task
 * definitions, the load balancer's target groups and listener rules, and the requests they served.
 * Adapters: functions/adapters/ecs.ts, functions/adapters/elbv2.ts and
 * functions/adapters/cloudwatch-traffic.ts.
 */
import type { PreviewTaskDefinition, TaskDefinitionLike } from "../core/preview.js";

export interface PreviewTag {
  key: string;
  value: string;
}

export interface EcsServiceView {
  name: string;
  arn: string;
  /** ACTIVE or DRAINING (an INACTIVE service is reported as absent). */
  status: string;
  taskDefinition: string;
  desiredCount: number;
  tags: PreviewTag[];
  /**
   * When the PRIMARY deployment was created: when the running task definition was last rolled out
   * (each push's deploy action registers a revision and updates the service, which starts a
   * deployment; an update of the desired count alone does not). `undefined` when ECS lists none.
   */
  deployedAt?: Date;
}

export interface CreateServiceInput {
  cluster: string;
  name: string;
  taskDefinition: string;
  desiredCount: number;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
  tags: PreviewTag[];
}

export interface PreviewEcs {
  /** The service, or `undefined` when none of that name is ACTIVE or DRAINING. */
  describeService(cluster: string, name: string): Promise<EcsServiceView | undefined>;
  /** The services of those names that are ACTIVE or DRAINING, by name (10 a call). */
  describeServices(cluster: string, names: readonly string[]): Promise<Map<string, EcsServiceView>>;
  /** The task definition (family, `family:revision` or ARN), or `undefined` when there is none. */
  describeTaskDefinition(
    reference: string,
  ): Promise<{ arn: string; definition: TaskDefinitionLike; tags: PreviewTag[] } | undefined>;
  /** Registers a revision; returns its ARN. */
  registerTaskDefinition(definition: PreviewTaskDefinition, tags: PreviewTag[]): Promise<string>;
  /** The family's revisions in that status, oldest first. */
  listTaskDefinitions(family: string, status: "ACTIVE" | "INACTIVE"): Promise<string[]>;
  deregisterTaskDefinition(arn: string): Promise<void>;
  /** Deletes INACTIVE revisions (those already gone are fine). */
  deleteTaskDefinitions(arns: string[]): Promise<void>;
  createService(input: CreateServiceInput): Promise<string>;
  updateService(
    cluster: string,
    name: string,
    change: { desiredCount?: number; taskDefinition?: string },
  ): Promise<void>;
  /** Deletes the service with `force`; a service that is absent or not ACTIVE is fine. */
  deleteService(cluster: string, name: string): Promise<void>;
}

export interface ListenerRuleView {
  arn: string;
  /** `undefined` for the listener's default rule. */
  priority: number | undefined;
  hosts: string[];
  targetGroupArns: string[];
}

export interface TargetGroupView {
  arn: string;
  name: string;
}

export interface CreateTargetGroupInput {
  name: string;
  port: number;
  vpcId: string;
  healthCheckPath: string;
  tags: PreviewTag[];
}

/** CreateRule lost the priority to another rule (PriorityInUse). */
export class PriorityTakenError extends Error {
  override readonly name = "PriorityTakenError";
}

/** The listener takes no more rules (TooManyRules). */
export class ListenerFullError extends Error {
  override readonly name = "ListenerFullError";
}

/*
 * The load balancer adapter runs from the deployment archive's separately bundled previews.js
 * (infra/bundle.ts), which carries its own copy of this module: its errors are not instances of
 * the classes above as the main bundle has them. They are recognised by name.
 */

/** A PriorityTakenError, whichever bundle's copy of the class threw it. */
export function isPriorityTaken(error: unknown): error is PriorityTakenError {
  return error instanceof Error && error.name === "PriorityTakenError";
}

/** A ListenerFullError, whichever bundle's copy of the class threw it. */
export function isListenerFull(error: unknown): error is ListenerFullError {
  return error instanceof Error && error.name === "ListenerFullError";
}

export interface PreviewLoadBalancer {
  /** The VPC of the listener's load balancer (where target groups of type ip are created). */
  listenerVpc(listenerArn: string): Promise<string>;
  /** Every rule of the listener (all pages), the default rule included. */
  listRules(listenerArn: string): Promise<ListenerRuleView[]>;
  /** Throws PriorityTakenError or ListenerFullError as ELB answers. Returns the rule's ARN. */
  createRule(input: {
    listenerArn: string;
    priority: number;
    host: string;
    targetGroupArn: string;
    tags: PreviewTag[];
  }): Promise<string>;
  /** Deleting a rule that is gone succeeds. */
  deleteRule(arn: string): Promise<void>;
  /** The target group of that name, or `undefined`. */
  findTargetGroup(name: string): Promise<TargetGroupView | undefined>;
  /** Every target group whose name starts with `prefix` (all pages). */
  listTargetGroups(prefix: string): Promise<TargetGroupView[]>;
  createTargetGroup(input: CreateTargetGroupInput): Promise<string>;
  /** Deleting a target group that is gone succeeds. */
  deleteTargetGroup(arn: string): Promise<void>;
  /** The tags of rules and target groups, by ARN (an ARN that is gone has none listed). */
  tags(arns: string[]): Promise<Map<string, PreviewTag[]>>;
}

export interface PreviewTraffic {
  /**
   * The requests the listener's load balancer sent to each target group in [since, until)
   * (AWS/ApplicationELB RequestCount, Sum), by target group ARN; 0 for a group CloudWatch has no
   * datapoint for. Every ARN asked for is in the map.
   */
  requestCounts(
    listenerArn: string,
    targetGroupArns: string[],
    since: Date,
    until: Date,
  ): Promise<Map<string, number>>;
}
