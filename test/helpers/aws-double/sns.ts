/**
 * SNS (Publish only) of the AWS test double. SNS speaks the awsQuery protocol: a form-encoded POST
 * with `Action=Publish`, answered in XML. No model is vendored for it; the checks below are those of
 * the SNS API reference for Publish.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { AwsError } from "./errors.js";

export interface PublishedMessage {
  topicArn: string;
  subject: string | undefined;
  message: string;
  messageId: string;
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/";
/** 256 KiB, the largest message SNS accepts. */
const MAX_MESSAGE_BYTES = 262_144;

/** True for an awsQuery request (form-encoded body). */
export function isQueryRequest(contentType: string | undefined): boolean {
  return (
    (contentType ?? "").split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded"
  );
}

export class SnsState {
  readonly published: PublishedMessage[] = [];

  reset(): void {
    this.published.length = 0;
  }

  /** Carries out the action; returns the XML result element's content. */
  handle(action: string, params: URLSearchParams): string {
    if (action !== "Publish") {
      throw new AwsError("InvalidAction", `The action ${action} is not valid for this endpoint.`);
    }
    const topicArn = params.get("TopicArn") ?? "";
    if (!TOPIC_ARN.test(topicArn)) {
      throw new AwsError("InvalidParameter", "Invalid parameter: TopicArn");
    }
    const message = params.get("Message");
    if (message === null || message === "") {
      throw new AwsError("InvalidParameter", "Invalid parameter: Empty message");
    }
    if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) {
      throw new AwsError("InvalidParameter", "Invalid parameter: Message too long");
    }
    const subject = params.get("Subject") ?? undefined;
    if (subject !== undefined && !validSubject(subject)) {
      throw new AwsError("InvalidParameter", "Invalid parameter: Subject");
    }
    const messageId = randomUUID();
    this.published.push({ topicArn, subject, message, messageId });
    return `<MessageId>${messageId}</MessageId>`;
  }
}

/** ASCII, starting with a letter, digit or punctuation, no line breaks or control characters, < 100. */
function validSubject(subject: string): boolean {
  return subject.length > 0 && subject.length < 100 && /^[\x21-\x7e][\x20-\x7e]*$/.test(subject);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Writes an awsQuery answer (an AwsError becomes an ErrorResponse); returns the HTTP status. */
export function sendQuery(
  response: ServerResponse,
  action: string,
  result: string | AwsError,
  xmlns: string = XMLNS,
): number {
  const requestId = randomUUID();
  let status = 200;
  let xml: string;
  if (result instanceof AwsError) {
    status = result.status === 400 && result.type === "NotFound" ? 404 : result.status;
    const type = status >= 500 ? "Receiver" : "Sender";
    xml =
      `<ErrorResponse xmlns="${xmlns}"><Error><Type>${type}</Type><Code>${escapeXml(result.type)}</Code>` +
      `<Message>${escapeXml(result.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  } else {
    xml =
      `<${action}Response xmlns="${xmlns}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  }
  response.writeHead(status, {
    "content-type": "text/xml",
    "content-length": Buffer.byteLength(xml),
    "x-amzn-requestid": requestId,
  });
  response.end(xml);
  return status;
}
