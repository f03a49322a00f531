/**
 * SQS requests over raw HTTP, shaped as @aws-sdk/client-sqs sends them (JSON 1.0: `POST /`,
 * `X-Amz-Target: AmazonSQS.<Op>`, `application/x-amz-json-1.0`, `x-amzn-query-mode: true`), for
 * tests that must send what the client itself would refuse to (missing members, bad values). The
 * sqs-poller driver uses them too; test/helpers/aws-double-sqs.test.ts also drives the real client.
 */
export interface SqsAnswer {
  status: number;
  /** The JSON body; for an error `__type` (namespace#Name) and `message`. */
  body: Record<string, unknown>;
}

export async function sqsRequest(
  endpoint: string,
  operation: string,
  input: Record<string, unknown>,
): Promise<SqsAnswer> {
  const response = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `AmazonSQS.${operation}`,
      "x-amzn-query-mode": "true",
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** Like `sqsRequest`, but an error answer is thrown as an Error naming its type. */
export async function sqsCall(
  endpoint: string,
  operation: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const answer = await sqsRequest(endpoint, operation, input);
  if (answer.status !== 200) {
    const type =
      String(answer.body.__type ?? "")
        .split("#")
        .pop() ?? "";
    const error = new Error(`${operation}: ${type}: ${String(answer.body.message)}`);
    error.name = type;
    throw error;
  }
  return answer.body;
}
