/**
 * The message templates in templates/messages.json. They are imported, not read from disk: esbuild
 * inlines a JSON import into the Lambda bundle and tsx loads it in tests, so both run the same texts
 * with no file to ship next to the bundle.
 */
import data from "../../templates/messages.json";
import type { NotificationTemplates, Template } from "../core/feedback.js";

export interface Messages {
  pullRequestComment: Template;
  notification: NotificationTemplates;
}

function template(value: unknown, label: string): Template {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((line) => typeof line === "string")) {
    return value as string[];
  }
  throw new TypeError(`templates/messages.json: ${label} must be a string or a list of lines`);
}

/** Checks the shape once, so that a broken edit fails at the first invocation with its name. */
export function loadMessages(raw: unknown = data): Messages {
  const root = (raw ?? {}) as Record<string, unknown>;
  const notification = (root["notification"] ?? {}) as Record<string, unknown>;
  return {
    pullRequestComment: template(root["pullRequestComment"], "pullRequestComment"),
    notification: {
      subject: template(notification["subject"], "notification.subject"),
      body: template(notification["body"], "notification.body"),
    },
  };
}

export const MESSAGES: Messages = loadMessages();
