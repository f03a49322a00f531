import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";
import { runPoller } from "./sqs-poller.js";
import { sqsCall } from "./sqs-wire.js";

describe("SQS poller driver (Lambda's event source mapping)", () => {
  let aws: AwsDouble;
  const call = (op: string, input: Record<string, unknown>) => sqsCall(aws.url, op, input);

  before(async () => {
    aws = await startAwsDouble({ now: () => 1_800_000_000_000 });
  });
  after(async () => {
    await aws.close();
  });
  beforeEach(() => aws.reset());

  async function setUp(maxReceiveCount = 3): Promise<string> {
    await call("CreateQueue", { QueueName: "dlq.fifo", Attributes: { FifoQueue: "true" } });
    const dlqArn = `arn:aws:sqs:${aws.region}:${aws.accountId}:dlq.fifo`;
    const answer = await call("CreateQueue", {
      QueueName: "ingest.fifo",
      Attributes: {
        FifoQueue: "true",
        VisibilityTimeout: "60",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    });
    return answer.QueueUrl as string;
  }
  const send = (url: string, body: string, group: string) =>
    call("SendMessage", {
      QueueUrl: url,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: body,
    });
  const bodies = (events: SQSEvent[]) => events.map((e) => e.Records.map((r) => r.body));

  it("hands each group's records in order, groups in parallel, and deletes what succeeded", async () => {
    const url = await setUp();
    for (const body of ["a1", "b1", "a2", "b2", "a3"]) await send(url, body, body[0] ?? "");
    const seen: string[] = [];
    // The first two invocations wait for each other: the test finishes only if they overlap.
    let started = 0;
    let bothStarted: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothStarted = resolve));
    const report = await runPoller(aws, {
      queueName: "ingest.fifo",
      batchSize: 2,
      maxConcurrency: 2,
      handler: async (event) => {
        started += 1;
        if (started === 2) bothStarted();
        if (started <= 2) await barrier;
        seen.push(...event.Records.map((r) => r.body));
        return { batchItemFailures: [] };
      },
    });
    expect(bodies(report.events).sort()).to.deep.equal([["a1", "a2"], ["a3"], ["b1", "b2"]]);
    expect(bodies(report.events)[2]).to.deep.equal(["a3"]);
    expect(seen.filter((b) => b.startsWith("a"))).to.deep.equal(["a1", "a2", "a3"]);
    const first = report.events.find((e) => e.Records[0]?.body === "a1");
    expect(first?.Records[0]).to.include({
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:${aws.region}:${aws.accountId}:ingest.fifo`,
      awsRegion: aws.region,
    });
    expect(first?.Records[0]?.attributes).to.include({
      MessageGroupId: "a",
      ApproximateReceiveCount: "1",
    });
    expect([report.deleted, report.failed, report.drained]).to.deep.equal([5, 0, true]);
    expect(aws.queueMessages("ingest.fifo")).to.deep.equal([]);
  });

  it("keeps the records listed in batchItemFailures for after the visibility timeout", async () => {
    const url = await setUp();
    for (const body of ["a1", "a2"]) await send(url, body, "a");
    let failOnce = true;
    const report = await runPoller(aws, {
      queueName: "ingest.fifo",
      maxConcurrency: 1,
      handler: async (event): Promise<SQSBatchResponse> => {
        const failures = failOnce ? [{ itemIdentifier: event.Records[1]?.messageId ?? "" }] : [];
        failOnce = false;
        return { batchItemFailures: failures };
      },
    });
    expect(bodies(report.events)).to.deep.equal([["a1", "a2"], ["a2"]]);
    expect(report.events[1]?.Records[0]?.attributes.ApproximateReceiveCount).to.equal("2");
    expect([report.deleted, report.failed, report.drained]).to.deep.equal([2, 1, true]);
  });

  it("retries the whole batch when the handler throws: its neighbour is redriven with it", async () => {
    const url = await setUp(2);
    await send(url, "poison", "p");
    await send(url, "fine", "f");
    const report = await runPoller(aws, {
      queueName: "ingest.fifo",
      maxConcurrency: 1,
      handler: async (event) => {
        if (event.Records.some((r) => r.body === "poison")) throw new Error("cannot handle");
        return { batchItemFailures: [] };
      },
    });
    expect(bodies(report.events)).to.deep.equal([
      ["poison", "fine"],
      ["poison", "fine"],
    ]);
    expect([report.deleted, report.failed, report.drained]).to.deep.equal([0, 4, true]);
    expect(aws.queueMessages("dlq.fifo").map((m) => m.body)).to.deep.equal(["poison", "fine"]);
  });

  it("redrives only the poison record after maxReceiveCount when batches hold one record", async () => {
    const url = await setUp(2);
    await send(url, "poison", "p");
    await send(url, "fine", "f");
    const report = await runPoller(aws, {
      queueName: "ingest.fifo",
      batchSize: 1,
      maxConcurrency: 2,
      handler: async (event) => {
        if (event.Records.some((r) => r.body === "poison")) throw new Error("cannot handle");
        return { batchItemFailures: [] };
      },
    });
    expect(bodies(report.events).flat().sort()).to.deep.equal(["fine", "poison", "poison"]);
    expect([report.deleted, report.failed, report.drained]).to.deep.equal([1, 2, true]);
    expect(aws.queueMessages("dlq.fifo").map((m) => [m.body, m.receiveCount])).to.deep.equal([
      ["poison", 2],
    ]);
    expect(aws.queueMessages("ingest.fifo")).to.deep.equal([]);
  });

  it("stops after maxRounds when the queue never drains", async () => {
    await call("CreateQueue", { QueueName: "plain" });
    await call("SendMessage", { QueueUrl: aws.queueUrl("plain"), MessageBody: "stuck" });
    const report = await runPoller(aws, {
      queueName: "plain",
      maxRounds: 4,
      handler: async () => {
        throw new Error("always");
      },
    });
    expect([report.rounds, report.events.length, report.drained]).to.deep.equal([4, 2, false]);
    expect(aws.queueMessages("plain").map((m) => [m.body, m.receiveCount])).to.deep.equal([
      ["stuck", 2],
    ]);
  });
});
