/**
 * A service's preview settings as the stack writes them and the functions read them (the routing
 * table entry's `preview`, or `PREVIEW_SETTINGS`): shared by infra/config.ts, which validates the
 * stack's configuration, and functions/core/preview.ts, which parses what the functions are given.
 */

/** A service's `preview` settings, defaults applied. */
export interface PreviewSettings {
  /** The ECS cluster (name or ARN) the previews run in. */
  cluster: string;
  subnets: string[];
  securityGroups: string[];
  /** The ALB listener that gets one host-header rule per preview. */
  listenerArn: string;
  /** Previews answer at `pr-<n>.<service>.<domain>`. */
  domain: string;
  /** The container port the target group sends to (default 80). */
  port: number;
  /** Default "/". */
  healthCheckPath: string;
  /** Fargate task size: cpu units (default "256") and memory MiB (default "512"). */
  cpu: string;
  memory: string;
  /** The previews' task role; absent: tasks run without one (never production's). */
  taskRoleArn?: string;
  /** The previews' execution role (image pulls from the pull request tier's ECR, logs). */
  executionRoleArn?: string;
  /** A preview without a push or a request for this long scales to zero (default 24). */
  idleHours: number;
  /** Default false: the subnets reach ECR through a NAT gateway or VPC endpoints. */
  assignPublicIp: boolean;
  /** The most live previews of the service (default 10). */
  maxPreviews: number;
}

export const PREVIEW_DEFAULTS = {
  port: 80,
  healthCheckPath: "/",
  cpu: "256",
  memory: "512",
  idleHours: 24,
  assignPublicIp: false,
  maxPreviews: 10,
} as const;

/** The members of {@link PreviewSettings}, in the order the documentation lists them. */
export const PREVIEW_FIELDS = [
  "cluster",
  "subnets",
  "securityGroups",
  "listenerArn",
  "domain",
  "port",
  "healthCheckPath",
  "cpu",
  "memory",
  "taskRoleArn",
  "executionRoleArn",
  "idleHours",
  "assignPublicIp",
  "maxPreviews",
] as const satisfies readonly (keyof PreviewSettings)[];
