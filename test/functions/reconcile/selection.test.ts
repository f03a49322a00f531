/**
 * The reconciler applies the services' label and path rules on its sweep, so a lost `labeled`,
 * `unlabeled` or `synchronize` delivery is healed: a skipped pull request's clone is removed, a
 * resumed one created. The files are read only for services with path rules, once per pull request.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import { createReconcileHandler } from "../../../functions/reconcile/handler.js";
import type { FakePullRequest } from "../../helpers/github-api.js";
import {
  seedServices,
  servicePipeline,
  sourceOf,
  tableEntry,
  type TestService,
} from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const REPO = "Codertocat/Hello-World";
const DOCS = "acme/docs";

const api: TestService = { name: "api", repository: REPO, branch: "master" };
const web: TestService = { name: "web", repository: REPO, branch: "master" };
const docs: TestService = { name: "docs", repository: DOCS, branch: "main" };

const empty = {
  created: [],
  updated: [],
  deleted: [],
  imagesDeleted: [],
  unchanged: [],
  errors: [],
};

describe("reconcile handler: label and path rules (wire level)", function () {
  const wire = useWireDoubles({ seed: false });
  let table: string;

  beforeEach(() => {
    seedServices(wire.aws, [api, web, docs]);
    table = JSON.stringify([
      tableEntry(api, { labels: { skip: ["branchline:skip"] } }),
      tableEntry(web, { paths: { include: ["services/web/**"] } }),
      tableEntry(docs),
    ]);
  });

  const sweep = () =>
    createReconcileHandler({
      ...defaultReconcileDeps(
        {
          BRANCHLINE_SERVICES: table,
          GITHUB_TOKEN: "ghs_test-token",
          GITHUB_API_URL: wire.github.url,
        },
        { logger: wire.logger },
      ),
      now: () => 0,
    })();

  function seedClone(service: TestService, number: number): void {
    const branch = `feature-${number}`;
    const declaration = cloneDeclaration(servicePipeline(service), {
      prNumber: number,
      headBranch: branch,
      headRepository: service.repository,
    });
    wire.aws.seedPipeline(declaration, cloneTags(sourceOf(service), number, branch));
  }

  function open(repo: string, number: number, base: string, variant: Partial<FakePullRequest>) {
    wire.github.pullRequests.delete(`${repo.toLowerCase()}#${number}`);
    wire.github.addPullRequest({
      number,
      state: "open",
      head: { ref: `feature-${number}`, sha: "a".repeat(40), repo },
      base: { ref: base, repo },
      ...variant,
    });
  }

  const filesRequests = () =>
    wire.github.requests.filter((request) => request.path.endsWith("/files")).map((r) => r.path);

  it("removes the clones the rules no longer build, and brings them back when they do", async () => {
    seedClone(api, 2);
    seedClone(web, 2);
    open(REPO, 2, "master", { labels: ["branchline:skip"], files: ["services/api/main.go"] });
    open(DOCS, 5, "main", { labels: ["branchline:skip"] });

    const paused = await sweep();
    expect(paused.services).to.deep.equal({
      api: { ...empty, deleted: [2] },
      web: { ...empty, deleted: [2] },
      // docs has no rules: the label means nothing to it.
      docs: { ...empty, created: [5] },
    });
    expect(wire.aws.pipelineNames().filter((name) => name.includes("-pr-"))).to.deep.equal([
      "shop-docs-pr-5",
    ]);
    // Only web has path rules: one files listing, of its pull request.
    expect(filesRequests()).to.deep.equal([`/repos/${REPO}/pulls/2/files`]);

    open(REPO, 2, "master", { labels: [], files: ["services/web/index.ts"] });
    wire.github.requests.length = 0;
    const resumed = await sweep();
    expect(resumed.services).to.deep.equal({
      api: { ...empty, created: [2] },
      web: { ...empty, created: [2] },
      docs: { ...empty, unchanged: [5] },
    });
    expect(filesRequests()).to.deep.equal([`/repos/${REPO}/pulls/2/files`]);
  });

  it("a pull request the rules do not build and without a clone: nothing to do, no error", async () => {
    open(REPO, 3, "master", { labels: ["branchline:skip"], files: ["README.md"] });
    const summary = await sweep();
    expect(summary.services).to.deep.equal({
      api: empty,
      web: empty,
      docs: empty,
    });
    expect(wire.aws.pipelineNames().filter((name) => name.includes("-pr-"))).to.deep.equal([]);
  });
});

describe("reconcile handler: one service's PULL_REQUEST_LABELS (wire level)", function () {
  const wire = useWireDoubles({ repository: "hello-world" });

  it("removes the clone of a pull request labelled to skip, and creates it once the label is gone", async () => {
    const sweep = () =>
      createReconcileHandler(
        defaultReconcileDeps(
          {
            SOURCE_PIPELINE_NAME: "hello-world",
            ECR_REPOSITORY_NAME: "hello-world",
            PULL_REQUEST_LABELS: JSON.stringify({ skip: ["branchline:skip"] }),
            GITHUB_TOKEN: "ghs_test-token",
            GITHUB_API_URL: wire.github.url,
          },
          { logger: wire.logger },
        ),
      )();
    const show = (labels: string[]) =>
      wire.github.addPullRequest({
        number: 7,
        state: "open",
        head: { ref: "feature-7", sha: "a".repeat(40), repo: REPO },
        base: { ref: "master", repo: REPO },
        labels,
      });
    show([]);
    expect(await sweep()).to.deep.include({ created: [7], deleted: [] });
    show(["branchline:skip"]);
    expect(await sweep()).to.deep.include({ created: [], deleted: [7] });
    expect(wire.aws.pipeline("hello-world-pr-7")).to.equal(undefined);
    expect(wire.github.requests.filter((r) => r.path.endsWith("/files"))).to.deep.equal([]);
    show([]);
    expect(await sweep()).to.deep.include({ created: [7] });
  });
});
