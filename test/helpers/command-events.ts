/**
 * Command deliveries for tests: GitHub's example `issue_comment` (created) and `check_suite`
 * (rerequested) payloads, adapted to a pull request, a body and an author.
 */
import { examplePayload } from "./github-events.js";

type Payload = Record<string, unknown>;

export interface CommentVariant {
  body: string;
  /** The pull request commented on (default 2, the example pull request). */
  number?: number;
  login?: string;
  type?: "User" | "Bot";
  action?: "created" | "edited" | "deleted";
  commentId?: number;
  /** A comment on an issue rather than a pull request. */
  onIssue?: boolean;
}

/** An `issue_comment` payload from the example, on pull request `number` with `body` by `login`. */
export function commentPayload(variant: CommentVariant): Payload {
  const payload = examplePayload("issue_comment", variant.action ?? "created");
  const issue = payload["issue"] as Payload;
  const number = variant.number ?? 2;
  issue["number"] = number;
  if (variant.onIssue) delete issue["pull_request"];
  else {
    issue["pull_request"] = {
      url: `https://api.github.com/repos/Codertocat/Hello-World/pulls/${number}`,
      html_url: `https://github.com/Codertocat/Hello-World/pull/${number}`,
    };
  }
  const comment = payload["comment"] as Payload;
  comment["body"] = variant.body;
  comment["id"] = variant.commentId ?? 492700400;
  comment["user"] = {
    ...(comment["user"] as Payload),
    login: variant.login ?? "maintainer",
    type: variant.type ?? "User",
  };
  return payload;
}

/** A `check_suite` `rerequested` payload from the example, by `login`, of `sha` and pull requests. */
export function rerunPayload(login: string, sha: string, numbers: number[]): Payload {
  const payload = examplePayload("check_suite", "rerequested");
  const suite = payload["check_suite"] as Payload;
  suite["head_sha"] = sha;
  const example = ((suite["pull_requests"] as Payload[])[0] ?? {}) as Payload;
  suite["pull_requests"] = numbers.map((number) => ({ ...example, number }));
  payload["sender"] = { ...(payload["sender"] as Payload), login, type: "User" };
  return payload;
}
