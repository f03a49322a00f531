/**
 * The ECS and Elastic Load Balancing clients of the preview environments, kept for the container:
 * loaded by `DefaultServices` only when some service has previews, so that a stack without previews
 * neither loads nor initialises these SDK clients when a function starts.
 */
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { PreviewPorts } from "../app/preview-lifecycle.js";
import { awsClientConfig, type AwsClientOptions } from "./aws-config.js";
import { EcsPreviewServices } from "./ecs.js";
import { ElbPreviewLoadBalancer } from "./elbv2.js";

export class PreviewClients {
  private readonly ecs: ECSClient;
  private readonly elb: ElasticLoadBalancingV2Client;

  constructor(options: AwsClientOptions) {
    this.ecs = new ECSClient(awsClientConfig(options));
    this.elb = new ElasticLoadBalancingV2Client(awsClientConfig(options));
  }

  /** The preview ports for one invocation, bound to its deadline. */
  ports(signal: AbortSignal): PreviewPorts {
    return {
      ecs: new EcsPreviewServices(this.ecs, signal),
      elb: new ElbPreviewLoadBalancer(this.elb, signal),
    };
  }
}
