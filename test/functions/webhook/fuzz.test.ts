/**
 * Property-based tests of the webhook boundary: the real handler, the real SDK clients and the local
 * AWS double, fed random bodies, header sets and signatures. Whatever arrives, the answer is never a
 * 5xx, nothing escapes the handler, and no AWS call is made before the signature checks out.
 */
import { createHmac } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { createHandler, type WebhookEvent } from "../../../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../../../functions/webhook/deps.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { pullRequestPayload, sign } from "../../helpers/github-events.js";
import { useWireDoubles } from "../../helpers/wire.js";

const SECRET = "It's a Secret to Everybody";
const SOURCE = "hello-world";
const REPOSITORY = "hello-world";
/** GitHub caps webhook payloads at 25 MB. */
const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;

/** Statuses a delivery may get whatever it carries; a 5xx would mean we failed, not the sender. */
const CLIENT_STATUSES = [200, 202, 400, 401];

type Headers = Record<string, string | undefined>;

/** A body as the handler receives it: text, or bytes that API Gateway passes on base64-encoded. */
interface Body {
  text: string;
  /** The exact bytes on the wire (what GitHub signs). */
  bytes: Buffer;
  base64: boolean;
}

const textBody = (text: string): Body => ({
  text,
  bytes: Buffer.from(text, "utf8"),
  base64: false,
});
const bytesBody = (bytes: Uint8Array): Body => {
  const buffer = Buffer.from(bytes);
  return { text: buffer.toString("base64"), bytes: buffer, base64: true };
};

const nested = (depth: number, open: string, close: string, inner = "1"): string =>
  open.repeat(depth) + inner + close.repeat(depth);

/** Strings made of any UTF-16 code unit, lone surrogates included. */
const anyUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 200,
});

/** Byte sequences that are not valid UTF-8 (a stray continuation byte, a truncated sequence, ...). */
const invalidUtf8 = fc
  .tuple(
    fc.uint8Array({ maxLength: 64 }),
    fc.constantFrom([0x80], [0xc3], [0xe2, 0x82], [0xff, 0xfe], [0xed, 0xa0, 0x80], [0xf8]),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([before, bad, after]) => Uint8Array.from([...before, ...bad, ...after]));

const randomBody: fc.Arbitrary<Body> = fc.oneof(
  fc.string({ maxLength: 300 }).map(textBody),
  anyUnits.map(textBody),
  fc.jsonValue({ maxDepth: 4 }).map((value) => textBody(JSON.stringify(value) ?? "null")),
  fc
    .record({ action: fc.string(), pull_request: fc.jsonValue({ maxDepth: 3 }) })
    .map((value) => textBody(JSON.stringify(value))),
  fc.constantFrom("", "{}", "[]", "null", "{", '{"a":', "payload=%7B%7D").map(textBody),
  fc
    .tuple(fc.integer({ min: 60, max: 10_000 }), fc.constantFrom(["[", "]"], ['{"a":', "}"]))
    .map(([depth, [open = "[", close = "]"]]) => textBody(nested(depth, open, close))),
  fc.uint8Array({ maxLength: 200 }).map(bytesBody),
  invalidUtf8.map(bytesBody),
);

const contentType = fc.option(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
    ";",
  ),
  { nil: undefined },
);

const eventName = fc.option(
  fc.oneof(
    fc.constantFrom("pull_request", "ping", "push", "PULL_REQUEST", ""),
    fc.string({ maxLength: 20 }),
  ),
  { nil: undefined },
);

/** Signature header values that are never right for the body. */
const wrongSignature = fc.oneof(
  fc.constant(undefined),
  fc.constant(""),
  fc.string({ maxLength: 80 }),
  fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256=${hex}`),
  fc.stringMatching(/^[0-9a-f]{40}$/).map((hex) => `sha1=${hex}`),
  fc.stringMatching(/^[0-9A-F]{64}$/).map((hex) => `SHA256=${hex}`),
);

/** Each name spelled as GitHub does, lower-cased as API Gateway does, or in random case. */
function spelled(name: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(name),
    fc.constant(name.toLowerCase()),
    fc
      .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
      .map((upper) =>
        [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""),
      ),
  );
}

/** A header set built around the given signature values (in order: the first one wins). */
function headerSet(signatures: fc.Arbitrary<(string | undefined)[]>): fc.Arbitrary<Headers> {
  return fc
    .record({
      signatures,
      signatureNames: fc.array(spelled("X-Hub-Signature-256"), { minLength: 2, maxLength: 2 }),
      sha1: fc.option(fc.stringMatching(/^sha1=[0-9a-f]{40}$/), { nil: undefined }),
      event: eventName,
      eventHeader: spelled("X-GitHub-Event"),
      contentType,
      contentTypeHeader: spelled("Content-Type"),
      delivery: fc.option(fc.uuid(), { nil: undefined }),
      extra: fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), {
        maxKeys: 3,
      }),
    })
    .map((h) => {
      const headers: Headers = { ...h.extra };
      h.signatures.forEach((value, i) => {
        // Distinct spellings of one name; a duplicate spelling would overwrite the first value.
        const name =
          i === 0 ? (h.signatureNames[0] ?? "X-Hub-Signature-256") : "x-HUB-signature-256";
        if (value !== undefined) headers[name] = value;
      });
      if (h.sha1 !== undefined) headers["X-Hub-Signature"] = h.sha1;
      if (h.event !== undefined) headers[h.eventHeader] = h.event;
      if (h.contentType !== undefined) headers[h.contentTypeHeader] = h.contentType;
      if (h.delivery !== undefined) headers["X-GitHub-Delivery"] = h.delivery;
      return headers;
    });
}

function hmac(bytes: Buffer): string {
  return `sha256=${createHmac("sha256", SECRET).update(bytes).digest("hex")}`;
}

describe("webhook boundary (property-based)", function () {
  this.timeout(60_000);
  const wire = useWireDoubles({ github: false, seed: false });
  let handler: ReturnType<typeof createHandler>;

  beforeEach(() => {
    handler = createHandler(
      defaultWebhookDeps(
        { SOURCE_PIPELINE_NAME: SOURCE, ECR_REPOSITORY_NAME: REPOSITORY, WEBHOOK_SECRET: SECRET },
        { logger: wire.logger },
      ),
    );
    fresh();
  });

  function fresh(source: Fixture = "v1-ecs"): void {
    wire.aws.reset();
    wire.aws.seedPipeline({ ...pipelineFixture(source), name: SOURCE });
    wire.aws.createRepository(REPOSITORY);
  }

  /** Delivers the event; a rejection (an exception escaping the handler) fails the property. */
  async function deliver(event: WebhookEvent): Promise<{ status: number; body: unknown }> {
    const response = await handler(event);
    expect(response.statusCode).to.be.a("number");
    return { status: response.statusCode, body: JSON.parse(response.body) as unknown };
  }

  function eventOf(body: Body, headers: Headers): WebhookEvent {
    return {
      headers: headers as WebhookEvent["headers"],
      body: body.text,
      isBase64Encoded: body.base64,
    };
  }

  it("refuses anything without a valid signature with 401 and no AWS call", async () => {
    await fc.assert(
      fc.asyncProperty(
        randomBody,
        headerSet(fc.array(wrongSignature, { minLength: 1, maxLength: 2 })),
        async (body, headers) => {
          wire.aws.calls.length = 0;
          const answer = await deliver(eventOf(body, headers));
          expect(answer.status, JSON.stringify(answer.body)).to.equal(401);
          expect(wire.aws.calls).to.deep.equal([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers a signed random body with 2xx or 400, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(randomBody, headerSet(fc.constant([undefined])), async (body, headers) => {
        fresh();
        headers["X-Hub-Signature-256"] = hmac(body.bytes);
        const answer = await deliver(eventOf(body, headers));
        expect(CLIENT_STATUSES, JSON.stringify(answer.body)).to.include(answer.status);
        if (answer.status === 401) {
          // Only an empty body, or bytes that are not UTF-8 text, can fail a correct signature.
          const utf8 = body.bytes.equals(Buffer.from(body.bytes.toString("utf8"), "utf8"));
          expect(body.bytes.length === 0 || !utf8).to.equal(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("answers signed mutations of a real pull_request payload without a 5xx", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        pullRequestMutation(),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom<Fixture>("v1-ecs", "v2-triggers"),
        async (payload, form, base64, source) => {
          fresh(source);
          const json = JSON.stringify(payload);
          const text = form ? new URLSearchParams({ payload: json }).toString() : json;
          const headers: Headers = {
            "X-GitHub-Event": "pull_request",
            "Content-Type": form ? "application/x-www-form-urlencoded" : "application/json",
            "X-Hub-Signature-256": sign(SECRET, text),
          };
          const body = base64 ? bytesBody(Buffer.from(text, "utf8")) : textBody(text);
          const answer = await deliver(eventOf(body, headers));
          expect([200, 202, 400], JSON.stringify(answer.body)).to.include(answer.status);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          // Whatever was asked, a pipeline we did not make is never touched.
          expect(wire.aws.pipeline(SOURCE)?.version).to.equal(pipelineFixture(source).version ?? 1);
        },
      ),
      { numRuns: 300 },
    );
    // Most mutations break the payload, but a good share must get as far as AWS.
    expect(statuses.get(200) ?? 0).to.be.greaterThan(0);
  });

  it("answers every odd value in every member branchline reads without a 5xx", async () => {
    const failures: string[] = [];
    for (const [action, source] of [
      ["opened", "v1-ecs"],
      ["closed", "v1-ecs"],
      ["synchronize", "v2-triggers"],
    ] as const) {
      for (const path of PATHS) {
        for (const value of ODD_VALUES) {
          fresh(source);
          const payload = pullRequestPayload({
            action,
            ...(action === "closed" ? { state: "closed" as const } : {}),
          });
          applyMutation(payload, { path, op: "set", value });
          const json = JSON.stringify(payload);
          const answer = await deliver(
            eventOf(textBody(json), {
              "X-GitHub-Event": "pull_request",
              "X-Hub-Signature-256": sign(SECRET, json),
            }),
          );
          if (![200, 202, 400].includes(answer.status)) {
            failures.push(
              `${source} ` +
                `${action} ${path.join(".")}=${JSON.stringify(value).slice(0, 40)}: ${answer.status} ${JSON.stringify(answer.body)}`,
            );
          }
        }
      }
    }
    expect(failures).to.deep.equal([]);
  });

  describe("extreme bodies", () => {
    const pullRequest = () => pullRequestPayload({ action: "opened" });

    /** A signed pull_request delivery padded with a filler field to `size` bytes. */
    function padded(size: number): string {
      const payload = pullRequest();
      const base = JSON.stringify({ ...payload, filler: "" }).length;
      return JSON.stringify({ ...payload, filler: "x".repeat(size - base) });
    }

    it("handles a 25 MB signed payload, plain and base64-encoded", async () => {
      const text = padded(MAX_PAYLOAD_BYTES);
      expect(Buffer.byteLength(text)).to.equal(MAX_PAYLOAD_BYTES);
      for (const base64 of [false, true]) {
        fresh();
        const body = base64 ? bytesBody(Buffer.from(text, "utf8")) : textBody(text);
        const answer = await deliver(
          eventOf(body, {
            "x-github-event": "pull_request",
            "content-type": "application/json",
            "x-hub-signature-256": sign(SECRET, text),
          }),
        );
        expect(answer).to.deep.include({ status: 200 });
        expect(wire.aws.pipeline(`${SOURCE}-pr-2`)).not.to.equal(undefined);
      }
    });

    it("refuses a 25 MB unsigned or wrongly signed payload with no AWS call", async () => {
      const text = padded(MAX_PAYLOAD_BYTES);
      wire.aws.calls.length = 0;
      for (const signature of [undefined, sign("another secret", text)]) {
        const headers: Headers = { "X-GitHub-Event": "pull_request" };
        if (signature) headers["X-Hub-Signature-256"] = signature;
        expect((await deliver(eventOf(textBody(text), headers))).status).to.equal(401);
      }
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("answers 400 to signed JSON nested 10,000 and 1,000,000 levels deep", async () => {
      for (const text of [
        nested(10_000, "[", "]"),
        nested(10_000, '{"a":', "}"),
        `{"action":"opened","pull_request":${nested(1_000_000, "[", "]")}}`,
      ]) {
        const answer = await deliver(
          eventOf(textBody(text), {
            "X-GitHub-Event": "pull_request",
            "X-Hub-Signature-256": sign(SECRET, text),
          }),
        );
        expect(answer.status).to.equal(400);
      }
      expect(wire.aws.calls).to.deep.equal([]);
    });

    it("ignores a head branch longer than CodePipeline takes (255 characters) with 202", async () => {
      for (const source of ["v1-ecs", "v2-triggers"] as const) {
        for (const [length, status] of [
          [255, 200],
          [256, 202],
          [2000, 202],
        ] as const) {
          fresh(source);
          const json = JSON.stringify(pullRequestPayload({ headRef: "b".repeat(length) }));
          const answer = await deliver(
            eventOf(textBody(json), {
              "X-GitHub-Event": "pull_request",
              "X-Hub-Signature-256": sign(SECRET, json),
            }),
          );
          expect(answer.status, `${source} ${length}`).to.equal(status);
          expect(wire.aws.pipeline(`${SOURCE}-pr-2`) !== undefined).to.equal(status === 200);
        }
      }
    });

    it("answers a delivery with no headers or no body", async () => {
      const bare = { body: "{}" } as unknown as WebhookEvent;
      expect((await deliver(bare)).status).to.equal(401);
      const empty = {
        headers: { "X-Hub-Signature-256": sign(SECRET, "") },
      } as unknown as WebhookEvent;
      expect((await deliver(empty)).status).to.equal(401);
      expect(wire.aws.calls).to.deep.equal([]);
    });
  });
});

type Json = unknown;
type Fixture = "v1-ecs" | "v2-triggers";

/** The members of a pull_request payload branchline reads, and their parents. */
const PATHS: string[][] = [
  ["action"],
  ["pull_request"],
  ["pull_request", "number"],
  ["pull_request", "state"],
  ["pull_request", "draft"],
  ["pull_request", "merged"],
  ["pull_request", "head"],
  ["pull_request", "head", "ref"],
  ["pull_request", "head", "sha"],
  ["pull_request", "head", "repo"],
  ["pull_request", "head", "repo", "full_name"],
  ["pull_request", "base"],
  ["pull_request", "base", "ref"],
  ["pull_request", "base", "repo"],
  ["pull_request", "base", "repo", "full_name"],
  ["changes"],
  ["changes", "base", "ref", "from"],
];

/** Values that are wrong in type, odd in content, or right but surprising. */
const ODD_VALUES: Json[] = [
  "",
  " ",
  "master",
  "develop",
  "Codertocat/Hello-World",
  "codertocat/hello-world",
  "someone/else",
  "a/b/c",
  "/",
  "open",
  "closed",
  "opened",
  "closed",
  "edited",
  0,
  -1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  1e308,
  true,
  null,
  [],
  {},
  "x".repeat(300),
  "y".repeat(2000),
  "feature/ünïcödé-🚀",
  "with space",
  "line\nbreak",
  "a\u0000b",
];

const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(...ODD_VALUES),
  anyUnits,
);

type Mutation = { path: string[]; op: "delete" } | { path: string[]; op: "set"; value: Json };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    arbitrary: fc.record({ path: fc.constantFrom(...PATHS), op: fc.constant("delete" as const) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      path: fc.constantFrom(...PATHS),
      op: fc.constant("set" as const),
      value: oddValue,
    }),
    weight: 3,
  },
);

function applyMutation(root: Record<string, Json>, m: Mutation): void {
  let parent: Json = root;
  for (const key of m.path.slice(0, -1)) {
    if (parent === null || typeof parent !== "object") return;
    const record = parent as Record<string, Json>;
    if (record[key] === undefined) record[key] = {};
    parent = record[key];
  }
  if (parent === null || typeof parent !== "object") return;
  const last = m.path[m.path.length - 1] ?? "";
  if (m.op === "delete") Reflect.deleteProperty(parent, last);
  else (parent as Record<string, Json>)[last] = structuredClone(m.value);
}

/** A real example payload for a relevant action, with a few fields dropped or altered. */
function pullRequestMutation(): fc.Arbitrary<Record<string, Json>> {
  return fc
    .record({
      action: fc.constantFrom(
        "opened",
        "reopened",
        "synchronize",
        "closed",
        "edited",
        "ready_for_review",
      ),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
    })
    .map(({ action, mutations }) => {
      const payload = pullRequestPayload({
        action,
        ...(action === "closed" ? { state: "closed" as const } : {}),
        ...(action === "edited" ? { previousBase: "develop" } : {}),
      });
      for (const m of mutations) applyMutation(payload, m);
      return payload;
    });
}
