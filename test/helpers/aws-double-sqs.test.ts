import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { expect } from "chai";
import { fastRetryStrategy, startAwsDouble, type AwsDouble } from "./aws-double/index.js";
import { sqsCall, sqsRequest } from "./sqs-wire.js";

// Most requests here are shaped as @aws-sdk/client-sqs sends them (JSON 1.0 headers and body, see
// sqs-wire.ts), so that a test can send what the client would refuse to; the last test drives the
// real client over HTTP.
describe("AWS double: SQS (JSON 1.0)", () => {
  let aws: AwsDouble;
  const call = (op: string, input: Record<string, unknown>) => sqsCall(aws.url, op, input);
  const md5 = (s: string) => createHash("md5").update(s).digest("hex");

  before(async () => {
    aws = await startAwsDouble({ now: () => 1_800_000_000_000 });
  });
  after(async () => {
    await aws.close();
  });
  beforeEach(() => aws.reset());

  async function fifo(name = "ingest.fifo", extra: Record<string, string> = {}): Promise<string> {
    const answer = await call("CreateQueue", {
      QueueName: name,
      Attributes: { FifoQueue: "true", VisibilityTimeout: "60", ...extra },
    });
    return answer.QueueUrl as string;
  }
  const send = (url: string, body: string, group?: string, dedup?: string) =>
    call("SendMessage", {
      QueueUrl: url,
      MessageBody: body,
      ...(group ? { MessageGroupId: group } : {}),
      ...(dedup ? { MessageDeduplicationId: dedup } : {}),
    });
  const receive = async (url: string, max = 10, extra: Record<string, unknown> = {}) =>
    ((
      await call("ReceiveMessage", {
        QueueUrl: url,
        MaxNumberOfMessages: max,
        MessageSystemAttributeNames: ["All"],
        ...extra,
      })
    ).Messages ?? []) as {
      MessageId: string;
      ReceiptHandle: string;
      Body: string;
      MD5OfBody: string;
      Attributes: Record<string, string>;
    }[];

  it("answers SendMessage with the real MD5 of the body and the JSON 1.0 content type", async () => {
    const url = await fifo();
    const answer = await sqsRequest(aws.url, "SendMessage", {
      QueueUrl: url,
      MessageBody: "héllo",
      MessageGroupId: "pr-1",
      MessageDeduplicationId: "d1",
    });
    expect(answer.status).to.equal(200);
    expect(answer.body.MD5OfMessageBody).to.equal(md5("héllo"));
    expect(answer.body.SequenceNumber).to.be.a("string");
    const [message] = await receive(url);
    expect(message?.Body).to.equal("héllo");
    expect(message?.MD5OfBody).to.equal(md5("héllo"));
    expect(message?.Attributes.MessageGroupId).to.equal("pr-1");
  });

  it("delivers a FIFO group in order, one batch in flight at a time, while other groups proceed", async () => {
    const url = await fifo();
    for (const [i, group] of ["a", "b", "a", "b", "a"].entries()) {
      await send(url, `${group}${i}`, group, `d${i}`);
    }
    const first = await receive(url, 2);
    expect(first.map((m) => m.Body)).to.deep.equal(["a0", "a2"]);
    // Group a is in flight: the next receive gets only group b, in order.
    const second = await receive(url, 10);
    expect(second.map((m) => m.Body)).to.deep.equal(["b1", "b3"]);
    expect(await receive(url)).to.deep.equal([]);
    for (const m of first)
      await call("DeleteMessage", { QueueUrl: url, ReceiptHandle: m.ReceiptHandle });
    expect((await receive(url)).map((m) => m.Body)).to.deep.equal(["a4"]);
  });

  it("drops a duplicate within 5 minutes and accepts it after; content-based deduplication", async () => {
    const url = await fifo();
    const one = await send(url, "x", "g", "same");
    const two = await send(url, "y", "g", "same");
    expect(two.MessageId).to.equal(one.MessageId);
    expect(aws.queueMessages("ingest.fifo").map((m) => m.body)).to.deep.equal(["x"]);
    aws.advanceTime(5 * 60 * 1000 - 1);
    await send(url, "z", "g", "same");
    expect(aws.queueMessages("ingest.fifo")).to.have.length(1);
    aws.advanceTime(1);
    await send(url, "w", "g", "same");
    expect(aws.queueMessages("ingest.fifo").map((m) => m.body)).to.deep.equal(["x", "w"]);

    const cbd = await fifo("cbd.fifo", { ContentBasedDeduplication: "true" });
    await send(cbd, "same body", "g");
    await send(cbd, "same body", "h");
    await send(cbd, "other body", "g");
    expect(aws.queueMessages("cbd.fifo").map((m) => m.body)).to.deep.equal([
      "same body",
      "other body",
    ]);
  });

  it("hides a received message for the visibility timeout and counts receives", async () => {
    const url = (
      await call("CreateQueue", { QueueName: "plain", Attributes: { VisibilityTimeout: "30" } })
    ).QueueUrl as string;
    await send(url, "m");
    const [first] = await receive(url);
    expect(first?.Attributes.ApproximateReceiveCount).to.equal("1");
    aws.advanceTime(29_999);
    expect(await receive(url)).to.deep.equal([]);
    aws.advanceTime(1);
    const [second] = await receive(url);
    expect(second?.Attributes.ApproximateReceiveCount).to.equal("2");
    expect(second?.ReceiptHandle).to.not.equal(first?.ReceiptHandle);
    await call("ChangeMessageVisibility", {
      QueueUrl: url,
      ReceiptHandle: second?.ReceiptHandle,
      VisibilityTimeout: 0,
    });
    const [third] = await receive(url, 1, { VisibilityTimeout: 5 });
    expect(third?.Attributes.ApproximateReceiveCount).to.equal("3");
    aws.advanceTime(5_000);
    const late = await sqsRequest(aws.url, "ChangeMessageVisibility", {
      QueueUrl: url,
      ReceiptHandle: third?.ReceiptHandle,
      VisibilityTimeout: 10,
    });
    expect(late.body.__type).to.equal("com.amazonaws.sqs#MessageNotInflight");
    const attributes = (
      await call("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] })
    ).Attributes as Record<string, string>;
    expect(attributes.ApproximateNumberOfMessages).to.equal("1");
    expect(attributes.ApproximateNumberOfMessagesNotVisible).to.equal("0");
  });

  it("moves a message to the dead-letter queue after maxReceiveCount receives, and back with a move task", async () => {
    const dlqUrl = await fifo("ingest-dlq.fifo");
    const dlqArn = `arn:aws:sqs:${aws.region}:${aws.accountId}:ingest-dlq.fifo`;
    const url = await fifo("ingest.fifo", {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
    });
    await send(url, "poison", "g", "p");
    await send(url, "next", "g", "n");
    for (let i = 1; i <= 3; i += 1) {
      const batch = await receive(url, 1);
      expect(batch.map((m) => [m.Body, m.Attributes.ApproximateReceiveCount])).to.deep.equal([
        ["poison", String(i)],
      ]);
      aws.advanceTime(60_000);
    }
    expect((await receive(url, 1)).map((m) => m.Body)).to.deep.equal(["next"]);
    const [dead] = await receive(dlqUrl);
    expect(dead?.Body).to.equal("poison");
    expect(dead?.Attributes.DeadLetterQueueSourceArn).to.equal(
      `arn:aws:sqs:${aws.region}:${aws.accountId}:ingest.fifo`,
    );
    expect(
      (await call("ListDeadLetterSourceQueues", { QueueUrl: dlqUrl })).queueUrls,
    ).to.deep.equal([url]);

    aws.advanceTime(60_000);
    const task = await call("StartMessageMoveTask", { SourceArn: dlqArn });
    expect(aws.queueMessages("ingest-dlq.fifo")).to.deep.equal([]);
    expect(aws.queueMessages("ingest.fifo").map((m) => m.body)).to.deep.equal(["next", "poison"]);
    const tasks = await call("ListMessageMoveTasks", { SourceArn: dlqArn });
    expect(tasks.Results).to.deep.include.members([
      {
        TaskHandle: task.TaskHandle,
        Status: "COMPLETED",
        SourceArn: dlqArn,
        ApproximateNumberOfMessagesMoved: 1,
        ApproximateNumberOfMessagesToMove: 1,
        StartedTimestamp: (tasks.Results as { StartedTimestamp: number }[])[0]?.StartedTimestamp,
      },
    ]);
  });

  it("changes the visibility of a batch, reporting each entry that fails", async () => {
    const url = await fifo();
    await send(url, "a", "g1", "a");
    await send(url, "b", "g2", "b");
    const taken = await receive(url);
    expect(taken.map((m) => m.Body)).to.deep.equal(["a", "b"]);
    expect(await receive(url)).to.deep.equal([]);
    const answer = await call("ChangeMessageVisibilityBatch", {
      QueueUrl: url,
      Entries: [
        ...taken.map((m, i) => ({
          Id: `m${i}`,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
        {
          Id: "stale",
          ReceiptHandle: Buffer.from("ingest.fifo nope x").toString("base64"),
          VisibilityTimeout: 0,
        },
      ],
    });
    expect(answer.Successful).to.deep.equal([{ Id: "m0" }, { Id: "m1" }]);
    expect(answer.Failed).to.deep.equal([
      {
        Id: "stale",
        SenderFault: true,
        Code: "MessageNotInflight",
        Message: "The message referred to isn't in flight.",
      },
    ]);
    // Visible again at once, with their receive counts kept.
    expect(
      (await receive(url)).map((m) => [m.Body, m.Attributes.ApproximateReceiveCount]),
    ).to.deep.equal([
      ["a", "2"],
      ["b", "2"],
    ]);
    const empty = await sqsRequest(aws.url, "ChangeMessageVisibilityBatch", {
      QueueUrl: url,
      Entries: [],
    });
    expect(empty.body.__type).to.equal("com.amazonaws.sqs#EmptyBatchRequest");
    const same = await sqsRequest(aws.url, "ChangeMessageVisibilityBatch", {
      QueueUrl: url,
      Entries: [
        { Id: "x", ReceiptHandle: "h" },
        { Id: "x", ReceiptHandle: "h" },
      ],
    });
    expect(same.body.__type).to.equal("com.amazonaws.sqs#BatchEntryIdsNotDistinct");
  });

  it("lists a held move task RUNNING, its moved count growing, then COMPLETED", async () => {
    const dlqUrl = await fifo("ingest-dlq.fifo");
    const dlqArn = `arn:aws:sqs:${aws.region}:${aws.accountId}:ingest-dlq.fifo`;
    await fifo("ingest.fifo", {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
    });
    for (const body of ["a", "b", "c", "d"]) await send(dlqUrl, body, "g", body);
    aws.holdMoveTasks(2);
    await call("StartMessageMoveTask", {
      SourceArn: dlqArn,
      DestinationArn: `arn:aws:sqs:${aws.region}:${aws.accountId}:ingest.fifo`,
    });
    const states = [];
    for (let i = 0; i < 3; i += 1) {
      const { Results } = await call("ListMessageMoveTasks", { SourceArn: dlqArn });
      const [task] = Results as { Status: string; ApproximateNumberOfMessagesMoved: number }[];
      states.push([task?.Status, task?.ApproximateNumberOfMessagesMoved]);
    }
    expect(states).to.deep.equal([
      ["RUNNING", 0],
      ["RUNNING", 2],
      ["COMPLETED", 4],
    ]);
  });

  it("answers with the errors the model lists, and validates input against the model", async () => {
    const url = await fifo();
    const missing = await sqsRequest(aws.url, "SendMessage", {
      QueueUrl: aws.queueUrl("nope"),
      MessageBody: "x",
    });
    expect([missing.status, missing.body.__type]).to.deep.equal([
      400,
      "com.amazonaws.sqs#QueueDoesNotExist",
    ]);
    const noGroup = await sqsRequest(aws.url, "SendMessage", { QueueUrl: url, MessageBody: "x" });
    expect(noGroup.body.__type).to.equal("ValidationException");
    expect(String(noGroup.body.message)).to.match(/MessageGroupId/);
    const noDedup = await sqsRequest(aws.url, "SendMessage", {
      QueueUrl: url,
      MessageBody: "x",
      MessageGroupId: "g",
    });
    expect(String(noDedup.body.message)).to.match(/ContentBasedDeduplication/);
    // Model: MessageBody is required; MaxNumberOfMessages is an integer.
    const noBody = await sqsRequest(aws.url, "SendMessage", { QueueUrl: url });
    expect([noBody.status, noBody.body.__type]).to.deep.equal([400, "ValidationException"]);
    const badType = await sqsRequest(aws.url, "ReceiveMessage", {
      QueueUrl: url,
      MaxNumberOfMessages: "ten",
    });
    expect(badType.body.__type).to.equal("SerializationException");
    const handle = await sqsRequest(aws.url, "DeleteMessage", {
      QueueUrl: url,
      ReceiptHandle: "garbage",
    });
    expect(handle.body.__type).to.equal("com.amazonaws.sqs#ReceiptHandleIsInvalid");
    const exists = await sqsRequest(aws.url, "CreateQueue", {
      QueueName: "ingest.fifo",
      Attributes: { FifoQueue: "true", VisibilityTimeout: "61" },
    });
    expect(exists.body.__type).to.equal("com.amazonaws.sqs#QueueNameExists");
    const unknown = await sqsRequest(aws.url, "DeleteQueue", { QueueUrl: url });
    expect(unknown.body.__type).to.equal("UnknownOperationException");
  });

  it("serves the real SQS client: a FIFO send (its MD5 check passes), receive and delete", async () => {
    const client = new SQSClient({
      endpoint: aws.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
      retryStrategy: fastRetryStrategy(1),
    });
    const created = await client.send(
      new CreateQueueCommand({
        QueueName: "deliveries.fifo",
        Attributes: { FifoQueue: "true", VisibilityTimeout: "30" },
      }),
    );
    const url = created.QueueUrl ?? "";
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"action":"opened"}',
        MessageGroupId: "octo/shop#7",
        MessageDeduplicationId: "delivery-1",
      }),
    );
    expect(sent.MD5OfMessageBody).to.equal(md5('{"action":"opened"}'));
    const received = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
    );
    expect(received.Messages?.map((m) => m.Body)).to.deep.equal(['{"action":"opened"}']);
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: url,
        ReceiptHandle: received.Messages?.[0]?.ReceiptHandle ?? "",
      }),
    );
    expect(aws.queueMessages("deliveries.fifo")).to.have.length(0);
    client.destroy();
  });
});
