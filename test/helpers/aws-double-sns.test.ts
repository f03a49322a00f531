import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts";

describe("AWS double: SNS Publish (awsQuery)", () => {
  let aws: AwsDouble;
  let client: SNSClient;

  before(async () => {
    aws = await startAwsDouble();
    client = new SNSClient({
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await aws.close();
  });

  beforeEach(() => aws.reset());

  it("records a published message and answers its id", async () => {
    const out = await client.send(
      new PublishCommand({ TopicArn: TOPIC, Subject: "Build done", Message: "line 1\nline 2" }),
    );
    expect(out.MessageId).to.match(/^[0-9a-f-]{36}$/);
    expect(aws.published()).to.deep.equal([
      { topicArn: TOPIC, subject: "Build done", message: "line 1\nline 2" },
    ]);
    expect(aws.calls.map((c) => [c.service, c.operation, c.status])).to.deep.equal([
      ["sns", "Publish", 200],
    ]);
  });

  it("refuses what SNS refuses, as awsQuery errors", async () => {
    const bad = [
      { TopicArn: "not-an-arn", Message: "m" },
      { TopicArn: TOPIC, Message: "" },
      { TopicArn: TOPIC, Message: "m", Subject: "two\nlines" },
      { TopicArn: TOPIC, Message: "m", Subject: "s".repeat(100) },
    ];
    for (const input of bad) {
      const error = await client.send(new PublishCommand(input)).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.name, JSON.stringify(input)).to.equal("InvalidParameterException");
    }
    expect(aws.published()).to.deep.equal([]);
  });

  it("applies injected faults to Publish", async () => {
    aws.inject({ operation: "Publish", error: { status: 403, type: "AuthorizationError" } });
    const error = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).to.equal("AuthorizationErrorException");
    expect(aws.published()).to.deep.equal([]);
    await client.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" }));
    expect(aws.published()).to.have.length(1);
  });
});
