/**
 * The raw webhook request as the handler sees it, and the pure steps that turn it into a payload:
 * header look-up in any case, base64 decoding, and JSON or form-encoded bodies (told apart by the
 * signed bytes, not by a header).
 */
import { BadRequestError } from "./errors.js";

export interface RawRequest {
  headers: Readonly<Record<string, string | undefined>>;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** A header's value, whatever the case of its name. */
export function header(headers: RawRequest["headers"], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/** The exact bytes GitHub signed, as a UTF-8 string. */
export function rawBody(request: RawRequest): string {
  const body = request.body ?? "";
  return request.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
}

/** The largest nesting depth accepted in a payload; GitHub's payloads stay far below it. */
const MAX_DEPTH = 64;

/** True when the first character other than JSON's whitespace is the `{` that opens an object. */
function isJsonObjectText(body: string): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c === 0x7b;
  }
  return false;
}

/**
 * Parses a delivery's body. Its format comes from the signed bytes alone, never from
 * `Content-Type`, which the signature does not cover: a JSON document (first character other than
 * whitespace `{`), or a form body (`application/x-www-form-urlencoded`) whose only field is
 * `payload`, holding the JSON. So a signed JSON delivery whose text happens to contain
 * `&payload=...` (a pull request title can) is read as the JSON it is, whatever header comes with
 * it. Anything else, or JSON that is not an object, is a bad request.
 */
export function parsePayload(body: string): Record<string, unknown> {
  let json: string;
  if (isJsonObjectText(body)) {
    json = body;
  } else {
    const fields = [...new URLSearchParams(body)];
    const only = fields.length === 1 ? fields[0] : undefined;
    if (only?.[0] !== "payload") {
      throw new BadRequestError(
        "the body is neither a JSON object nor a form whose only field is payload",
      );
    }
    json = only[1];
  }
  if (exceedsDepth(json, MAX_DEPTH)) {
    throw new BadRequestError(`payload nests deeper than ${MAX_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new BadRequestError("payload is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new BadRequestError("payload is not a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * True when brackets outside strings nest deeper than `limit` (checked before parsing). Strings are
 * skipped with `indexOf` to their closing quote: the first one not escaped by an odd run of
 * backslashes.
 */
function exceedsDepth(json: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      let end = json.indexOf('"', i + 1);
      while (end !== -1 && escaped(json, end)) end = json.indexOf('"', end + 1);
      // An unterminated string holds the rest: no bracket after it counts (JSON.parse rejects it).
      if (end === -1) return false;
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** True when the character at `index` follows an odd number of backslashes. */
function escaped(text: string, index: number): boolean {
  let backslashes = 0;
  for (let j = index - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) backslashes++;
  return backslashes % 2 === 1;
}
