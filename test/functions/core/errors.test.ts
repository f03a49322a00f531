import { expect } from "chai";
import {
  BadRequestError,
  classifyError,
  ConfigurationError,
  ConflictError,
  redact,
  UnauthorizedError,
  type ErrorKind,
} from "../../../functions/core/errors.js";
import { GitHubRateLimitError } from "../../../functions/app/ports.js";

/** An error shaped like the AWS SDK v3's service exceptions. */
function awsError(name: string, status: number, fault: "client" | "server" = "client"): Error {
  return Object.assign(new Error(`${name} message`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
  });
}

describe("core/errors classifyError", () => {
  const cases: [string, unknown, ErrorKind][] = [
    ["UnauthorizedError", new UnauthorizedError("x"), "unauthorized"],
    ["BadRequestError", new BadRequestError("x"), "bad-request"],
    ["ConflictError", new ConflictError("x"), "conflict"],
    ["ConfigurationError", new ConfigurationError("x"), "configuration"],
    ["AccessDeniedException", awsError("AccessDeniedException", 400), "configuration"],
    ["InvalidStructureException", awsError("InvalidStructureException", 400), "configuration"],
    ["ValidationException", awsError("ValidationException", 400), "configuration"],
    ["LimitExceededException (a quota)", awsError("LimitExceededException", 400), "configuration"],
    ["RepositoryNotFoundException", awsError("RepositoryNotFoundException", 400), "configuration"],
    ["ThrottlingException", awsError("ThrottlingException", 400), "transient"],
    ["a 429", awsError("SomethingNew", 429), "transient"],
    ["InternalFailure", awsError("InternalFailure", 500, "server"), "transient"],
    ["an unknown 5xx", awsError("SomethingNew", 502, "server"), "transient"],
    [
      "ConcurrentModificationException",
      awsError("ConcurrentModificationException", 400),
      "transient",
    ],
    [
      "a connection reset",
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
      "transient",
    ],
    ["GitHub's rate limit", new GitHubRateLimitError("x"), "transient"],
    [
      "a plain Error (an adapter's report)",
      new Error("could not delete 2 image tag(s)"),
      "transient",
    ],
    ["TimeoutError", Object.assign(new Error("t"), { name: "TimeoutError" }), "timeout"],
    ["AbortError", Object.assign(new Error("a"), { name: "AbortError" }), "timeout"],
    ["TypeError", new TypeError("x is undefined"), "bug"],
    ["RangeError", new RangeError("x"), "bug"],
    [
      "an AWS client error no branch expects",
      awsError("PipelineVersionNotFoundException", 400),
      "bug",
    ],
    ["a thrown string", "boom", "bug"],
    ["undefined", undefined, "bug"],
  ];
  for (const [label, error, kind] of cases) {
    it(`${label}: ${kind}`, () => {
      expect(classifyError(error)).to.equal(kind);
    });
  }
});

describe("core/errors redact", () => {
  it("takes ARNs and account ids out, and leaves the rest", () => {
    expect(
      redact(
        "User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized on arn:aws-cn:codepipeline:cn-north-1:210987654321:p (account 123456789012), pull request #12",
      ),
    ).to.equal("User: <arn> is not authorized on <arn> (account <account>), pull request #12");
  });
});
