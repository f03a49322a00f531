import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { parse } from "yaml";
import {
  checkBuildImageScope,
  ConfigError,
  DEFAULTS,
  parseConfig,
  type ConfigReader,
} from "../../infra/config.js";

function reader(
  values: Record<string, string>,
  stack: { defaultPipelineName?: string; awsRegion?: string } = {},
): ConfigReader {
  return {
    get: (key) => values[key],
    getSecret: (key) => (values[key] === undefined ? undefined : pulumi.secret(values[key])),
    defaultPipelineName: stack.defaultPipelineName ?? "branchline-dev",
    awsRegion: stack.awsRegion,
  };
}

const minimal = { repository: "octo/app", webhookSecret: "s3cret" };
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf";
const ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/build-images:node22";

function withSecondRegistry(credentialsSecretArn: string): Record<string, string> {
  return {
    ...minimal,
    build: JSON.stringify({ secondRegistry: { registry: "docker.io/octo", credentialsSecretArn } }),
  };
}

function errorOf(
  values: Record<string, string>,
  stack: { defaultPipelineName?: string; awsRegion?: string } = {},
): ConfigError {
  try {
    parseConfig(reader(values, stack));
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
        deploy: JSON.stringify({
          cluster: "prod",
          service: "shop",
          passRoles: [
            "arn:aws:iam::123456789012:role/shop-task",
            "arn:aws:iam::123456789012:role/service-role/shop-execution",
          ],
        }),
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
    expect(config.deploy).to.deep.equal({
      cluster: "prod",
      service: "shop",
      passRoles: [
        "arn:aws:iam::123456789012:role/shop-task",
        "arn:aws:iam::123456789012:role/service-role/shop-execution",
      ],
    });
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
      "an image name ECR cannot take as a repository name: upper case",
      { ...minimal, images: JSON.stringify([{ name: "Web", context: "." }]) },
      /^branchline:images\[0\]\.name must be 1-64 lower-case letters and digits, with \. _ - only between them/,
    ],
    [
      "an image name ECR cannot take as a repository name: a trailing '-'",
      { ...minimal, images: JSON.stringify([{ name: "web-", context: "." }]) },
      /^branchline:images\[0\]\.name must be 1-64 lower-case letters and digits, with \. _ - only between them/,
    ],
    [
      "an image name ECR cannot take as a repository name: two separators in a row",
      { ...minimal, images: JSON.stringify([{ name: "web__api", context: "." }]) },
      /^branchline:images\[0\]\.name must be 1-64 lower-case letters and digits, with \. _ - only between them/,
    ],
    [
      "an image name ECR cannot take as a repository name: 65 characters",
      { ...minimal, images: JSON.stringify([{ name: "a".repeat(65), context: "." }]) },
      /^branchline:images\[0\]\.name must be 1-64 lower-case letters and digits, with \. _ - only between them/,
    ],
    [
      "a deploy without service",
      { ...minimal, deploy: '{"cluster":"c"}' },
      /^branchline:deploy\.service is required/,
    ],
    [
      "deploy.passRoles that is not a list",
      { ...minimal, deploy: '{"cluster":"c","service":"s","passRoles":"arn"}' },
      /^branchline:deploy\.passRoles must be a non-empty list of IAM role ARNs/,
    ],
    [
      "an empty deploy.passRoles",
      { ...minimal, deploy: '{"cluster":"c","service":"s","passRoles":[]}' },
      /^branchline:deploy\.passRoles must be a non-empty list of IAM role ARNs/,
    ],
    [
      "deploy.passRoles naming a role by its name",
      { ...minimal, deploy: '{"cluster":"c","service":"s","passRoles":["shop-task"]}' },
      /^branchline:deploy\.passRoles\[0\] must be an IAM role ARN \(arn:aws:iam::<account>:role\/<name>\), got "shop-task"/,
    ],
    [
      "deploy.passRoles naming a user",
      {
        ...minimal,
        deploy: JSON.stringify({
          cluster: "c",
          service: "s",
          passRoles: ["arn:aws:iam::123456789012:user/alice"],
        }),
      },
      /^branchline:deploy\.passRoles\[0\] must be an IAM role ARN/,
    ],
    [
      "deploy.passRoles naming a role twice",
      {
        ...minimal,
        deploy: JSON.stringify({
          cluster: "c",
          service: "s",
          passRoles: ["arn:aws:iam::123456789012:role/t", "arn:aws:iam::123456789012:role/t"],
        }),
      },
      /^branchline:deploy\.passRoles\[1\] repeats arn:aws:iam::123456789012:role\/t/,
    ],
    [
      "a pipeline name with capitals (it names ECR repositories)",
      { ...minimal, pipelineName: "Shop" },
      /^branchline:pipelineName names the ECR repositories Shop\/<image> and Shop-pr\/<image>: use lower-case letters/,
    ],
    [
      "a pipeline name with two separators in a row",
      { ...minimal, pipelineName: "shop--dev" },
      /^branchline:pipelineName names the ECR repositories/,
    ],
    [
      "an image name with capitals (it names ECR repositories)",
      { ...minimal, images: '[{"name":"Web","context":"."}]' },
      /^branchline:images\[0\]\.name must be 1-64 lower-case letters and digits, with \. _ - only between them \(it names the image's ECR repositories\)/,
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
    [
      "a pipeline name longer than 86 characters (its clones' names would be cut)",
      { ...minimal, pipelineName: `${"a".repeat(95)}-pr-1` },
      /^branchline:pipelineName must be 2-86 characters of A-Z a-z 0-9 - _, .*got "a{95}-pr-1" \(100 characters\), e\.g\. `pulumi config set branchline:pipelineName a{86}`$/,
    ],
    [
      "a pipeline name with a dot, which CodeBuild refuses as a project name",
      { ...minimal, pipelineName: "shop.web" },
      /^branchline:pipelineName must be 2-86 characters .*names the CodeBuild project.* got "shop\.web" \(8 characters\), e\.g\. `pulumi config set branchline:pipelineName shop-web`$/,
    ],
    [
      "a pipeline name with an @",
      { ...minimal, pipelineName: "shop@prod" },
      /^branchline:pipelineName must be .*e\.g\. `pulumi config set branchline:pipelineName shop-prod`$/,
    ],
    [
      "a pipeline name starting with _",
      { ...minimal, pipelineName: "_shop" },
      /^branchline:pipelineName must be .*starting with a letter or digit.*e\.g\. `pulumi config set branchline:pipelineName shop`$/,
    ],
    [
      "rate(1 minutes)",
      { ...minimal, reconcileSchedule: "rate(1 minutes)" },
      /^branchline:reconcileSchedule must be .*: a value of 1 takes the singular unit: write rate\(1 minute\)$/,
    ],
    [
      "rate(5 hour)",
      { ...minimal, reconcileSchedule: "rate(5 hour)" },
      /^branchline:reconcileSchedule must be .*: a value other than 1 takes the plural unit: write rate\(5 hours\)$/,
    ],
    [
      "rate(0 minutes)",
      { ...minimal, reconcileSchedule: "rate(0 minutes)" },
      /^branchline:reconcileSchedule must be .*write rate\(<positive whole number> <unit>\)/,
    ],
    [
      "rate(1.5 hours)",
      { ...minimal, reconcileSchedule: "rate(1.5 hours)" },
      /^branchline:reconcileSchedule must be .*write rate\(<positive whole number> <unit>\)/,
    ],
    [
      "rate(2 weeks)",
      { ...minimal, reconcileSchedule: "rate(2 weeks)" },
      /^branchline:reconcileSchedule must be .*minute\(s\), hour\(s\) or day\(s\)/,
    ],
    [
      "a cron() of 5 fields (crontab style)",
      { ...minimal, reconcileSchedule: "cron(*/15 * * * *)" },
      /^branchline:reconcileSchedule must be .*cron\(\) takes 6 fields \(minutes hours day-of-month month day-of-week year\), got 5/,
    ],
    [
      "a cron() with both day fields set",
      { ...minimal, reconcileSchedule: "cron(0 12 * * MON *)" },
      /^branchline:reconcileSchedule must be .*exactly one of day-of-month and day-of-week must be \?/,
    ],
    [
      "a cron() with a field EventBridge does not read",
      { ...minimal, reconcileSchedule: "cron(0 12 ? * MON% *)" },
      /^branchline:reconcileSchedule must be .*the day-of-week field "MON%" is not valid/,
    ],
    [
      "second registry credentials given as a partial secret ARN (no 6-character suffix)",
      withSecondRegistry("arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry"),
      /^branchline:build\.secondRegistry\.credentialsSecretArn must be the secret's complete ARN, ending in the 6 characters Secrets Manager adds/,
    ],
    [
      "second registry credentials given as a partial ARN of a hyphenated name",
      withSecondRegistry("arn:aws:secretsmanager:eu-west-1:123456789012:secret:docker-hub"),
      /^branchline:build\.secondRegistry\.credentialsSecretArn must be the secret's complete ARN/,
    ],
    [
      "a deploy cluster given as an ARN",
      {
        ...minimal,
        deploy: JSON.stringify({
          cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
          service: "shop",
        }),
      },
      /^branchline:deploy\.cluster must be the cluster's name \("prod"\), not its ARN: arn:aws:ecs:eu-west-1:123456789012:cluster\/prod$/,
    ],
    [
      "a deploy service given as an ARN",
      {
        ...minimal,
        deploy: JSON.stringify({
          cluster: "prod",
          service: "arn:aws:ecs:eu-west-1:123456789012:service/prod/shop",
        }),
      },
      /^branchline:deploy\.service must be the service's name \("shop"\), not its ARN/,
    ],
    [
      "a deploy cluster with a slash",
      { ...minimal, deploy: JSON.stringify({ cluster: "cluster/prod", service: "shop" }) },
      /^branchline:deploy\.cluster must be the cluster's name: 1-255 letters, digits, - and _/,
    ],
  ];
  for (const [what, values, message] of failures) {
    it(`fails on ${what}, naming the key`, () => {
      expect(errorOf(values).message).to.match(message);
    });
  }

  describe("the default pipeline name <project>-<stack>", () => {
    it("is refused when longer than 86 characters, saying to set pipelineName", () => {
      const long = `branchline-${"s".repeat(80)}`;
      expect(errorOf(minimal, { defaultPipelineName: long }).message).to.equal(
        `branchline:pipelineName is not set, and the default <project>-<stack> "${long}" (91 ` +
          "characters) is not a valid name: set branchline:pipelineName to 2-86 characters of " +
          "A-Z a-z 0-9 - _, starting with a letter or digit (it names the CodeBuild project " +
          "too, and the clones <name>-pr-<n> must fit CodePipeline's 100 characters), e.g. " +
          `\`pulumi config set branchline:pipelineName ${long.slice(0, 86)}\``,
      );
    });

    it("is refused when the stack name has a dot, saying what to write", () => {
      expect(errorOf(minimal, { defaultPipelineName: "branchline-v1.2" }).message).to.match(
        /^branchline:pipelineName is not set, and the default <project>-<stack> "branchline-v1\.2" .*set branchline:pipelineName to .*, e\.g\. `pulumi config set branchline:pipelineName branchline-v1-2`$/,
      );
    });

    it("is used when it fits, up to 86 characters", () => {
      const name = `b${"x".repeat(85)}`;
      expect(parseConfig(reader(minimal, { defaultPipelineName: name })).pipelineName).to.equal(
        name,
      );
    });

    it("does not matter when pipelineName is set", () => {
      const config = parseConfig(
        reader({ ...minimal, pipelineName: "shop" }, { defaultPipelineName: "x.y" }),
      );
      expect(config.pipelineName).to.equal("shop");
    });
  });

  it("accepts image names that are ECR repository name components", () => {
    const names = ["web", "web-admin", "api_v2", "web.v2", "a1", "x".repeat(64)];
    const config = parseConfig(
      reader({
        ...minimal,
        images: JSON.stringify(
          names.map((name, i) => ({ name, context: ".", container: `c${i}` })),
        ),
      }),
    );
    expect(config.images.map((image) => image.name)).to.deep.equal(names);
  });

  it("accepts the schedules EventBridge accepts", () => {
    for (const schedule of [
      "rate(1 minute)",
      "rate(2 minutes)",
      "rate(1 hour)",
      "rate(12 hours)",
      "rate(1 day)",
      "rate(7 days)",
      "cron(0/15 * * * ? *)",
      "cron(0 8 ? * MON-FRI *)",
      "cron(15 10 L * ? 2027)",
      "cron(0 18 ? * 6L *)",
      "cron(0 9 ? * MON#1 *)",
    ]) {
      expect(
        parseConfig(reader({ ...minimal, reconcileSchedule: schedule })).reconcileSchedule,
      ).to.equal(schedule);
    }
  });

  it("accepts ECS names for deploy, and complete secret ARNs", () => {
    const config = parseConfig(
      reader({
        ...withSecondRegistry(
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/docker-hub-x1Y2z3",
        ),
        deploy: JSON.stringify({ cluster: "prod_eu-1", service: "Shop-Web_2" }),
      }),
    );
    expect(config.deploy).to.deep.equal({ cluster: "prod_eu-1", service: "Shop-Web_2" });
    expect(config.build.secondRegistry?.credentialsSecretArn).to.match(/-x1Y2z3$/);
  });

  describe("build.image", () => {
    const build = (image: string) => ({ ...minimal, build: JSON.stringify({ image }) });

    it("accepts an ECR image of the stack's region, and images outside ECR", () => {
      for (const image of [
        ECR_IMAGE,
        "aws/codebuild/standard:7.0",
        "public.ecr.aws/docker/library/node:22",
        "docker.io/library/node:22",
      ]) {
        const config = parseConfig(reader(build(image), { awsRegion: "eu-west-1" }));
        expect(config.build.image).to.equal(image);
      }
    });

    it("refuses an ECR image of another region than aws:region, saying what to write", () => {
      const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/build-images:node22";
      expect(errorOf(build(image), { awsRegion: "eu-west-1" }).message).to.equal(
        "branchline:build.image must be an ECR image of this stack's region eu-west-1 " +
          "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), or a public image " +
          `(a CodeBuild curated image, public.ecr.aws/..., docker.io/...), got ${image}`,
      );
    });

    it("leaves the region to the deploy-time check when aws:region is not set", () => {
      const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/build-images:node22";
      expect(parseConfig(reader(build(image))).build.image).to.equal(image);
    });

    it("is checked against the stack's account and region once they are known", () => {
      const here = { region: "eu-west-1", accountId: "123456789012" };
      expect(() => checkBuildImageScope(ECR_IMAGE, here)).to.not.throw();
      expect(() => checkBuildImageScope("aws/codebuild/standard:7.0", here)).to.not.throw();
      const foreign = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/build-images:node22";
      expect(() => checkBuildImageScope(foreign, here))
        .to.throw(ConfigError)
        .with.property(
          "message",
          "branchline:build.image must be an ECR image of this stack's account 123456789012 " +
            "and region eu-west-1 (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), " +
            "or a public image (a CodeBuild curated image, public.ecr.aws/..., docker.io/...), " +
            `got ${foreign}`,
        );
      const china = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/build-images:node22";
      expect(() => checkBuildImageScope(china, here)).to.throw(ConfigError, /region eu-west-1/);
    });
  });
});

describe("infra/config: branchline:delivery", () => {
  const delivery = (value: unknown) => ({ ...minimal, delivery: JSON.stringify(value) });

  it("defaults to queue mode: 5 at once, 5 receives, 10 a batch, an alarm at 900 s", () => {
    expect(parseConfig(reader(minimal)).delivery).to.deep.equal({
      mode: "queue",
      maxConcurrency: 5,
      maxReceiveCount: 5,
      batchSize: 1,
      oldestMessageAlarmSeconds: 900,
    });
  });

  it("reads every field, and keeps the defaults of those not given", () => {
    expect(
      parseConfig(
        reader(
          delivery({
            mode: "inline",
            maxConcurrency: 2,
            maxReceiveCount: 1000,
            batchSize: 10,
            oldestMessageAlarmSeconds: 60,
          }),
        ),
      ).delivery,
    ).to.deep.equal({
      mode: "inline",
      maxConcurrency: 2,
      maxReceiveCount: 1000,
      batchSize: 10,
      oldestMessageAlarmSeconds: 60,
    });
    expect(parseConfig(reader(delivery({ maxConcurrency: 1000 }))).delivery).to.deep.equal({
      ...DEFAULTS.delivery,
      maxConcurrency: 1000,
    });
  });

  it("documents its defaults in Pulumi.example.yaml's commented example", () => {
    const lines = readFileSync(path.join(__dirname, "..", "..", "Pulumi.example.yaml"), "utf8")
      .split("\n")
      .map((line) => line.trim());
    const start = lines.indexOf("# branchline:delivery:");
    expect(start, "the commented branchline:delivery example").to.be.above(-1);
    const fields: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (!line.startsWith("#   ")) break;
      fields.push(line.slice("#   ".length));
    }
    const example = parse(fields.join("\n")) as Record<string, unknown>;
    expect(example).to.deep.equal(DEFAULTS.delivery);
    expect(parseConfig(reader(delivery(example))).delivery).to.deep.equal(DEFAULTS.delivery);
  });

  it("is stack-wide in the many-service form too", () => {
    const config = parseConfig(
      reader({
        webhookSecret: "s3cret",
        services: JSON.stringify([{ name: "shop", repository: "octo/shop" }]),
        delivery: JSON.stringify({ mode: "inline", batchSize: 4 }),
      }),
    );
    expect(config.multiService).to.equal(true);
    expect(config.delivery).to.deep.equal({ ...DEFAULTS.delivery, mode: "inline", batchSize: 4 });
  });

  for (const [what, value, message] of [
    ["not an object", [1], /^branchline:delivery must be an object \{ mode\?, maxConcurrency\?/],
    ["invalid JSON", "{", /^branchline:delivery is not valid JSON/],
    ["an unknown field", { mode: "queue", concurrency: 3 }, /has an unknown field "concurrency"/],
    [
      "an unknown mode",
      { mode: "async" },
      /^branchline:delivery.mode must be one of queue, inline, got "async"$/,
    ],
    [
      "a concurrency of 1 (Lambda's least is 2)",
      { maxConcurrency: 1 },
      /^branchline:delivery.maxConcurrency must be a whole number of concurrent workers from 2 to 1000, got 1$/,
    ],
    [
      "a concurrency above 1000",
      { maxConcurrency: 1001 },
      /^branchline:delivery.maxConcurrency .* got 1001$/,
    ],
    [
      "a fractional receive count",
      { maxReceiveCount: 2.5 },
      /^branchline:delivery.maxReceiveCount .* from 1 to 1000, got 2.5$/,
    ],
    ["no receive", { maxReceiveCount: 0 }, /^branchline:delivery.maxReceiveCount/],
    [
      "a batch above FIFO's 10",
      { batchSize: 11 },
      /^branchline:delivery.batchSize must be a whole number of messages from 1 to 10, got 11$/,
    ],
    ["a batch size as a string", { batchSize: "5" }, /^branchline:delivery.batchSize .* got "5"$/],
    [
      "an alarm under a minute",
      { oldestMessageAlarmSeconds: 59 },
      /^branchline:delivery.oldestMessageAlarmSeconds .* from 60 to 345600, got 59$/,
    ],
    [
      "an alarm beyond the queue's retention",
      { oldestMessageAlarmSeconds: 345601 },
      /^branchline:delivery.oldestMessageAlarmSeconds/,
    ],
  ] as const) {
    it(`refuses ${what}, naming the key`, () => {
      const raw = typeof value === "string" ? { ...minimal, delivery: value } : delivery(value);
      expect(errorOf(raw).message).to.match(message);
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

describe("infra/config: the example stack file's placeholder repository", () => {
  const PLACEHOLDER_MESSAGE =
    'is still the example\'s placeholder "example-org/example-app": set it to the real GitHub repository, owner/name';

  /** Pulumi.example.yaml's `branchline:` keys as the stack reads them (objects as JSON text). */
  function exampleStackValues(): Record<string, string> {
    const file = path.join(__dirname, "..", "..", "Pulumi.example.yaml");
    const document = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(document.config)) {
      if (!key.startsWith("branchline:")) continue;
      const name = key.slice("branchline:".length);
      values[name] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return values;
  }

  it("refuses Pulumi.example.yaml as committed, naming branchline:repository", () => {
    const values: Record<string, string> = { ...exampleStackValues(), webhookSecret: "s3cret" };
    expect(values["repository"]).to.equal("example-org/example-app");
    expect(errorOf(values).message).to.equal(`branchline:repository ${PLACEHOLDER_MESSAGE}`);
  });

  it("accepts Pulumi.example.yaml once the repository is a real one", () => {
    const values = { ...exampleStackValues(), webhookSecret: "s3cret", repository: "octo/app" };
    expect(parseConfig(reader(values)).repository).to.equal("octo/app");
  });

  it("refuses any repository of the example's owner, whatever its case", () => {
    expect(errorOf({ ...minimal, repository: "Example-Org/billing" }).message).to.equal(
      'branchline:repository is still the example\'s placeholder "Example-Org/billing": set it to the real GitHub repository, owner/name',
    );
    expect(parseConfig(reader({ ...minimal, repository: "example-orga/app" })).repository).to.equal(
      "example-orga/app",
    );
  });

  it("refuses a service whose repository is still the example's, naming the entry", () => {
    const services = JSON.stringify([
      { name: "shop", repository: "octo/platform" },
      { name: "billing", repository: "example-org/billing" },
    ]);
    expect(errorOf({ webhookSecret: "s3cret", services }).message).to.equal(
      'branchline:services[1].repository is still the example\'s placeholder "example-org/billing": set it to the real GitHub repository, owner/name',
    );
  });
});

describe("infra/config: approvals (branchline:requireApproval)", () => {
  it("requires approval unless told not to: the stack-wide key, and a service's own over it", () => {
    expect(parseConfig(reader(minimal)).requireApproval).to.equal(undefined);
    expect(parseConfig(reader({ ...minimal, requireApproval: "false" })).requireApproval).to.equal(
      false,
    );
    const many = parseConfig(
      reader({
        webhookSecret: "s3cret",
        requireApproval: "false",
        services: JSON.stringify([
          { name: "api", repository: "octo/api" },
          { name: "web", repository: "octo/web", requireApproval: true },
        ]),
      }),
    );
    expect(many.services.map((service) => [service.name, service.requireApproval])).to.deep.equal([
      ["api", false],
      ["web", undefined],
    ]);
  });
});
