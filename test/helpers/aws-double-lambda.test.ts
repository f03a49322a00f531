/**
 * The AWS double's Lambda Invoke through the real SDK client: the handler's result, a function
 * error, an unknown function, an asynchronous invocation, and a request the model refuses.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";

describe("AWS double: Lambda Invoke", () => {
  let aws: AwsDouble;
  let lambda: LambdaClient;

  before(async () => {
    aws = await startAwsDouble();
    const env = aws.env();
    lambda = new LambdaClient({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 1,
    });
  });
  after(async () => {
    lambda.destroy();
    await aws.close();
  });
  beforeEach(() => aws.reset());

  const invoke = (name: string, event: unknown, type?: "Event" | "RequestResponse") =>
    lambda.send(
      new InvokeCommand({
        FunctionName: name,
        ...(type ? { InvocationType: type } : {}),
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
  const text = (payload: Uint8Array | undefined) => new TextDecoder().decode(payload);

  it("runs the registered handler with the event and answers its result", async () => {
    aws.registerFunction("echo", async (event) => ({ got: event }));
    const answer = await invoke("echo", { a: 1 });
    expect(answer.StatusCode).to.equal(200);
    expect(answer.FunctionError).to.equal(undefined);
    expect(JSON.parse(text(answer.Payload))).to.deep.equal({ got: { a: 1 } });
    expect(aws.invocations).to.deep.equal([
      { functionName: "echo", invocationType: "RequestResponse", event: { a: 1 } },
    ]);
    // A function ARN names it too.
    const byArn = await invoke("arn:aws:lambda:us-east-1:123456789012:function:echo", {});
    expect(byArn.StatusCode).to.equal(200);
  });

  it("a handler that throws: 200 with X-Amz-Function-Error and Lambda's error body", async () => {
    aws.registerFunction("boom", async () => {
      throw new RangeError("too far");
    });
    const answer = await invoke("boom", {});
    expect(answer.StatusCode).to.equal(200);
    expect(answer.FunctionError).to.equal("Unhandled");
    expect(JSON.parse(text(answer.Payload))).to.deep.equal({
      errorType: "RangeError",
      errorMessage: "too far",
      trace: [],
    });
  });

  it("an asynchronous invocation is accepted with 202", async () => {
    let ran = false;
    aws.registerFunction("later", async () => {
      ran = true;
    });
    const answer = await invoke("later", {}, "Event");
    expect(answer.StatusCode).to.equal(202);
    expect(ran).to.equal(true);
  });

  it("an unknown function is ResourceNotFoundException; a name the model refuses is ValidationException", async () => {
    const missing = await invoke("nothing", {}).catch((error: unknown) => error);
    expect(missing).to.be.instanceOf(Error);
    expect((missing as Error).name).to.equal("ResourceNotFoundException");
    expect((missing as Error).message).to.equal(
      "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nothing",
    );
    const invalid = await invoke("x".repeat(200), {}).catch((error: unknown) => error);
    expect((invalid as Error).name).to.equal("ValidationException");
    expect((invalid as Error).message).to.match(/FunctionName/);
  });
});
