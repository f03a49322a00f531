import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseArgs, readStackConfig } from "../../infra/synth.js";

const ROOT = path.join(__dirname, "..", "..");
const STACK_FILE = path.join(ROOT, "test", "fixtures", "stacks", "Pulumi.dev.yaml");

describe("npm run synth (offline synth under mocks)", function () {
  this.timeout(60_000);

  it("prints every key resource, its IAM statements and the outputs for a stack file", () => {
    const result = spawnSync(
      "npm",
      ["run", "--silent", "synth", "--", "--stack", "dev", "--file", STACK_FILE],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } },
    );
    expect(result.status, result.stderr).to.equal(0);
    const text = result.stdout;
    expect(text).to.include("# branchline synth: stack dev (Pulumi.dev.yaml), under mocks");
    for (const line of [
      "aws:s3/bucket:Bucket  artifacts-bucket",
      "aws:s3/bucketPolicy:BucketPolicy  artifacts-policy",
      "aws:s3/bucket:Bucket  pr-artifacts-bucket",
      "aws:s3/bucketPolicy:BucketPolicy  pr-artifacts-policy",
      "          on: arn:aws:s3:::pr-artifacts-bucket-0000000/*",
      "        PR_ARTIFACT_BUCKET: pr-artifacts-bucket-0000000",
      "aws:ecr/repository:Repository  registry-app-repository",
      "    name: branchline-dev/app",
      "aws:ecr/repository:Repository  pr-registry-app-repository",
      "    name: branchline-dev-pr/app",
      "aws:codebuild/project:Project  build-project",
      "aws:codebuild/project:Project  pr-build-project",
      "    name: branchline-dev-pr",
      "aws:iam/role:Role  pipeline-clone-role",
      "aws:iam/rolePolicy:RolePolicy  pipeline-clone-role-policy",
      "      - [RunPullRequestBuilds] Allow codebuild:BatchGetBuilds, codebuild:StartBuild",
      "          on: arn:aws:codebuild:eu-west-1:123456789012:project/branchline-dev-pr",
      "          when: StringEquals codeconnections:FullRepositoryId = acme/shop",
      "      - [PullCacheImages] Allow ecr:BatchCheckLayerAvailability, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer",
      "          when: ArnLike aws:SourceArn = arn:aws:codepipeline:eu-west-1:123456789012:branchline-dev-pr-*",
      "aws:codepipeline/pipeline:Pipeline  pipeline-pipeline",
      "aws:codeconnections/connection:Connection  connection-github",
      "aws:lambda/function:Function  webhook-function",
      "aws:apigatewayv2/route:Route  webhook-route",
      "aws:iam/rolePolicy:RolePolicy  webhook-role-policy",
      "    privilegedMode: true",
      "    runtime: nodejs22.x",
      "    routeKey: POST /webhook",
      "      - [PassCloneRole] Allow iam:PassRole",
      "          when: StringEquals iam:PassedToService = codepipeline.amazonaws.com",
      "      - [DenyInsecureTransport] Deny s3:*",
      "    secretString: [secret]",
      "    sourcePipelineName: branchline-dev",
      "aws:lambda/function:Function  reconciler-function",
      "aws:cloudwatch/eventRule:EventRule  reconciler-schedule",
      "    scheduleExpression: rate(15 minutes)",
      "aws:cloudwatch/eventTarget:EventTarget  reconciler-schedule-target",
      "    timeout: 300",
      "      - [ListPipelines] Allow codepipeline:ListPipelines",
      "      - [CleanUpImages] Allow ecr:BatchDeleteImage, ecr:ListImages",
      "aws:lambda/function:Function  notifications-function",
      "aws:cloudwatch/eventRule:EventRule  notifications-rule",
      '          "CodePipeline Pipeline Execution State Change"',
      '              "prefix": "branchline-dev-pr-"',
      "aws:sns/topic:Topic  notifications-topic",
      "aws:kms/key:Key  notifications-key",
      "aws:sns/topicPolicy:TopicPolicy  notifications-topic-policy",
      "          principal: Service cloudwatch.amazonaws.com",
      "aws:sqs/queue:Queue  delivery-queue",
      "aws:sqs/queue:Queue  delivery-dead-letter-queue",
      "    fifoQueue: true",
      "    visibilityTimeoutSeconds: 360",
      "      - [DenyInsecureTransport] Deny sqs:*",
      "aws:lambda/function:Function  worker-function",
      "aws:lambda/eventSourceMapping:EventSourceMapping  worker-deliveries",
      "      maximumConcurrency: 5",
      "aws:iam/rolePolicy:RolePolicy  worker-role-policy",
      "      - [QueueDeliveries] Allow sqs:SendMessage",
      "      - [ConsumeDeliveries] Allow sqs:ChangeMessageVisibility, sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:ReceiveMessage",
      "      - [DeadLetterDeliveries] Allow sqs:SendMessage",
      "aws:cloudwatch/metricAlarm:MetricAlarm  worker-dead-letters-alarm",
      "aws:cloudwatch/metricAlarm:MetricAlarm  worker-oldest-delivery-alarm",
      "    deliveryQueueUrl: https://sqs.eu-west-1.amazonaws.com/123456789012/delivery-queue-0000000.fifo",
      "    deadLetterQueueUrl: https://sqs.eu-west-1.amazonaws.com/123456789012/delivery-dead-letter-queue-0000000.fifo",
      "    workerFunctionName: worker-function-0000000",
      "      - [PublishNotifications] Allow sns:Publish",
      "    notificationTopicArn: arn:aws:sns:eu-west-1:123456789012:notifications-topic-0000000",
      "    reconcilerFunctionName: reconciler-function-0000000",
      '    prRepositoryNames: ["branchline-dev-pr/app"]',
      "    prArtifactBucketName: pr-artifacts-bucket-0000000",
      '    sourceRepositoryUris: {"app":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/branchline-dev/app"}',
    ]) {
      expect(text).to.include(line);
    }
    for (const name of ["webhook", "reconcile", "notify", "worker"]) {
      expect(text).to.match(
        new RegExp(`# ${name} bundle \\(index\\.js\\): \\d+ bytes, sha256 [0-9a-f]{64}`),
      );
      expect(text).to.match(
        new RegExp(`    code: archive: index\\.js, the ${name} bundle, sha256 [0-9a-f]{64}`),
      );
    }
  });

  it("refuses the example stack file until its placeholder repository is replaced", () => {
    const result = spawnSync("npm", ["run", "--silent", "synth", "--", "--stack", "example"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include(
      'branchline:repository is still the example\'s placeholder "example-org/example-app"',
    );
  });

  it("reads --stack and --file, in either form, and refuses an empty --file", () => {
    expect(parseArgs([])).to.deep.equal({ stack: "dev" });
    expect(parseArgs(["--stack", "prod", "--file", "stacks/prod.yaml"])).to.deep.equal({
      stack: "prod",
      file: "stacks/prod.yaml",
    });
    expect(parseArgs(["--stack=qa", "--file=qa.yaml"])).to.deep.equal({
      stack: "qa",
      file: "qa.yaml",
    });
    expect(() => parseArgs(["--file="])).to.throw("synth: --file needs a path");
    expect(() => parseArgs(["--files", "x"])).to.throw("synth: unknown argument --files");
  });

  it("never reads a secure value nested in an object key (the GitHub App's private key)", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "synth-")), "Pulumi.app.yaml");
    writeFileSync(
      file,
      [
        "config:",
        "  branchline:repository: acme/shop",
        "  branchline:webhookSecret:",
        "    secure: v1:AAAA",
        "  branchline:githubApp:",
        "    appId: 123456",
        "    privateKey:",
        "      secure: v1:BBBB",
        "",
      ].join("\n"),
    );
    const { config } = readStackConfig(file);
    const app = config["githubApp"] as Record<string, unknown>;
    expect(app["appId"]).to.equal(123456);
    expect(app["privateKey"])
      .to.be.a("string")
      .and.match(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(JSON.stringify(config)).not.to.include("secure");
  });

  it("fails with a message for a stack without a file", () => {
    const result = spawnSync("npm", ["run", "--silent", "synth", "--", "--stack", "nonexistent"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include("synth: no Pulumi.nonexistent.yaml");
  });
});
