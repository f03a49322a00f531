/**
 * The webhook of a stack serving many services, over the wire: signed example deliveries routed by
 * the routing table (`BRANCHLINE_SERVICES`) to every service of the pull request's repository and
 * base branch, each service's clone made, updated and removed on its own, against the AWS double.
 */
import { expect } from "chai";
import { cloneTags } from "../../../functions/core/clone.js";
import { cloneName } from "../../../functions/shared/names.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler, worstStatus } from "../../../functions/webhook/handler.js";
import {
  pullRequestPayload,
  signedEvent,
  type PullRequestVariant,
} from "../../helpers/github-events.js";
import {
  imagesOf,
  seedServices,
  sourceOf,
  tableEntry,
  type TestService,
} from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
/** The example payloads' repository and base branch. */
const REPO = "Codertocat/Hello-World";

const api: TestService = { name: "api", repository: REPO, branch: "master" };
const web: TestService = { name: "web", repository: "codertocat/hello-world", branch: "master" };
const docs: TestService = { name: "docs", repository: "acme/docs", branch: "master" };

describe("webhook: many services (wire level)", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  async function deliver(
    table: string,
    variant: PullRequestVariant = {},
    env: Record<string, string> = {},
  ) {
    const handler = createHandler(
      defaultWebhookDeps(
        { BRANCHLINE_SERVICES: table, WEBHOOK_SECRET: SECRET, ...env },
        { logger: wire.logger },
      ),
    );
    const response = await handler(signedEvent(pullRequestPayload(variant), { secret: SECRET }));
    return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
  }

  const operations = () => wire.aws.calls.map((call) => call.operation);
  const tagsOf = (pipeline: string) => wire.aws.pipeline(pipeline)?.tags;

  it("a monorepo: one delivery, one clone per service of the repository and branch", async () => {
    const table = seedServices(wire.aws, [api, web, docs]);
    const answer = await deliver(table);
    expect(answer).to.deep.equal({
      status: 200,
      body: {
        outcome: "handled",
        services: [
          { service: "api", outcome: "created", pipeline: "shop-api-pr-2", pullRequest: 2 },
          { service: "web", outcome: "created", pipeline: "shop-web-pr-2", pullRequest: 2 },
        ],
      },
    });
    expect(tagsOf("shop-api-pr-2")).to.deep.equal(cloneTags("shop-api", 2, "changes"));
    expect(tagsOf("shop-web-pr-2")).to.deep.equal(cloneTags("shop-web", 2, "changes"));
    expect(wire.aws.pipeline("shop-docs-pr-2")).to.equal(undefined);
    // Each clone is its own service's: its source action reads the service's source.
    expect(
      wire.aws.pipeline("shop-web-pr-2")?.declaration.stages[0]?.actions[0]?.configuration,
    ).to.include({ BranchName: "changes", FullRepositoryId: "codertocat/hello-world" });
    expect(
      wire.aws.calls.filter((c) => JSON.stringify(c.input).includes("shop-docs")),
    ).to.deep.equal([]);

    // A synchronize updates both, independently: here both are unchanged.
    const again = await deliver(table, { action: "synchronize" });
    expect(again.body).to.deep.equal({
      outcome: "handled",
      services: [
        { service: "api", outcome: "unchanged", pipeline: "shop-api-pr-2", pullRequest: 2 },
        { service: "web", outcome: "unchanged", pipeline: "shop-web-pr-2", pullRequest: 2 },
      ],
    });
  });

  describe("with a GitHub token", () => {
    const github = useWireDoubles({ github: true, seed: false });

    it("reads the pull request once for every service, and again after each creation", async () => {
      const table = seedServices(github.aws, [api, web]);
      github.github.addPullRequest({
        number: 2,
        state: "open",
        head: { ref: "changes", sha: "a".repeat(40), repo: REPO },
        base: { ref: "master", repo: REPO },
      });
      const handler = createHandler(
        defaultWebhookDeps(
          {
            BRANCHLINE_SERVICES: table,
            WEBHOOK_SECRET: SECRET,
            GITHUB_TOKEN: "ghs_test-token",
            GITHUB_API_URL: github.github.url,
          },
          { logger: github.logger },
        ),
      );
      const response = await handler(signedEvent(pullRequestPayload(), { secret: SECRET }));
      expect(response.statusCode).to.equal(200);
      expect(github.aws.pipelineNames().sort()).to.deep.equal([
        "shop-api",
        "shop-api-pr-2",
        "shop-web",
        "shop-web-pr-2",
      ]);
      const reads = github.github.requests.filter(
        (r) => r.method === "GET" && r.path === `/repos/${REPO}/pulls/2`,
      );
      expect(reads).to.have.length(3);
    });
  });

  it("two services on different branches: a delivery reaches the one of its base", async () => {
    const develop = { ...web, branch: "develop" };
    const table = seedServices(wire.aws, [api, develop]);
    const toMaster = await deliver(table);
    expect(toMaster.body).to.deep.equal({
      outcome: "handled",
      services: [{ service: "api", outcome: "created", pipeline: "shop-api-pr-2", pullRequest: 2 }],
    });
    const toDevelop = await deliver(table, { number: 3, baseRef: "develop" });
    expect(toDevelop.body).to.deep.equal({
      outcome: "handled",
      services: [{ service: "web", outcome: "created", pipeline: "shop-web-pr-3", pullRequest: 3 }],
    });
    expect(wire.aws.pipelineNames().sort()).to.deep.equal([
      "shop-api",
      "shop-api-pr-2",
      "shop-web",
      "shop-web-pr-3",
    ]);

    // Retargeted from master to develop: api's clone goes, web's comes.
    const retarget = await deliver(table, {
      action: "edited",
      baseRef: "develop",
      previousBase: "master",
    });
    expect(retarget.status).to.equal(200);
    expect(retarget.body).to.deep.equal({
      outcome: "handled",
      services: [
        {
          service: "api",
          outcome: "deleted",
          pipeline: "shop-api-pr-2",
          pullRequest: 2,
          executionsStopped: 0,
          imagesDeleted: 0,
        },
        { service: "web", outcome: "created", pipeline: "shop-web-pr-2", pullRequest: 2 },
      ],
    });
  });

  it("a closed pull request removes every service's clone and images, and nothing else", async () => {
    const develop = { ...docs, repository: REPO, branch: "develop" };
    const table = seedServices(wire.aws, [api, web, develop]);
    await deliver(table);
    for (const service of [api, web, develop]) {
      wire.aws.seedImage(imagesOf(service), { tags: ["pr-2"] });
      wire.aws.seedImage(imagesOf(service), { tags: ["pr-3"] });
    }
    const answer = await deliver(table, { action: "closed", state: "closed", merged: true });
    expect(answer).to.deep.equal({
      status: 200,
      body: {
        outcome: "handled",
        services: [
          ...[api, web].map((service) => ({
            service: service.name,
            outcome: "deleted",
            pipeline: cloneName(sourceOf(service), 2),
            pullRequest: 2,
            executionsStopped: 0,
            imagesDeleted: 1,
          })),
          // A closed pull request reaches every service of its repository: it may have been
          // retargeted after the clone was made.
          {
            service: "docs",
            outcome: "absent",
            pipeline: "shop-docs-pr-2",
            pullRequest: 2,
            executionsStopped: 0,
            imagesDeleted: 1,
          },
        ],
      },
    });
    expect(wire.aws.pipelineNames().sort()).to.deep.equal(["shop-api", "shop-docs", "shop-web"]);
    for (const service of [api, web, develop]) {
      expect(wire.aws.images(imagesOf(service)).flatMap((i) => i.tags)).to.deep.equal(["pr-3"]);
    }
  });

  it("one service's failure does not stop the others; the worst status answers", async () => {
    const table = seedServices(wire.aws, [api]);
    const withWeb = JSON.stringify([...(JSON.parse(table) as unknown[]), tableEntry(web)]);
    const answer = await deliver(withWeb);
    expect(answer).to.deep.equal({
      status: 422,
      body: {
        outcome: "handled",
        services: [
          { service: "api", outcome: "created", pipeline: "shop-api-pr-2", pullRequest: 2 },
          {
            service: "web",
            outcome: "misconfigured",
            message: "source pipeline shop-web does not exist",
          },
        ],
      },
    });
    expect(wire.aws.pipeline("shop-api-pr-2")).to.not.equal(undefined);
    expect(wire.logger.lines.some((l) => l.message === "delivery failed for a service")).to.equal(
      true,
    );
  });

  it("keeps each service's replay mark apart (keys start with its source pipeline)", async () => {
    wire.aws.createTable("marks");
    const table = seedServices(wire.aws, [api, web]);
    await deliver(table, {}, { STATE_TABLE_NAME: "marks" });
    expect(wire.aws.item("marks", "shop-api#2")).to.not.equal(undefined);
    expect(wire.aws.item("marks", "shop-web#2")).to.not.equal(undefined);
  });

  it("keeps today's answer when the table has one entry", async () => {
    const table = seedServices(wire.aws, [api]);
    expect(await deliver(table)).to.deep.equal({
      status: 200,
      body: { outcome: "created", pipeline: "shop-api-pr-2", pullRequest: 2 },
    });
    expect(await deliver(table, { baseRef: "develop" })).to.deep.equal({
      status: 202,
      body: { outcome: "ignored", reason: `no service builds ${REPO}:develop` },
    });
  });

  describe("among 50 services over 20 repositories", () => {
    const many: TestService[] = Array.from({ length: 50 }, (_, i) => ({
      name: `s${i}`,
      repository: i === 37 ? REPO : `acme/repo-${i % 20}`,
      branch: i === 37 ? "master" : `branch-${i % 3}`,
    }));

    it("a delivery no service wants is ignored without any AWS call", async () => {
      const table = seedServices(wire.aws, many);
      const answer = await deliver(table, { baseRef: "release" });
      expect(answer).to.deep.equal({
        status: 202,
        body: { outcome: "ignored", reason: `no service builds ${REPO}:release` },
      });
      expect(wire.aws.callCount()).to.equal(0);
    });

    it("a delivery for one service makes that service's calls only, as a stack of one would", async () => {
      const table = seedServices(wire.aws, many);
      const before = wire.aws.callCount();
      const answer = await deliver(table);
      expect(answer.body).to.deep.equal({
        outcome: "handled",
        services: [
          { service: "s37", outcome: "created", pipeline: "shop-s37-pr-2", pullRequest: 2 },
        ],
      });
      const calls = wire.aws.calls.slice(before);
      expect(calls.map((c) => c.operation)).to.deep.equal(["GetPipeline", "CreatePipeline"]);
      expect(calls[0]?.input).to.deep.equal({ name: "shop-s37" });
      expect(operations()).to.not.include("ListPipelines");
    });
  });

  it("worstStatus: the highest error, else 200 when a service acted, else 202", () => {
    expect(worstStatus([200, 202])).to.equal(200);
    expect(worstStatus([202, 202])).to.equal(202);
    expect(worstStatus([200, 409, 503])).to.equal(503);
    expect(worstStatus([202, 422])).to.equal(422);
  });
});
