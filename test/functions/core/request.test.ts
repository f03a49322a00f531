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

  it("parses JSON and form-encoded deliveries", () => {
    expect(parsePayload('{"a":1}', "application/json")).to.deep.equal({ a: 1 });
    expect(parsePayload('{"a":1}', "application/json; charset=utf-8")).to.deep.equal({ a: 1 });
    expect(parsePayload('{"a":1}', undefined)).to.deep.equal({ a: 1 });
    const form = new URLSearchParams({ payload: '{"a":"x&y=z"}' }).toString();
    expect(parsePayload(form, "application/x-www-form-urlencoded")).to.deep.equal({ a: "x&y=z" });
  });

  const bad: [string, string | undefined, RegExp][] = [
    ["{", "application/json", /not valid JSON/],
    ["[1,2]", "application/json", /not a JSON object/],
    ["null", "application/json", /not a JSON object/],
    ["", "application/json", /not valid JSON/],
    ["a=1", "application/x-www-form-urlencoded", /no payload field/],
    ["{}", "text/plain", /unsupported content type/],
    ["[".repeat(65) + "]".repeat(65), "application/json", /nests deeper/],
  ];
  for (const [body, type, message] of bad) {
    it(`refuses ${JSON.stringify(body.slice(0, 12))} as ${type}`, () => {
      expect(() => parsePayload(body, type)).to.throw(BadRequestError, message);
    });
  }

  it("does not count brackets inside strings as nesting", () => {
    const body = JSON.stringify({ text: "[".repeat(200) });
    expect(parsePayload(body, "application/json")).to.deep.equal({ text: "[".repeat(200) });
  });
});
