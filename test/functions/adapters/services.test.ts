/**
 * Secret readers and the GitHub client around them, over the wire: the real Secrets Manager client
 * against the AWS double, Octokit against the GitHub API double, and a clock only the test moves.
 * The reconciler and the notify function build their GitHub clients with `tokenOctokit` too.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { expect } from "chai";
import { awsClientConfig } from "../../../functions/adapters/aws-config.js";
import { secretReader } from "../../../functions/adapters/secrets.js";
import { tokenOctokit } from "../../../functions/adapters/services.js";
import { OctokitPullRequests } from "../../../functions/adapters/github.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import { useWireDoubles } from "../../helpers/wire.js";

const REPO = "Codertocat/Hello-World";

describe("secret readers and the token's GitHub client", function () {
  const wire = useWireDoubles({ seed: false });
  let client: SecretsManagerClient | undefined;
  let now: number;
  /** The Authorization header GitHub accepts now. */
  let accepted: string;

  before(() => {
    wire.github.on("GET", /.*/, (_match, request) =>
      request.authorization === accepted
        ? undefined
        : { status: 401, body: { message: "Bad credentials" } },
    );
  });

  beforeEach(() => {
    now = 5_000_000;
    client = new SecretsManagerClient(awsClientConfig());
    wire.github.addPullRequest({
      number: 2,
      state: "open",
      head: { ref: "changes", sha: "a".repeat(40), repo: REPO },
      base: { ref: "master", repo: REPO },
    });
  });

  afterEach(() => client?.destroy());

  function reader(arn: string) {
    const made = secretReader("GitHub token", { arn }, () => client as SecretsManagerClient, {
      now: () => now,
    });
    if (!made) throw new Error("no reader");
    return made;
  }

  const reads = () => wire.aws.callCount("GetSecretValue");

  it("refreshes at most once a minute, shares one read between concurrent callers, and reports only a change", async () => {
    const arn = wire.aws.seedSecret("branchline/token", "one");
    const token = reader(arn);
    expect(await token.refresh()).to.equal(undefined); // nothing read yet: nothing to refresh
    expect(await token()).to.equal("one");
    expect(await token.refresh()).to.equal(undefined); // too soon
    expect(reads()).to.equal(1);
    now += 60_000;
    expect(await token.refresh()).to.equal(undefined); // read again, unchanged
    expect(reads()).to.equal(2);
    wire.aws.seedSecret(arn, "two");
    now += 60_000;
    const together = await Promise.all([token.refresh(), token.refresh(), token.refresh()]);
    expect(together).to.deep.equal(["two", "two", "two"]);
    expect(reads()).to.equal(3);
    expect(await token()).to.equal("two");
  });

  it("keeps the old value when a refresh fails", async () => {
    const arn = wire.aws.seedSecret("branchline/token", "one");
    const token = reader(arn);
    await token();
    now += 60_000;
    wire.aws.inject({ operation: "GetSecretValue", error: "InternalFailure", times: 10 });
    let failed = false;
    await token.refresh().catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(await token()).to.equal("one");
  });

  it("a GitHub client retries a 401 once with the token read again", async () => {
    const arn = wire.aws.seedSecret("branchline/token", "ghs_one");
    accepted = "token ghs_one";
    const token = reader(arn);
    const pulls = new OctokitPullRequests(await tokenOctokit(token, wire.github.url));
    expect((await pulls.get(REPO, 2)).number).to.equal(2);

    wire.aws.seedSecret(arn, "ghs_two");
    accepted = "token ghs_two";
    now += 60_000;
    wire.github.requests.length = 0;
    expect((await pulls.get(REPO, 2)).number).to.equal(2);
    expect(wire.github.requests.map((r) => r.authorization)).to.deep.equal([
      "token ghs_one",
      "token ghs_two",
    ]);
    expect(reads()).to.equal(2);
  });

  it("a 401 with no newer token is a ConfigurationError, and costs no read within the minute", async () => {
    const arn = wire.aws.seedSecret("branchline/token", "ghs_one");
    accepted = "token ghs_other";
    const pulls = new OctokitPullRequests(await tokenOctokit(reader(arn), wire.github.url));
    for (let i = 0; i < 3; i++) {
      let error: unknown;
      await pulls.get(REPO, 2).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ConfigurationError);
    }
    expect(reads()).to.equal(1);
  });
});
