/**
 * Elastic Load Balancing v2 state (load balancers with their listeners and rules, target groups,
 * tags) and the operations of the AWS test double that preview environments use (awsQuery, see
 * query.ts). The checks are those ELB makes: a listener's rule limit (100 rules besides the default
 * one unless a test sets another), priorities unique per listener within 1..50000, target group
 * names (1-32 letters, digits and hyphens; the same name with other settings is
 * DuplicateTargetGroupName, with the same settings the existing group), a target group still
 * forwarded to is ResourceInUse, unknown resources are *NotFound.
 */
import { randomBytes } from "node:crypto";
import { AwsError } from "./errors.js";

type Input = Record<string, unknown>;

export interface ElbTag {
  Key: string;
  Value?: string;
}

export interface StoredRule {
  arn: string;
  listenerArn: string;
  priority: number | "default";
  conditions: unknown[];
  actions: Input[];
  tags: ElbTag[];
}

export interface StoredListener {
  arn: string;
  loadBalancerArn: string;
  port: number;
  protocol: string;
  /** Rules besides the default one that the listener takes (ELB's default quota: 100). */
  ruleLimit: number;
  rules: StoredRule[];
  tags: ElbTag[];
}

export interface StoredTargetGroup {
  arn: string;
  name: string;
  settings: Input;
  tags: ElbTag[];
}

export const DEFAULT_RULE_LIMIT = 100;
const MAX_PRIORITY = 50000;
/** The settings that make a second CreateTargetGroup of the same name a duplicate when they differ. */
const TARGET_GROUP_SETTINGS = [
  "Protocol",
  "Port",
  "VpcId",
  "TargetType",
  "HealthCheckPath",
  "ProtocolVersion",
];

const hex = (bytes: number): string => randomBytes(bytes).toString("hex");
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

export class ElbState {
  readonly listeners = new Map<string, StoredListener>();
  readonly loadBalancers = new Map<
    string,
    { arn: string; name: string; vpcId: string; tags: ElbTag[] }
  >();
  readonly targetGroups = new Map<string, StoredTargetGroup>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  reset(): void {
    this.listeners.clear();
    this.loadBalancers.clear();
    this.targetGroups.clear();
  }

  private arn(resource: string): string {
    return `arn:aws:elasticloadbalancing:${this.region}:${this.accountId}:${resource}`;
  }

  /** Creates an Application Load Balancer (if new) and a listener with its default rule. */
  seedListener(
    options: {
      loadBalancerName?: string;
      port?: number;
      protocol?: string;
      ruleLimit?: number;
      vpcId?: string;
    } = {},
  ): string {
    const name = options.loadBalancerName ?? "previews";
    let loadBalancer = [...this.loadBalancers.values()].find((lb) => lb.name === name);
    if (!loadBalancer) {
      loadBalancer = {
        arn: this.arn(`loadbalancer/app/${name}/${hex(8)}`),
        name,
        vpcId: options.vpcId ?? "vpc-0a1b2c3d4e5f60718",
        tags: [],
      };
      this.loadBalancers.set(loadBalancer.arn, loadBalancer);
    }
    const lbPath = loadBalancer.arn.split(":loadbalancer/")[1] ?? "";
    const arn = this.arn(`listener/${lbPath}/${hex(8)}`);
    const listener: StoredListener = {
      arn,
      loadBalancerArn: loadBalancer.arn,
      port: options.port ?? 443,
      protocol: options.protocol ?? "HTTPS",
      ruleLimit: options.ruleLimit ?? DEFAULT_RULE_LIMIT,
      rules: [],
      tags: [],
    };
    listener.rules.push({
      arn: this.ruleArn(listener),
      listenerArn: arn,
      priority: "default",
      conditions: [],
      actions: [
        {
          Type: "fixed-response",
          FixedResponseConfig: { StatusCode: "404", ContentType: "text/plain" },
        },
      ],
      tags: [],
    });
    this.listeners.set(arn, listener);
    return arn;
  }

  private ruleArn(listener: StoredListener): string {
    const path = listener.arn.split(":listener/")[1] ?? "";
    return this.arn(`listener-rule/${path}/${hex(8)}`);
  }

  /** Whether the target group exists, and whether a listener rule forwards to it. */
  targetGroup(arn: string): { exists: boolean; attached: boolean } {
    return { exists: this.targetGroups.has(arn), attached: this.forwarders(arn).length > 0 };
  }

  /** The rules (default ones included) whose actions reach the target group. */
  private forwarders(targetGroupArn: string): StoredRule[] {
    return [...this.listeners.values()]
      .flatMap((l) => l.rules)
      .filter((r) => targetGroupsOf(r.actions).includes(targetGroupArn));
  }

  handle(operation: string, input: Input): unknown {
    switch (operation) {
      case "CreateTargetGroup":
        return { TargetGroups: [this.wireTargetGroup(this.createTargetGroup(input))] };
      case "DeleteTargetGroup":
        return this.deleteTargetGroup(input);
      case "DescribeTargetGroups":
        return this.describeTargetGroups(input);
      case "CreateRule":
        return { Rules: [wireRule(this.createRule(input))] };
      case "DeleteRule":
        return this.deleteRule(input);
      case "DescribeRules":
        return this.describeRules(input);
      case "DescribeListeners":
        return this.describeListeners(input);
      case "DescribeLoadBalancers":
        return this.describeLoadBalancers(input);
      case "AddTags":
        return this.addTags(input);
      case "DescribeTags":
        return this.describeTags(input);
      default:
        throw new AwsError(
          "InvalidAction",
          `The action ${operation} is not valid for this endpoint.`,
        );
    }
  }

  // ---- target groups ----

  private createTargetGroup(input: Input): StoredTargetGroup {
    const name = str(input.Name) ?? "";
    if (
      !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(name) ||
      name.startsWith("internal-")
    ) {
      throw new AwsError(
        "ValidationError",
        `Target group name '${name}' can have a maximum of 32 characters, must contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen`,
      );
    }
    if (input.TargetType === "ip" && (input.VpcId === undefined || input.Port === undefined)) {
      throw new AwsError(
        "ValidationError",
        "A VPC ID, port and protocol must be specified for target groups of type 'ip'",
      );
    }
    const existing = [...this.targetGroups.values()].find((t) => t.name === name);
    if (existing) {
      const same = TARGET_GROUP_SETTINGS.every((key) => existing.settings[key] === input[key]);
      if (!same) {
        throw new AwsError(
          "DuplicateTargetGroupName",
          "A target group with the same name exists, but with different settings",
        );
      }
      return existing;
    }
    const settings = { ...input };
    delete settings.Tags;
    const stored: StoredTargetGroup = {
      arn: this.arn(`targetgroup/${name}/${hex(8)}`),
      name,
      settings,
      tags: structuredClone((input.Tags as ElbTag[] | undefined) ?? []),
    };
    this.targetGroups.set(stored.arn, stored);
    return stored;
  }

  private deleteTargetGroup(input: Input): unknown {
    const arn = str(input.TargetGroupArn) ?? "";
    if (!this.targetGroups.has(arn)) return {};
    if (this.forwarders(arn).length > 0) {
      throw new AwsError(
        "ResourceInUse",
        `Target group '${arn}' is currently in use by a listener or a rule`,
      );
    }
    this.targetGroups.delete(arn);
    return {};
  }

  private describeTargetGroups(input: Input): unknown {
    let groups = [...this.targetGroups.values()].sort((a, b) => a.name.localeCompare(b.name));
    const arns = input.TargetGroupArns as string[] | undefined;
    const names = input.Names as string[] | undefined;
    if (arns && arns.length > 0) {
      const missing = arns.filter((a) => !this.targetGroups.has(a));
      if (missing.length > 0) {
        throw new AwsError(
          "TargetGroupNotFound",
          `Target groups '${missing.join(", ")}' not found`,
        );
      }
      groups = groups.filter((g) => arns.includes(g.arn));
    } else if (names && names.length > 0) {
      const missing = names.filter((n) => !groups.some((g) => g.name === n));
      if (missing.length > 0) {
        throw new AwsError("TargetGroupNotFound", `One or more target groups not found`);
      }
      groups = groups.filter((g) => names.includes(g.name));
    } else if (input.LoadBalancerArn !== undefined) {
      const lb = str(input.LoadBalancerArn) ?? "";
      if (!this.loadBalancers.has(lb)) {
        throw new AwsError("LoadBalancerNotFound", `Load balancers '[${lb}]' not found`);
      }
      groups = groups.filter((g) => this.loadBalancersOf(g.arn).includes(lb));
    }
    const { items, next } = this.page(groups, input, "DescribeTargetGroups");
    return {
      TargetGroups: items.map((g) => this.wireTargetGroup(g)),
      ...(next ? { NextMarker: next } : {}),
    };
  }

  private loadBalancersOf(targetGroupArn: string): string[] {
    return [
      ...new Set(
        this.forwarders(targetGroupArn).map(
          (r) => this.listeners.get(r.listenerArn)?.loadBalancerArn ?? "",
        ),
      ),
    ];
  }

  private wireTargetGroup(group: StoredTargetGroup): unknown {
    const s = group.settings;
    return {
      TargetGroupArn: group.arn,
      TargetGroupName: group.name,
      Protocol: s.Protocol,
      Port: s.Port,
      VpcId: s.VpcId,
      HealthCheckProtocol: s.HealthCheckProtocol ?? s.Protocol,
      HealthCheckPort: s.HealthCheckPort ?? "traffic-port",
      HealthCheckEnabled: true,
      HealthCheckIntervalSeconds: s.HealthCheckIntervalSeconds ?? 30,
      HealthCheckTimeoutSeconds: s.HealthCheckTimeoutSeconds ?? 5,
      HealthyThresholdCount: s.HealthyThresholdCount ?? 5,
      UnhealthyThresholdCount: s.UnhealthyThresholdCount ?? 2,
      HealthCheckPath: s.HealthCheckPath ?? "/",
      Matcher: s.Matcher ?? { HttpCode: "200" },
      LoadBalancerArns: this.loadBalancersOf(group.arn),
      TargetType: s.TargetType ?? "instance",
      ProtocolVersion: s.ProtocolVersion ?? "HTTP1",
      IpAddressType: "ipv4",
    };
  }

  // ---- listeners and rules ----

  private listener(arn: unknown): StoredListener {
    const listener = this.listeners.get(str(arn) ?? "");
    if (!listener) throw new AwsError("ListenerNotFound", "One or more listeners not found");
    return listener;
  }

  private createRule(input: Input): StoredRule {
    const listener = this.listener(input.ListenerArn);
    const priority = input.Priority as number;
    if (!Number.isInteger(priority) || priority < 1 || priority > MAX_PRIORITY) {
      throw new AwsError("ValidationError", `Priority must be between 1 and ${MAX_PRIORITY}`);
    }
    if (listener.rules.some((r) => r.priority === priority)) {
      throw new AwsError("PriorityInUse", `Priority '${priority}' is currently in use`);
    }
    if (listener.rules.filter((r) => r.priority !== "default").length >= listener.ruleLimit) {
      throw new AwsError(
        "TooManyRules",
        "You've reached the limit on the number of rules per load balancer",
      );
    }
    const actions = (input.Actions as Input[] | undefined) ?? [];
    for (const arn of targetGroupsOf(actions)) {
      if (!this.targetGroups.has(arn)) {
        throw new AwsError("TargetGroupNotFound", `Target groups '${arn}' not found`);
      }
      const others = this.loadBalancersOf(arn).filter((lb) => lb !== listener.loadBalancerArn);
      if (others.length > 0) {
        throw new AwsError(
          "TargetGroupAssociationLimit",
          `The following target groups cannot be associated with more than one load balancer: ${arn}`,
        );
      }
    }
    const conditions = (input.Conditions as unknown[] | undefined) ?? [];
    if (conditions.length === 0) {
      throw new AwsError("ValidationError", "A rule must have at least one condition");
    }
    const rule: StoredRule = {
      arn: this.ruleArn(listener),
      listenerArn: listener.arn,
      priority,
      conditions: structuredClone(conditions),
      actions: structuredClone(actions),
      tags: structuredClone((input.Tags as ElbTag[] | undefined) ?? []),
    };
    listener.rules.push(rule);
    return rule;
  }

  private findRule(arn: string): { listener: StoredListener; rule: StoredRule } | undefined {
    for (const listener of this.listeners.values()) {
      const rule = listener.rules.find((r) => r.arn === arn);
      if (rule) return { listener, rule };
    }
    return undefined;
  }

  private deleteRule(input: Input): unknown {
    const found = this.findRule(str(input.RuleArn) ?? "");
    if (!found) throw new AwsError("RuleNotFound", "One or more rules not found");
    if (found.rule.priority === "default") {
      throw new AwsError("OperationNotPermitted", "Default rule cannot be deleted");
    }
    found.listener.rules = found.listener.rules.filter((r) => r !== found.rule);
    return {};
  }

  private describeRules(input: Input): unknown {
    let rules: StoredRule[];
    const arns = input.RuleArns as string[] | undefined;
    if (arns && arns.length > 0) {
      rules = arns.map((arn) => {
        const found = this.findRule(arn);
        if (!found) throw new AwsError("RuleNotFound", "One or more rules not found");
        return found.rule;
      });
    } else {
      rules = this.listener(input.ListenerArn).rules;
    }
    const sorted = [...rules].sort((a, b) => order(a) - order(b));
    const { items, next } = this.page(
      sorted,
      input,
      `DescribeRules ${str(input.ListenerArn) ?? ""}`,
    );
    return { Rules: items.map(wireRule), ...(next ? { NextMarker: next } : {}) };
  }

  private describeListeners(input: Input): unknown {
    let listeners = [...this.listeners.values()];
    const arns = input.ListenerArns as string[] | undefined;
    if (arns && arns.length > 0) {
      listeners = arns.map((arn) => this.listener(arn));
    } else if (input.LoadBalancerArn !== undefined) {
      const lb = str(input.LoadBalancerArn) ?? "";
      if (!this.loadBalancers.has(lb)) {
        throw new AwsError("LoadBalancerNotFound", `Load balancers '[${lb}]' not found`);
      }
      listeners = listeners.filter((l) => l.loadBalancerArn === lb);
    } else {
      throw new AwsError(
        "ValidationError",
        "You must specify either listener ARNs or a load balancer ARN",
      );
    }
    const { items, next } = this.page(listeners, input, "DescribeListeners");
    return {
      Listeners: items.map((l) => ({
        ListenerArn: l.arn,
        LoadBalancerArn: l.loadBalancerArn,
        Port: l.port,
        Protocol: l.protocol,
        DefaultActions: structuredClone(
          l.rules.find((r) => r.priority === "default")?.actions ?? [],
        ),
      })),
      ...(next ? { NextMarker: next } : {}),
    };
  }

  private describeLoadBalancers(input: Input): unknown {
    const arns = (input.LoadBalancerArns as string[] | undefined) ?? [];
    const names = (input.Names as string[] | undefined) ?? [];
    let found = [...this.loadBalancers.values()];
    if (arns.length > 0 || names.length > 0) {
      const missing = [
        ...arns.filter((a) => !this.loadBalancers.has(a)),
        ...names.filter((n) => !found.some((lb) => lb.name === n)),
      ];
      if (missing.length > 0) {
        throw new AwsError(
          "LoadBalancerNotFound",
          `Load balancers '[${missing.join(", ")}]' not found`,
        );
      }
      found = found.filter((lb) => arns.includes(lb.arn) || names.includes(lb.name));
    }
    const { items, next } = this.page(found, input, "DescribeLoadBalancers");
    return {
      LoadBalancers: items.map((lb) => ({
        LoadBalancerArn: lb.arn,
        LoadBalancerName: lb.name,
        DNSName: `${lb.name}-123456789.${this.region}.elb.amazonaws.com`,
        Scheme: "internet-facing",
        VpcId: lb.vpcId,
        State: { Code: "active" },
        Type: "application",
        IpAddressType: "ipv4",
      })),
      ...(next ? { NextMarker: next } : {}),
    };
  }

  private page<T>(items: T[], input: Input, scope: string): { items: T[]; next?: string } {
    const size = typeof input.PageSize === "number" ? input.PageSize : 400;
    let start = 0;
    if (input.Marker !== undefined) {
      const parsed = /^(.*)\|(\d+)$/.exec(
        Buffer.from(String(input.Marker), "base64").toString("utf8"),
      );
      if (!parsed || parsed[1] !== scope)
        throw new AwsError("ValidationError", "The marker is not valid");
      start = Number(parsed[2]);
    }
    const slice = items.slice(start, start + size);
    const end = start + slice.length;
    return end < items.length
      ? { items: slice, next: Buffer.from(`${scope}|${end}`).toString("base64") }
      : { items: slice };
  }

  // ---- tags ----

  private tagged(arn: string): { tags: ElbTag[] } {
    if (arn.includes(":targetgroup/")) {
      const group = this.targetGroups.get(arn);
      if (!group) throw new AwsError("TargetGroupNotFound", `Target groups '${arn}' not found`);
      return group;
    }
    if (arn.includes(":listener-rule/")) {
      const found = this.findRule(arn);
      if (!found) throw new AwsError("RuleNotFound", "One or more rules not found");
      return found.rule;
    }
    if (arn.includes(":listener/")) return this.listener(arn);
    const lb = this.loadBalancers.get(arn);
    if (!lb) throw new AwsError("LoadBalancerNotFound", `Load balancers '[${arn}]' not found`);
    return lb;
  }

  private addTags(input: Input): unknown {
    const tags = (input.Tags as ElbTag[] | undefined) ?? [];
    const keys = tags.map((t) => t.Key);
    if (new Set(keys).size !== keys.length) {
      throw new AwsError("DuplicateTagKeys", "Tag keys must be unique");
    }
    const targets = ((input.ResourceArns as string[] | undefined) ?? []).map((arn) =>
      this.tagged(arn),
    );
    for (const target of targets) {
      for (const tag of tags) {
        target.tags = [...target.tags.filter((t) => t.Key !== tag.Key), { ...tag }];
      }
      if (target.tags.length > 50)
        throw new AwsError(
          "TooManyTags",
          "You've reached the limit on the number of tags for this resource",
        );
    }
    return {};
  }

  private describeTags(input: Input): unknown {
    const arns = (input.ResourceArns as string[] | undefined) ?? [];
    if (arns.length > 20)
      throw new AwsError("ValidationError", "At most 20 resource ARNs can be described at once");
    return {
      TagDescriptions: arns.map((arn) => ({
        ResourceArn: arn,
        Tags: structuredClone(this.tagged(arn).tags),
      })),
    };
  }
}

function order(rule: StoredRule): number {
  return rule.priority === "default" ? Number.MAX_SAFE_INTEGER : rule.priority;
}

function wireRule(rule: StoredRule): unknown {
  return {
    RuleArn: rule.arn,
    Priority: String(rule.priority),
    Conditions: structuredClone(rule.conditions),
    Actions: structuredClone(rule.actions),
    IsDefault: rule.priority === "default",
  };
}

/** The target groups an action list forwards to (plain `TargetGroupArn` or `ForwardConfig`). */
function targetGroupsOf(actions: Input[]): string[] {
  const arns: string[] = [];
  for (const action of actions) {
    if (action.Type !== "forward") continue;
    if (typeof action.TargetGroupArn === "string") arns.push(action.TargetGroupArn);
    const forward = action.ForwardConfig as
      { TargetGroups?: { TargetGroupArn?: string }[] } | undefined;
    for (const tuple of forward?.TargetGroups ?? []) {
      if (tuple.TargetGroupArn) arns.push(tuple.TargetGroupArn);
    }
  }
  return [...new Set(arns)];
}
