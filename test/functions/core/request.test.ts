import { expect } from "chai";
import { BadRequestError } from "../../../functions/core/errors.js";
import { header, parsePayload, rawBody } from "../../../functions/core/request.js";

describe("core/request", () => {
  it("finds headers whatever the case of their names", () => {
    const headers = { "X-Hub-Signature-256": "sha256=1", "x-github-event": "ping" };
    expect(header(headers, "x-hub-signature-256")).to.equal("sha256=1");
    expect(header(headers, "X-GitHub-Event")).to.equal("ping");
    expect(header(headers, "x-github-delivery")).to.equal(undefined);
  });

  it("decodes base64 bodies to the exact text GitHub signed", () => {
    const text = '{"zen":"Keep it logically awesome. ✓"}';
    expect(
      rawBody({ headers: {}, body: Buffer.from(text).toString("base64"), isBase64Encoded: true }),
    ).to.equal(text);
    expect(rawBody({ headers: {}, body: text })).to.equal(text);
    expect(rawBody({ headers: {}, body: null })).to.equal("");
  });

  it("parses JSON documents and forms whose only field is payload", () => {
    expect(parsePayload('{"a":1}')).to.deep.equal({ a: 1 });
    expect(parsePayload(' \t\r\n{"a":1}')).to.deep.equal({ a: 1 });
    const form = new URLSearchParams({ payload: '{"a":"x&y=z"}' }).toString();
    expect(parsePayload(form)).to.deep.equal({ a: "x&y=z" });
  });

  it("reads a JSON document as JSON even when its text contains &payload=", () => {
    const inner = encodeURIComponent(JSON.stringify({ action: "closed" }));
    const body = JSON.stringify({ action: "opened", title: `x&payload=${inner}&y=` });
    expect(parsePayload(body)).to.deep.equal({
      action: "opened",
      title: `x&payload=${inner}&y=`,
    });
  });

  const bad: [string, RegExp][] = [
    ["{", /not valid JSON/],
    ["[1,2]", /neither a JSON object nor a form/],
    ["null", /neither a JSON object nor a form/],
    ["", /neither a JSON object nor a form/],
    ["   ", /neither a JSON object nor a form/],
    ["a=1", /neither a JSON object nor a form/],
    ["payload=%7B%7D&payload=%7B%7D", /neither a JSON object nor a form/],
    ["payload=%7B%7D&x=1", /neither a JSON object nor a form/],
    ["x=1&payload=%7B%7D", /neither a JSON object nor a form/],
    ["payload=%5B1%5D", /not a JSON object/],
    ["payload=null", /not a JSON object/],
    ["{" + "[".repeat(65) + "]".repeat(65) + "}", /nests deeper/],
  ];
  for (const [body, message] of bad) {
    it(`refuses ${JSON.stringify(body.slice(0, 30))}`, () => {
      expect(() => parsePayload(body)).to.throw(BadRequestError, message);
    });
  }

  it("does not count brackets inside strings as nesting", () => {
    const body = JSON.stringify({ text: "[".repeat(200) });
    expect(parsePayload(body)).to.deep.equal({ text: "[".repeat(200) });
  });
});
