/** The functions' settings: the pull request tier and the PR repositories read from the environment. */
import { expect } from "chai";
import { readSettings, warnIfSingleTier } from "../../../functions/app/settings.js";
import { readNotifySettings } from "../../../functions/notify/settings.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { captureLogger } from "../../helpers/capture-logger.js";

const BASE = { SOURCE_PIPELINE_NAME: "shop-dev", ECR_REPOSITORY_NAME: "shop-dev-pr/app" };

describe("app/settings", () => {
  describe("GitHub App", () => {
    const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:branchline/app-key-AbCdEf";

    it("reads the App's id, the key's secret and the installation; no App without its variables", () => {
      const settings = readSettings({
        ...BASE,
        GITHUB_APP_ID: "424242",
        GITHUB_APP_PRIVATE_KEY_SECRET_ARN: ARN,
        GITHUB_APP_INSTALLATION_ID: "7",
      });
      expect(settings.githubApp).to.deep.equal({
        appId: "424242",
        privateKey: { value: undefined, arn: ARN },
        installationId: 7,
      });
      expect(
        readSettings({ ...BASE, GITHUB_APP_ID: "1", GITHUB_APP_PRIVATE_KEY: "pem" }).githubApp,
      ).to.deep.equal({
        appId: "1",
        privateKey: { value: "pem", arn: undefined },
        installationId: undefined,
      });
      expect(readSettings(BASE)).not.to.have.property("githubApp");
      expect(readSettings({ ...BASE, GITHUB_TOKEN: "ghp_x" })).not.to.have.property("githubApp");
    });

    it("a token and an App both configured: a configuration error naming both", () => {
      const both = {
        ...BASE,
        GITHUB_TOKEN_SECRET_ARN: "arn:token",
        GITHUB_APP_ID: "424242",
        GITHUB_APP_PRIVATE_KEY_SECRET_ARN: ARN,
      };
      const message =
        "both a GitHub token (GITHUB_TOKEN_SECRET_ARN) and a GitHub App (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_SECRET_ARN) are configured: configure one";
      expect(() => readSettings(both)).to.throw(ConfigurationError, message);
      expect(() => readNotifySettings(both)).to.throw(ConfigurationError, message);
    });

    it("refuses an App without its id or key, or with ids that are not numbers, naming the variable", () => {
      expect(() => readSettings({ ...BASE, GITHUB_APP_PRIVATE_KEY_SECRET_ARN: ARN })).to.throw(
        ConfigurationError,
        "environment variable GITHUB_APP_ID is not set (a GitHub App is configured: GITHUB_APP_PRIVATE_KEY_SECRET_ARN)",
      );
      expect(() => readSettings({ ...BASE, GITHUB_APP_ID: "42" })).to.throw(
        ConfigurationError,
        "environment variable GITHUB_APP_PRIVATE_KEY_SECRET_ARN (or GITHUB_APP_PRIVATE_KEY) is not set: the GitHub App 42 needs its private key",
      );
      expect(() =>
        readSettings({ ...BASE, GITHUB_APP_ID: "my-app", GITHUB_APP_PRIVATE_KEY_SECRET_ARN: ARN }),
      ).to.throw(ConfigurationError, "GITHUB_APP_ID must be the App's numeric id, got my-app");
      expect(() =>
        readSettings({
          ...BASE,
          GITHUB_APP_ID: "42",
          GITHUB_APP_PRIVATE_KEY_SECRET_ARN: ARN,
          GITHUB_APP_INSTALLATION_ID: "0",
        }),
      ).to.throw(
        ConfigurationError,
        "GITHUB_APP_INSTALLATION_ID must be a numeric installation id, got 0",
      );
    });
  });

  describe("webhook URL (reconciler redelivery)", () => {
    it("reads WEBHOOK_URL, and leaves the member out when it is unset or empty", () => {
      const url = "https://abc123.execute-api.eu-west-1.amazonaws.com/webhook";
      expect(readSettings({ ...BASE, WEBHOOK_URL: url }).webhookUrl).to.equal(url);
      expect(readSettings(BASE)).not.to.have.property("webhookUrl");
      expect(readSettings({ ...BASE, WEBHOOK_URL: "" })).not.to.have.property("webhookUrl");
    });
  });

  describe("PR repositories", () => {
    it("reads ECR_REPOSITORY_NAMES, without duplicates, before ECR_REPOSITORY_NAME", () => {
      const settings = readSettings({
        ...BASE,
        ECR_REPOSITORY_NAMES: '["shop-dev-pr/app","shop-dev-pr/worker","shop-dev-pr/app"]',
      });
      expect(settings.repositoryNames).to.deep.equal(["shop-dev-pr/app", "shop-dev-pr/worker"]);
    });

    it("falls back on the one name of ECR_REPOSITORY_NAME", () => {
      expect(readSettings(BASE).repositoryNames).to.deep.equal(["shop-dev-pr/app"]);
      expect(readSettings({ ...BASE, ECR_REPOSITORY_NAMES: "" }).repositoryNames).to.deep.equal([
        "shop-dev-pr/app",
      ]);
    });

    it("needs one of the two", () => {
      expect(() => readSettings({ SOURCE_PIPELINE_NAME: "shop-dev" })).to.throw(
        ConfigurationError,
        "environment variable ECR_REPOSITORY_NAMES (or ECR_REPOSITORY_NAME) is not set",
      );
    });

    for (const value of ["shop-dev-pr/app", "[]", '[""]', '["a", 1]', '{"a":"b"}', "null"]) {
      it(`refuses ECR_REPOSITORY_NAMES=${value}, naming the variable`, () => {
        expect(() => readSettings({ ...BASE, ECR_REPOSITORY_NAMES: value })).to.throw(
          ConfigurationError,
          /^environment variable ECR_REPOSITORY_NAMES (is not valid JSON|must be a JSON list of one or more repository names)$/,
        );
      });
    }
  });

  describe("clone tier", () => {
    it("reads CLONE_ROLE_ARN and PR_BUILD_PROJECTS", () => {
      const settings = readSettings({
        ...BASE,
        CLONE_ROLE_ARN: "arn:aws:iam::123456789012:role/shop-dev-clone-role",
        PR_BUILD_PROJECTS: '{"shop-dev":"shop-dev-pr","__proto__":"odd-but-a-name"}',
      });
      expect(settings.cloneRoleArn).to.equal("arn:aws:iam::123456789012:role/shop-dev-clone-role");
      expect(Object.entries(settings.prBuildProjects ?? {})).to.deep.equal([
        ["shop-dev", "shop-dev-pr"],
        ["__proto__", "odd-but-a-name"],
      ]);
    });

    it("reads PR_ARTIFACT_BUCKET", () => {
      const settings = readSettings({ ...BASE, PR_ARTIFACT_BUCKET: "shop-dev-pr-artifacts" });
      expect(settings.prArtifactBucket).to.equal("shop-dev-pr-artifacts");
    });

    it("leaves all three unset when the variables are unset or empty", () => {
      for (const env of [
        BASE,
        { ...BASE, CLONE_ROLE_ARN: "", PR_BUILD_PROJECTS: "", PR_ARTIFACT_BUCKET: "" },
      ]) {
        const settings = readSettings(env);
        expect(settings.cloneRoleArn).to.equal(undefined);
        expect(settings.prBuildProjects).to.equal(undefined);
        expect(settings.prArtifactBucket).to.equal(undefined);
      }
    });

    for (const value of [
      "shop-dev",
      "[]",
      '["shop-dev"]',
      '{"shop-dev":""}',
      '{"":"x"}',
      '{"a":1}',
    ]) {
      it(`refuses PR_BUILD_PROJECTS=${value}, naming the variable`, () => {
        expect(() => readSettings({ ...BASE, PR_BUILD_PROJECTS: value })).to.throw(
          ConfigurationError,
          /^environment variable PR_BUILD_PROJECTS (is not valid JSON|must be a JSON object of source build project name -> pull request build project name)$/,
        );
      });
    }

    it("warns when any is unset, naming what is, and not when all three are set", () => {
      const warnings = (env: Record<string, string>) => {
        const logger = captureLogger();
        warnIfSingleTier(readSettings({ ...BASE, ...env }), logger);
        return logger.lines.map((line) => `${line.level}: ${line.message}`);
      };
      const rest =
        "not set: clones keep the source pipeline's role, build projects and artifact store (for local runs only: a pull request's code then runs with the source tier's permissions)";
      const all = {
        CLONE_ROLE_ARN: "arn:aws:iam::1:role/r",
        PR_BUILD_PROJECTS: '{"a":"b"}',
        PR_ARTIFACT_BUCKET: "pr-bucket",
      };
      expect(warnings({})).to.deep.equal([
        `warn: CLONE_ROLE_ARN, PR_BUILD_PROJECTS and PR_ARTIFACT_BUCKET are ${rest}`,
      ]);
      expect(warnings({ ...all, PR_BUILD_PROJECTS: "" })).to.deep.equal([
        `warn: PR_BUILD_PROJECTS is ${rest}`,
      ]);
      expect(warnings({ ...all, CLONE_ROLE_ARN: "" })).to.deep.equal([
        `warn: CLONE_ROLE_ARN is ${rest}`,
      ]);
      expect(warnings({ ...all, PR_ARTIFACT_BUCKET: "" })).to.deep.equal([
        `warn: PR_ARTIFACT_BUCKET is ${rest}`,
      ]);
      expect(warnings({ PR_BUILD_PROJECTS: "{}" })).to.deep.equal([
        `warn: CLONE_ROLE_ARN and PR_ARTIFACT_BUCKET are ${rest}`,
      ]);
      expect(warnings(all)).to.deep.equal([]);
    });
  });
});
