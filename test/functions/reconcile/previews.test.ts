/**
 * Preview environments on the reconciler's sweep, over the wire (the real webhook and reconciler
 * handlers with their default dependencies; CodePipeline, ECR, ECS, ELBv2 and CloudWatch through the
 * SDK against the AWS double; Octokit against the GitHub API double): a close whose delivery was
 * lost is healed (clone, then preview), a preview left without its clone is removed, an idle preview
 * (no push and no request for `idleHours`) scales to zero and the next push wakes it, and a preview
 * that waited for `maxPreviews` gets its slot once one frees.
 */
import { CodePipelineClient, DeletePipelineCommand } from "@aws-sdk/client-codepipeline";
import { DeleteServiceCommand, ECSClient } from "@aws-sdk/client-ecs";
import { expect } from "chai";
import { loadBalancerDimension } from "../../../functions/core/preview.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubDeployments } from "../../helpers/github-deployments.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
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
const HOUR = 3_600_000;
const web: TestService = { name: "web", repository: REPO, branch: "master" };

const shaOf = (n: number, push = 0): string =>
  `${push}`.padStart(8, "0") + n.toString(16).padStart(32, "0");

function deploysTo(declaration: PipelineDeclaration | undefined): string[] {
  return (declaration?.stages ?? []).flatMap((stage) =>
    stage.actions
      .filter((a) => a.actionTypeId.provider === "ECS")
      .map((a) => a.configuration?.["ServiceName"] ?? ""),
  );
}

describe("reconcile handler: preview environments (wire level)", function () {
  const wire = useWireDoubles({ seed: false });
  let stack: PreviewStack;
  let deployments: GitHubDeployments;
  let comments: GitHubComments;

  before(() => {
    deployments = new GitHubDeployments(wire.github);
    comments = new GitHubComments(wire.github);
  });
  beforeEach(() => {
    deployments.reset();
    comments.reset();
  });

  const env = () => ({
    BRANCHLINE_SERVICES: stack.table,
    BRANCHLINE_PREFIX: STACK_PREFIX,
    GITHUB_TOKEN: "ghs_test-token",
    GITHUB_API_URL: wire.github.url,
  });

  const sweep = (now = Date.now()) =>
    createReconcileHandler({
      ...defaultReconcileDeps(env(), { logger: wire.logger }),
      now: () => now,
    })();

  const onGitHub = (n: number, state: "open" | "closed" = "open", push = 0) =>
    pullRequestOnGitHub(wire.github, REPO, n, { sha: shaOf(n, push), state });

  async function deliver(n: number, action = "opened") {
    const payload = pullRequestPayload({ number: n, headRef: `feature-${n}`, action });
    if (action === "closed")
      (payload["pull_request"] as Record<string, unknown>)["state"] = "closed";
    const handler = createHandler(
      defaultWebhookDeps({ ...env(), WEBHOOK_SECRET: SECRET }, { logger: wire.logger }),
    );
    const response = await handler(signedEvent(payload, { secret: SECRET }));
    return JSON.parse(response.body) as Record<string, unknown>;
  }

  const previewService = (n: number) => wire.aws.ecsService("previews", `shop-web-pr-${n}`);
  const previewRules = () =>
    (wire.aws.listener(stack.listenerArn)?.rules ?? []).filter((r) => r.priority !== "default");

  it("a lost close: the sweep removes the clone, then the preview, and retires its deployment", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    await deliver(7);
    expect(previewRules()).to.have.length(1);
    // The notify function reported the deployment when the clone's execution succeeded.
    await previewDeployed(wire.github, REPO, 7, shaOf(7));

    onGitHub(7, "closed");
    const summary = await sweep();
    expect(summary).to.deep.include({ deleted: [7], previewsRemoved: [7], errors: [] });
    expect(wire.aws.pipelineNames()).to.not.include("shop-web-pr-7");
    expect(previewRules()).to.deep.equal([]);
    expect(wire.aws.targetGroups()).to.deep.equal([]);
    expect(previewService(7)?.status).to.not.equal("ACTIVE");
    expect(wire.aws.taskDefinitions("shop-web-pr-7").map((d) => d.status)).to.deep.equal([
      "DELETE_IN_PROGRESS",
    ]);
    expect(deployments.states(REPO, "pr-7-web")).to.deep.equal(["inactive"]);
  });

  it("a preview left without its clone (a removal that stopped) is removed when its PR is gone", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    await deliver(7);
    const codepipeline = new CodePipelineClient({});
    await codepipeline.send(new DeletePipelineCommand({ name: "shop-web-pr-7" }));
    codepipeline.destroy();

    onGitHub(7, "closed");
    const summary = await sweep();
    expect(summary).to.deep.include({ deleted: [], previewsRemoved: [7], errors: [] });
    expect(previewRules()).to.deep.equal([]);
    expect(previewService(7)?.status).to.not.equal("ACTIVE");
  });

  it("idle: no push and no request for idleHours scales to zero; a request keeps it; a push wakes it", async () => {
    stack = await seedPreviewStack(wire.aws, web, { idleHours: 4 });
    for (const n of [7, 8]) {
      onGitHub(n);
      await deliver(n);
    }
    const now = Date.now();
    // Both last deployed five hours ago; #8 was asked for an hour ago.
    wire.aws.ageDeployments("previews", "shop-web-pr-7", 5 * HOUR);
    wire.aws.ageDeployments("previews", "shop-web-pr-8", 5 * HOUR);
    const group8 = wire.aws.targetGroups().find((g) => g.name === "shop-web-8");
    wire.aws.recordMetric({
      namespace: "AWS/ApplicationELB",
      metricName: "RequestCount",
      dimensions: {
        LoadBalancer: loadBalancerDimension(stack.listenerArn),
        TargetGroup: group8?.arn.split(":").at(-1) ?? "",
      },
      timestamp: new Date(now - HOUR),
      value: 3,
    });

    const from = wire.aws.calls.length;
    const summary = await sweep(now);
    const calls = wire.aws.calls.slice(from).map((c) => c.operation);
    expect(summary).to.deep.include({ previewsScaledDown: [7], errors: [] });
    expect(previewService(7)?.desiredCount).to.equal(0);
    expect(previewService(8)?.desiredCount).to.equal(1);
    // DescribeServices once for both previews before the pull requests (is each whole?) and once
    // after (idle?), one GetMetricData for both candidates.
    expect(calls.filter((c) => c === "DescribeServices")).to.have.length(2);
    expect(calls.filter((c) => c === "GetMetricData")).to.have.length(1);
    expect(calls.filter((c) => c === "UpdateService")).to.have.length(1);

    // A second sweep leaves it at zero (the sweep never wakes a preview).
    const again = await sweep(now + HOUR);
    expect(again).to.not.have.property("previewsScaledDown");
    expect(previewService(7)?.desiredCount).to.equal(0);

    // The next push wakes it.
    onGitHub(7, "open", 1);
    const push = await deliver(7, "synchronize");
    expect(push).to.deep.include({
      preview: { url: "https://pr-7.web.preview.example.com", changed: ["service"] },
    });
    expect(previewService(7)?.desiredCount).to.equal(1);
  });

  it("a preview that waited for maxPreviews gets its slot on the sweep after one frees", async () => {
    stack = await seedPreviewStack(wire.aws, web, { maxPreviews: 1 });
    onGitHub(7);
    onGitHub(8);
    await deliver(7);
    expect(await deliver(8)).to.have.nested.property("preview.waiting");
    expect(deploysTo(wire.aws.pipeline("shop-web-pr-8")?.declaration)).to.deep.equal([]);

    // While #7 holds the slot, the sweep keeps #8 waiting.
    const waiting = await sweep();
    expect(waiting).to.deep.include({ previewsWaiting: [8], errors: [] });

    onGitHub(7, "closed");
    await deliver(7, "closed");
    const summary = await sweep();
    expect(summary).to.deep.include({ updated: [8], errors: [] });
    expect(summary).to.not.have.property("previewsWaiting");
    expect(previewService(8)?.desiredCount).to.equal(1);
    expect(deploysTo(wire.aws.pipeline("shop-web-pr-8")?.declaration)).to.deep.equal([
      "shop-web-pr-8",
    ]);
    const posted = wire.github.requests
      .filter(
        (r) =>
          r.method === "POST" &&
          r.path === `/repos/${REPO}/statuses/${shaOf(8)}` &&
          (r.body as { context?: string }).context === "branchline/web/preview",
      )
      .map((r) => (r.body as { state: string }).state);
    expect(posted.at(-1)).to.equal("success");
  });

  it("pulumi destroy's teardown removes every preview, with its clone or without one", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    for (const n of [7, 8]) {
      onGitHub(n);
      await deliver(n);
    }
    // #8's clone is gone already (a removal that stopped after it).
    const codepipeline = new CodePipelineClient({});
    await codepipeline.send(new DeletePipelineCommand({ name: "shop-web-pr-8" }));
    codepipeline.destroy();

    const teardown = createReconcileHandler(
      defaultReconcileDeps(
        { BRANCHLINE_SERVICES: stack.table, BRANCHLINE_PREFIX: STACK_PREFIX },
        { logger: wire.logger },
      ),
    );
    const input = { branchline: "teardown" };
    const result = await teardown({ ...input, tf: { action: "delete", prev_input: input } });
    expect(result).to.deep.include({ action: "delete" });
    expect(wire.aws.pipelineNames().filter((name) => name.includes("-pr-"))).to.deep.equal([]);
    expect(previewRules()).to.deep.equal([]);
    expect(wire.aws.targetGroups()).to.deep.equal([]);
    for (const n of [7, 8]) expect(previewService(n)?.status).to.not.equal("ACTIVE");
  });

  it("a preview missing its service (a creation that stopped half-way) is made whole by the sweep", async () => {
    stack = await seedPreviewStack(wire.aws, web);
    onGitHub(7);
    await deliver(7);
    const ecs = new ECSClient({});
    await ecs.send(
      new DeleteServiceCommand({ cluster: "previews", service: "shop-web-pr-7", force: true }),
    );
    ecs.destroy();
    wire.aws.finishDraining();
    expect(previewService(7)?.status).to.equal("INACTIVE");

    const summary = await sweep();
    expect(summary).to.deep.include({ unchanged: [7], errors: [] });
    expect(previewService(7)).to.deep.include({ status: "ACTIVE", desiredCount: 1 });
  });
});
