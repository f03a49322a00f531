/**
 * The AWS calls each pull request event makes for a service with previews (webhook, inline, one
 * service, GitHub token, no state table), counted over the wire: the table in docs/previews.md.
 */
import { expect } from "chai";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import {
  pullRequestOnGitHub,
  seedPreviewStack,
  STACK_PREFIX,
  type PreviewStack,
} from "../../helpers/previews.js";
import type { TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const REPO = "Codertocat/Hello-World";
const web: TestService = { name: "web", repository: REPO, branch: "master" };
const shaOf = (n: number): string => n.toString(16).padStart(40, "0");

describe("webhook: AWS calls per event with previews (wire level)", function () {
  const wire = useWireDoubles({ github: true, seed: false });
  let stack: PreviewStack;

  const onGitHub = (n: number, state: "open" | "closed" = "open") =>
    pullRequestOnGitHub(wire.github, REPO, n, { sha: shaOf(n), state });

  /** The AWS operations one delivery made, in order. */
  async function callsOf(n: number, variant: PullRequestVariant = {}): Promise<string[]> {
    const handler = createHandler(
      defaultWebhookDeps(
        {
          BRANCHLINE_SERVICES: stack.table,
          BRANCHLINE_PREFIX: STACK_PREFIX,
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
        },
        { logger: wire.logger },
      ),
    );
    const from = wire.aws.calls.length;
    const payload = pullRequestPayload({ number: n, headRef: `feature-${n}`, ...variant });
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    expect(response.statusCode, response.body).to.be.lessThan(300);
    return wire.aws.calls.slice(from).map((call) => call.operation);
  }

  it("opened, synchronize, a wake, closed, closed again", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    const ensure = [
      "DescribeRules",
      "DescribeServices",
      "DescribeTaskDefinition",
      "DescribeServices",
      "DescribeTaskDefinition",
    ];
    expect(await callsOf(7)).to.deep.equal([
      "GetPipeline",
      ...ensure,
      "RegisterTaskDefinition",
      "DescribeTargetGroups",
      "DescribeListeners",
      "DescribeLoadBalancers",
      "CreateTargetGroup",
      "CreateRule",
      "CreateService",
      "CreatePipeline",
    ]);
    const unchanged = [...ensure, "DescribeTargetGroups", "DescribeTags"];
    expect(await callsOf(7, { action: "synchronize" })).to.deep.equal([
      "GetPipeline",
      ...unchanged,
      "GetPipeline",
    ]);
    // Idle (scaled to zero): the push wakes it.
    const service = wire.aws.ecsService("previews", "shop-web-pr-7");
    expect(service?.desiredCount).to.equal(1);
    const { ECSClient, UpdateServiceCommand } = await import("@aws-sdk/client-ecs");
    const ecs = new ECSClient({});
    await ecs.send(
      new UpdateServiceCommand({ cluster: "previews", service: "shop-web-pr-7", desiredCount: 0 }),
    );
    ecs.destroy();
    expect(await callsOf(7, { action: "synchronize" })).to.deep.equal([
      "GetPipeline",
      ...unchanged,
      "UpdateService",
      "GetPipeline",
    ]);
    // Production deployed a new task definition: the preview follows it on the next push.
    const current = wire.aws.taskDefinitions("hello-world")[0]?.definition ?? {};
    const containers = current["containerDefinitions"] as Record<string, unknown>[];
    wire.aws.seedTaskDefinition({
      ...current,
      containerDefinitions: containers.map((c) => ({
        ...c,
        environment: [{ name: "FEATURE_FLAGS", value: "new-checkout" }],
      })),
    });
    const { UpdateServiceCommand: Update } = await import("@aws-sdk/client-ecs");
    const production = new ECSClient({});
    await production.send(
      new Update({ cluster: "main", service: "hello-world", taskDefinition: "hello-world:2" }),
    );
    production.destroy();
    expect(await callsOf(7, { action: "synchronize" })).to.deep.equal([
      "GetPipeline",
      ...ensure,
      "RegisterTaskDefinition",
      "DescribeTargetGroups",
      "DescribeTags",
      "UpdateService",
      "GetPipeline",
    ]);

    onGitHub(7, "closed");
    const removal = [
      "DescribeRules",
      "DescribeTargetGroups",
      "DescribeTags",
      "DeleteRule",
      "DeleteTargetGroup",
      "DescribeServices",
      "UpdateService",
      "DeleteService",
      "ListTaskDefinitions",
      "DeregisterTaskDefinition",
      "DeregisterTaskDefinition",
      "ListTaskDefinitions",
      "DeleteTaskDefinitions",
    ];
    expect(await callsOf(7, { action: "closed", state: "closed" })).to.deep.equal([
      "GetPipeline",
      "ListTagsForResource",
      "ListPipelineExecutions",
      "DeletePipeline",
      ...removal,
      "ListImages",
    ]);
    // Again: nothing is left; the preview's listings find nothing (its task definitions are
    // DELETE_IN_PROGRESS, listed neither ACTIVE nor INACTIVE).
    expect(await callsOf(7, { action: "closed", state: "closed" })).to.deep.equal([
      "GetPipeline",
      "ListTagsForResource",
      "DescribeRules",
      "DescribeTargetGroups",
      "DescribeServices",
      "ListTaskDefinitions",
      "ListTaskDefinitions",
      "ListImages",
    ]);
  });

  it("opened beyond maxPreviews: nothing is created for the preview", async () => {
    stack = await seedPreviewStack(wire.aws, web, { maxPreviews: 1 });
    onGitHub(7);
    onGitHub(8);
    await callsOf(7);
    expect(await callsOf(8)).to.deep.equal(["GetPipeline", "DescribeRules", "CreatePipeline"]);
  });
});
