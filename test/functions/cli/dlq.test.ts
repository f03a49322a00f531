/**
 * `branchline dlq list` and `branchline dlq redrive` over the wire: the real CLI and SQS client
 * against the AWS double's SQS, with a FIFO delivery queue whose dead-letter queue holds deliveries
 * that really went there (received past the redrive policy's maxReceiveCount).
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Message } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import fc from "fast-check";
import {
  describe as describeMessage,
  LIST_VISIBILITY_SECONDS,
} from "../../../functions/cli/dlq.js";
import { capture, emptyDirectory, runCli } from "../../helpers/cli.js";
import { sqsCall } from "../../helpers/sqs-wire.js";
import { useWireDoubles } from "../../helpers/wire.js";

const QUEUE = "branchline-deliveries.fifo";
const DLQ = "branchline-deliveries-dlq.fifo";

/** A body as the webhook ingest writes it (the fields `dlq list` picks out). */
function delivery(n: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    deliveryId: `d-${n}`,
    event: "pull_request",
    pullRequestEvent: {
      action: "opened",
      pullRequest: { number: n, baseRepository: "octo/shop", headRef: `feature-${n}` },
    },
    ...extra,
  });
}

describe("cli dlq (wire level)", function () {
  const wire = useWireDoubles({ github: false, seed: false });
  let dlqUrl: string;
  let dlqArn: string;
  let queueUrl: string;
  const queueArn = () => `arn:aws:sqs:${wire.aws.region}:${wire.aws.accountId}:${QUEUE}`;
  const call = (operation: string, input: Record<string, unknown>) =>
    sqsCall(wire.aws.env().AWS_ENDPOINT_URL, operation, input);

  beforeEach(async () => {
    dlqUrl = (await call("CreateQueue", { QueueName: DLQ, Attributes: { FifoQueue: "true" } }))
      .QueueUrl as string;
    dlqArn = `arn:aws:sqs:${wire.aws.region}:${wire.aws.accountId}:${DLQ}`;
    queueUrl = (
      await call("CreateQueue", {
        QueueName: QUEUE,
        Attributes: {
          FifoQueue: "true",
          VisibilityTimeout: "60",
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
        },
      })
    ).QueueUrl as string;
  });

  /** Sends the bodies to the delivery queue (one group each) and fails them into the DLQ. */
  let sent = 0;
  async function deadLetter(bodies: string[]): Promise<void> {
    const before = wire.aws.queueMessages(DLQ).length;
    for (const [i, body] of bodies.entries()) {
      await call("SendMessage", {
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageGroupId: `octo/shop#${i}`,
        MessageDeduplicationId: `m-${sent++}`,
      });
    }
    // Received once (maxReceiveCount 1), not deleted; the next receives move them to the DLQ.
    for (let taken = 0; taken < bodies.length;) {
      const { Messages = [] } = await call("ReceiveMessage", {
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
      });
      taken += (Messages as unknown[]).length;
    }
    wire.aws.advanceTime(61_000);
    await call("ReceiveMessage", { QueueUrl: queueUrl, MaxNumberOfMessages: 10 });
    expect(wire.aws.queueMessages(DLQ)).to.have.length(before + bodies.length);
  }

  /** Five minutes after the last message went into the delivery queue. */
  const later = () =>
    new Date(Math.max(...wire.aws.queueMessages(DLQ).map((m) => m.sentAt)) + 5 * 60_000);
  const dlq = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
    runCli(["dlq", ...args, "--dead-letter-queue-url", dlqUrl], { now: later(), ...options });

  describe("list", () => {
    it("prints the messages in a table, and leaves them visible in the queue", async () => {
      await deadLetter([
        delivery(7, { reason: "CreatePipeline: AccessDeniedException" }),
        "not JSON: a body of another shape",
        JSON.stringify({
          event: "ping",
          pullRequestEvent: { pullRequest: { baseRepository: { owner: "octo", name: "shop" } } },
        }),
      ]);
      const result = await dlq(["list"]);
      expect(result.stderr).to.equal("");
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(
        [
          "AGE  RECEIVES  GROUP        DELIVERY  EVENT         ACTION  PR  REPOSITORY  DETAILS",
          "5m   2         octo/shop#0  d-7       pull_request  opened  #7  octo/shop   CreatePipeline: AccessDeniedException",
          "5m   2         octo/shop#1  -         -             -       -   -           body: not JSON: a body of another shape",
          "5m   2         octo/shop#2  -         ping          -       -   octo/shop   -",
          "",
        ].join("\n"),
      );
      const receives = wire.aws.calls.filter(
        (c) =>
          c.operation === "ReceiveMessage" && (c.input as { QueueUrl: string }).QueueUrl === dlqUrl,
      );
      expect(receives.map((c) => c.input)).to.deep.equal([
        {
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: LIST_VISIBILITY_SECONDS,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        },
        {
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: LIST_VISIBILITY_SECONDS,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        },
      ]);
      const released = wire.aws.calls.filter((c) => c.operation === "ChangeMessageVisibilityBatch");
      expect(
        released.map((c) =>
          (c.input as { Entries: { VisibilityTimeout: number }[] }).Entries.map(
            (e) => e.VisibilityTimeout,
          ),
        ),
      ).to.deep.equal([[0, 0, 0]]);
      // Still in the queue and visible now: a second listing shows them again, one receive more.
      const again = await dlq(["list", "--json"]);
      expect(
        (JSON.parse(again.stdout) as { receiveCount: number }[]).map((m) => m.receiveCount),
      ).to.deep.equal([3, 3, 3]);
      expect(wire.aws.queueMessages(DLQ)).to.have.length(3);
    });

    it("prints JSON with --json: the picked fields, the SQS attributes and the whole body", async () => {
      await deadLetter([delivery(7)]);
      const [stored] = wire.aws.queueMessages(DLQ);
      const result = await dlq(["list", "--json"]);
      expect(result.code).to.equal(0);
      expect(result.stderr).to.equal("");
      expect(JSON.parse(result.stdout)).to.deep.equal([
        {
          messageId: stored?.messageId,
          sentAt: new Date(stored?.sentAt ?? 0).toISOString(),
          receiveCount: 2,
          messageGroupId: "octo/shop#0",
          deliveryId: "d-7",
          event: "pull_request",
          action: "opened",
          pullRequest: 7,
          repository: "octo/shop",
          reason: null,
          attributes: {},
          body: JSON.parse(delivery(7)),
        },
      ]);
    });

    it("receives at most --max messages, 10 at a time, and says how many it left out", async () => {
      await deadLetter(Array.from({ length: 25 }, (_, i) => delivery(i + 1)));
      const result = await dlq(["list", "--json", "--max", "22"]);
      expect(result.code).to.equal(0);
      expect(JSON.parse(result.stdout)).to.have.length(22);
      expect(result.stderr).to.equal(
        "note: 22 of about 25 messages shown (raise --max to see more)\n",
      );
      const sizes = wire.aws.calls
        .filter(
          (c) =>
            c.operation === "ReceiveMessage" &&
            (c.input as { QueueUrl: string }).QueueUrl === dlqUrl,
        )
        .map((c) => (c.input as { MaxNumberOfMessages: number }).MaxNumberOfMessages);
      expect(sizes).to.deep.equal([10, 10, 2]);
      const batches = wire.aws.calls
        .filter((c) => c.operation === "ChangeMessageVisibilityBatch")
        .map((c) => (c.input as { Entries: unknown[] }).Entries.length);
      expect(batches).to.deep.equal([10, 10, 2]);
      expect(wire.aws.queueMessages(DLQ)).to.have.length(25);
    });

    it("shows its progress on a terminal's stderr only", async () => {
      await deadLetter([delivery(1), delivery(2)]);
      const tty = capture(true);
      const result = await dlq(["list"], { now: later(), stderr: tty });
      expect(result.code).to.equal(0);
      expect(tty.text).to.contain("received 2/2 messages");
      expect(tty.text).to.contain("making 2 messages visible again");
      expect(tty.text.endsWith("\r\x1b[K")).to.equal(true);
    });

    it("says so when the queue is empty", async () => {
      expect(await dlq(["list"])).to.deep.equal({
        code: 0,
        stdout: `the dead-letter queue ${dlqUrl} is empty\n`,
        stderr: "",
      });
    });

    it("fails clearly, with a hint, when the queue does not exist", async () => {
      const missing = wire.aws.queueUrl("nope.fifo");
      const result = await runCli(["dlq", "list", "--dead-letter-queue-url", missing]);
      expect(result).to.deep.equal({
        code: 1,
        stdout: "",
        stderr: `branchline: error: the dead-letter queue ${missing} does not exist in this account and region\nhint: check AWS_PROFILE, AWS_REGION or --dead-letter-queue-url\n`,
      });
    });
  });

  describe("the queue from the stack", () => {
    function pulumiPrinting(outputs: Record<string, unknown>): string {
      const bin = emptyDirectory();
      writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho '${JSON.stringify(outputs)}'\n`);
      chmodSync(join(bin, "pulumi"), 0o755);
      return bin;
    }

    it("reads deadLetterQueueUrl from the stack's outputs", async () => {
      await deadLetter([delivery(3)]);
      const bin = pulumiPrinting({ deliveryQueueUrl: queueUrl, deadLetterQueueUrl: dlqUrl });
      const result = await runCli(["dlq", "list", "--json", "--stack", "dev"], {
        env: { PATH: bin },
      });
      expect(result.code).to.equal(0);
      expect(
        (JSON.parse(result.stdout) as { deliveryId: string }[]).map((m) => m.deliveryId),
      ).to.deep.equal(["d-3"]);
    });

    it("says a stack in inline mode has no dead-letter queue", async () => {
      const bin = pulumiPrinting({ sourcePipelineName: "app" });
      for (const command of ["list", "redrive"]) {
        expect(await runCli(["dlq", command], { env: { PATH: bin } })).to.deep.equal({
          code: 1,
          stdout: "",
          stderr:
            "branchline: error: the stack has no dead-letter queue: it runs in inline mode (the webhook handles each delivery itself, without the delivery queue), so no delivery is dead-lettered\nhint: pass --dead-letter-queue-url to read another queue\n",
        });
      }
      expect(wire.aws.callCount()).to.equal(2); // the two CreateQueue of the setup
    });

    it("names the flag to pass when the stack cannot be read", async () => {
      expect((await runCli(["dlq", "redrive"])).stderr).to.equal(
        "branchline: error: the Pulumi CLI was not found, so the stack outputs could not be read: pass --dead-letter-queue-url\n",
      );
    });
  });

  describe("redrive", () => {
    it("starts a move task to the delivery queue and prints its handle", async () => {
      await deadLetter([delivery(1), delivery(2)]);
      const result = await dlq(["redrive"]);
      expect(result.code).to.equal(0);
      const starts = wire.aws.calls.filter((c) => c.operation === "StartMessageMoveTask");
      expect(starts.map((c) => c.input)).to.deep.equal([
        { SourceArn: dlqArn, DestinationArn: queueArn() },
      ]);
      const handle = /task (\S+)$/m.exec(result.stdout)?.[1];
      expect(result.stdout).to.equal(
        `moving about 2 message(s) from ${dlqUrl} to ${queueUrl}: task ${handle}\n`,
      );
      expect(wire.aws.queueMessages(DLQ)).to.deep.equal([]);
      expect(wire.aws.queueMessages(QUEUE).map((m) => m.body)).to.deep.equal([
        delivery(1),
        delivery(2),
      ]);
    });

    it("moves a delivery the worker sent to the dead-letter queue itself, with its reason", async () => {
      // A misconfigured delivery: sent straight to the DLQ, so SQS knows no source queue for it.
      await call("SendMessage", {
        QueueUrl: dlqUrl,
        MessageBody: delivery(9, { reason: "the service's source pipeline does not exist" }),
        MessageGroupId: "octo/shop#9",
        MessageDeduplicationId: "d-9",
      });
      const listed = await dlq(["list", "--json"]);
      expect(
        (JSON.parse(listed.stdout) as { reason: string }[]).map((m) => m.reason),
      ).to.deep.equal(["the service's source pipeline does not exist"]);
      const result = await dlq(["redrive", "--wait"]);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.match(/\ndone: 1 message\(s\) moved back\n$/);
      expect(wire.aws.queueMessages(QUEUE).map((m) => m.body)).to.deep.equal([
        delivery(9, { reason: "the service's source pipeline does not exist" }),
      ]);
    });

    it("takes the delivery queue from --delivery-queue-url, or the stack output", async () => {
      const other = (
        await call("CreateQueue", { QueueName: "other.fifo", Attributes: { FifoQueue: "true" } })
      ).QueueUrl as string;
      const otherArn = `arn:aws:sqs:${wire.aws.region}:${wire.aws.accountId}:other.fifo`;
      await deadLetter([delivery(1)]);
      const flagged = await dlq(["redrive", "--delivery-queue-url", other]);
      expect(flagged.code).to.equal(0);
      expect(wire.aws.queueMessages("other.fifo")).to.have.length(1);

      await deadLetter([delivery(2)]);
      const bin = emptyDirectory();
      writeFileSync(
        join(bin, "pulumi"),
        `#!/bin/sh\necho '${JSON.stringify({ deliveryQueueUrl: other, deadLetterQueueUrl: dlqUrl })}'\n`,
      );
      chmodSync(join(bin, "pulumi"), 0o755);
      const fromStack = await runCli(["dlq", "redrive", "--json"], { env: { PATH: bin } });
      expect(fromStack.code).to.equal(0);
      expect(JSON.parse(fromStack.stdout)).to.deep.include({
        sourceArn: dlqArn,
        destinationArn: otherArn,
        messages: 1,
      });
      expect(wire.aws.queueMessages("other.fifo")).to.have.length(2);
      expect(wire.aws.callCount("ListDeadLetterSourceQueues")).to.equal(0);
    });

    it("refuses to guess among several source queues", async () => {
      await call("CreateQueue", {
        QueueName: "second.fifo",
        Attributes: {
          FifoQueue: "true",
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
        },
      });
      await deadLetter([delivery(1)]);
      const result = await dlq(["redrive"]);
      expect(result).to.deep.equal({
        code: 1,
        stdout: "",
        stderr: `branchline: error: 2 queues name ${dlqUrl} as their dead-letter queue (${queueUrl}, ${wire.aws.queueUrl("second.fifo")})\nhint: pass --delivery-queue-url\n`,
      });
      expect(wire.aws.callCount("StartMessageMoveTask")).to.equal(0);
    });

    it("follows the task with --wait until it completes, with progress", async () => {
      await deadLetter([delivery(1), delivery(2), delivery(3)]);
      wire.aws.holdMoveTasks(2);
      const sleeps: number[] = [];
      const tty = capture(true);
      const result = await dlq(["redrive", "--wait"], {
        now: later(),
        stderr: tty,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      });
      expect(result.code).to.equal(0);
      expect(result.stdout).to.match(/: task \S+\ndone: 3 message\(s\) moved back\n$/);
      expect(sleeps).to.deep.equal([2000, 2000]);
      expect(tty.text).to.contain("moving messages: 0/3 moved");
      expect(tty.text).to.contain("moving messages: 1/3 moved");
      // The refusal check, then one listing per poll until COMPLETED.
      expect(wire.aws.callCount("ListMessageMoveTasks")).to.equal(4);
    });

    it("prints the task as JSON with --json --wait", async () => {
      await deadLetter([delivery(1)]);
      const result = await dlq(["redrive", "--wait", "--json"]);
      expect(result.code).to.equal(0);
      const printed = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(printed).to.deep.equal({
        queueUrl: dlqUrl,
        sourceArn: dlqArn,
        destinationArn: queueArn(),
        taskHandle: printed.taskHandle,
        status: "COMPLETED",
        moved: 1,
      });
      expect(printed.taskHandle).to.be.a("string").and.not.equal("");
    });

    it("refuses while a move task is already running", async () => {
      await deadLetter([delivery(1)]);
      wire.aws.holdMoveTasks(5);
      const first = await dlq(["redrive"]);
      expect(first.code).to.equal(0);
      const handle = /task (\S+)$/m.exec(first.stdout)?.[1];
      const second = await dlq(["redrive"]);
      expect(second).to.deep.equal({
        code: 1,
        stdout: "",
        stderr: `branchline: error: a message move task is already running on ${dlqUrl} (task ${handle}, 0/1 moved): one at a time\nhint: wait for it, or cancel it: aws sqs cancel-message-move-task --task-handle ${handle}\n`,
      });
      expect(wire.aws.callCount("StartMessageMoveTask")).to.equal(1);
    });

    it("starts nothing when the queue is empty", async () => {
      expect(await dlq(["redrive"])).to.deep.equal({
        code: 0,
        stdout: `the dead-letter queue ${dlqUrl} is empty: nothing to redrive\n`,
        stderr: "",
      });
      expect(wire.aws.callCount("StartMessageMoveTask")).to.equal(0);
    });
  });
});

describe("cli dlq: a message's fields", () => {
  it("picks the known fields and message attributes, tolerating other shapes", () => {
    const message: Message = {
      MessageId: "m-1",
      Body: JSON.stringify({
        deliveryId: "d-9",
        event: "pull_request",
        pullRequestEvent: {
          action: "synchronize",
          pullRequest: { number: "12", baseRepository: { fullName: "octo/shop" } },
        },
      }),
      Attributes: { SentTimestamp: "1700000000000", ApproximateReceiveCount: "4" },
      MessageAttributes: {
        reason: { DataType: "String", StringValue: "worker gave up" },
        attempt: { DataType: "Number", StringValue: "3" },
        blob: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    };
    expect(describeMessage(message)).to.deep.include({
      sentAt: "2023-11-14T22:13:20.000Z",
      receiveCount: 4,
      messageGroupId: null,
      deliveryId: "d-9",
      action: "synchronize",
      pullRequest: 12,
      repository: "octo/shop",
      reason: "worker gave up",
      attributes: { reason: "worker gave up", attempt: "3", blob: "(binary, 3 bytes)" },
    });
  });

  it("never throws on any JSON body or text, and keeps the body", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string(),
        ),
        (text) => {
          const letter = describeMessage({ MessageId: "x", Body: text, Attributes: {} });
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // text
          }
          expect(letter.body).to.deep.equal(parsed);
          for (const field of [
            letter.deliveryId,
            letter.event,
            letter.action,
            letter.repository,
            letter.reason,
          ]) {
            expect(field === null || typeof field === "string").to.equal(true);
          }
        },
      ),
    );
  });
});
