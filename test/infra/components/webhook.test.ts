/**
 * The order in which the webhook receiver and the GitHub webhook are created, under Pulumi mocks,
 * read from the RegisterResource requests (see ../record-dependencies.ts). What mocks cannot prove:
 * that the deployed API answers GitHub's first ping; after a real `pulumi up` the repository's webhook
 * settings must show a successful ping.
 */
import { expect } from "chai";
import { loadConfig } from "../../../infra/config.js";
import { createBranchline } from "../../../infra/program.js";
import { runWithConfig, stubArchives } from "../../helpers/pulumi-mocks.js";
import { dependenciesOf, recordDependencies } from "../record-dependencies.js";

const minimal = { repository: "octo/shop", webhookSecret: "s3cret" };
const receiver = [
  "webhook-integration",
  "webhook-route",
  "webhook-stage",
  "webhook-invoke-permission",
];

describe("infra/components/webhook: the GitHub webhook waits for the receiver", () => {
  before(async () => {
    await recordDependencies();
    await runWithConfig(
      { ...minimal, githubRegistrationToken: "ghp_token" },
      () => createBranchline(loadConfig(), stubArchives()),
      ["webhookSecret", "githubRegistrationToken"],
    );
  });

  it("registers the repository webhook after the integration, route, stage and invoke permission", () => {
    expect(dependenciesOf("github-webhook-hook")).to.include.members(receiver);
  });

  it("gives the component the same dependencies", () => {
    expect(dependenciesOf("github-webhook")).to.include.members(receiver);
  });
});
