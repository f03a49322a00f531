import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ConfigError, DEFAULTS, parseConfig, type ConfigReader } from "../../infra/config.js";

function reader(values: Record<string, string>): ConfigReader {
  return {
    get: (key) => values[key],
    getSecret: (key) => (values[key] === undefined ? undefined : pulumi.secret(values[key])),
    defaultPipelineName: "branchline-dev",
  };
}

const minimal = { repository: "octo/app", webhookSecret: "s3cret" };
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf";

function errorOf(values: Record<string, string>): ConfigError {
  try {
    parseConfig(reader(values));
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("parseConfig accepted the configuration");
}

describe("infra/config", () => {
  it("applies the defaults", () => {
    const config = parseConfig(reader(minimal));
    expect(config).to.include({
      repository: "octo/app",
      branch: "main",
      connectionArn: undefined,
      pipelineName: "branchline-dev",
      pipelineType: "V1",
      deploy: undefined,
      githubToken: undefined,
      allowForkPullRequests: false,
      buildDraftPullRequests: true,
      prImageRetentionDays: 14,
      untaggedImageRetentionDays: 7,
      sourceImageRetentionCount: 30,
      artifactRetentionDays: 30,
      logRetentionDays: 30,
      forceDestroy: false,
      reconcileSchedule: "rate(15 minutes)",
      notificationEmail: undefined,
    });
    expect(config.images).to.deep.equal([{ name: "app", context: "." }]);
    expect(config.build).to.deep.equal({
      ...DEFAULTS.build,
      args: {},
      noCache: false,
      blueGreen: false,
      secondRegistry: undefined,
    });
  });

  it("reads every key", () => {
    const config = parseConfig(
      reader({
        ...minimal,
        branch: "trunk",
        connectionArn: "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc-123",
        pipelineName: "shop",
        pipelineType: "V2",
        images: JSON.stringify([
          { name: "web", context: "web", dockerfile: "web/Dockerfile.prod", container: "frontend" },
          { name: "api", context: "api" },
        ]),
        deploy: JSON.stringify({ cluster: "prod", service: "shop" }),
        build: JSON.stringify({
          computeType: "BUILD_GENERAL1_MEDIUM",
          image: "aws/codebuild/standard:7.0",
          timeoutMinutes: 45,
          args: { NODE_ENV: "production" },
          noCache: true,
          blueGreen: true,
          secondRegistry: {
            registry: "ghcr.io/octo",
            credentialsSecretArn: SECRET_ARN,
            repository: "app",
          },
        }),
        githubToken: "ghp_x",
        reconcileSchedule: "cron(0/5 8-18 ? * MON-FRI *)",
        notificationEmail: "team@example.com",
        allowForkPullRequests: "true",
        buildDraftPullRequests: "false",
        prImageRetentionDays: "3",
        untaggedImageRetentionDays: "1",
        sourceImageRetentionCount: "5",
        artifactRetentionDays: "10",
        logRetentionDays: "90",
        forceDestroy: "true",
      }),
    );
    expect(config).to.include({
      branch: "trunk",
      connectionArn: "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc-123",
      pipelineName: "shop",
      pipelineType: "V2",
      allowForkPullRequests: true,
      buildDraftPullRequests: false,
      prImageRetentionDays: 3,
      untaggedImageRetentionDays: 1,
      sourceImageRetentionCount: 5,
      artifactRetentionDays: 10,
      logRetentionDays: 90,
      forceDestroy: true,
      reconcileSchedule: "cron(0/5 8-18 ? * MON-FRI *)",
      notificationEmail: "team@example.com",
    });
    expect(config.images).to.deep.equal([
      { name: "web", context: "web", dockerfile: "web/Dockerfile.prod", container: "frontend" },
      { name: "api", context: "api" },
    ]);
    expect(config.deploy).to.deep.equal({ cluster: "prod", service: "shop" });
    expect(config.build).to.deep.equal({
      computeType: "BUILD_GENERAL1_MEDIUM",
      image: "aws/codebuild/standard:7.0",
      timeoutMinutes: 45,
      args: { NODE_ENV: "production" },
      noCache: true,
      blueGreen: true,
      secondRegistry: {
        registry: "ghcr.io/octo",
        credentialsSecretArn: SECRET_ARN,
        repository: "app",
      },
    });
    expect(config.githubToken).to.not.equal(undefined);
  });

  const failures: [string, Record<string, string>, RegExp][] = [
    ["a missing repository", { webhookSecret: "s" }, /^branchline:repository is required/],
    [
      "a repository not owner/name",
      { ...minimal, repository: "app" },
      /^branchline:repository must be owner\/name/,
    ],
    [
      "a missing webhook secret",
      { repository: "octo/app" },
      /^branchline:webhookSecret is required/,
    ],
    [
      "an unknown pipeline type",
      { ...minimal, pipelineType: "V3" },
      /^branchline:pipelineType must be one of V1, V2, got "V3"/,
    ],
    [
      "images that are not JSON",
      { ...minimal, images: "web" },
      /^branchline:images is not valid JSON/,
    ],
    [
      "an empty image list",
      { ...minimal, images: "[]" },
      /^branchline:images must be a non-empty list/,
    ],
    [
      "an image list that is an object",
      { ...minimal, images: '{"name":"a"}' },
      /^branchline:images must be a non-empty list/,
    ],
    [
      "an image without context",
      { ...minimal, images: '[{"name":"a"}]' },
      /^branchline:images\[0\]\.context is required/,
    ],
    [
      "an image with a number as name",
      { ...minimal, images: '[{"name":1,"context":"."}]' },
      /^branchline:images\[0\]\.name must be a non-empty string/,
    ],
    [
      "an image with an unknown field",
      { ...minimal, images: '[{"name":"a","context":".","tag":"x"}]' },
      /^branchline:images\[0\] has an unknown field "tag"/,
    ],
    [
      "two images with one name",
      { ...minimal, images: '[{"name":"a","context":"."},{"name":"a","context":"b"}]' },
      /^branchline:images\[1\]\.name repeats/,
    ],
    [
      "a deploy without service",
      { ...minimal, deploy: '{"cluster":"c"}' },
      /^branchline:deploy\.service is required/,
    ],
    [
      "a build timeout out of range",
      { ...minimal, build: '{"timeoutMinutes":1}' },
      /^branchline:build\.timeoutMinutes must be/,
    ],
    [
      "a build arg that is not a string",
      { ...minimal, build: '{"args":{"A":1}}' },
      /^branchline:build\.args\.A must be/,
    ],
    [
      "a connection ARN of another service",
      { ...minimal, connectionArn: "arn:aws:s3:::x" },
      /^branchline:connectionArn is not a CodeConnections connection ARN/,
    ],
    [
      "a flag that is not a boolean",
      { ...minimal, allowForkPullRequests: "yes" },
      /^branchline:allowForkPullRequests must be true or false/,
    ],
    [
      "a retention that is not a number",
      { ...minimal, prImageRetentionDays: "two" },
      /^branchline:prImageRetentionDays must be a whole number/,
    ],
    ...["0", "-3", "2.5", "ten", "", " 4", "1e3", "9007199254740993"].map(
      (value): [string, Record<string, string>, RegExp] => [
        `a source image retention count of ${JSON.stringify(value)}`,
        { ...minimal, sourceImageRetentionCount: value },
        /^branchline:sourceImageRetentionCount must be a positive whole number of images \(1 or more\), got "/,
      ],
    ),
    [
      "a log retention CloudWatch refuses",
      { ...minimal, logRetentionDays: "2" },
      /^branchline:logRetentionDays must be one of/,
    ],
    [
      "a reconcile schedule that is neither rate() nor cron()",
      { ...minimal, reconcileSchedule: "15 minutes" },
      /^branchline:reconcileSchedule must be an EventBridge schedule expression, rate\(\.\.\.\) or cron\(\.\.\.\), got "15 minutes"/,
    ],
    [
      "an empty rate()",
      { ...minimal, reconcileSchedule: "rate()" },
      /^branchline:reconcileSchedule must be/,
    ],
    [
      "a notification email without a domain",
      { ...minimal, notificationEmail: "ops@localhost" },
      /^branchline:notificationEmail must be an email address/,
    ],
    [
      "a blueGreen that is a string",
      { ...minimal, build: '{"blueGreen":"true"}' },
      /^branchline:build\.blueGreen must be true or false/,
    ],
    [
      "a second registry that is a string",
      { ...minimal, build: '{"secondRegistry":"docker.io/octo"}' },
      /^branchline:build\.secondRegistry must be an object/,
    ],
    [
      "a second registry without a registry",
      {
        ...minimal,
        build: JSON.stringify({ secondRegistry: { credentialsSecretArn: SECRET_ARN } }),
      },
      /^branchline:build\.secondRegistry\.registry is required/,
    ],
    [
      "a second registry without a host",
      {
        ...minimal,
        build: JSON.stringify({
          secondRegistry: { registry: "octo", credentialsSecretArn: SECRET_ARN },
        }),
      },
      /^branchline:build\.secondRegistry\.registry must be <host>\[\/<namespace>\]/,
    ],
    [
      "a second registry in upper case",
      {
        ...minimal,
        build: JSON.stringify({
          secondRegistry: { registry: "Docker.io/Octo", credentialsSecretArn: SECRET_ARN },
        }),
      },
      /^branchline:build\.secondRegistry\.registry must be/,
    ],
    [
      "a second registry without credentials",
      { ...minimal, build: JSON.stringify({ secondRegistry: { registry: "docker.io/octo" } }) },
      /^branchline:build\.secondRegistry\.credentialsSecretArn is required/,
    ],
    [
      "second registry credentials that are not a secret ARN",
      {
        ...minimal,
        build: JSON.stringify({
          secondRegistry: { registry: "docker.io/octo", credentialsSecretArn: "dockerhub" },
        }),
      },
      /^branchline:build\.secondRegistry\.credentialsSecretArn is not a Secrets Manager secret ARN/,
    ],
    [
      "a second registry repository in upper case",
      {
        ...minimal,
        build: JSON.stringify({
          secondRegistry: {
            registry: "docker.io/octo",
            credentialsSecretArn: SECRET_ARN,
            repository: "App",
          },
        }),
      },
      /^branchline:build\.secondRegistry\.repository must be a lower-case repository name/,
    ],
    [
      "a second registry with an unknown field",
      {
        ...minimal,
        build: JSON.stringify({
          secondRegistry: {
            registry: "docker.io/octo",
            credentialsSecretArn: SECRET_ARN,
            user: "x",
          },
        }),
      },
      /^branchline:build\.secondRegistry has an unknown field "user"/,
    ],
    [
      "an invalid pipeline name",
      { ...minimal, pipelineName: "my pipeline" },
      /^branchline:pipelineName must be/,
    ],
  ];
  for (const [what, values, message] of failures) {
    it(`fails on ${what}, naming the key`, () => {
      expect(errorOf(values).message).to.match(message);
    });
  }
});

describe("infra/config: the runtime token and the registration token", () => {
  it("registers the webhook by default only with a registration token", () => {
    const runtimeOnly = parseConfig(reader({ ...minimal, githubToken: "ghp_runtime" }));
    expect(runtimeOnly.registerWebhook).to.equal(false);
    expect(runtimeOnly.githubRegistrationToken).to.equal(undefined);
    const both = parseConfig(
      reader({ ...minimal, githubToken: "ghp_runtime", githubRegistrationToken: "ghp_admin" }),
    );
    expect(both.registerWebhook).to.equal(true);
    expect(pulumi.Output.isInstance(both.githubRegistrationToken)).to.equal(true);
    expect(pulumi.Output.isInstance(both.githubToken)).to.equal(true);
  });

  it("refuses registerWebhook true with the runtime token alone", () => {
    expect(
      errorOf({ ...minimal, githubToken: "ghp_runtime", registerWebhook: "true" }).message,
    ).to.match(/^branchline:registerWebhook needs branchline:githubRegistrationToken/);
  });
});
