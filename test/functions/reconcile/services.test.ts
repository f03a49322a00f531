/**
 * The reconciler of a stack serving many services, over the wire: one sweep over every service of
 * the routing table with GitHub's open pull requests listed once per repository, a summary per
 * service, the resume after a sweep that ran out of time, and the teardown of every service.
 */
import { expect } from "chai";
import type { ImageStore } from "../../../functions/app/ports.js";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { parseServicesTable, sweepStart } from "../../../functions/core/services.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import {
  createReconcileHandler,
  sweepOrder,
  type ReconcileDeps,
} from "../../../functions/reconcile/handler.js";
import type { FakePullRequest } from "../../helpers/github-api.js";
import {
  imagesOf,
  seedServices,
  servicePipeline,
  sourceOf,
  type TestService,
} from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const REPO = "Codertocat/Hello-World";
const DOCS = "acme/docs";
const TOKEN = "ghs_test-token";

const api: TestService = { name: "api", repository: REPO, branch: "master" };
const web: TestService = { name: "web", repository: REPO, branch: "master" };
const docs: TestService = { name: "docs", repository: DOCS, branch: "main" };
const SERVICES = [api, web, docs];

function pullRequest(
  repo: string,
  number: number,
  base: string,
  variant: Partial<FakePullRequest> = {},
): FakePullRequest {
  return {
    number,
    state: "open",
    head: { ref: `feature-${number}`, sha: "a".repeat(40), repo },
    base: { ref: base, repo },
    ...variant,
  };
}

/** The first minute (in ms) from which a cold container starts with the service at `index`. */
function minuteStarting(index: number, count: number): number {
  for (let minute = 0; ; minute++) {
    if (sweepStart(minute * 60_000, count) === index) return minute * 60_000;
  }
}

const empty = {
  created: [],
  updated: [],
  deleted: [],
  imagesDeleted: [],
  unchanged: [],
  errors: [],
};

describe("reconcile handler: many services (wire level)", function () {
  const wire = useWireDoubles({ seed: false });
  let table: string;

  beforeEach(() => {
    table = seedServices(wire.aws, SERVICES);
  });

  function deps(overrides: Partial<ReconcileDeps> = {}): ReconcileDeps {
    return {
      ...defaultReconcileDeps(
        { BRANCHLINE_SERVICES: table, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: wire.github.url },
        { logger: wire.logger },
      ),
      now: () => 0,
      ...overrides,
    };
  }

  function seedClone(service: TestService, number: number): void {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(servicePipeline(service), {
      prNumber: number,
      headBranch: branch,
      headRepository: service.repository,
    });
    wire.aws.seedPipeline(declaration, cloneTags(sourceOf(service), number, branch));
  }

  it("sweeps every service, listing GitHub's open pull requests once per repository", async () => {
    wire.github.addPullRequest(pullRequest(REPO, 2, "master"));
    wire.github.addPullRequest(pullRequest(REPO, 4, "develop"));
    wire.github.addPullRequest(pullRequest(DOCS, 5, "main"));
    const summary = await createReconcileHandler(deps())();

    expect(summary).to.deep.equal({
      ...empty,
      created: [2, 5],
      services: {
        api: { ...empty, created: [2] },
        web: { ...empty, created: [2] },
        docs: { ...empty, created: [5] },
      },
    });
    expect(wire.aws.pipelineNames().sort()).to.deep.equal([
      "shop-api",
      "shop-api-pr-2",
      "shop-docs",
      "shop-docs-pr-5",
      "shop-web",
      "shop-web-pr-2",
    ]);
    expect(wire.github.requests.map((r) => [r.method, r.path, r.query])).to.deep.equal([
      ["GET", `/repos/${REPO}/pulls`, "state=open&per_page=100"],
      ["GET", `/repos/${DOCS}/pulls`, "state=open&per_page=100"],
    ]);
    // The account's pipelines are listed once per sweep, each service's images once.
    expect(wire.aws.callCount("ListPipelines")).to.equal(1);
    expect(wire.aws.callCount("ListImages")).to.equal(3);
    expect(
      wire.logger.lines
        .filter((l) => l.message === "service reconciled")
        .map((l) => l.fields?.["service"]),
    ).to.deep.equal(["api", "web", "docs"]);
  });

  it("a closed pull request loses both services' clones and images", async () => {
    wire.github.addPullRequest(pullRequest(REPO, 2, "master", { state: "closed" }));
    for (const service of [api, web]) {
      seedClone(service, 2);
      wire.aws.seedImage(imagesOf(service), { tags: ["pr-2"] });
    }
    const summary = await createReconcileHandler(deps())();
    expect(summary.services).to.deep.equal({
      api: { ...empty, deleted: [2], imagesDeleted: [2] },
      web: { ...empty, deleted: [2], imagesDeleted: [2] },
      docs: empty,
    });
    expect(wire.aws.pipelineNames().sort()).to.deep.equal(["shop-api", "shop-docs", "shop-web"]);
    expect(wire.aws.images(imagesOf(api))).to.deep.equal([]);
    expect(wire.aws.images(imagesOf(web))).to.deep.equal([]);
    // GitHub is asked about the closed pull request once, not once per service.
    expect(wire.github.requestsTo("/repos/Codertocat/Hello-World/pulls/2")).to.have.length(1);
  });

  it("prefixes each service's errors with its name in the totals", async () => {
    const only = JSON.stringify(
      (JSON.parse(table) as { name: string }[]).map((e) =>
        e.name === "web" ? { ...e, sourcePipeline: "shop-gone" } : e,
      ),
    );
    table = only;
    const summary = await createReconcileHandler(deps())();
    expect(summary.misconfigured).to.deep.equal([
      "web: sweep not started: source pipeline shop-gone does not exist",
    ]);
    expect(summary.services?.["web"]?.misconfigured).to.deep.equal([
      "sweep not started: source pipeline shop-gone does not exist",
    ]);
  });

  it("a sweep that runs out of time says which services it did not reach; the next starts there", async () => {
    wire.github.addPullRequest(pullRequest(REPO, 2, "master"));
    wire.github.addPullRequest(pullRequest(DOCS, 5, "main"));
    let hang = true;
    let now = 0;
    const base = deps();
    // The first service's image listing waits until the sweep's time is up.
    const handler = createReconcileHandler({
      ...base,
      budgetMs: 1000,
      now: () => now,
      services: async (signal) => {
        const real = await base.services(signal);
        const images: ImageStore = {
          list: async (repository) => {
            if (hang && repository === imagesOf(api)) {
              await new Promise((resolve) => {
                if (signal.aborted) resolve(undefined);
                else signal.addEventListener("abort", resolve);
              });
            }
            return real.images.list(repository);
          },
          delete: (repository, ids) => real.images.delete(repository, ids),
        };
        return { ...real, images };
      },
    });
    expect(sweepStart(0, 3)).to.equal(0);
    const first = await handler();
    expect(first.notReached).to.deep.equal(["web", "docs"]);
    expect(first.errors).to.include(
      "the sweep ran out of time: 2 service(s) were not reached: web, docs; the next sweep starts with api",
    );
    expect(wire.aws.pipelineNames().sort()).to.deep.equal(["shop-api", "shop-docs", "shop-web"]);

    // The same container, at a time from which a cold one would start with docs: it resumes with
    // api, where the last sweep stopped, and reaches every service.
    hang = false;
    now = minuteStarting(2, 3);
    const second = await handler();
    expect(Object.keys(second.services ?? {})).to.deep.equal(["api", "web", "docs"]);
    expect(second.created).to.deep.equal([2, 5]);
    expect(second.notReached).to.equal(undefined);
  });

  it("a cold container starts with a service derived from the invocation time", async () => {
    const at = minuteStarting(2, 3);
    const summary = await createReconcileHandler(deps({ now: () => at }))();
    expect(Object.keys(summary.services ?? {})).to.deep.equal(["docs", "api", "web"]);
  });

  it("no service is starved: every one leads some sweep of a schedule whose period divides their count", () => {
    const services = parseServicesTable(
      JSON.stringify(
        Array.from({ length: 5 }, (_, i) => ({
          name: `s${i}`,
          sourcePipeline: `shop-s${i}`,
          repository: REPO,
          branch: "master",
          ecrRepositories: [`shop-s${i}-pr`],
        })),
      ),
      "test",
    );
    const leaders = new Set<string>();
    // Every 5 minutes for a day, each sweep on a cold container.
    for (let sweep = 0; sweep < 288; sweep++) {
      leaders.add(sweepOrder(services, undefined, sweep * 5 * 60_000)[0]?.name ?? "");
    }
    expect([...leaders].sort()).to.deep.equal(["s0", "s1", "s2", "s3", "s4"]);
    // A cursor wins over the time.
    expect(sweepOrder(services, "s3", 0).map((s) => s.name)).to.deep.equal([
      "s3",
      "s4",
      "s0",
      "s1",
      "s2",
    ]);
  });

  it("the teardown removes every service's clones and pull request images", async () => {
    for (const service of SERVICES) {
      seedClone(service, 7);
      wire.aws.seedImage(imagesOf(service), { tags: ["pr-7"] });
      wire.aws.seedImage(imagesOf(service), { tags: ["latest"] });
    }
    const answer = await createReconcileHandler(deps())({ tf: { action: "delete" } });
    expect(answer.teardown).to.deep.include({
      deleted: [7],
      imagesDeleted: [7],
      leftAlone: [],
      errors: [],
    });
    expect(wire.aws.pipelineNames().sort()).to.deep.equal(["shop-api", "shop-docs", "shop-web"]);
    for (const service of SERVICES) {
      expect(wire.aws.images(imagesOf(service)).flatMap((i) => i.tags)).to.deep.equal(["latest"]);
    }
  });
});
