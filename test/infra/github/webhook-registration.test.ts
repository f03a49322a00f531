import { expect } from "chai";
import {
  connectGitHub,
  createWebhook,
  deleteWebhook,
  diffWebhook,
  readWebhook,
  updateWebhook,
  isRegistrationError,
  type WebhookRegistrationError,
  type WebhookState,
} from "../../../infra/github/webhook-registration.js";
import { webhookProvider } from "../../../infra/github/webhook-resource.js";
import { GitHubApiDouble } from "../../helpers/github-api.js";
import { GitHubHooks } from "../../helpers/github-hooks.js";

const TOKEN = "ghp_admin_token";
const SECRET = "s3cret-value";
const URL_1 = "https://abc.execute-api.eu-west-1.amazonaws.com/webhook";
const URL_2 = "https://def.execute-api.eu-west-1.amazonaws.com/webhook";

const hookBody = (url: string, secret: string) => ({
  name: "web",
  active: true,
  events: ["pull_request"],
  config: { url, content_type: "json", secret, insecure_ssl: "0" },
});

const updateBody = (url: string, secret: string) => ({
  active: true,
  events: ["pull_request"],
  config: { url, content_type: "json", secret, insecure_ssl: "0" },
});

async function failureOf(promise: Promise<unknown>): Promise<WebhookRegistrationError> {
  try {
    await promise;
  } catch (error) {
    expect(isRegistrationError(error), String(error)).to.equal(true);
    return error as WebhookRegistrationError;
  }
  throw new Error("the call succeeded");
}

describe("infra/github/webhook-registration (against the GitHub API double)", () => {
  const api = new GitHubApiDouble();
  const hooks = new GitHubHooks(api);
  const settings = {
    repository: "octo/shop",
    url: URL_1,
    secret: SECRET,
    events: ["pull_request"],
  };
  const client = () => connectGitHub(TOKEN, api.url);

  before(async () => {
    await api.start();
  });
  after(async () => {
    await api.close();
  });
  beforeEach(() => {
    api.reset();
    hooks.reset();
  });

  describe("create", () => {
    it("POSTs a JSON pull_request webhook with the secret and returns its id", async () => {
      const id = await createWebhook(client(), settings);
      expect(id).to.equal(hooks.lastId());
      expect(api.requests).to.deep.equal([
        {
          method: "POST",
          path: "/repos/octo/shop/hooks",
          query: "",
          authorization: `token ${TOKEN}`,
          body: hookBody(URL_1, SECRET),
        },
      ]);
      expect(hooks.get("octo/shop", id)).to.deep.include({ url: URL_1, secret: SECRET });
    });

    it("adopts a webhook that already posts to the same URL, rewriting its config", async () => {
      const existing = hooks.add("octo/shop", { url: URL_1, secret: "old", events: ["push"] });
      const id = await createWebhook(client(), settings);
      expect(id).to.equal(existing);
      expect(api.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal([
        "POST /repos/octo/shop/hooks",
        "GET /repos/octo/shop/hooks",
        `PATCH /repos/octo/shop/hooks/${existing}`,
      ]);
      expect(api.requests[2]?.body).to.deep.equal(updateBody(URL_1, SECRET));
      expect(hooks.get("octo/shop", existing)).to.deep.include({
        secret: SECRET,
        events: ["pull_request"],
      });
    });

    it("names the repository and the permission when the token has no admin rights (403)", async () => {
      hooks.deny("octo/shop");
      const error = await failureOf(createWebhook(client(), settings));
      expect(error.status).to.equal(403);
      expect(error.message).to.equal(
        "GitHub refused to create the webhook of octo/shop (HTTP 403: Resource not accessible by personal access token): " +
          'the token needs admin rights on the repository: a classic token with the admin:repo_hook scope, or a fine-grained token with "Webhooks: Read and write"',
      );
      expect(error.message).to.not.include(SECRET).and.not.include(TOKEN);
    });

    it("says the token is invalid on a 401", async () => {
      api.on("POST", /^\/repos\/octo\/expired\/hooks$/, () => ({
        status: 401,
        body: { message: "Bad credentials" },
      }));
      const error = await failureOf(
        createWebhook(client(), { ...settings, repository: "octo/expired" }),
      );
      expect(error.message).to.equal(
        "GitHub rejected the token while trying to create the webhook of octo/expired (HTTP 401: Bad credentials): " +
          "set a valid one with `pulumi config set --secret branchline:githubToken <token>`",
      );
    });

    it("rejects a repository that is not owner/name without calling GitHub", async () => {
      const error = await failureOf(createWebhook(client(), { ...settings, repository: "shop" }));
      expect(error.message).to.equal('the repository must be owner/name, got "shop"');
      expect(api.requests).to.deep.equal([]);
    });
  });

  describe("update", () => {
    it("PATCHes the whole config (GitHub drops a secret left out of an update)", async () => {
      const id = hooks.add("octo/shop", { url: URL_1, secret: SECRET, events: ["pull_request"] });
      await updateWebhook(client(), id, { ...settings, url: URL_2, secret: "new-secret" });
      expect(api.requests).to.deep.equal([
        {
          method: "PATCH",
          path: `/repos/octo/shop/hooks/${id}`,
          query: "",
          authorization: `token ${TOKEN}`,
          body: updateBody(URL_2, "new-secret"),
        },
      ]);
      expect(hooks.get("octo/shop", id)).to.deep.include({ url: URL_2, secret: "new-secret" });
    });

    it("tells how to recover when the webhook was deleted outside Pulumi", async () => {
      const error = await failureOf(updateWebhook(client(), 999, settings));
      expect(error.status).to.equal(404);
      expect(error.message).to.equal(
        "the webhook 999 of octo/shop no longer exists (deleted outside Pulumi, or the token cannot see it): " +
          "run `pulumi refresh` to forget it and `pulumi up` to create it again",
      );
    });
  });

  describe("delete", () => {
    it("DELETEs the webhook", async () => {
      const id = hooks.add("octo/shop", { url: URL_1, secret: SECRET, events: ["pull_request"] });
      await deleteWebhook(client(), "octo/shop", id);
      expect(api.requests).to.deep.equal([
        {
          method: "DELETE",
          path: `/repos/octo/shop/hooks/${id}`,
          query: "",
          authorization: `token ${TOKEN}`,
          body: undefined,
        },
      ]);
      expect(hooks.get("octo/shop", id)).to.equal(undefined);
    });

    it("succeeds when the webhook is already gone (404)", async () => {
      await deleteWebhook(client(), "octo/shop", 12345);
      expect(api.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal([
        "DELETE /repos/octo/shop/hooks/12345",
      ]);
    });

    it("fails with the permission it needs on a 403", async () => {
      const id = hooks.add("octo/shop", { url: URL_1, secret: SECRET, events: ["pull_request"] });
      hooks.deny("octo/shop");
      const error = await failureOf(deleteWebhook(client(), "octo/shop", id));
      expect(error.message).to.match(
        new RegExp(
          `^GitHub refused to delete the webhook ${id} of octo/shop \\(HTTP 403: .*admin:repo_hook`,
        ),
      );
    });
  });

  describe("read", () => {
    it("returns the webhook as GitHub has it, and undefined when it is gone", async () => {
      const id = hooks.add("octo/shop", { url: URL_1, secret: SECRET, events: ["pull_request"] });
      expect(await readWebhook(client(), "octo/shop", id)).to.deep.equal({
        id,
        url: URL_1,
        events: ["pull_request"],
        active: true,
        contentType: "json",
      });
      expect(await readWebhook(client(), "octo/shop", id + 1)).to.equal(undefined);
    });
  });

  describe("diff", () => {
    const base: WebhookState = { ...settings, token: TOKEN, apiUrl: undefined };
    const cases: [string, Partial<WebhookState>, { changes: boolean; replaces: string[] }][] = [
      ["nothing", {}, { changes: false, replaces: [] }],
      ["the URL", { url: URL_2 }, { changes: true, replaces: [] }],
      ["the secret", { secret: "other" }, { changes: true, replaces: [] }],
      ["the token", { token: "ghp_other" }, { changes: true, replaces: [] }],
      ["the events", { events: ["pull_request", "push"] }, { changes: true, replaces: [] }],
      ["the repository", { repository: "octo/other" }, { changes: true, replaces: ["repository"] }],
      [
        "the API server",
        { apiUrl: "https://ghe.example.com/api/v3" },
        { changes: true, replaces: ["apiUrl"] },
      ],
    ];
    it("ignores the order of the events", () => {
      expect(
        diffWebhook(
          { ...base, events: ["pull_request", "push"] },
          { ...base, events: ["push", "pull_request"] },
        ),
      ).to.deep.equal({ changes: false, replaces: [] });
    });
    for (const [what, change, expected] of cases) {
      it(`${what} changed -> ${JSON.stringify(expected)}`, () => {
        expect(diffWebhook(base, { ...base, ...change })).to.deep.equal(expected);
      });
    }
  });

  describe("the dynamic provider", () => {
    const inputs = (): WebhookState => ({ ...settings, token: TOKEN, apiUrl: api.url });

    it("creates, updates and deletes the webhook; its state keeps the inputs and the id", async () => {
      const created = await webhookProvider.create(inputs());
      const hookId = hooks.lastId();
      expect(created).to.deep.equal({
        id: String(hookId),
        outs: { ...inputs(), hookId },
      });

      const olds = created.outs as NonNullable<typeof created.outs>;
      const news = { ...inputs(), url: URL_2 };
      expect(await webhookProvider.diff?.(created.id, olds, news)).to.deep.equal({
        changes: true,
        replaces: [],
      });
      expect(await webhookProvider.update?.(created.id, olds, news)).to.deep.equal({
        outs: { ...news, hookId },
      });
      expect(hooks.get("octo/shop", hookId)).to.deep.include({ url: URL_2 });

      await webhookProvider.delete?.(created.id, { ...news, hookId });
      expect(hooks.get("octo/shop", hookId)).to.equal(undefined);
      expect(api.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal([
        "POST /repos/octo/shop/hooks",
        `PATCH /repos/octo/shop/hooks/${hookId}`,
        `DELETE /repos/octo/shop/hooks/${hookId}`,
      ]);
    });

    it("calls GitHub with the new token, and not at all when only the token changed", async () => {
      const created = await webhookProvider.create(inputs());
      const olds = created.outs as NonNullable<typeof created.outs>;
      const news = { ...inputs(), token: "ghp_rotated" };
      expect(await webhookProvider.diff?.(created.id, olds, news)).to.deep.equal({
        changes: true,
        replaces: [],
      });
      api.requests.length = 0;
      const updated = await webhookProvider.update?.(created.id, olds, news);
      expect(updated?.outs?.token).to.equal("ghp_rotated");
      expect(api.requests).to.deep.equal([]);

      await webhookProvider.delete?.(created.id, updated?.outs as NonNullable<typeof olds>);
      expect(api.requests.map((r) => r.authorization)).to.deep.equal(["token ghp_rotated"]);
    });

    it("asks for replacement when the repository changes", async () => {
      const created = await webhookProvider.create(inputs());
      const olds = created.outs as NonNullable<typeof created.outs>;
      expect(
        await webhookProvider.diff?.(created.id, olds, { ...inputs(), repository: "octo/next" }),
      ).to.deep.equal({ changes: true, replaces: ["repository"] });
    });

    it("reads drift back, and a blank id once the webhook is gone", async () => {
      const created = await webhookProvider.create(inputs());
      const olds = created.outs as NonNullable<typeof created.outs>;
      const hookId = olds.hookId;
      hooks.edit("octo/shop", hookId, { url: URL_2, events: ["push"] });
      expect(await webhookProvider.read?.(created.id, olds)).to.deep.equal({
        id: created.id,
        props: { ...olds, url: URL_2, events: ["push"] },
      });
      hooks.remove("octo/shop", hookId);
      expect(await webhookProvider.read?.(created.id, olds)).to.deep.equal({});
    });

    it("surfaces a permission error naming the repository, with no secret in it", async () => {
      hooks.deny("octo/shop");
      let failure: unknown;
      try {
        await webhookProvider.create(inputs());
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(Error);
      const message = (failure as Error).message;
      expect(message).to.include("octo/shop").and.include("admin:repo_hook");
      expect(message).to.not.include(SECRET).and.not.include(TOKEN);
    });
  });
});
