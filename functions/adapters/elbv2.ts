/** PreviewLoadBalancer over the AWS SDK v3 Elastic Load Balancing v2 client. */
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  paginateDescribeRules,
  paginateDescribeTargetGroups,
  type ElasticLoadBalancingV2Client,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  ListenerFullError,
  PriorityTakenError,
  type CreateTargetGroupInput,
  type ListenerRuleView,
  type PreviewLoadBalancer,
  type PreviewTag,
  type TargetGroupView,
} from "../app/preview-ports.js";
import { chunk } from "../core/images.js";
import { callOptions, isAwsError } from "./aws-config.js";

/** DescribeTags takes at most 20 resources a call. */
const TAGS_BATCH = 20;

function ruleView(rule: Rule): ListenerRuleView {
  const hosts = (rule.Conditions ?? []).flatMap((c) =>
    c.Field === "host-header" ? (c.HostHeaderConfig?.Values ?? c.Values ?? []) : [],
  );
  const targetGroupArns = (rule.Actions ?? []).flatMap((a) => [
    ...(a.TargetGroupArn ? [a.TargetGroupArn] : []),
    ...(a.ForwardConfig?.TargetGroups ?? []).flatMap((t) =>
      t.TargetGroupArn ? [t.TargetGroupArn] : [],
    ),
  ]);
  const priority = rule.IsDefault ? undefined : Number(rule.Priority);
  return {
    arn: rule.RuleArn ?? "",
    priority,
    hosts,
    targetGroupArns: [...new Set(targetGroupArns)],
  };
}

export class ElbPreviewLoadBalancer implements PreviewLoadBalancer {
  constructor(
    private readonly client: ElasticLoadBalancingV2Client,
    private readonly signal?: AbortSignal,
  ) {}

  async listenerVpc(listenerArn: string): Promise<string> {
    const listeners = await this.client.send(
      new DescribeListenersCommand({ ListenerArns: [listenerArn] }),
      callOptions(this.signal),
    );
    const loadBalancerArn = listeners.Listeners?.[0]?.LoadBalancerArn;
    if (!loadBalancerArn) throw new Error(`listener ${listenerArn} has no load balancer`);
    const out = await this.client.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] }),
      callOptions(this.signal),
    );
    const vpc = out.LoadBalancers?.[0]?.VpcId;
    if (!vpc) throw new Error(`load balancer ${loadBalancerArn} has no VPC`);
    return vpc;
  }

  async listRules(listenerArn: string): Promise<ListenerRuleView[]> {
    const rules: ListenerRuleView[] = [];
    for await (const page of paginateDescribeRules(
      { client: this.client, pageSize: 400 },
      { ListenerArn: listenerArn },
      callOptions(this.signal),
    )) {
      rules.push(...(page.Rules ?? []).map(ruleView));
    }
    return rules;
  }

  async createRule(input: {
    listenerArn: string;
    priority: number;
    host: string;
    targetGroupArn: string;
    tags: PreviewTag[];
  }): Promise<string> {
    try {
      const out = await this.client.send(
        new CreateRuleCommand({
          ListenerArn: input.listenerArn,
          Priority: input.priority,
          Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: [input.host] } }],
          Actions: [{ Type: "forward", TargetGroupArn: input.targetGroupArn }],
          Tags: input.tags.map((t) => ({ Key: t.key, Value: t.value })),
        }),
        callOptions(this.signal),
      );
      return out.Rules?.[0]?.RuleArn ?? "";
    } catch (error) {
      if (isAwsError(error, "PriorityInUseException")) {
        throw new PriorityTakenError(
          `priority ${input.priority} is in use on ${input.listenerArn}`,
        );
      }
      if (isAwsError(error, "TooManyRulesException")) {
        throw new ListenerFullError((error as Error).message);
      }
      throw error;
    }
  }

  async deleteRule(arn: string): Promise<void> {
    try {
      await this.client.send(new DeleteRuleCommand({ RuleArn: arn }), callOptions(this.signal));
    } catch (error) {
      if (!isAwsError(error, "RuleNotFoundException")) throw error;
    }
  }

  async findTargetGroup(name: string): Promise<TargetGroupView | undefined> {
    try {
      const out = await this.client.send(
        new DescribeTargetGroupsCommand({ Names: [name] }),
        callOptions(this.signal),
      );
      const group = out.TargetGroups?.[0];
      return group?.TargetGroupArn ? { arn: group.TargetGroupArn, name } : undefined;
    } catch (error) {
      if (isAwsError(error, "TargetGroupNotFoundException")) return undefined;
      throw error;
    }
  }

  async listTargetGroups(prefix: string): Promise<TargetGroupView[]> {
    const groups: TargetGroupView[] = [];
    for await (const page of paginateDescribeTargetGroups(
      { client: this.client, pageSize: 400 },
      {},
      callOptions(this.signal),
    )) {
      for (const group of page.TargetGroups ?? []) {
        const name = group.TargetGroupName ?? "";
        if (group.TargetGroupArn && name.startsWith(prefix))
          groups.push({ arn: group.TargetGroupArn, name });
      }
    }
    return groups;
  }

  async createTargetGroup(input: CreateTargetGroupInput): Promise<string> {
    const out = await this.client.send(
      new CreateTargetGroupCommand({
        Name: input.name,
        Protocol: "HTTP",
        Port: input.port,
        VpcId: input.vpcId,
        TargetType: "ip",
        HealthCheckPath: input.healthCheckPath,
        Tags: input.tags.map((t) => ({ Key: t.key, Value: t.value })),
      }),
      callOptions(this.signal),
    );
    const arn = out.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup ${input.name} answered no target group`);
    return arn;
  }

  async deleteTargetGroup(arn: string): Promise<void> {
    await this.client.send(
      new DeleteTargetGroupCommand({ TargetGroupArn: arn }),
      callOptions(this.signal),
    );
  }

  async tags(arns: string[]): Promise<Map<string, PreviewTag[]>> {
    const tags = new Map<string, PreviewTag[]>();
    for (const batch of chunk(arns, TAGS_BATCH)) {
      const out = await this.client.send(
        new DescribeTagsCommand({ ResourceArns: batch }),
        callOptions(this.signal),
      );
      for (const description of out.TagDescriptions ?? []) {
        tags.set(
          description.ResourceArn ?? "",
          (description.Tags ?? []).map((t) => ({ key: t.Key ?? "", value: t.Value ?? "" })),
        );
      }
    }
    return tags;
  }
}
