import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";

const ROOT = path.join(__dirname, "..", "..");

describe("npm run synth (offline synth under mocks)", function () {
  this.timeout(60_000);

  it("prints every key resource, its IAM statements and the outputs for the dev stack", () => {
    const result = spawnSync("npm", ["run", "--silent", "synth", "--", "--stack", "dev"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    expect(result.status, result.stderr).to.equal(0);
    const text = result.stdout;
    expect(text).to.include("# branchline synth: stack dev (Pulumi.dev.yaml), under mocks");
    for (const line of [
      "aws:s3/bucket:Bucket  artifacts-bucket",
      "aws:s3/bucketPolicy:BucketPolicy  artifacts-policy",
      "aws:ecr/repository:Repository  registry-repository",
      "aws:codebuild/project:Project  build-project",
      "aws:codepipeline/pipeline:Pipeline  pipeline-pipeline",
      "aws:codeconnections/connection:Connection  connection-github",
      "aws:lambda/function:Function  webhook-function",
      "aws:apigatewayv2/route:Route  webhook-route",
      "aws:iam/rolePolicy:RolePolicy  webhook-role-policy",
      "    privilegedMode: true",
      "    runtime: nodejs22.x",
      "    routeKey: POST /webhook",
      "      - [PassPipelineRole] Allow iam:PassRole",
      "          when: StringEquals iam:PassedToService = codepipeline.amazonaws.com",
      "      - [DenyInsecureTransport] Deny s3:*",
      "    secretString: [secret]",
      "    sourcePipelineName: branchline-dev",
    ]) {
      expect(text).to.include(line);
    }
    expect(text).to.match(/# webhook bundle \(index\.js\): \d+ bytes, sha256 [0-9a-f]{64}/);
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
