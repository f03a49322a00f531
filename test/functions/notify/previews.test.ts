/**
 * notify for a service with preview environments, over the wire (CodePipeline against the AWS
 * double, Octokit against the GitHub API double): when a clone that deploys its preview ends, the
 * commit's GitHub deployment in `pr-<n>-<service>` gets `success` with the preview's URL (GitHub's
 * "View deployment") or `failure`; a clone whose preview waits (no deploy stage) reports none; the
 * comment carries the Preview row either way.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import { createHandler } from "../../../functions/notify/handler.js";
import { fixture } from "../../helpers/fixtures.js";
import { GitHubComments } from "../../helpers/github-comments.js";
import { GitHubDeployments } from "../../helpers/github-deployments.js";
import { seedPreviewStack, type PreviewStack } from "../../helpers/previews.js";
import { servicePipeline, type TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const REPO = "Codertocat/Hello-World";
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const CONTEXT = {
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:branchline-notify",
  getRemainingTimeInMillis: () => 30_000,
};
const web: TestService = { name: "web", repository: REPO, branch: "master" };

describe("notify handler: preview deployments (wire level)", function () {
  const wire = useWireDoubles({ seed: false });
  let stack: PreviewStack;
  let deployments: GitHubDeployments;
  let comments: GitHubComments;

  before(() => {
    deployments = new GitHubDeployments(wire.github);
    comments = new GitHubComments(wire.github);
  });
  beforeEach(async () => {
    deployments.reset();
    comments.reset();
    stack = await seedPreviewStack(wire.aws, web);
  });

  function handler() {
    const notify = createHandler(
      defaultNotifyDeps(
        {
          BRANCHLINE_SERVICES: stack.table,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
        },
        { logger: wire.logger },
      ),
    );
    return (event: unknown) => notify(event, CONTEXT);
  }

  /** The clone of pull request n, deploying its preview unless `waiting`. */
  function seedClone(n: number, waiting = false): string {
    const declaration = cloneDeclaration(
      servicePipeline(web),
      { prNumber: n, headBranch: "changes", headRepository: REPO },
      waiting ? {} : { preview: { cluster: "previews", service: `shop-web-pr-${n}` } },
    );
    wire.aws.seedPipeline(declaration, cloneTags("shop-web", n, "changes"));
    return declaration.name;
  }

  function ended(pipeline: string, state: "succeeded" | "failed") {
    const id = wire.aws.seedExecution(pipeline, {
      status: state === "succeeded" ? "Succeeded" : "Failed",
      sourceRevisions: [{ actionName: "GitHub", revisionId: SHA }],
    });
    const base = fixture<Record<string, unknown>>(`events/pipeline-execution-${state}.json`);
    return {
      ...base,
      resources: [`arn:aws:codepipeline:us-east-1:123456789012:${pipeline}`],
      detail: { ...(base["detail"] as object), pipeline, "execution-id": id },
    };
  }

  it("a clone that deployed: success with the preview's URL, and the Preview row", async () => {
    const result = await handler()(ended(seedClone(7), "succeeded"));
    expect(result).to.deep.include({ outcome: "reported", deployment: "reported", errors: [] });
    const [deployment] = deployments.of(REPO);
    expect(deployment).to.deep.include({ sha: SHA, environment: "pr-7-web" });
    expect(deployment?.statuses.map((s) => [s.state, s.environmentUrl])).to.deep.equal([
      ["success", "https://pr-7.web.preview.example.com"],
    ]);
    const [comment] = comments.comments.get(7) ?? [];
    expect(comment?.body).to.include(
      "| Preview | [pr-7.web.preview.example.com](https://pr-7.web.preview.example.com): about $0.2962 a day",
    );
    // A repeated event reuses the commit's deployment.
    await handler()(ended("shop-web-pr-7", "succeeded"));
    expect(deployments.of(REPO)).to.have.length(1);
  });

  it("a clone that failed: failure", async () => {
    const result = await handler()(ended(seedClone(7), "failed"));
    expect(result).to.deep.include({ deployment: "reported" });
    expect(deployments.states(REPO, "pr-7-web")).to.deep.equal(["failure"]);
  });

  it("a clone whose preview waits (no deploy stage): no deployment; the Preview row says it waits", async () => {
    const result = await handler()(ended(seedClone(8, true), "succeeded"));
    expect(result).to.not.have.property("deployment");
    expect(deployments.of(REPO)).to.deep.equal([]);
    expect(comments.comments.get(8)?.[0]?.body).to.include(
      "| Preview | pr-8.web.preview.example.com: waits for a free preview slot (the status branchline/web/preview says why) |",
    );
  });
});
