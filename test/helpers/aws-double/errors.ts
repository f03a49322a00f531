/**
 * An AWS JSON error answer: HTTP status plus `{"__type": type, "message": message}` and, when set,
 * the error shape's other members (`extra`).
 */
export class AwsError extends Error {
  extra?: Record<string, unknown>;

  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** Errors any operation may answer with, whether or not the model lists them. */
export const COMMON_ERRORS = new Set([
  "ValidationException",
  "SerializationException",
  "ThrottlingException",
  "InternalFailure",
  "ServiceUnavailable",
  "UnknownOperationException",
  "AccessDeniedException",
  "UnrecognizedClientException",
]);

/** Opaque pagination tokens: the offset into a sorted listing, tied to the listing's name. */
export function encodeToken(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: scope, o: offset })).toString("base64");
}

export function decodeToken(scope: string, token: unknown, errorType: string): number {
  if (token === undefined || token === null) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), "base64").toString("utf8")) as {
      s?: unknown;
      o?: unknown;
    };
    if (parsed.s === scope && typeof parsed.o === "number" && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through to the error below
  }
  throw new AwsError(errorType, "The next token is not valid.");
}

/** One page of `items` starting at the token's offset. */
export function page<T>(
  items: T[],
  scope: string,
  token: unknown,
  maxResults: unknown,
  defaultSize: number,
  errorType: string,
): { items: T[]; nextToken?: string } {
  const start = decodeToken(scope, token, errorType);
  const size = typeof maxResults === "number" ? maxResults : defaultSize;
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  return end < items.length
    ? { items: slice, nextToken: encodeToken(scope, end) }
    : { items: slice };
}
