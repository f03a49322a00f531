import { expect } from "chai";
import {
  approvalDecision,
  executionToken,
  namesCommit,
  parseCheckSuiteDelivery,
  parseCommand,
  parseCommentDelivery,
  trustOf,
  waitingDescription,
} from "../../../functions/core/commands.js";
import type { PullRequest } from "../../../functions/core/classify.js";
import {
  decodeDelivery,
  decodeMessage,
  encodeDelivery,
  messageGroupId,
  type QueuedCommand,
} from "../../../functions/core/delivery.js";
import { BadRequestError } from "../../../functions/core/errors.js";
import { commentPayload, rerunPayload } from "../../helpers/command-events.js";
import { queuedDelivery } from "../../helpers/delivery-records.js";

const HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

function pr(variant: Partial<PullRequest> = {}): PullRequest {
  return {
    number: 2,
    state: "open",
    draft: false,
    merged: false,
    headBranch: "changes",
    headSha: HEAD,
    headRepository: "Codertocat/Hello-World",
    baseBranch: "master",
    baseRepository: "Codertocat/Hello-World",
    ...variant,
  };
}

describe("core/commands", () => {
  it("parses the first line's /branchline command, and nothing else", () => {
    expect(parseCommand("/branchline approve ec26c3e\nthanks")).to.deep.equal({
      kind: "approve",
      sha: "ec26c3e",
    });
    expect(parseCommand("  /Branchline   RETEST  ")).to.deep.equal({ kind: "retest" });
    expect(parseCommand("/branchline cancel")).to.deep.equal({ kind: "cancel" });
    expect(parseCommand("/branchline status")).to.deep.equal({ kind: "status" });
    expect(parseCommand("/branchline approve")).to.deep.equal({ kind: "approve", sha: undefined });
    expect(parseCommand("/branchline")).to.deep.equal({ kind: "unknown", text: "/branchline" });
    expect(parseCommand("please /branchline retest")).to.equal(undefined);
    expect(parseCommand("/branchlines retest")).to.equal(undefined);
    expect(parseCommand("LGTM\n/branchline retest")).to.equal(undefined);
  });

  it("an approval names the head by its full sha or a prefix of at least 7 hex digits", () => {
    expect(namesCommit(HEAD, HEAD)).to.equal(true);
    expect(namesCommit(HEAD.toUpperCase(), HEAD)).to.equal(true);
    expect(namesCommit("ec26c3e", HEAD)).to.equal(true);
    expect(namesCommit("ec26c3", HEAD)).to.equal(false);
    expect(namesCommit("ec26c3f", HEAD)).to.equal(false);
    expect(namesCommit(`${HEAD}0`, HEAD)).to.equal(false);
    expect(namesCommit("ec26c3e-", HEAD)).to.equal(false);
    expect(namesCommit(undefined, HEAD)).to.equal(false);
  });

  it("trust: a fork never; the author's write, maintain or admin permission; without a permission, the repository's own branch", () => {
    const fork = pr({ headRepository: "someone/Hello-World" });
    expect(trustOf(fork, "admin")).to.equal("untrusted");
    expect(trustOf(fork, undefined)).to.equal("untrusted");
    for (const permission of ["admin", "maintain", "write"])
      expect(trustOf(pr(), permission)).to.equal("trusted");
    for (const permission of ["triage", "read", "none"])
      expect(trustOf(pr(), permission)).to.equal("untrusted");
    expect(trustOf(pr(), undefined)).to.equal("trusted");
  });

  it("decides: trusted or not required builds as before; untrusted builds the approved head only", () => {
    expect(approvalDecision(pr(), true, "trusted", undefined)).to.deep.equal({
      build: true,
      approvedSha: undefined,
    });
    expect(approvalDecision(pr(), false, "untrusted", undefined)).to.deep.equal({
      build: true,
      approvedSha: undefined,
    });
    expect(approvalDecision(pr(), true, "untrusted", HEAD.toUpperCase())).to.deep.equal({
      build: true,
      approvedSha: HEAD,
    });
    expect(approvalDecision(pr(), true, "untrusted", "f".repeat(40))).to.deep.equal({
      build: false,
      reason: "pull request #2 is untrusted: fffffff was approved, its head ec26c3e is not",
      description: "Waiting for approval: a maintainer comments /branchline approve ec26c3e",
    });
    expect(waitingDescription(HEAD).length).to.be.at.most(140);
  });

  it("execution tokens: one per delivery and clone, none without a delivery id", () => {
    const token = executionToken("d-1", "shop-pr-2");
    expect(token).to.match(/^[0-9a-f]{64}$/);
    expect(executionToken("d-1", "shop-pr-2")).to.equal(token);
    expect(executionToken("d-2", "shop-pr-2")).to.not.equal(token);
    expect(executionToken(undefined, "shop-pr-2")).to.equal(undefined);
  });

  it("reads the example issue_comment and check_suite deliveries", () => {
    expect(parseCommentDelivery(commentPayload({ body: "/branchline retest" }))).to.deep.equal({
      kind: "command",
      event: {
        repository: "Codertocat/Hello-World",
        prNumber: 2,
        actor: "maintainer",
        command: { kind: "retest" },
        source: { kind: "comment", commentId: 492700400 },
      },
    });
    expect(parseCheckSuiteDelivery(rerunPayload("maintainer", HEAD, [2]))).to.deep.equal({
      kind: "commands",
      events: [
        {
          repository: "Codertocat/Hello-World",
          prNumber: 2,
          actor: "maintainer",
          command: { kind: "retest" },
          source: { kind: "check_suite", headSha: HEAD },
        },
      ],
    });
    const malformed = commentPayload({ body: "/branchline retest" });
    (malformed["comment"] as Record<string, unknown>)["id"] = "x";
    expect(() => parseCommentDelivery(malformed)).to.throw(BadRequestError, "comment.id");
  });
});

describe("core/delivery: command messages", () => {
  const command: QueuedCommand = {
    version: 1,
    kind: "command",
    deliveryId: "d-1",
    event: "issue_comment",
    receivedAt: "2026-01-01T00:00:00.000Z",
    commandEvent: {
      repository: "Codertocat/Hello-World",
      prNumber: 2,
      actor: "maintainer",
      command: { kind: "approve", sha: "ec26c3e" },
      source: { kind: "comment", commentId: 7 },
    },
  };

  it("round-trips a command in its pull request's group", () => {
    expect(decodeMessage(encodeDelivery(command))).to.deep.equal(command);
    expect(messageGroupId(command)).to.equal("codertocat/hello-world#2");
  });

  it("still reads a version-1 pull request message without kind, as both readers", () => {
    const old = queuedDelivery({ number: 2 });
    delete old.pullRequestEvent.pullRequest.author;
    delete old.pullRequestEvent.pullRequest.authorAssociation;
    const body = JSON.stringify(old);
    expect(decodeMessage(body)).to.deep.equal(old);
    expect(decodeDelivery(body)).to.deep.equal(old);
    expect(messageGroupId(old)).to.equal("codertocat/hello-world#2");
  });

  it("refuses another kind, a command it does not know and a malformed source", () => {
    const bad = (change: (m: Record<string, unknown>) => void) => {
      const message = structuredClone(command) as unknown as Record<string, unknown>;
      change(message);
      return () => decodeMessage(JSON.stringify(message));
    };
    expect(bad((m) => (m["kind"] = "other"))).to.throw("kind must be command");
    expect(
      bad((m) => ((m["commandEvent"] as { command: unknown }).command = { kind: "deploy" })),
    ).to.throw("not a command");
    expect(
      bad((m) => ((m["commandEvent"] as { source: unknown }).source = { kind: "comment" })),
    ).to.throw("commentId");
  });
});
