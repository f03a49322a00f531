import { expect } from "chai";
import {
  classify,
  parsePullRequestEvent,
  preclassify,
  type ClassifyOptions,
  type Intent,
  type PullRequestEvent,
} from "../../../functions/core/classify.js";
import { BadRequestError } from "../../../functions/core/errors.js";
import { pullRequestPayload, type PullRequestVariant } from "../../helpers/github-events.js";

const source = { repository: "Codertocat/Hello-World", branch: "master" };
const defaults: ClassifyOptions = { allowForks: false, buildDrafts: true };

function eventOf(variant: PullRequestVariant): PullRequestEvent {
  const first = preclassify("pull_request", pullRequestPayload(variant));
  if (first.kind !== "pull_request")
    throw new Error(`expected a pull request event, got ${first.kind}`);
  return first.event;
}

function intentOf(
  variant: PullRequestVariant,
  options: Partial<ClassifyOptions> = {},
): Intent["kind"] {
  return classify(eventOf(variant), source, { ...defaults, ...options }).kind;
}

describe("core/classify", () => {
  describe("preclassify", () => {
    it("answers pings", () => {
      expect(preclassify("ping", { zen: "x" })).to.deep.equal({ kind: "ping" });
    });

    it("ignores other events without reading them", () => {
      expect(preclassify("push", {}).kind).to.equal("ignore");
      expect(preclassify("issues", { action: "opened" }).kind).to.equal("ignore");
    });

    it("refuses a delivery without an event name", () => {
      expect(() => preclassify(undefined, {})).to.throw(BadRequestError, /X-GitHub-Event/);
    });

    // labeled and unlabeled matter to services with label rules: see the block at the end.
    const ignored = ["assigned", "locked", "review_requested", "converted_to_draft"];
    for (const action of ignored) {
      it(`ignores ${action}`, () => {
        expect(preclassify("pull_request", pullRequestPayload({ action })).kind).to.equal("ignore");
      });
    }

    it("ignores edits that do not change the base", () => {
      expect(preclassify("pull_request", pullRequestPayload({ action: "edited" })).kind).to.equal(
        "ignore",
      );
    });

    const malformed: [string, (p: Record<string, unknown>) => void, RegExp][] = [
      ["no pull_request", (p) => delete p["pull_request"], /pull_request must be an object/],
      [
        "a string number",
        (p) => ((p["pull_request"] as Record<string, unknown>)["number"] = "2"),
        /number/,
      ],
      [
        "a zero number",
        (p) => ((p["pull_request"] as Record<string, unknown>)["number"] = 0),
        /number/,
      ],
      [
        "a number of more than 10 digits (no clone name could hold it)",
        (p) => ((p["pull_request"] as Record<string, unknown>)["number"] = 12345678901),
        /pull_request\.number must be a positive integer of at most 10 digits/,
      ],
      ["no head", (p) => delete (p["pull_request"] as Record<string, unknown>)["head"], /head/],
      ["no action", (p) => delete p["action"], /action/],
      [
        "an odd state",
        (p) => ((p["pull_request"] as Record<string, unknown>)["state"] = "merged"),
        /state/,
      ],
      [
        "no base repository",
        (p) =>
          delete ((p["pull_request"] as Record<string, Record<string, unknown>>)["base"] ?? {})[
            "repo"
          ],
        /base.repo.full_name/,
      ],
    ];
    for (const [label, mutate, message] of malformed) {
      it(`refuses a payload with ${label}`, () => {
        const payload = pullRequestPayload();
        mutate(payload);
        expect(() => preclassify("pull_request", payload)).to.throw(BadRequestError, message);
      });
    }
  });

  describe("classify", () => {
    const table: {
      name: string;
      variant: PullRequestVariant;
      options?: Partial<ClassifyOptions>;
      expected: Intent["kind"];
    }[] = [
      { name: "opened into the source branch", variant: { action: "opened" }, expected: "ensure" },
      { name: "reopened", variant: { action: "reopened" }, expected: "ensure" },
      { name: "synchronize", variant: { action: "synchronize" }, expected: "ensure" },
      { name: "ready_for_review", variant: { action: "ready_for_review" }, expected: "ensure" },
      { name: "opened into another branch", variant: { baseRef: "develop" }, expected: "ignore" },
      { name: "closed", variant: { action: "closed", state: "closed" }, expected: "remove" },
      {
        name: "closed and merged",
        variant: { action: "closed", state: "closed", merged: true },
        expected: "remove",
      },
      {
        name: "closed into another branch (a retarget may have been missed)",
        variant: { action: "closed", state: "closed", baseRef: "develop" },
        expected: "remove",
      },
      {
        name: "a fork, by default",
        variant: { headRepo: "someone/Hello-World" },
        expected: "ignore",
      },
      { name: "a deleted fork", variant: { headRepo: null }, expected: "remove" },
      {
        name: "a deleted fork, when forks are allowed",
        variant: { headRepo: null },
        options: { allowForks: true },
        expected: "remove",
      },
      {
        name: "a deleted fork retargeted onto the source branch",
        variant: { action: "edited", previousBase: "develop", headRepo: null },
        options: { allowForks: true },
        expected: "remove",
      },
      {
        name: "a fork, when allowed",
        variant: { headRepo: "someone/Hello-World" },
        options: { allowForks: true },
        expected: "ensure",
      },
      {
        name: "a head repository differing only in case",
        variant: { headRepo: "codertocat/hello-world" },
        expected: "ensure",
      },
      { name: "a draft, by default", variant: { draft: true }, expected: "ensure" },
      {
        name: "a draft, when drafts wait",
        variant: { draft: true },
        options: { buildDrafts: false },
        expected: "ignore",
      },
      {
        name: "ready_for_review, when drafts wait",
        variant: { action: "ready_for_review" },
        options: { buildDrafts: false },
        expected: "ensure",
      },
      {
        name: "retargeted onto the source branch",
        variant: { action: "edited", previousBase: "develop" },
        expected: "ensure",
      },
      {
        name: "retargeted away from the source branch",
        variant: { action: "edited", baseRef: "develop", previousBase: "master" },
        expected: "remove",
      },
      {
        name: "retargeted between two other branches",
        variant: { action: "edited", baseRef: "develop", previousBase: "staging" },
        expected: "ignore",
      },
      {
        name: "a synchronize of a closed pull request",
        variant: { action: "synchronize", state: "closed" },
        expected: "ignore",
      },
    ];
    for (const { name, variant, options, expected } of table) {
      it(`${expected}s ${name}`, () => {
        expect(intentOf(variant, options)).to.equal(expected);
      });
    }

    it("ignores pull requests of another repository, even closed ones", () => {
      const other = { repository: "someone/else", branch: "master" };
      expect(classify(eventOf({}), other, defaults).kind).to.equal("ignore");
      expect(
        classify(eventOf({ action: "closed", state: "closed" }), other, defaults).kind,
      ).to.equal("ignore");
    });

    it("matches the repository without regard to case", () => {
      const upper = { repository: "CODERTOCAT/HELLO-WORLD", branch: "master" };
      expect(classify(eventOf({}), upper, defaults).kind).to.equal("ensure");
    });

    it("carries the pull request's head branch and number", () => {
      const intent = classify(eventOf({ number: 77, headRef: "feature/x" }), source, defaults);
      expect(intent).to.deep.include({ kind: "ensure" });
      if (intent.kind !== "ensure") return;
      expect(intent.pullRequest).to.deep.include({
        number: 77,
        headBranch: "feature/x",
        baseBranch: "master",
      });
    });

    it("says why it ignores, and marks a refused fork so that the reason can go on its commit", () => {
      const event = eventOf({ headRepo: "someone/x" });
      expect(classify(event, source, defaults)).to.deep.equal({
        kind: "ignore",
        reason: "pull request #2 comes from a fork; forks are not built",
        refusedFork: event.pullRequest,
      });
      const draftEvent = eventOf({ draft: true });
      const draft = classify(draftEvent, source, { ...defaults, buildDrafts: false });
      expect(draft).to.deep.equal({
        kind: "ignore",
        reason: "pull request #2 is a draft; waiting for ready_for_review",
        draft: draftEvent.pullRequest,
      });
    });

    it("never builds the base repository's branch for a deleted fork: removes, saying why", () => {
      for (const allowForks of [false, true]) {
        const event = eventOf({ action: "synchronize", headRepo: null });
        expect(classify(event, source, { ...defaults, allowForks })).to.deep.equal({
          kind: "remove",
          pullRequest: event.pullRequest,
          reason:
            "pull request #2: its head repository was deleted, so it can never be built again; its clone, if any, is removed",
        });
      }
    });

    it("builds the source's repository as the source pipeline names it, or the fork's", () => {
      const upper = { repository: "CODERTOCAT/HELLO-WORLD", branch: "master" };
      expect(classify(eventOf({}), upper, defaults)).to.deep.include({
        kind: "ensure",
        headRepository: "CODERTOCAT/HELLO-WORLD",
      });
      expect(
        classify(eventOf({ headRepo: "someone/Hello-World" }), upper, {
          ...defaults,
          allowForks: true,
        }),
      ).to.deep.include({ kind: "ensure", headRepository: "someone/Hello-World" });
    });

    it("ignores a delivery of a renamed repository, saying what to change, never removing", () => {
      const old = { repository: "Codertocat/Old-Name", branch: "master" };
      for (const action of ["opened", "closed"]) {
        const state = action === "closed" ? "closed" : "open";
        expect(classify(eventOf({ action, state }), old, defaults)).to.deep.equal({
          kind: "ignore",
          reason:
            "repository Codertocat/Hello-World is not Codertocat/Old-Name, the source pipeline's; if Codertocat/Old-Name was renamed or transferred to Codertocat/Hello-World, set the stack's branchline:repository to Codertocat/Hello-World and run pulumi up",
        });
      }
    });

    it("reads the base repository's id from the payload", () => {
      expect(eventOf({}).pullRequest.baseRepositoryId).to.equal(186853002);
    });
  });
});

describe("core/classify: labeled and unlabeled", () => {
  for (const action of ["labeled", "unlabeled"]) {
    it(`accepts ${action} with the pull request's label names (GitHub's example payload)`, () => {
      const first = preclassify("pull_request", pullRequestPayload({ action }));
      expect(first.kind).to.equal("pull_request");
      if (first.kind !== "pull_request") return;
      expect(first.event.action).to.equal(action);
      expect(first.event.pullRequest.labels).to.deep.equal(["bug"]);
      const intent = classify(
        first.event,
        { repository: "Codertocat/Hello-World", branch: "master" },
        { allowForks: false, buildDrafts: true },
      );
      expect(intent.kind).to.equal("ensure");
    });
  }

  it("reads labels as names, none as an empty list, and refuses a malformed list", () => {
    const none = pullRequestPayload({ labels: [] });
    expect(parsePullRequestEvent(none).pullRequest.labels).to.deep.equal([]);
    const bad = pullRequestPayload();
    (bad["pull_request"] as Record<string, unknown>)["labels"] = "bug";
    expect(() => parsePullRequestEvent(bad))
      .to.throw(BadRequestError)
      .with.property("message", "pull_request.labels must be a list");
  });
});
