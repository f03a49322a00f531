/**
 * The metrics the functions publish (CloudWatch embedded metric format, through the Metrics port) and
 * the Pulumi program's dashboard and alarms read: one catalogue for both. Pure data only.
 *
 * Every metric is in the namespace {@link METRICS_NAMESPACE} with the dimension `service`: the
 * function's own name (`AWS_LAMBDA_FUNCTION_NAME`), so that two stacks in one account and region
 * stay apart. Some have one more dimension, always from a closed set of values (an outcome, an error
 * kind, a clone action): never a pull request number, a branch or a repository.
 */

export const METRICS_NAMESPACE = "branchline";

/** The dimension every metric has: the function's name. */
export const SERVICE_DIMENSION = "service";

export const METRIC = {
  /** Count, dimension `outcome`: the webhook's answer, or the worker's per queued record. */
  deliveries: "Deliveries",
  /** Count, dimension `result` (`deleted`, `failed`, `skipped`): what became of a worker's record. */
  deliveryRecords: "DeliveryRecords",
  /** Milliseconds: how long a record waited in the delivery queue (worker, `SentTimestamp` to now). */
  queueAge: "QueueAge",
  /** Count, dimension `action` (`created`, `updated`, `deleted`): clones changed by any function. */
  clones: "Clones",
  /** Count, dimension `kind` (core/errors.ts `classifyError`): failures a function classified. */
  errors: "Errors",
  /** Count: AWS calls throttled (each throttled attempt the clients' retry strategy saw). */
  throttles: "Throttles",
  /** Milliseconds: one reconciler sweep, from its start to its summary. */
  sweepDuration: "SweepDuration",
  /** Count, dimension `result` (see {@link SWEEP_RESULTS}): a sweep's summary. */
  sweepResults: "SweepResults",
  /** Count, dimension `outcome` (`reported`, `ignored`, `rejected`, `failed`): notify's events. */
  events: "Events",
  /** Count: notify's feedback steps (status, comment, notification) that failed. */
  feedbackErrors: "FeedbackErrors",
} as const;

/** The second dimension's name of the metrics that have one. */
export const DIMENSION = {
  outcome: "outcome",
  result: "result",
  action: "action",
  kind: "kind",
} as const;

/** The clone actions of {@link METRIC.clones}. */
export const CLONE_ACTIONS = ["created", "updated", "deleted"] as const;

/** The results of {@link METRIC.sweepResults}, each published (zero too) after every sweep. */
export const SWEEP_RESULTS = [
  "created",
  "updated",
  "deleted",
  "imagesDeleted",
  "redelivered",
  "errors",
  "misconfigured",
] as const;

/** The error kinds (core/errors.ts `ErrorKind`) of {@link METRIC.errors}. */
export const ERROR_KINDS = [
  "unauthorized",
  "bad-request",
  "conflict",
  "configuration",
  "transient",
  "timeout",
  "bug",
] as const;

/** The kinds of {@link METRIC.errors} the stack's alarms fire on: a person has to act. */
export const ALARMING_ERROR_KINDS = ["configuration", "bug"] as const;

/** The webhook's and the worker's delivery outcomes the dashboard draws. */
export const DELIVERY_OUTCOMES = [
  "queued",
  "created",
  "updated",
  "unchanged",
  "deleted",
  "absent",
  "handled",
  "ignored",
  "pong",
  "unauthorized",
  "bad-request",
  "conflict",
  "misconfigured",
  "failed",
  "timed-out",
  "internal-error",
  "unreadable",
] as const;

/** The results of {@link METRIC.deliveryRecords}. */
export const RECORD_RESULTS = ["deleted", "failed", "skipped"] as const;
