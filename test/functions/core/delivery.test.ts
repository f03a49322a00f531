import { createHash } from "node:crypto";
import { expect } from "chai";
import { parsePullRequestEvent, type PullRequestEvent } from "../../../functions/core/classify.js";
import {
  bodyDigest,
  decodeDelivery,
  deliveryDeduplicationId,
  deliveryGroupId,
  DeliveryFormatError,
  encodeDelivery,
  FIFO_ID_MAX_LENGTH,
  type QueuedDelivery,
} from "../../../functions/core/delivery.js";
import { pullRequestPayload, type PullRequestVariant } from "../../helpers/github-events.js";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
/** SQS's MessageGroupId and MessageDeduplicationId: 1-128 letters, digits and punctuation. */
const SQS_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

function eventOf(variant: PullRequestVariant = {}): PullRequestEvent {
  return parsePullRequestEvent(pullRequestPayload(variant));
}

function delivery(event = eventOf()): QueuedDelivery {
  return {
    version: 1,
    deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    event: "pull_request",
    receivedAt: "2026-01-02T03:04:05.678Z",
    pullRequestEvent: event,
  };
}

/** The encoded delivery with `change` applied to its parsed JSON. */
function changed(change: (json: Record<string, unknown>) => void): string {
  const json = JSON.parse(encodeDelivery(delivery())) as Record<string, unknown>;
  change(json);
  return JSON.stringify(json);
}

const pullRequestOf = (json: Record<string, unknown>) =>
  (json["pullRequestEvent"] as { pullRequest: Record<string, unknown> }).pullRequest;

describe("core/delivery (the queue message)", () => {
  it("decodes what it encodes, for every shape of pull request event", () => {
    const events = [
      eventOf(),
      eventOf({ action: "closed", state: "closed", merged: true }),
      eventOf({ headRepo: null }),
      eventOf({ action: "edited", previousBase: "develop" }),
      eventOf({ draft: true, headRepo: "someone/Hello-World" }),
    ];
    for (const event of events) {
      const message = delivery(event);
      expect(decodeDelivery(encodeDelivery(message))).to.deep.equal(message);
    }
    const dead = { ...delivery(), reason: "source pipeline shop-broken does not exist" };
    expect(decodeDelivery(encodeDelivery(dead))).to.deep.equal(dead);
  });

  it("keeps a message small: the normalised event, not GitHub's payload", () => {
    const payload = JSON.stringify(pullRequestPayload());
    const body = encodeDelivery(delivery());
    expect(body.length).to.be.below(payload.length / 10);
    expect(body.length).to.be.below(1024);
  });

  it("groups a pull request's deliveries by lower-case repository and number", () => {
    const event = eventOf({ number: 42 });
    expect(deliveryGroupId(event)).to.equal("codertocat/hello-world#42");
    const renamedCase: PullRequestEvent = {
      ...event,
      pullRequest: { ...event.pullRequest, baseRepository: "CODERTOCAT/Hello-World" },
    };
    expect(deliveryGroupId(renamedCase)).to.equal(deliveryGroupId(event));
    expect(deliveryGroupId(eventOf({ number: 43 }))).not.to.equal(deliveryGroupId(event));
  });

  it("hashes a group id SQS would refuse: too long, or characters outside its set", () => {
    const event = eventOf({ number: 4_294_967_295 });
    const long = `${"o".repeat(39)}/${"n".repeat(100)}`;
    const longEvent = { ...event, pullRequest: { ...event.pullRequest, baseRepository: long } };
    const plain = `${long}#4294967295`;
    expect(plain.length).to.be.above(FIFO_ID_MAX_LENGTH);
    expect(deliveryGroupId(longEvent)).to.equal(`sha256:${sha256(plain)}`);
    expect(deliveryGroupId(longEvent)).to.match(SQS_ID);
    const odd = { ...event, pullRequest: { ...event.pullRequest, baseRepository: "ö/ü" } };
    expect(deliveryGroupId(odd)).to.equal(`sha256:${sha256("ö/ü#4294967295")}`);
    expect(deliveryGroupId(odd)).to.match(SQS_ID);
  });

  it("deduplicates by GitHub's delivery id, hashed only when SQS would refuse it", () => {
    expect(deliveryDeduplicationId("72d3162e-cc78-11e3-81ab-4c9367dc0958")).to.equal(
      "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    );
    const long = "d".repeat(129);
    expect(deliveryDeduplicationId(long)).to.equal(`sha256:${sha256(long)}`);
    expect(deliveryDeduplicationId("with space")).to.equal(`sha256:${sha256("with space")}`);
    expect(bodyDigest('{"a":1}')).to.equal(`sha256:${sha256('{"a":1}')}`);
    expect(deliveryDeduplicationId(bodyDigest('{"a":1}'))).to.equal(bodyDigest('{"a":1}'));
  });

  describe("refuses, naming the problem, a body that is no version-1 delivery", () => {
    const cases: [string, string, string][] = [
      ["not JSON", "{", "the message body is not JSON"],
      ["not an object", "[1]", "the message body must be a JSON object"],
      ["another version", changed((j) => (j["version"] = 2)), "version must be 1, got 2"],
      ["no version", changed((j) => delete j["version"]), "version must be 1, got nothing"],
      [
        "no delivery id",
        changed((j) => delete j["deliveryId"]),
        "deliveryId must be a non-empty string",
      ],
      [
        "a bad receivedAt",
        changed((j) => (j["receivedAt"] = "yesterday")),
        "receivedAt must be an ISO-8601 timestamp, got yesterday",
      ],
      [
        "no event",
        changed((j) => delete j["pullRequestEvent"]),
        "pullRequestEvent must be a JSON object",
      ],
      [
        "a bad number",
        changed((j) => (pullRequestOf(j)["number"] = 0)),
        "pullRequestEvent.pullRequest.number must be a positive integer",
      ],
      [
        "a bad state",
        changed((j) => (pullRequestOf(j)["state"] = "merged")),
        "pullRequestEvent.pullRequest.state must be open or closed, got merged",
      ],
      [
        "a draft that is no boolean",
        changed((j) => (pullRequestOf(j)["draft"] = "yes")),
        "pullRequestEvent.pullRequest.draft must be true or false",
      ],
      [
        "no base repository",
        changed((j) => delete pullRequestOf(j)["baseRepository"]),
        "pullRequestEvent.pullRequest.baseRepository must be a non-empty string",
      ],
      [
        "an updatedAt not normalised",
        changed((j) => (pullRequestOf(j)["updatedAt"] = "2026-01-02T03:04:05Z")),
        "pullRequestEvent.pullRequest.updatedAt must be a normalised timestamp",
      ],
      [
        "a reason that is no string",
        changed((j) => (j["reason"] = 5)),
        "reason must be a non-empty string",
      ],
    ];
    for (const [name, body, message] of cases) {
      it(name, () => {
        expect(() => decodeDelivery(body))
          .to.throw(DeliveryFormatError)
          .with.property("message", message);
      });
    }
  });
});

describe("core/delivery: pull request labels", () => {
  it("carries the labels of the payload through encode and decode", () => {
    const queued = delivery(eventOf({ action: "labeled", labels: ["branchline:skip", "bug"] }));
    expect(queued.pullRequestEvent.pullRequest.labels).to.deep.equal(["branchline:skip", "bug"]);
    expect(decodeDelivery(encodeDelivery(queued))).to.deep.equal(queued);
  });

  it("decodes a version-1 message queued before labels were carried: labels unknown", () => {
    const queued = delivery();
    const old = JSON.parse(encodeDelivery(queued)) as {
      pullRequestEvent: { pullRequest: Record<string, unknown> };
    };
    delete old.pullRequestEvent.pullRequest["labels"];
    const decoded = decodeDelivery(JSON.stringify(old));
    expect(decoded.pullRequestEvent.pullRequest).to.not.have.property("labels");
    expect(decoded.pullRequestEvent.pullRequest.number).to.equal(2);
  });

  it("refuses labels that are not a list of strings", () => {
    const old = JSON.parse(encodeDelivery(delivery())) as {
      pullRequestEvent: { pullRequest: Record<string, unknown> };
    };
    old.pullRequestEvent.pullRequest["labels"] = [{ name: "bug" }];
    expect(() => decodeDelivery(JSON.stringify(old)))
      .to.throw(DeliveryFormatError)
      .with.property("message", "pullRequestEvent.pullRequest.labels must be a list of strings");
  });
});
