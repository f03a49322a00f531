/**
 * The label and path rules in the stack's configuration (`branchline:labels`, `branchline:paths`,
 * and a service's own), their errors, and how they reach the functions: the routing table's entries
 * (many services) or `PULL_REQUEST_LABELS` / `PULL_REQUEST_PATHS` (one service), under Pulumi mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { parseServicesTable } from "../../functions/core/services.js";
import { readSettings } from "../../functions/app/settings.js";
import { ENV } from "../../functions/shared/names.js";
import { Branchline, SERVICES_FILE } from "../../infra/branchline.js";
import { loadConfig, parseConfig, type ConfigReader } from "../../infra/config.js";
import {
  archiveFileText,
  resourceNamed,
  runWithConfig,
  stubArchives,
} from "../helpers/pulumi-mocks.js";

function reader(values: Record<string, string | object>): ConfigReader {
  const text = (key: string): string | undefined => {
    const value = values[key];
    if (value === undefined) return undefined;
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  return {
    get: text,
    getSecret: (key) => {
      const value = text(key);
      return value === undefined ? undefined : pulumi.output(value);
    },
    defaultPipelineName: "acme-dev",
  };
}

function errorOf(values: Record<string, string | object>): string {
  try {
    parseConfig(reader(values));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("parseConfig accepted the configuration");
}

const one = { repository: "octo/shop", webhookSecret: "s3cret", githubToken: "ghp_x" };
const mono = (services: object[], more: object = {}) => ({
  services,
  webhookSecret: "s3cret",
  githubToken: "ghp_x",
  ...more,
});

describe("infra: label and path rules", () => {
  describe("config", () => {
    it("none by default", () => {
      const config = parseConfig(reader(one));
      expect(config.services[0]).to.include({ labels: undefined, paths: undefined });
    });

    it("the one-service form: the stack-wide keys are its rules", () => {
      const config = parseConfig(
        reader({
          ...one,
          labels: { require: ["preview"], skip: ["branchline:skip"] },
          paths: { include: ["services/shop/**"], exclude: ["**/*.md"] },
        }),
      );
      expect(config.services[0]?.labels).to.deep.equal({
        require: ["preview"],
        skip: ["branchline:skip"],
      });
      expect(config.services[0]?.paths).to.deep.equal({
        include: ["services/shop/**"],
        exclude: ["**/*.md"],
      });
    });

    it("many services: the stack-wide keys are the default, a service's own replace them", () => {
      const config = parseConfig(
        reader(
          mono(
            [
              { name: "shop", repository: "octo/mono", paths: { include: ["shop/**"] } },
              { name: "cart", repository: "octo/mono", labels: { require: ["cart"] } },
            ],
            { labels: { skip: ["branchline:skip"] }, paths: { exclude: ["docs/**"] } },
          ),
        ),
      );
      expect(config.services.map((s) => [s.name, s.labels, s.paths])).to.deep.equal([
        ["shop", { skip: ["branchline:skip"] }, { include: ["shop/**"] }],
        ["cart", { require: ["cart"] }, { exclude: ["docs/**"] }],
      ]);
    });

    for (const [values, message] of [
      [
        { ...one, labels: ["skip"] },
        "branchline:labels must be an object { require?: string[], skip?: string[] }",
      ],
      [
        { ...one, labels: { pause: ["x"] } },
        'branchline:labels has an unknown field "pause" (known: require, skip)',
      ],
      [
        { ...one, paths: { include: "src/**" } },
        "branchline:paths.include must be a list of non-empty strings",
      ],
      [
        { ...one, paths: { exclude: ["!src/**"] } },
        'branchline:paths.exclude glob "!src/**" starts with !: use exclude instead of negation',
      ],
      [
        mono([{ name: "shop", repository: "octo/mono", labels: { skip: [""] } }]),
        "branchline:services[0].labels.skip must be a list of non-empty strings",
      ],
      [
        mono([{ name: "shop", repository: "octo/mono", paths: { include: ["{a,b}/**"] } }]),
        'branchline:services[0].paths.include glob "{a,b}/**" uses [ ] or { }, which are not supported (only *, ** and ?)',
      ],
      [{ ...one, labels: "{" }, "branchline:labels is not valid JSON: {"],
    ] as const) {
      it(`refuses: ${message}`, () => {
        expect(errorOf(values)).to.equal(message);
      });
    }

    it("refuses path rules without a GitHub token, naming the service", () => {
      expect(
        errorOf(
          mono(
            [
              { name: "shop", repository: "octo/mono" },
              { name: "cart", repository: "octo/mono", paths: { include: ["cart/**"] } },
            ],
            { githubToken: undefined },
          ),
        ),
      ).to.equal(
        "branchline:paths (service cart) needs a GitHub credential (branchline:githubToken or branchline:githubApp): a pull request's changed files are read from GitHub to apply path rules",
      );
      // Label rules need no token: the delivery carries the labels.
      expect(() =>
        parseConfig(
          reader({ repository: "octo/shop", webhookSecret: "s", labels: { skip: ["x"] } }),
        ),
      ).to.not.throw();
    });
  });

  describe("the functions' view (Pulumi mocks)", () => {
    it("one service: PULL_REQUEST_LABELS and PULL_REQUEST_PATHS on the webhook, worker and reconciler, read back as its rules", async () => {
      await runWithConfig(
        {
          ...one,
          labels: { skip: ["branchline:skip"] },
          paths: { include: ["services/shop/**"] },
        },
        () => new Branchline("acme", { config: loadConfig(), code: stubArchives() }),
        ["webhookSecret", "githubToken"],
      );
      for (const fn of ["webhook", "reconciler", "worker"]) {
        const lambda = resourceNamed(`acme-${fn}-function`);
        const variables = (lambda.inputs["environment"] as { variables: Record<string, string> })
          .variables;
        expect(variables[ENV.pullRequestLabels], fn).to.equal('{"skip":["branchline:skip"]}');
        expect(variables[ENV.pullRequestPaths], fn).to.equal('{"include":["services/shop/**"]}');
        expect(readSettings(variables).services[0]?.selection, fn).to.deep.equal({
          labels: { skip: ["branchline:skip"] },
          paths: { include: ["services/shop/**"] },
        });
      }
    });

    it("one service without rules: neither variable is set", async () => {
      await runWithConfig(
        one,
        () => new Branchline("acme", { config: loadConfig(), code: stubArchives() }),
        ["webhookSecret", "githubToken"],
      );
      const variables = (
        resourceNamed("acme-webhook-function").inputs["environment"] as {
          variables: Record<string, string>;
        }
      ).variables;
      expect(variables).to.not.have.property(ENV.pullRequestLabels);
      expect(variables).to.not.have.property(ENV.pullRequestPaths);
    });

    it("many services: each entry of the routing table carries its own rules", async () => {
      await runWithConfig(
        mono(
          [
            { name: "shop", repository: "octo/mono", paths: { include: ["shop/**"] } },
            { name: "cart", repository: "octo/mono" },
          ],
          { prefix: "acme", labels: { skip: ["branchline:skip"] } },
        ),
        () => new Branchline("acme", { config: loadConfig(), code: stubArchives() }),
        ["webhookSecret", "githubToken"],
      );
      const lambda = resourceNamed("acme-webhook-function");
      const text = await archiveFileText(lambda.inputs["code"], SERVICES_FILE);
      const entries = parseServicesTable(text ?? "", SERVICES_FILE);
      expect(entries.map((entry) => [entry.name, entry.selection])).to.deep.equal([
        ["shop", { labels: { skip: ["branchline:skip"] }, paths: { include: ["shop/**"] } }],
        ["cart", { labels: { skip: ["branchline:skip"] } }],
      ]);
      const variables = (lambda.inputs["environment"] as { variables: Record<string, string> })
        .variables;
      expect(variables).to.not.have.property(ENV.pullRequestLabels);
    });
  });
});
