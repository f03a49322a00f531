import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ENV } from "../../functions/shared/names.js";
import { BUNDLE_FILE, bundleFunction, functionArchive, WEBHOOK_ENTRY } from "../../infra/bundle.js";

interface LambdaResult {
  statusCode: number;
}
type Handler = (event: unknown, context: unknown) => Promise<LambdaResult>;

function pingEvent(body: string, secret: string): unknown {
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return {
    version: "2.0",
    routeKey: "POST /webhook",
    rawPath: "/webhook",
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      "x-github-event": "ping",
      "x-github-delivery": "d0a7e5c0-0000-4000-8000-000000000001",
      "x-hub-signature-256": signature,
    },
    requestContext: {
      http: {
        method: "POST",
        path: "/webhook",
        protocol: "HTTP/1.1",
        sourceIp: "192.0.2.1",
        userAgent: "GitHub-Hookshot/test",
      },
      requestId: "request-1",
      routeKey: "POST /webhook",
      stage: "$default",
    },
    body,
    isBase64Encoded: false,
  };
}

const lambdaContext = {
  awsRequestId: "request-1",
  functionName: "webhook",
  getRemainingTimeInMillis: () => 30000,
};

describe("infra/bundle (the webhook Lambda as pulumi up ships it)", function () {
  this.timeout(30000);
  let bundle: string;
  let directory: string;

  before(() => {
    bundle = bundleFunction(WEBHOOK_ENTRY);
    directory = mkdtempSync(path.join(tmpdir(), "branchline-bundle-"));
  });

  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it("is deterministic: bundling the same tree twice gives the same bytes", () => {
    expect(bundleFunction(WEBHOOK_ENTRY)).to.equal(bundle);
    expect(bundle).to.not.include(process.cwd());
    expect(bundle).to.not.include("sourceMappingURL");
  });

  it("goes into the archive as index.js", () => {
    const archive = functionArchive(bundle);
    expect(pulumi.asset.AssetArchive.isInstance(archive)).to.equal(true);
  });

  it("loads with require and answers a signed ping with 200", async () => {
    const file = path.join(directory, BUNDLE_FILE);
    writeFileSync(file, bundle);
    const secret = "it's a secret to everybody";
    const saved = { ...process.env };
    process.env[ENV.webhookSecret] = secret;
    process.env[ENV.sourcePipelineName] = "branchline-dev";
    process.env[ENV.ecrRepositoryName] = "branchline";
    process.env["AWS_REGION"] = "eu-west-1";
    process.env["POWERTOOLS_LOG_LEVEL"] = "SILENT";
    try {
      const loaded = createRequire(file)(file) as { handler: Handler };
      expect(loaded.handler).to.be.a("function");
      const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
      const response = await loaded.handler(pingEvent(body, secret), lambdaContext);
      expect(response.statusCode).to.equal(200);
      const forged = await loaded.handler(pingEvent(body, "wrong secret"), lambdaContext);
      expect(forged.statusCode).to.equal(401);
    } finally {
      for (const key of Object.keys(process.env)) {
        if (!(key in saved)) Reflect.deleteProperty(process.env, key);
      }
      Object.assign(process.env, saved);
    }
  });
});
