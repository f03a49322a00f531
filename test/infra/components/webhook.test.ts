/**
 * The order in which the webhook receiver and the GitHub webhook are created, under Pulumi mocks.
 * `MockResourceArgs` carries no dependencies, so this test reads them from the RegisterResource
 * requests the program sends to the (mock) resource monitor: the URNs there are exactly what the
 * engine receives and orders creation (and, reversed, deletion) by. What mocks cannot prove: that the
 * deployed API answers GitHub's first ping; a real `pulumi up` must show a green ping in the
 * repository's webhook settings.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { loadConfig } from "../../../infra/config.js";
import { createBranchline } from "../../../infra/program.js";
import { installMocks, runWithConfig, stubArchives } from "../../helpers/pulumi-mocks.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };

interface RegisterRequest {
  getName(): string;
  getDependenciesList(): string[];
}
interface Monitor {
  registerResource(request: RegisterRequest, callback: (...args: unknown[]) => void): void;
}

/** The dependencies (resource names) each registered resource declared, by resource name. */
const dependencies = new Map<string, string[]>();
let recording = false;

async function recordDependencies(): Promise<void> {
  await installMocks();
  if (recording) return;
  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor | undefined;
  if (monitor === undefined) throw new Error("no resource monitor: mocks are not installed");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    dependencies.set(
      request.getName(),
      request.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2)),
    );
    register(request, callback);
  };
  recording = true;
}

describe("infra/components/webhook: the GitHub webhook waits for the receiver", () => {
  before(async () => {
    await recordDependencies();
    dependencies.clear();
    await runWithConfig(
      { ...minimal, githubToken: "ghp_token" },
      () => createBranchline(loadConfig(), stubArchives()),
      ["webhookSecret", "githubToken"],
    );
  });

  it("registers the repository webhook after the integration, route, stage and invoke permission", () => {
    expect(dependencies.get("github-webhook-hook")).to.include.members([
      "webhook-integration",
      "webhook-route",
      "webhook-stage",
      "webhook-invoke-permission",
    ]);
  });

  it("gives the component the same dependencies", () => {
    expect(dependencies.get("github-webhook")).to.include.members([
      "webhook-integration",
      "webhook-route",
      "webhook-stage",
      "webhook-invoke-permission",
    ]);
  });
});
