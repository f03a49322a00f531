/**
 * `branchline:githubApp` under Pulumi mocks: the config (typed, validated, in both stack forms), the
 * secret of the App's private key, the App's variables for the functions that use GitHub (the worker
 * in queue mode, the webhook in inline mode, the reconciler and notify), exact grants of that one
 * secret, and no repository webhook (the App's own webhook serves every installed repository).
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { readSettings } from "../../functions/app/settings.js";
import { readNotifySettings } from "../../functions/notify/settings.js";
import { ENV } from "../../functions/shared/names.js";
import { loadConfig, parseConfig, type ConfigReader } from "../../infra/config.js";
import { createBranchline } from "../../infra/program.js";
import { testApp } from "../helpers/github-app.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  type RecordedResource,
} from "../helpers/pulumi-mocks.js";

const at = `eu-west-1:${MOCK_ACCOUNT}`;
const keyArn = `arn:aws:secretsmanager:${at}:secret:webhook-github-app-private-key-0000000-AbCdEf`;
const webhookSecretArn = `arn:aws:secretsmanager:${at}:secret:webhook-webhook-secret-0000000-AbCdEf`;
const PEM = testApp().privateKey;
const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const app = { appId: 424242, privateKey: PEM, installationId: 7 };

function reader(values: Record<string, string | object>): ConfigReader {
  const text = (key: string) => {
    const value = values[key];
    return value === undefined
      ? undefined
      : typeof value === "string"
        ? value
        : JSON.stringify(value);
  };
  return {
    get: text,
    getSecret: (key) => {
      const value = text(key);
      return value === undefined ? undefined : pulumi.secret(value);
    },
    defaultPipelineName: "branchline-dev",
  };
}

function errorOf(values: Record<string, string | object>): string {
  try {
    parseConfig(reader(values));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

function variablesOf(name: string): Record<string, string> {
  return (resourceNamed(name).inputs["environment"] as { variables: Record<string, string> })
    .variables;
}

function secretsOf(role: string): unknown {
  const policy = JSON.parse(resourceNamed(role).inputs["policy"] as string) as {
    Statement: { Sid: string }[];
  };
  return policy.Statement.find((s) => s.Sid === "ReadSecrets");
}

const readKey = (resources: string[]) => ({
  Sid: "ReadSecrets",
  Effect: "Allow",
  Action: "secretsmanager:GetSecretValue",
  Resource: resources,
});

const appVariables = {
  [ENV.githubAppId]: "424242",
  [ENV.githubAppPrivateKeySecretArn]: keyArn,
  [ENV.githubAppInstallationId]: "7",
};

async function synth(config: Record<string, string | object>): Promise<RecordedResource[]> {
  const { resources } = await runWithConfig(
    config,
    () => createBranchline(loadConfig(), stubArchives()),
    ["webhookSecret", "githubApp", "githubRegistrationToken"],
  );
  return resources;
}

describe("infra: branchline:githubApp", () => {
  describe("config", () => {
    it("reads appId, the private key as a secret, and installationId, in both stack forms", async () => {
      for (const form of [
        minimal,
        { services: [{ name: "shop", repository: "octo/shop" }], webhookSecret: "s3cret" },
      ]) {
        const config = parseConfig(reader({ ...form, githubApp: app }));
        expect(config.githubApp?.appId).to.equal(424242);
        expect(config.githubApp?.installationId).to.equal(7);
        expect(await unwrap(config.githubApp?.privateKey ?? pulumi.output(""))).to.equal(PEM);
        const key = config.githubApp?.privateKey;
        expect(key !== undefined && (await pulumi.isSecret(key))).to.equal(true);
        expect(config.githubToken).to.equal(undefined);
        expect(config.registerWebhook).to.equal(false);
      }
      const digits = parseConfig(reader({ ...minimal, githubApp: { ...app, appId: "42" } }));
      expect(digits.githubApp).to.deep.include({ appId: 42, installationId: 7 });
      const noInstallation = { appId: 1, privateKey: PEM };
      expect(
        parseConfig(reader({ ...minimal, githubApp: noInstallation })).githubApp?.installationId,
      ).to.equal(undefined);
      expect(parseConfig(reader(minimal)).githubApp).to.equal(undefined);
    });

    it("refuses a token and an App together, naming both", () => {
      expect(errorOf({ ...minimal, githubApp: app, githubToken: "ghp_x" })).to.equal(
        "branchline:githubApp and branchline:githubToken are both set: the functions authenticate with one of them (remove githubToken to use the App)",
      );
    });

    it("registers no repository webhook with an App: registerWebhook true is refused, the default is false", () => {
      expect(
        errorOf({
          ...minimal,
          githubApp: app,
          githubRegistrationToken: "ghp_admin",
          registerWebhook: "true",
        }),
      ).to.match(
        /^branchline:registerWebhook cannot be true with branchline:githubApp: the App's webhook/,
      );
      const config = parseConfig(
        reader({ ...minimal, githubApp: app, githubRegistrationToken: "ghp_admin" }),
      );
      expect(config.registerWebhook).to.equal(false);
    });

    it("names the field that is wrong, and never shows the key", () => {
      expect(errorOf({ ...minimal, githubApp: "[]" })).to.equal(
        "branchline:githubApp must be an object: { appId, privateKey, installationId? }",
      );
      expect(errorOf({ ...minimal, githubApp: { ...app, appId: "my-app" } })).to.equal(
        'branchline:githubApp.appId must be a positive integer, got "my-app"',
      );
      expect(errorOf({ ...minimal, githubApp: { ...app, installationId: 0 } })).to.equal(
        "branchline:githubApp.installationId must be a positive integer when set, got 0",
      );
      expect(errorOf({ ...minimal, githubApp: { ...app, secret: "x" } })).to.equal(
        "branchline:githubApp has unknown field(s) secret (known: appId, privateKey, installationId)",
      );
      const truncated = PEM.slice(0, 200);
      const message = errorOf({ ...minimal, githubApp: { ...app, privateKey: truncated } });
      expect(message).to.match(
        /^branchline:githubApp.privateKey must be the App's private key in PEM form/,
      );
      expect(message).not.to.include(truncated.split("\n")[1]);
    });
  });

  describe("a queue-mode stack with an App", () => {
    let resources: RecordedResource[];
    before(async () => {
      resources = await synth({ ...minimal, githubApp: app, githubRegistrationToken: "ghp_admin" });
    });

    it("stores the private key in a secret of its own, and no token secret", () => {
      expect(resourceNamed("webhook-github-app-private-key").inputs).to.deep.include({
        description: "branchline: the GitHub App's private key",
      });
      const value = resourceNamed("webhook-github-app-private-key-value").inputs["secretString"];
      expect(value).to.deep.equal({
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        value: PEM,
      });
      expect(resources.filter((r) => r.name.startsWith("webhook-github-token"))).to.deep.equal([]);
    });

    it("gives the worker, reconciler and notify functions the App's variables, never the key", () => {
      for (const name of ["worker-function", "reconciler-function", "notifications-function"]) {
        const variables = variablesOf(name);
        expect(variables, name).to.deep.include(appVariables);
        expect(variables, name).not.to.have.property(ENV.githubTokenSecretArn);
        expect(JSON.stringify(resourceNamed(name).inputs)).not.to.include("PRIVATE KEY");
      }
      const expected = {
        appId: "424242",
        privateKey: { value: undefined, arn: keyArn },
        installationId: 7,
      };
      expect(readSettings(variablesOf("worker-function")).githubApp).to.deep.equal(expected);
      expect(readSettings(variablesOf("reconciler-function")).githubApp).to.deep.equal(expected);
      expect(readNotifySettings(variablesOf("notifications-function")).githubApp).to.deep.equal(
        expected,
      );
      // The webhook only queues deliveries: no GitHub credential at all.
      const webhook = variablesOf("webhook-function");
      for (const variable of Object.keys(appVariables)) {
        expect(webhook).not.to.have.property(variable);
      }
    });

    it("lets exactly those roles read the key's secret, and the webhook only its own secret", () => {
      for (const role of [
        "worker-role-policy",
        "reconciler-role-policy",
        "notifications-role-policy",
      ]) {
        expect(secretsOf(role), role).to.deep.equal(readKey([keyArn]));
      }
      expect(secretsOf("webhook-role-policy")).to.deep.equal(readKey([webhookSecretArn]));
    });

    it("registers no repository webhook, even with a registration token", () => {
      expect(resourcesOfType("branchline:github:GitHubWebhook")).to.deep.equal([]);
    });
  });

  describe("an inline stack with an App", () => {
    before(async () => {
      await synth({
        ...minimal,
        githubApp: { appId: 424242, privateKey: PEM },
        delivery: { mode: "inline" },
      });
    });

    it("gives the webhook the App's variables and both its secrets", () => {
      const variables = variablesOf("webhook-function");
      expect(variables).to.deep.include({
        [ENV.githubAppId]: "424242",
        [ENV.githubAppPrivateKeySecretArn]: keyArn,
      });
      expect(variables).not.to.have.property(ENV.githubAppInstallationId);
      expect(readSettings(variables).githubApp).to.deep.equal({
        appId: "424242",
        privateKey: { value: undefined, arn: keyArn },
        installationId: undefined,
      });
      expect(secretsOf("webhook-role-policy")).to.deep.equal(readKey([webhookSecretArn, keyArn]));
    });
  });

  describe("a many-service stack with an App", () => {
    before(async () => {
      await synth({
        services: [
          { name: "shop", repository: "octo/mono" },
          { name: "cart", repository: "octo/mono", images: [{ name: "api", context: "cart" }] },
        ],
        webhookSecret: "s3cret",
        prefix: "acme",
        githubApp: app,
      });
    });

    it("gives the shared functions the App's variables and its secret only", () => {
      const acmeKey = keyArn.replace("secret:webhook-", "secret:acme-webhook-");
      for (const name of ["worker-function", "reconciler-function", "notifications-function"]) {
        expect(variablesOf(`acme-${name}`), name).to.deep.include({
          ...appVariables,
          [ENV.githubAppPrivateKeySecretArn]: acmeKey,
        });
      }
      for (const role of [
        "worker-role-policy",
        "reconciler-role-policy",
        "notifications-role-policy",
      ]) {
        expect(secretsOf(`acme-${role}`), role).to.deep.equal(readKey([acmeKey]));
      }
    });
  });
});
