/**
 * Preview environments through the webhook (inline), over the wire: signed example deliveries, the
 * real SDK clients (CodePipeline, ECR, ECS, ELBv2) against the AWS double, Octokit against the
 * GitHub API double. A pull request that gets a clone gets its preview first (ECS service, target
 * group, listener rule) and a clone whose ECS deploy is aimed at it; a push keeps it and wakes an
 * idle one; a close removes the clone, then the preview, and retires its deployment; beyond
 * `maxPreviews` the clone is built without a deploy stage and the pull request says why.
 */
import { expect } from "chai";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubDeployments } from "../../helpers/github-deployments.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import {
  previewDeployed,
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

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The ECS deploy actions of a declaration, with their configuration. */
function ecsDeploys(declaration: PipelineDeclaration | undefined) {
  return (declaration?.stages ?? []).flatMap((stage) =>
    stage.actions
      .filter((a) => a.actionTypeId.category === "Deploy" && a.actionTypeId.provider === "ECS")
      .map((a) => ({ stage: stage.name, configuration: a.configuration, roleArn: a.roleArn })),
  );
}

describe("webhook: preview environments (wire level)", function () {
  const wire = useWireDoubles({ github: true, seed: false });
  let comments: GitHubComments;
  let deployments: GitHubDeployments;
  let stack: PreviewStack;

  before(() => {
    comments = new GitHubComments(wire.github);
    deployments = new GitHubDeployments(wire.github);
  });
  beforeEach(() => {
    comments.reset();
    deployments.reset();
  });

  const onGitHub = (n: number, state: "open" | "closed" = "open") =>
    pullRequestOnGitHub(wire.github, REPO, n, { sha: shaOf(n), state });

  function handler(env: Record<string, string> = {}) {
    return createHandler(
      defaultWebhookDeps(
        {
          BRANCHLINE_SERVICES: stack.table,
          BRANCHLINE_PREFIX: STACK_PREFIX,
          WEBHOOK_SECRET: SECRET,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
          ...env,
        },
        { logger: wire.logger },
      ),
    );
  }

  async function deliver(n: number, variant: PullRequestVariant = {}): Promise<Answer> {
    const payload = pullRequestPayload({ number: n, headRef: `feature-${n}`, ...variant });
    const response = await handler()(signedEvent(payload, { secret: SECRET }));
    return { status: response.statusCode, body: JSON.parse(response.body) as Answer["body"] };
  }

  const previewStatuses = (n: number) =>
    wire.github.requests
      .filter(
        (r) =>
          r.method === "POST" &&
          r.path === `/repos/${REPO}/statuses/${shaOf(n)}` &&
          (r.body as { context?: string }).context === "branchline/web/preview",
      )
      .map((r) => r.body);

  const previewService = (n: number) => wire.aws.ecsService("previews", `shop-web-pr-${n}`);
  const rulesFor = (n: number) =>
    (wire.aws.listener(stack.listenerArn)?.rules ?? []).filter((rule) =>
      JSON.stringify(rule.conditions).includes(`pr-${n}.web.preview.example.com`),
    );

  it("opened: the preview first, then the clone aimed at it; the PR gets its URL and cost", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    const from = wire.aws.calls.length;
    const answer = await deliver(7);
    const calls = wire.aws.calls.slice(from).map((c) => c.operation);

    expect(answer.status).to.equal(200);
    expect(answer.body).to.deep.include({
      outcome: "created",
      pipeline: "shop-web-pr-7",
      preview: {
        url: "https://pr-7.web.preview.example.com",
        changed: ["task-definition", "target-group", "rule", "service"],
      },
    });
    // The preview's service runs the pull request tier's image, with the preview roles only.
    const service = previewService(7);
    expect(service).to.deep.include({ status: "ACTIVE", desiredCount: 1 });
    const [definition] = wire.aws.taskDefinitions("shop-web-pr-7");
    expect(definition?.definition).to.deep.include({
      taskRoleArn: `arn:aws:iam::${wire.aws.accountId}:role/shop-web-preview-task`,
      executionRoleArn: `arn:aws:iam::${wire.aws.accountId}:role/shop-web-preview-execution`,
    });
    const containers = (definition?.definition as { containerDefinitions: unknown[] })
      .containerDefinitions as { image: string; secrets?: unknown }[];
    expect(containers[0]?.image).to.equal(`${stack.registry}/shop-pr/web:pr-7`);
    expect(containers[0]).to.not.have.property("secrets");
    expect(rulesFor(7)).to.have.length(1);

    // The clone keeps one ECS deploy, aimed at the preview's service, with the clone's role.
    expect(ecsDeploys(wire.aws.pipeline("shop-web-pr-7")?.declaration)).to.deep.equal([
      {
        stage: "Deploy",
        configuration: {
          ClusterName: "previews",
          ServiceName: "shop-web-pr-7",
          FileName: "imagedefinitions.json",
        },
        roleArn: undefined,
      },
    ]);
    // ECS before CodePipeline: the clone never deploys to a service that does not exist yet.
    expect(calls.indexOf("CreateService")).to.be.lessThan(calls.indexOf("CreatePipeline"));

    expect(previewStatuses(7)).to.deep.equal([
      {
        state: "success",
        context: "branchline/web/preview",
        description: "Preview: pr-7.web.preview.example.com",
        target_url: "https://pr-7.web.preview.example.com",
      },
    ]);
    const [comment] = comments.comments.get(7) ?? [];
    expect(comment?.body).to.include(
      "| Image tags | `pr-7`, `pr-7-0000000` |\n| Preview | [pr-7.web.preview.example.com](https://pr-7.web.preview.example.com): about $0.2962 a day while it runs (Fargate 256 CPU units, 512 MiB, prices of 2026-03); scaled to zero after 24 h without a push or a request, woken by the next push |\n",
    );
  });

  it("a push keeps the preview (no new status) and wakes it when idle; a repeat changes nothing", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    await deliver(7);
    const statusesBefore = previewStatuses(7).length;

    const push = await deliver(7, { action: "synchronize" });
    expect(push.body).to.deep.include({
      outcome: "unchanged",
      preview: { url: "https://pr-7.web.preview.example.com" },
    });
    expect(previewStatuses(7)).to.have.length(statusesBefore);

    // Idle: the reconciler scaled it to zero. The next push wakes it.
    const { ECSClient, UpdateServiceCommand } = await import("@aws-sdk/client-ecs");
    const ecs = new ECSClient({});
    await ecs.send(
      new UpdateServiceCommand({ cluster: "previews", service: "shop-web-pr-7", desiredCount: 0 }),
    );
    ecs.destroy();
    expect(previewService(7)?.desiredCount).to.equal(0);
    const wake = await deliver(7, { action: "synchronize" });
    expect(wake.body).to.deep.include({
      outcome: "unchanged",
      preview: { url: "https://pr-7.web.preview.example.com", changed: ["service"] },
    });
    expect(previewService(7)?.desiredCount).to.equal(1);
  });

  it("closed: clone, then rule, target group, service and task definitions; the deployment retired", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    await deliver(7);
    // The notify function reported the preview's deployment when the clone's execution succeeded.
    await previewDeployed(wire.github, REPO, 7, shaOf(7));

    onGitHub(7, "closed");
    const from = wire.aws.calls.length;
    const closed = await deliver(7, { action: "closed", state: "closed" });
    const calls = wire.aws.calls.slice(from).map((c) => c.operation);
    expect(closed.body).to.deep.include({
      outcome: "deleted",
      pipeline: "shop-web-pr-7",
      previewRemoved: ["rule", "target-group", "service", "task-definitions"],
    });
    expect(wire.aws.pipelineNames()).to.not.include("shop-web-pr-7");
    expect(rulesFor(7)).to.deep.equal([]);
    expect(wire.aws.targetGroups().map((g) => g.name)).to.not.include("shop-web-7");
    expect(previewService(7)?.status).to.not.equal("ACTIVE");
    // The clone goes first (no execution deploys any more), then the rule before its target group.
    expect(calls.indexOf("DeletePipeline")).to.be.lessThan(calls.indexOf("DeleteRule"));
    expect(calls.indexOf("DeleteRule")).to.be.lessThan(calls.indexOf("DeleteTargetGroup"));
    expect(calls.indexOf("DeleteTargetGroup")).to.be.lessThan(calls.indexOf("DeleteService"));
    expect(deployments.states(REPO, "pr-7-web")).to.deep.equal(["inactive"]);

    // A repeated close is harmless.
    const again = await deliver(7, { action: "closed", state: "closed" });
    expect(again.status).to.equal(200);
    expect(again.body).to.deep.include({ outcome: "absent", previewRemoved: [] });
  });

  it("beyond maxPreviews the clone is built without its deploy and the PR says the preview waits", async () => {
    stack = await seedPreviewStack(wire.aws, web, { maxPreviews: 1 });
    onGitHub(7);
    onGitHub(8);
    await deliver(7);
    const waiting = await deliver(8);
    expect(waiting.status).to.equal(200);
    expect(waiting.body).to.deep.include({
      outcome: "created",
      pipeline: "shop-web-pr-8",
      preview: {
        waiting:
          "service web has 1 previews, its limit (preview.maxPreviews 1): pull request 8 gets none until one closes",
      },
    });
    expect(ecsDeploys(wire.aws.pipeline("shop-web-pr-8")?.declaration)).to.deep.equal([]);
    // Nothing is created for a preview that waits: no service, target group or task definition.
    expect(previewService(8)).to.equal(undefined);
    expect(comments.comments.get(8)?.[0]?.body).to.include(
      "| Preview | pr-8.web.preview.example.com: waits for a free preview slot",
    );
    expect(wire.aws.targetGroups().map((g) => g.name)).to.deep.equal(["shop-web-7"]);
    expect(wire.aws.taskDefinitions("shop-web-pr-8")).to.deep.equal([]);
    expect(previewStatuses(8)).to.deep.equal([
      {
        state: "pending",
        context: "branchline/web/preview",
        description:
          "No preview yet: service web has 1 previews, its limit (preview.maxPreviews 1): pull request 8 gets none until one closes",
      },
    ]);
  });

  it("20 pull requests opened at once get 20 previews with distinct rule priorities", async () => {
    stack = await seedPreviewStack(wire.aws, web, { maxPreviews: 30 });
    const numbers = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const n of numbers) onGitHub(n);
    const answers = await Promise.all(numbers.map((n) => deliver(n)));
    expect(answers.map((a) => a.status)).to.deep.equal(numbers.map(() => 200));
    const rules = (wire.aws.listener(stack.listenerArn)?.rules ?? []).filter(
      (rule) => rule.priority !== "default",
    );
    expect(rules).to.have.length(20);
    expect(new Set(rules.map((rule) => rule.priority)).size).to.equal(20);
    for (const n of numbers) expect(previewService(n)?.desiredCount).to.equal(1);
  });

  it("a service with previews and no stack prefix is a configuration problem that names it", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    const payload = pullRequestPayload({ number: 7, headRef: "feature-7" });
    const response = await handler({ BRANCHLINE_PREFIX: "" })(
      signedEvent(payload, { secret: SECRET }),
    );
    expect(response.statusCode).to.be.greaterThanOrEqual(400);
    expect(response.body).to.include("BRANCHLINE_PREFIX");
    expect(wire.aws.pipelineNames()).to.not.include("shop-web-pr-7");
  });
});
