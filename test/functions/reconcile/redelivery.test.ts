/**
 * The reconciler redelivers the webhook's failed deliveries before its sweep, over the wire: the
 * real handler and default dependencies, Octokit against the GitHub API double's hooks and
 * deliveries, the SDK clients against the AWS double, and (end to end) the real webhook handler
 * receiving the redelivery.
 */
import { expect } from "chai";
import { APP_WEBHOOK, MAX_REDELIVERIES_PER_REPOSITORY } from "../../../functions/app/redelivery.js";
import { defaultReconcileDeps } from "../../../functions/reconcile/deps.js";
import {
  createReconcileHandler,
  type ReconcileHandler,
  type SweepSummary,
} from "../../../functions/reconcile/handler.js";
import { cloneName } from "../../../functions/shared/names.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { createHandler } from "../../../functions/webhook/handler.js";
import { fakePullRequest } from "../../helpers/github-api.js";
import { pullRequestPayload, signedEvent } from "../../helpers/github-events.js";
import { installApp } from "../../helpers/github-app.js";
import { GitHubHooks, gitHubTime, type DeliverySeed } from "../../helpers/github-hooks.js";
import { seedServices, type TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
const REPO = "Codertocat/Hello-World";
const TOKEN = "ghs_test-token";
const SECRET = "It's a Secret to Everybody";
const WEBHOOK_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/webhook";
const HOOKS_PATH = `/repos/${REPO}/hooks`;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("reconcile handler: redelivery of the webhook's failed deliveries (wire level)", function () {
  const wire = useWireDoubles({ repository: REPOSITORY });
  let hooks: GitHubHooks;

  before(() => {
    hooks = new GitHubHooks(wire.github);
  });
  beforeEach(() => hooks.reset());

  const ENV = {
    SOURCE_PIPELINE_NAME: SOURCE,
    ECR_REPOSITORY_NAME: REPOSITORY,
    GITHUB_TOKEN: TOKEN,
    WEBHOOK_URL,
  };

  /** A handler, kept across sweeps as a container keeps it. */
  function reconciler(env: Record<string, string | undefined> = {}): ReconcileHandler {
    return createReconcileHandler(
      defaultReconcileDeps(
        { ...ENV, GITHUB_API_URL: wire.github.url, ...env },
        { logger: wire.logger },
      ),
    );
  }

  /** The hook the stack registered, with the given deliveries. */
  function hookWith(deliveries: DeliverySeed[] = []): number {
    const hookId = hooks.add(REPO, { url: WEBHOOK_URL, events: ["pull_request"] });
    for (const delivery of deliveries) hooks.seedDelivery(hookId, delivery);
    return hookId;
  }

  const ago = (ms: number) => gitHubTime(Date.now() - ms);
  const hookRequests = () =>
    wire.github.requests.filter((request) => request.path.startsWith(HOOKS_PATH));
  const requestsTo = (suffix: string) =>
    wire.github.requests.filter((request) => request.path === `${HOOKS_PATH}${suffix}`);
  const warnings = () =>
    wire.logger.lines.filter(
      (line) =>
        line.level === "warn" &&
        line.message === "failed webhook deliveries are not redelivered for this repository",
    );

  it("redelivers each failed pull_request event once, oldest first; the next sweep does not again", async () => {
    const hookId = hookWith([
      { guid: "g-timeout", action: "synchronize", statusCode: 0, deliveredAt: ago(5 * MINUTE) },
      { guid: "g-502", action: "opened", statusCode: 502, deliveredAt: ago(10 * MINUTE) },
      { guid: "g-ok", action: "opened", statusCode: 202, deliveredAt: ago(20 * MINUTE) },
      { guid: "g-push", event: "push", action: null, statusCode: 500, deliveredAt: ago(MINUTE) },
    ]);
    const byGuid = (guid: string) => hooks.deliveriesOf(hookId).find((d) => d.guid === guid);
    const timeout = byGuid("g-timeout");
    const failed = byGuid("g-502");
    // The redeliveries fail too: still, each event is redelivered once only.
    hooks.deliver = async () => 503;
    const handler = reconciler();

    const first = (await handler({})) as SweepSummary;
    expect(first.redelivery).to.deep.equal({ redelivered: 2, skipped: [], errors: [] });
    expect(first.errors).to.deep.equal([]);
    expect(hooks.attempts.map((a) => a.deliveryId)).to.deep.equal([failed?.id, timeout?.id]);
    expect(hookRequests().map((r) => [r.method, r.path, r.query])).to.deep.equal([
      ["GET", HOOKS_PATH, "per_page=100"],
      ["GET", `${HOOKS_PATH}/${hookId}/deliveries`, "per_page=100"],
      ["POST", `${HOOKS_PATH}/${hookId}/deliveries/${failed?.id}/attempts`, ""],
      ["POST", `${HOOKS_PATH}/${hookId}/deliveries/${timeout?.id}/attempts`, ""],
    ]);
    // The redelivery and the sweep read the source pipeline once between them.
    expect(wire.aws.callCount("GetPipeline")).to.equal(1);
    expect(
      wire.logger.lines
        .filter((line) => line.message === "failed delivery redelivered")
        .map((line) => [line.fields["guid"], line.fields["statusCode"]]),
    ).to.deep.equal([
      ["g-502", 502],
      ["g-timeout", 0],
    ]);
    const reconciled = wire.logger.lines.find((line) => line.message === "reconciled");
    expect(reconciled?.fields).to.include({ redelivered: 2, redeliveryErrors: 0 });

    wire.github.requests.length = 0;
    const second = (await handler({})) as SweepSummary;
    expect(second.redelivery).to.deep.equal({ redelivered: 0, skipped: [], errors: [] });
    expect(hooks.attempts).to.have.length(2);
    // The hook's id is kept for the container: one deliveries page, no hook listing.
    expect(hookRequests().map((r) => r.path)).to.deep.equal([`${HOOKS_PATH}/${hookId}/deliveries`]);
  });

  it("leaves alone an event that succeeded after a retry, or was redelivered already", async () => {
    hookWith([
      { guid: "g-healed", statusCode: 502, deliveredAt: ago(30 * MINUTE) },
      { guid: "g-healed", statusCode: 200, redelivery: true, deliveredAt: ago(20 * MINUTE) },
      { guid: "g-tried", statusCode: 500, deliveredAt: ago(30 * MINUTE) },
      { guid: "g-tried", statusCode: 504, redelivery: true, deliveredAt: ago(25 * MINUTE) },
      { guid: "g-4xx-then-ok", statusCode: 401, deliveredAt: ago(40 * MINUTE) },
      { guid: "g-4xx-then-ok", statusCode: 200, deliveredAt: ago(39 * MINUTE) },
    ]);
    const summary = (await reconciler()({})) as SweepSummary;
    expect(summary.redelivery).to.deep.equal({ redelivered: 0, skipped: [], errors: [] });
    expect(hooks.attempts).to.deep.equal([]);
    expect(wire.github.requests.filter((r) => r.method === "POST")).to.deep.equal([]);
  });

  it("reads back only as far as the look-back window: paging stops there and older failures stay", async () => {
    // 150 deliveries within the day (one failed, on the second page), 150 older (all failed).
    const recent: DeliverySeed[] = Array.from({ length: 150 }, (_, i) => ({
      guid: `recent-${i}`,
      statusCode: i === 120 ? 502 : 200,
      deliveredAt: ago((i + 1) * MINUTE),
    }));
    const old: DeliverySeed[] = Array.from({ length: 150 }, (_, i) => ({
      guid: `old-${i}`,
      statusCode: 502,
      deliveredAt: ago(25 * HOUR + i * MINUTE),
    }));
    const hookId = hookWith([...recent, ...old]);
    const wanted = hooks.deliveriesOf(hookId).find((d) => d.guid === "recent-120");

    const summary = (await reconciler()({})) as SweepSummary;
    expect(summary.redelivery).to.deep.equal({ redelivered: 1, skipped: [], errors: [] });
    expect(hooks.attempts.map((a) => a.deliveryId)).to.deep.equal([wanted?.id]);
    const pages = requestsTo(`/${hookId}/deliveries`);
    // Page 1 is all within the day; page 2 reaches back past it: no page 3 of the 300.
    expect(pages.map((r) => r.query.replace(/cursor=v1_\d+/, "cursor=…"))).to.deep.equal([
      "per_page=100",
      "per_page=100&cursor=…",
    ]);
  });

  it("redelivers at most a bounded number per repository and sweep; the next sweep goes on", async () => {
    const count = MAX_REDELIVERIES_PER_REPOSITORY + 5;
    hookWith(
      Array.from({ length: count }, (_, i) => ({
        guid: `lost-${i}`,
        statusCode: 502,
        deliveredAt: ago((count - i) * MINUTE),
      })),
    );
    const handler = reconciler();
    const first = (await handler({})) as SweepSummary;
    expect(first.redelivery?.redelivered).to.equal(MAX_REDELIVERIES_PER_REPOSITORY);
    const second = (await handler({})) as SweepSummary;
    expect(second.redelivery?.redelivered).to.equal(5);
    expect(new Set(hooks.attempts.map((a) => a.deliveryId)).size).to.equal(count);
  });

  describe("a hook that cannot be used: the sweep goes on, the reason is logged once", () => {
    beforeEach(() => wire.github.addPullRequest(fakePullRequest(2)));

    it("no hook has the webhook's URL", async () => {
      hooks.add(REPO, { url: "https://elsewhere.test/hook" });
      const handler = reconciler();
      const first = (await handler({})) as SweepSummary;
      expect(first.created).to.deep.equal([2]);
      expect(first.redelivery).to.deep.equal({
        redelivered: 0,
        skipped: [`${REPO}: no webhook of the repository has the URL ${WEBHOOK_URL}`],
        errors: [],
      });
      expect(warnings().map((line) => [line.message, line.fields["repository"]])).to.deep.equal([
        ["failed webhook deliveries are not redelivered for this repository", REPO],
      ]);
      const second = (await handler({})) as SweepSummary;
      expect(second.redelivery?.skipped).to.have.length(1);
      // Not asked again within the hour, not logged again.
      expect(requestsTo("")).to.have.length(1);
      expect(warnings()).to.have.length(1);
    });

    it("the token cannot read the repository's hooks (403)", async () => {
      hookWith([{ statusCode: 502 }]);
      hooks.deny(REPO);
      const summary = (await reconciler()({})) as SweepSummary;
      expect(summary.created).to.deep.equal([2]);
      expect(summary.errors).to.deep.equal([]);
      expect(summary.redelivery?.redelivered).to.equal(0);
      expect(summary.redelivery?.skipped).to.have.length(1);
      expect(summary.redelivery?.skipped[0]).to.match(
        /^Codertocat\/Hello-World: the GitHub token cannot read the repository's webhooks \(GitHub answered 403 .*Resource not accessible by personal access token/,
      );
      expect(warnings()[0]?.fields["reason"]).to.equal(
        summary.redelivery?.skipped[0]?.slice(`${REPO}: `.length),
      );
      expect(hookRequests()).to.have.length(1);
    });

    it("the token can read the hooks but not redeliver (403 on the attempt)", async () => {
      hookWith([
        { statusCode: 502, deliveredAt: ago(2 * MINUTE) },
        { statusCode: 502, deliveredAt: ago(MINUTE) },
      ]);
      hooks.denyWrites(REPO);
      const summary = (await reconciler()({})) as SweepSummary;
      expect(summary.created).to.deep.equal([2]);
      expect(summary.redelivery?.redelivered).to.equal(0);
      expect(summary.redelivery?.skipped[0]).to.match(
        /the GitHub token can read the webhook's deliveries but not redeliver them/,
      );
      // The first refusal stops this repository's redeliveries for the sweep.
      expect(wire.github.requests.filter((r) => r.method === "POST")).to.have.length(1);
      expect(warnings()).to.have.length(1);
    });

    it("GitHub fails listing the deliveries: counted as a redelivery error, the sweep goes on", async () => {
      const hookId = hookWith([{ statusCode: 502 }]);
      let failing = true;
      wire.github.on("GET", /\/hooks\/\d+\/deliveries$/, () =>
        failing ? { status: 500, body: { message: "Server Error" } } : undefined,
      );
      try {
        const summary = (await reconciler()({})) as SweepSummary;
        expect(summary.created).to.deep.equal([2]);
        expect(summary.errors).to.deep.equal([]);
        expect(summary.redelivery?.redelivered).to.equal(0);
        expect(summary.redelivery?.errors).to.have.length(1);
        expect(summary.redelivery?.errors[0]).to.match(
          new RegExp(`^${REPO}: GitHub answered 500 for the deliveries of webhook ${hookId}`),
        );
      } finally {
        failing = false;
      }
    });
  });

  it("finds the hook again when the kept id is gone (the hook was recreated)", async () => {
    const oldHook = hookWith([]);
    const handler = reconciler();
    await handler({});
    hooks.remove(REPO, oldHook);
    const newHook = hookWith([{ statusCode: 502 }]);

    const failing = (await handler({})) as SweepSummary;
    expect(failing.redelivery?.errors).to.have.length(1);
    expect(failing.redelivery?.errors[0]).to.match(/GitHub answered 404/);
    const healed = (await handler({})) as SweepSummary;
    expect(healed.redelivery).to.deep.equal({ redelivered: 1, skipped: [], errors: [] });
    expect(hooks.attempts.map((a) => a.hookId)).to.deep.equal([newHook]);
    expect(requestsTo("")).to.have.length(2);
  });

  it("without WEBHOOK_URL, or without a GitHub token: no hook call at all", async () => {
    hookWith([{ statusCode: 502 }]);
    wire.github.addPullRequest(fakePullRequest(2));

    const withoutUrl = (await reconciler({ WEBHOOK_URL: undefined })({})) as SweepSummary;
    expect(withoutUrl.created).to.deep.equal([2]);
    expect(withoutUrl).not.to.have.property("redelivery");

    const withoutToken = (await reconciler({ GITHUB_TOKEN: undefined })({})) as SweepSummary;
    expect(withoutToken).not.to.have.property("redelivery");

    expect(wire.github.requests.length).to.be.greaterThan(0);
    expect(hookRequests()).to.deep.equal([]);
    expect(hooks.attempts).to.deep.equal([]);
  });

  it("with a routing table: each repository's hook once, however many services build it", async () => {
    const api: TestService = { name: "api", repository: REPO, branch: "master" };
    const web: TestService = { name: "web", repository: REPO.toLowerCase(), branch: "master" };
    const docs: TestService = { name: "docs", repository: "acme/docs", branch: "main" };
    const table = seedServices(wire.aws, [api, web, docs]);
    const shop = hookWith([{ statusCode: 502 }]);
    const docsHook = hooks.add("acme/docs", { url: WEBHOOK_URL });
    hooks.seedDelivery(docsHook, { statusCode: 0 });

    const summary = (await reconciler({
      BRANCHLINE_SERVICES: table,
      SOURCE_PIPELINE_NAME: undefined,
      ECR_REPOSITORY_NAME: undefined,
    })({})) as SweepSummary;
    expect(summary.redelivery).to.deep.equal({ redelivered: 2, skipped: [], errors: [] });
    expect(hooks.attempts.map((a) => [a.repository, a.hookId])).to.deep.equal([
      [REPO, shop],
      ["acme/docs", docsHook],
    ]);
    expect(
      wire.github.requests.filter((r) => /\/hooks$/.test(r.path)).map((r) => r.path),
    ).to.deep.equal([HOOKS_PATH, "/repos/acme/docs/hooks"]);
  });

  it("end to end: a failed `opened` redelivered by the reconciler reaches the webhook, which creates the clone", async () => {
    wire.github.addPullRequest(fakePullRequest(2));
    const payload = pullRequestPayload({ action: "opened", number: 2, headRef: "feature-2" });
    const hookId = hookWith([{ guid: "lost-opened", statusCode: 0, payload }]);
    const [lost] = hooks.deliveriesOf(hookId);
    const webhook = createHandler(
      defaultWebhookDeps(
        { SOURCE_PIPELINE_NAME: SOURCE, ECR_REPOSITORY_NAME: REPOSITORY, WEBHOOK_SECRET: SECRET },
        { logger: wire.logger },
      ),
    );
    const received: string[] = [];
    hooks.deliver = async (delivery) => {
      received.push(delivery.guid);
      const answer = await webhook(
        signedEvent(delivery.payload as Record<string, unknown>, {
          secret: SECRET,
          event: delivery.event,
          extraHeaders: { "X-GitHub-Delivery": delivery.guid },
        }),
      );
      return answer.statusCode;
    };

    const summary = (await reconciler()({})) as SweepSummary;
    expect(received).to.deep.equal(["lost-opened"]);
    expect(hooks.attempts.map((a) => a.deliveryId)).to.deep.equal([lost?.id]);
    expect(summary.redelivery).to.deep.equal({ redelivered: 1, skipped: [], errors: [] });
    // The webhook created the clone before the sweep ran: the sweep found it right.
    expect(summary.created).to.deep.equal([]);
    expect(summary.unchanged).to.deep.equal([2]);
    expect(wire.aws.pipeline(cloneName(SOURCE, 2))).to.not.equal(undefined);
    const [newest] = hooks.deliveriesOf(hookId);
    expect(newest).to.deep.include({ guid: "lost-opened", redelivery: true });
    expect(newest?.statusCode).to.be.within(200, 299);
  });

  describe("with a GitHub App: the App's own webhook, read once for every repository", () => {
    const DOCS = "acme/docs";

    /** The reconciler as the App; the App installed on both repositories. */
    function appReconciler(env: Record<string, string | undefined> = {}): ReconcileHandler {
      const app = installApp(wire.github, [REPO, DOCS]);
      const keyArn = wire.aws.seedSecret("branchline/github-app-private-key", app.privateKey);
      return reconciler({
        GITHUB_TOKEN: undefined,
        GITHUB_APP_ID: String(app.id),
        GITHUB_APP_PRIVATE_KEY_SECRET_ARN: keyArn,
        ...env,
      });
    }

    const appHookRequests = () =>
      wire.github.requests.filter((request) => request.path.startsWith("/app/hook"));

    it("redelivers each failed event of any installed repository once, with the App's JWT", async () => {
      const hookId = hooks.setAppHook(WEBHOOK_URL, SECRET);
      hooks.seedDelivery(hookId, {
        guid: "shop-lost",
        statusCode: 502,
        repository: REPO,
        deliveredAt: ago(3 * MINUTE),
      });
      hooks.seedDelivery(hookId, {
        guid: "docs-lost",
        statusCode: 0,
        repository: DOCS,
        deliveredAt: ago(2 * MINUTE),
      });
      hooks.seedDelivery(hookId, { guid: "fine", statusCode: 202, repository: REPO });
      const handler = appReconciler();

      const first = (await handler({})) as SweepSummary;
      expect(first.redelivery).to.deep.equal({ redelivered: 2, skipped: [], errors: [] });
      expect(hooks.attempts.map((a) => [a.repository, a.hookId])).to.deep.equal([
        [undefined, hookId],
        [undefined, hookId],
      ]);
      // Oldest first, whichever repository they were for.
      const original = (id: number) => hooks.deliveriesOf(hookId).find((d) => d.id === id);
      expect(hooks.attempts.map((a) => original(a.deliveryId)?.guid)).to.deep.equal([
        "shop-lost",
        "docs-lost",
      ]);
      expect(hooks.attempts.map((a) => original(a.newDeliveryId)?.repository)).to.deep.equal([
        REPO,
        DOCS,
      ]);
      // One read of the App's webhook and one list of its deliveries, not one per repository;
      // no repository webhook is asked for.
      expect(appHookRequests().map((r) => `${r.method} ${r.path}`)).to.deep.equal([
        "GET /app/hook/config",
        "GET /app/hook/deliveries",
        ...hooks.attempts.map((a) => `POST /app/hook/deliveries/${a.deliveryId}/attempts`),
      ]);
      expect(appHookRequests().every((r) => r.authorization?.startsWith("bearer "))).to.equal(true);
      expect(hookRequests()).to.deep.equal([]);

      // The next sweep: the webhook's config is kept, nothing is redelivered again.
      const second = (await handler({})) as SweepSummary;
      expect(second.redelivery).to.deep.equal({ redelivered: 0, skipped: [], errors: [] });
      expect(hooks.attempts).to.have.length(2);
      expect(appHookRequests().filter((r) => r.path === "/app/hook/config")).to.have.length(1);
    });

    it("an App whose webhook URL is another's: skipped with the reason, logged once", async () => {
      hooks.setAppHook("https://elsewhere.test/hook");
      const handler = appReconciler();
      const first = (await handler({})) as SweepSummary;
      expect(first.redelivery).to.deep.equal({
        redelivered: 0,
        skipped: [
          `${APP_WEBHOOK}: the GitHub App's webhook URL is not ${WEBHOOK_URL}: set it in the App's settings`,
        ],
        errors: [],
      });
      await handler({});
      expect(warnings()).to.have.length(1);
      expect(appHookRequests()).to.have.length(1);
    });

    it("end to end: the App's failed `opened` reaches the webhook again, which creates the clone", async () => {
      wire.github.addPullRequest(fakePullRequest(2));
      const payload = pullRequestPayload({ action: "opened", number: 2, headRef: "feature-2" });
      const hookId = hooks.setAppHook(WEBHOOK_URL, SECRET);
      hooks.seedDelivery(hookId, { guid: "lost-opened", statusCode: 0, payload, repository: REPO });
      const webhook = createHandler(
        defaultWebhookDeps(
          { SOURCE_PIPELINE_NAME: SOURCE, ECR_REPOSITORY_NAME: REPOSITORY, WEBHOOK_SECRET: SECRET },
          { logger: wire.logger },
        ),
      );
      hooks.deliver = async (delivery) =>
        (
          await webhook(
            signedEvent(delivery.payload as Record<string, unknown>, {
              secret: SECRET,
              event: delivery.event,
              extraHeaders: { "X-GitHub-Delivery": delivery.guid },
            }),
          )
        ).statusCode;

      const summary = (await appReconciler()({})) as SweepSummary;
      expect(summary.redelivery).to.deep.equal({ redelivered: 1, skipped: [], errors: [] });
      expect(summary.unchanged).to.deep.equal([2]);
      expect(wire.aws.pipeline(cloneName(SOURCE, 2))).to.not.equal(undefined);
    });
  });
});
