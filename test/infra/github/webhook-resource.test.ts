import Module from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import type { WebhookOutputs } from "../../../infra/github/webhook-resource.js";
import { loadConfig } from "../../../infra/config.js";
import type { WebhookState } from "../../../infra/github/webhook-registration.js";
import { createBranchline, type BranchlineOutputs } from "../../../infra/program.js";
import { GitHubApiDouble } from "../../helpers/github-api.js";
import { GitHubHooks } from "../../helpers/github-hooks.js";
import { runWithConfig, stubArchives, type RecordedResource } from "../../helpers/pulumi-mocks.js";

const ROOT = path.join(__dirname, "..", "..", "..");
const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const WEBHOOK_URL = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/webhook";
const HOOK_TYPE = "pulumi-nodejs:dynamic/github:RepositoryWebhook";
const COMPONENT_TYPE = "branchline:github:GitHubWebhook";

async function synth(
  config: Record<string, string | object>,
): Promise<{ outputs: BranchlineOutputs; resources: RecordedResource[] }> {
  const { result, resources } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    ["webhookSecret", "githubToken", "githubRegistrationToken"],
  );
  return { outputs: result, resources };
}

/** How the engine receives a value marked secret (the mocks see the wire form). */
function secretValue(value: string): Record<string, string> {
  return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

/** Loads a serialized dynamic provider the way Pulumi's provider process does: as a module. */
function loadSerializedProvider(
  text: string,
): pulumi.dynamic.ResourceProvider<WebhookState, WebhookOutputs> {
  const filename = path.join(ROOT, "__serialized_provider__.js");
  const loaded = new Module(filename) as Module & {
    _compile(code: string, file: string): void;
    paths: string[];
  };
  loaded.filename = filename;
  loaded.paths = (
    Module as unknown as { _nodeModulePaths(dir: string): string[] }
  )._nodeModulePaths(ROOT);
  loaded._compile(text, filename);
  const exported = loaded.exports as {
    handler: () => pulumi.dynamic.ResourceProvider<WebhookState, WebhookOutputs>;
  };
  return exported.handler();
}

describe("infra/github/webhook-resource (the program under Pulumi mocks)", () => {
  describe("with a registration token (and a runtime token)", () => {
    let outputs: BranchlineOutputs;
    let resources: RecordedResource[];
    before(async () => {
      ({ outputs, resources } = await synth({
        ...minimal,
        githubToken: "ghp_runtime",
        githubRegistrationToken: "ghp_token",
      }));
    });

    const hook = () => {
      const found = resources.filter((r) => r.type === HOOK_TYPE);
      expect(found).to.have.length(1);
      return found[0] as RecordedResource;
    };

    it("registers the webhook under its own component", () => {
      expect(
        resources
          .filter((r) => r.type === HOOK_TYPE || r.type === COMPONENT_TYPE)
          .map((r) => `${r.type} ${r.name}`),
      ).to.deep.equal([`${COMPONENT_TYPE} github-webhook`, `${HOOK_TYPE} github-webhook-hook`]);
    });

    it("points the webhook at the receiver's URL for pull_request and issue_comment events, secrets kept secret", () => {
      const { __provider, ...inputs } = hook().inputs;
      expect(inputs).to.deep.equal({
        repository: "octo/shop",
        url: WEBHOOK_URL,
        secret: secretValue("s3cret"),
        token: secretValue("ghp_token"),
        events: ["pull_request", "issue_comment"],
      });
      expect(__provider).to.be.a("string");
    });

    it("registers with the registration token only, which no other resource receives", () => {
      expect(hook().inputs["token"]).to.deep.equal(secretValue("ghp_token"));
      const others = resources.filter((r) => r.type !== HOOK_TYPE);
      for (const resource of others) {
        expect(JSON.stringify(resource.inputs), resource.name).to.not.include("ghp_token");
      }
      // The runtime token is the one stored in Secrets Manager for the Lambdas.
      const stored = resources
        .filter((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion")
        .map((r) => [r.name, r.inputs["secretString"]]);
      expect(stored).to.deep.equal([
        ["webhook-webhook-secret-value", secretValue("s3cret")],
        ["webhook-github-token-value", secretValue("ghp_runtime")],
      ]);
      expect(JSON.stringify(hook().inputs)).to.not.include("ghp_runtime");
    });

    it("serializes a provider that holds neither secret", () => {
      const text = hook().inputs["__provider"] as string;
      expect(text).to.not.include("s3cret").and.not.include("ghp_token");
      expect(text).to.include('require("@octokit/rest")');
    });

    it("exports the webhook id", () => {
      expect(pulumi.Output.isInstance(outputs.webhookId)).to.equal(true);
    });

    describe("the serialized provider, loaded as Pulumi's provider process loads it", () => {
      const api = new GitHubApiDouble();
      const hooks = new GitHubHooks(api);
      before(async () => {
        await api.start();
      });
      after(async () => {
        await api.close();
      });

      it("creates and deletes the webhook through Octokit", async () => {
        const provider = loadSerializedProvider(hook().inputs["__provider"] as string);
        const inputs: WebhookState = {
          repository: "octo/shop",
          url: WEBHOOK_URL,
          secret: "s3cret",
          token: "ghp_token",
          events: ["pull_request"],
          apiUrl: api.url,
        };
        const created = await provider.create(inputs);
        expect(created.id).to.equal(String(hooks.lastId()));
        expect(hooks.get("octo/shop", hooks.lastId())).to.deep.include({
          url: WEBHOOK_URL,
          secret: "s3cret",
          events: ["pull_request"],
          contentType: "json",
        });
        await provider.delete?.(created.id, created.outs as WebhookOutputs);
        expect(hooks.get("octo/shop", hooks.lastId())).to.equal(undefined);
        expect(api.requests.map((r) => `${r.method} ${r.path} ${r.authorization}`)).to.deep.equal([
          "POST /repos/octo/shop/hooks token ghp_token",
          `DELETE /repos/octo/shop/hooks/${created.id} token ghp_token`,
        ]);
      });

      it("reports GitHub's refusal with the repository and the permission it needs", async () => {
        const provider = loadSerializedProvider(hook().inputs["__provider"] as string);
        hooks.deny("octo/locked");
        let failure: unknown;
        try {
          await provider.create({
            repository: "octo/locked",
            url: WEBHOOK_URL,
            secret: "s3cret",
            token: "ghp_token",
            events: ["pull_request"],
            apiUrl: api.url,
          });
        } catch (error) {
          failure = error;
        }
        expect(failure).to.be.instanceOf(Error);
        expect((failure as Error).message).to.match(
          /^GitHub refused to create the webhook of octo\/locked \(HTTP 403: .*\): the token needs admin rights on the repository: a classic token with the admin:repo_hook scope/,
        );
      });
    });
  });

  it("registers no webhook without a GitHub token (the manual step remains)", async () => {
    const { outputs, resources } = await synth(minimal);
    expect(resources.map((r) => r.type)).to.not.include.members([HOOK_TYPE, COMPONENT_TYPE]);
    expect(outputs.webhookId).to.equal(undefined);
  });

  it("registers no webhook with the runtime token alone (it is not given hook rights)", async () => {
    const { outputs, resources } = await synth({ ...minimal, githubToken: "ghp_runtime" });
    expect(resources.map((r) => r.type)).to.not.include.members([HOOK_TYPE, COMPONENT_TYPE]);
    expect(outputs.webhookId).to.equal(undefined);
  });

  it("registers no webhook when registerWebhook is false, even with a registration token", async () => {
    const { outputs, resources } = await synth({
      ...minimal,
      githubRegistrationToken: "ghp_token",
      registerWebhook: "false",
    });
    expect(resources.map((r) => r.type)).to.not.include.members([HOOK_TYPE, COMPONENT_TYPE]);
    expect(outputs.webhookId).to.equal(undefined);
  });

  it("fails at once when registerWebhook is true without a registration token", async () => {
    let failure: unknown;
    try {
      await synth({ ...minimal, githubToken: "ghp_runtime", registerWebhook: "true" });
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal(
      "branchline:registerWebhook needs branchline:githubRegistrationToken (a token with admin rights on the repository's webhooks: the admin:repo_hook scope, or the Webhooks read and write permission) to create the webhook",
    );
  });

  it("rejects a registerWebhook that is not true or false", async () => {
    let failure: unknown;
    try {
      await synth({ ...minimal, githubRegistrationToken: "ghp_token", registerWebhook: "yes" });
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal(
      'branchline:registerWebhook must be true or false, got "yes"',
    );
  });
});
