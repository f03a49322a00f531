import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ENV } from "../../functions/shared/names.js";
import {
  BUNDLE_FILE,
  bundleFunction,
  bundleFunctions,
  bundleInputs,
  bundlePreviews,
  functionArchive,
  functionArchives,
  NOTIFY_ENTRY,
  PREVIEW_FUNCTIONS,
  PREVIEWS_ENTRY,
  PREVIEWS_FILE,
  RECONCILE_ENTRY,
  WEBHOOK_ENTRY,
  WORKER_ENTRY,
} from "../../infra/bundle.js";
import { archiveFileText } from "../helpers/pulumi-mocks.js";

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

  it("publishes its metrics once per delivery as EMF on stdout, named after the function", async () => {
    const file = path.join(directory, "metrics", BUNDLE_FILE);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bundle);
    const secret = "it's a secret to everybody";
    const saved = { ...process.env };
    Object.assign(process.env, {
      [ENV.webhookSecret]: secret,
      [ENV.sourcePipelineName]: "branchline-dev",
      [ENV.ecrRepositoryName]: "branchline",
      AWS_REGION: "eu-west-1",
      AWS_LAMBDA_FUNCTION_NAME: "webhook-function-1a2b3c4",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    // The suite keeps Powertools Metrics quiet (test/helpers/quiet-metrics.ts): not here.
    Reflect.deleteProperty(process.env, "POWERTOOLS_METRICS_DISABLED");
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    try {
      const loaded = createRequire(file)(file) as { handler: Handler };
      const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
      process.stdout.write = ((chunk: string | Uint8Array) => {
        lines.push(
          ...String(chunk)
            .split("\n")
            .filter((line) => line.trim() !== ""),
        );
        return true;
      }) as typeof process.stdout.write;
      const response = await loaded.handler(pingEvent(body, secret), lambdaContext);
      expect(response.statusCode).to.equal(200);
    } finally {
      process.stdout.write = write;
      for (const key of Object.keys(process.env)) {
        if (!(key in saved)) Reflect.deleteProperty(process.env, key);
      }
      Object.assign(process.env, saved);
    }
    const emf = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => "_aws" in line);
    expect(emf).to.have.length(1);
    const { _aws: meta, ...values } = emf[0] as { _aws: { CloudWatchMetrics: unknown } };
    expect(meta.CloudWatchMetrics).to.deep.equal([
      {
        Namespace: "branchline",
        Dimensions: [["service", "outcome"]],
        Metrics: [{ Name: "Deliveries", Unit: "Count" }],
      },
    ]);
    expect(values).to.deep.equal({
      service: "webhook-function-1a2b3c4",
      outcome: "pong",
      Deliveries: 1,
    });
  });
});

/** Loads a bundle from a fresh directory with `require`, under `env`; restores the environment. */
async function withLoadedBundle<T>(
  bundle: string,
  env: Record<string, string>,
  use: (handler: (event: unknown, context: unknown) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const directory = mkdtempSync(path.join(tmpdir(), "branchline-bundle-"));
  const saved = { ...process.env };
  for (const name of Object.values(ENV)) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, env, { AWS_REGION: "eu-west-1", POWERTOOLS_LOG_LEVEL: "SILENT" });
  try {
    const file = path.join(directory, BUNDLE_FILE);
    writeFileSync(file, bundle);
    const loaded = createRequire(file)(file) as {
      handler: (event: unknown, context: unknown) => Promise<unknown>;
    };
    expect(loaded.handler).to.be.a("function");
    return await use(loaded.handler);
  } finally {
    for (const key of Object.keys(process.env)) {
      if (!(key in saved)) Reflect.deleteProperty(process.env, key);
    }
    Object.assign(process.env, saved);
    rmSync(directory, { recursive: true, force: true });
  }
}

describe("infra/bundle (the reconcile, notify and worker Lambdas as pulumi up ships them)", function () {
  this.timeout(30000);
  let bundles: ReturnType<typeof bundleFunctions>;

  before(() => {
    bundles = bundleFunctions();
  });

  it("bundles every function of the stack from its entry, deterministically", () => {
    expect(bundles.reconcile).to.equal(bundleFunction(RECONCILE_ENTRY));
    expect(bundles.notify).to.equal(bundleFunction(NOTIFY_ENTRY));
    expect(bundles.webhook).to.equal(bundleFunction(WEBHOOK_ENTRY));
    expect(bundles.worker).to.equal(bundleFunction(WORKER_ENTRY));
    for (const bundle of [bundles.reconcile, bundles.notify, bundles.worker]) {
      expect(bundle).to.not.include(process.cwd());
      expect(bundle).to.not.include("sourceMappingURL");
    }
    const archives = functionArchives(bundles, bundlePreviews());
    expect(Object.keys(archives)).to.deep.equal(["webhook", "reconcile", "notify", "worker"]);
    for (const archive of Object.values(archives)) {
      expect(pulumi.asset.AssetArchive.isInstance(archive)).to.equal(true);
    }
  });

  it("keeps the preview clients out of the main bundles: those that manage previews require them", () => {
    const require = `require("./${PREVIEWS_FILE}")`;
    for (const name of ["webhook", "reconcile", "worker"] as const) {
      const bundle = bundles[name];
      expect(bundle.split(require), name).to.have.length(2);
      // The SDK clients name themselves in each command (`.n("ECSClient", ...)`).
      expect(bundle, name).to.not.include("ECSClient");
      expect(bundle, name).to.not.include("ElasticLoadBalancingV2Client");
    }
    // notify never builds DefaultServices: esbuild leaves the import out with the class.
    expect(bundles.notify).to.not.include(PREVIEWS_FILE);
    expect(bundles.notify).to.not.include("ECSClient");
  });

  it("the webhook bundle's sources: no ECS or ELB client, no preview adapter", () => {
    const inputs = bundleInputs(WEBHOOK_ENTRY);
    expect(inputs).to.include("functions/adapters/services.ts");
    const previewOnly = inputs.filter(
      (file) =>
        file.includes("/@aws-sdk/client-ecs/") ||
        file.includes("/@aws-sdk/client-elastic-load-balancing-v2/") ||
        /^functions\/adapters\/(ecs|elbv2|preview-clients)\.ts$/.test(file),
    );
    expect(previewOnly).to.deep.equal([]);
  });

  it("bundles the preview clients apart, with the same options, deterministically", () => {
    const previews = bundlePreviews();
    expect(bundlePreviews()).to.equal(previews);
    expect(bundleFunction(PREVIEWS_ENTRY)).to.equal(previews);
    expect(previews).to.not.include(process.cwd());
    expect(previews).to.not.include("sourceMappingURL");
    expect(previews).to.include("ECSClient");
    expect(previews).to.include("ElasticLoadBalancingV2Client");
    expect(previews).to.not.include(PREVIEWS_FILE);
    const inputs = bundleInputs(PREVIEWS_ENTRY);
    for (const file of [
      "functions/adapters/preview-clients.ts",
      "functions/adapters/ecs.ts",
      "functions/adapters/elbv2.ts",
      "functions/app/preview-ports.ts",
    ]) {
      expect(inputs).to.include(file);
    }
    // None of the use cases: what crosses between the bundles is the ports' values and errors.
    expect(inputs.filter((file) => /^functions\/(app|core)\//.test(file))).to.deep.equal([
      "functions/app/preview-ports.ts",
      "functions/core/errors.ts",
      "functions/core/images.ts",
    ]);
  });

  it("puts the preview clients' bundle next to index.js in the webhook, reconcile and worker archives only", async () => {
    const previews = bundlePreviews();
    expect(PREVIEW_FUNCTIONS).to.deep.equal(["webhook", "reconcile", "worker"]);
    const archives = functionArchives(bundles, previews);
    const again = functionArchives(bundleFunctions(), bundlePreviews());
    for (const name of ["webhook", "reconcile", "notify", "worker"] as const) {
      const holds = name !== "notify";
      expect(await archiveFileText(archives[name], BUNDLE_FILE), name).to.equal(bundles[name]);
      expect(await archiveFileText(archives[name], PREVIEWS_FILE), name).to.equal(
        holds ? previews : undefined,
      );
      const assets = await (archives[name] as pulumi.asset.AssetArchive).assets;
      expect(Object.keys(assets), name).to.deep.equal(
        holds ? [BUNDLE_FILE, PREVIEWS_FILE] : [BUNDLE_FILE],
      );
      // The same tree gives the same archive.
      for (const file of [BUNDLE_FILE, PREVIEWS_FILE]) {
        expect(await archiveFileText(again[name], file), `${name} ${file}`).to.equal(
          await archiveFileText(archives[name], file),
        );
      }
    }
  });

  it("the reconcile bundle loads with require and reports a sweep it cannot start", async () => {
    // No SOURCE_PIPELINE_NAME: the handler answers with a summary naming it, and calls nothing.
    const summary = await withLoadedBundle(bundles.reconcile, {}, (handler) =>
      handler({}, { getRemainingTimeInMillis: () => 300_000 }),
    );
    expect(summary).to.deep.equal({
      created: [],
      updated: [],
      deleted: [],
      imagesDeleted: [],
      unchanged: [],
      errors: [],
      misconfigured: [
        `sweep not started: environment variable ${ENV.sourcePipelineName} is not set`,
      ],
    });
  });

  it("the notify bundle loads with require and rejects an event that is no execution change", async () => {
    const result = await withLoadedBundle(
      bundles.notify,
      { [ENV.sourcePipelineName]: "branchline-dev" },
      (handler) => handler({ source: "aws.s3" }, { getRemainingTimeInMillis: () => 30_000 }),
    );
    expect(result).to.have.property("outcome", "rejected");
  });

  it("the worker bundle loads with require and lists a record that is no delivery as failed", async () => {
    // The record cannot be decoded: it is listed for the queue's redrive, with no AWS call made.
    const result = await withLoadedBundle(
      bundles.worker,
      { [ENV.sourcePipelineName]: "branchline-dev" },
      (handler) =>
        handler(
          {
            Records: [
              { messageId: "m-1", body: "not a delivery", attributes: { MessageGroupId: "g" } },
            ],
          },
          { getRemainingTimeInMillis: () => 60_000 },
        ),
    );
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "m-1" }] });
  });
});
