/**
 * AWS Lambda's Invoke on the AWS double (REST-JSON: `POST /2015-03-31/functions/{name}/invocations`,
 * the invocation type and log type in headers, the event as the raw body). Tests register a function
 * (a JavaScript handler, typically the real handler of one of branchline's functions built around
 * the doubles); an invocation runs it in process and answers as Lambda does: the handler's result as
 * the body, or, when it throws, 200 with `X-Amz-Function-Error: Unhandled` and Lambda's
 * `{errorType, errorMessage, trace}` body. The request's members are read from their HTTP bindings
 * in the official model and validated against it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsError } from "./errors.js";
import type { ServiceModel } from "./model.js";
import { validationMessage, type Validator } from "./validate.js";

/** A registered function: the event in, the result out (thrown: a function error). */
export type LambdaHandler = (event: unknown) => Promise<unknown>;

/** One invocation, as the double recorded it. */
export interface Invocation {
  functionName: string;
  invocationType: string;
  event: unknown;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Whether the request is a Lambda REST-JSON request this module answers. */
export function isLambdaRequest(method: string | undefined, url: string | undefined): boolean {
  return method === "POST" && INVOKE_PATH.test(new URL(url ?? "/", "http://double").pathname);
}

export class LambdaState {
  private readonly functions = new Map<string, LambdaHandler>();
  readonly invocations: Invocation[] = [];

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  /** Registers a function under its name; returns its ARN. */
  register(name: string, handler: LambdaHandler): string {
    this.functions.set(name, handler);
    return this.arn(name);
  }

  reset(): void {
    this.functions.clear();
    this.invocations.length = 0;
  }

  private arn(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  /**
   * The operation's input from the request's HTTP bindings (label, headers, query; the payload is
   * the body), as the model's validator reads it.
   */
  input(model: ServiceModel, request: IncomingMessage): Record<string, unknown> {
    const url = new URL(request.url ?? "/", "http://double");
    const label = INVOKE_PATH.exec(url.pathname)?.[1];
    const shape = model.model.shapes["com.amazonaws.lambda#InvocationRequest"];
    const input: Record<string, unknown> = {};
    for (const [name, member] of Object.entries(shape?.members ?? {})) {
      const traits = member.traits ?? {};
      if ("smithy.api#httpLabel" in traits && label !== undefined) {
        input[name] = decodeURIComponent(label);
      }
      const header = traits["smithy.api#httpHeader"];
      if (typeof header === "string") {
        const value = request.headers[header.toLowerCase()];
        if (typeof value === "string") input[name] = value;
      }
      const query = traits["smithy.api#httpQuery"];
      if (typeof query === "string" && url.searchParams.has(query)) {
        input[name] = url.searchParams.get(query);
      }
    }
    return input;
  }

  /** Invoke: validated, then run. */
  async invoke(
    validator: Validator,
    input: Record<string, unknown>,
    body: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: string } | AwsError> {
    const violations = validator.validateInput("Invoke", input);
    if (violations.length > 0) {
      return new AwsError("ValidationException", validationMessage(violations));
    }
    const requested = String(input["FunctionName"]);
    // A name, a partial ARN (account:function:name) or a full ARN all name the function.
    const name = requested.split(":function:").at(-1)?.split(":")[0] ?? requested;
    const handler = this.functions.get(name);
    if (!handler) {
      return new AwsError(
        "ResourceNotFoundException",
        `Function not found: ${this.arn(name)}`,
        404,
      );
    }
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      return new AwsError(
        "InvalidRequestContentException",
        "Could not parse request body into json",
        400,
      );
    }
    const invocationType = String(input["InvocationType"] ?? "RequestResponse");
    this.invocations.push({ functionName: name, invocationType, event });
    const headers: Record<string, string> = { "x-amz-executed-version": "$LATEST" };
    if (invocationType === "DryRun") return { status: 204, headers, body: "" };
    if (invocationType === "Event") {
      void handler(event).catch(() => undefined);
      return { status: 202, headers, body: "" };
    }
    try {
      const result = await handler(event);
      return { status: 200, headers, body: result === undefined ? "null" : JSON.stringify(result) };
    } catch (error) {
      const thrown = error instanceof Error ? error : new Error(String(error));
      return {
        status: 200,
        headers: { ...headers, "x-amz-function-error": "Unhandled" },
        body: JSON.stringify({
          errorType: thrown.name,
          errorMessage: thrown.message,
          trace: [],
        }),
      };
    }
  }
}

/** Writes a Lambda answer: the invocation's, or a REST-JSON error (`x-amzn-errortype`). */
export function sendLambda(
  response: ServerResponse,
  answer: { status: number; headers: Record<string, string>; body: string } | AwsError,
): number {
  if (answer instanceof AwsError) {
    response.writeHead(answer.status, {
      "content-type": "application/json",
      "x-amzn-errortype": answer.type,
      "x-amzn-requestid": crypto.randomUUID(),
    });
    response.end(JSON.stringify({ Type: "User", message: answer.message }));
    return answer.status;
  }
  response.writeHead(answer.status, {
    "content-type": "application/json",
    "x-amzn-requestid": crypto.randomUUID(),
    ...answer.headers,
  });
  response.end(answer.body);
  return answer.status;
}
