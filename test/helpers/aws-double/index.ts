/**
 * An in-process HTTP double of the AWS CodePipeline, ECR and Secrets Manager JSON 1.1 APIs, Lambda's
 * Invoke (REST-JSON, running registered handlers in process), the
 * DynamoDB JSON 1.0 API (GetItem, UpdateItem, DeleteItem), the SQS JSON 1.0 API (standard and FIFO
 * queues, visibility, redrive; time from an injectable clock), SNS (awsQuery), CodeBuild
 * BatchGetBuilds and CloudWatch Logs GetLogEvents (JSON 1.1, seeded builds and log streams), ECS
 * (JSON 1.1: services and task definitions), Elastic Load Balancing v2 (awsQuery: target groups,
 * listener rules) and CloudWatch GetMetricData (JSON 1.0 in query-compatible mode as the SDK speaks
 * it, or awsQuery; recorded datapoints). Tests
 * point the real AWS SDK v3 clients at it (AWS_ENDPOINT_URL, see `env()`), seed state, inject
 * faults and read back what the code under test did. Requests are validated against the official
 * Smithy models vendored in test/fixtures/aws-models.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";
import type { PipelineDeclaration, Tag } from "../../../functions/core/pipeline.js";
import { CloudWatchState, jsonWire, type MetricDatapoint } from "./cloudwatch.js";
import { CodeBuildState, type SeedBuild } from "./codebuild.js";
import {
  CodePipelineState,
  type SeedActionExecution,
  type SeedExecution,
  type SourceRevision,
} from "./codepipeline.js";
import { LogsState, type SeedLogEvent } from "./logs.js";
import { EcsState, type EcsTag, type StoredService, type StoredTaskDefinition } from "./ecs.js";
import { ElbState, type StoredListener, type StoredTargetGroup } from "./elbv2.js";
import { decodeQueryInput, encodeQueryOutput, queryErrorCodes } from "./query.js";
import { DYNAMODB_ERROR_NAMESPACE, DynamoDbState, type Item } from "./dynamodb.js";
import { EcrState, type ImageDeleteFailure, type SeedImage } from "./ecr.js";
import { AwsError, COMMON_ERRORS } from "./errors.js";
import { loadModel, type ServiceModel } from "./model.js";
import { SecretsState } from "./secretsmanager.js";
import { SQS_ERROR_NAMESPACE, SqsState, type SqsMessage } from "./sqs.js";
import { isQueryRequest, sendQuery, SnsState } from "./sns.js";
import {
  isLambdaRequest,
  LambdaState,
  sendLambda,
  type Invocation,
  type LambdaHandler,
} from "./lambda.js";
import { validationMessage, Validator } from "./validate.js";

export type { SeedActionExecution, SeedExecution, SourceRevision } from "./codepipeline.js";
export type { SeedBuild } from "./codebuild.js";
export type { MetricDatapoint } from "./cloudwatch.js";
export type { SeedLogEvent } from "./logs.js";
export type { ImageDeleteFailure, SeedImage } from "./ecr.js";
export type { PublishedMessage } from "./sns.js";
export type { AttributeValue, Item } from "./dynamodb.js";
export type { SqsMessage } from "./sqs.js";
export type { EcsTag, StoredDeployment, StoredService, StoredTaskDefinition } from "./ecs.js";
export type { ElbTag, StoredListener, StoredRule, StoredTargetGroup } from "./elbv2.js";
export type { Invocation, LambdaHandler } from "./lambda.js";

export type ServiceName =
  | "codepipeline"
  | "ecr"
  | "secretsmanager"
  | "sns"
  | "dynamodb"
  | "sqs"
  | "lambda"
  | "codebuild"
  | "logs"
  | "ecs"
  | "elbv2"
  | "cloudwatch";

export interface RecordedCall {
  service: ServiceName;
  operation: string;
  input: unknown;
  /** HTTP status of the answer (0 while the request is still being answered). */
  status: number;
}

export type InjectedError =
  | "ThrottlingException"
  | "InternalFailure"
  | "ServiceUnavailable"
  | { status: number; type: string; message?: string };

export interface FaultSpec {
  /** Operation name, e.g. "CreatePipeline"; "*" matches every operation. */
  operation: string;
  /** The error to answer with; without one the fault only delays the request. */
  error?: InjectedError;
  /** How many matching requests the fault hits (default 1). */
  times?: number;
  /** "apply": carry out the operation, then answer with the error (the answer is lost). */
  after?: "apply";
  /** Wait this long before handling the request. */
  delayMs?: number;
  /** Hold the request until this settles (after `delayMs`): orders concurrent calls exactly. */
  until?: Promise<unknown>;
}

export interface AwsDoubleOptions {
  /** Default "us-east-1". */
  region?: string;
  /** Default "123456789012". */
  accountId?: string;
  /** The status StopPipelineExecution leaves an execution in (default "Stopped"). */
  stoppedStatus?: "Stopped" | "Stopping";
  /** The clock SQS reads (visibility, delays, deduplication window); default `Date.now`. */
  now?: () => number;
}

export interface StoredPipelineView {
  declaration: PipelineDeclaration;
  tags: Tag[];
  arn: string;
  version: number;
}

export interface ExecutionView {
  pipelineExecutionId: string;
  status: string;
  startTime: Date;
  lastUpdateTime: Date;
  sourceRevisions: SourceRevision[];
  trigger: { triggerType: string; triggerDetail?: string };
  stopTrigger?: { reason?: string };
}

export interface AwsDoubleEnv {
  AWS_ENDPOINT_URL: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  [name: string]: string;
}

interface Route {
  service: ServiceName;
  operations: Set<string>;
  model?: ServiceModel;
  validator?: Validator;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

interface Bucket {
  perSecond: number;
  tokens: number;
  refilledAt: number;
}

/** The services reached with JSON (1.1, or 1.0 for DynamoDB) and an X-Amz-Target header. */
type JsonServiceName = Exclude<ServiceName, "sns" | "lambda" | "elbv2">;

const TARGET_PREFIXES: Record<string, JsonServiceName> = {
  CodePipeline_20150709: "codepipeline",
  AmazonEC2ContainerRegistry_V20150921: "ecr",
  secretsmanager: "secretsmanager",
  DynamoDB_20120810: "dynamodb",
  AmazonSQS: "sqs",
  CodeBuild_20161006: "codebuild",
  Logs_20140328: "logs",
  AmazonEC2ContainerServiceV20141113: "ecs",
  GraniteServiceVersion20100801: "cloudwatch",
};

/** Elastic Load Balancing v2 speaks awsQuery with this `Version` (SNS: 2010-03-31). */
const ELBV2_VERSION = "2015-12-01";
const ELBV2_XMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
/** CloudWatch's awsQuery `Version` and XML namespace (the SDK speaks JSON 1.0 to it instead). */
const CLOUDWATCH_VERSION = "2010-08-01";
const CLOUDWATCH_XMLNS = "http://monitoring.amazonaws.com/doc/2010-08-01/";
/** Errors any awsQuery operation may answer with, whether or not the model lists them. */
const COMMON_QUERY_ERRORS = new Set([
  "ValidationError",
  "InvalidAction",
  "Throttling",
  "InternalFailure",
  "ServiceUnavailable",
  "AccessDenied",
]);

/** How a JSON service answers: its content type, and the namespace its error types carry. */
interface JsonProtocol {
  contentType: string;
  errorNamespace?: (type: string) => string | undefined;
  /**
   * A service that also speaks awsQuery answers JSON errors with its awsQuery error code in the
   * `x-amzn-query-error` header (`Code;Sender`), which query-compatible clients read first.
   */
  queryCompatible?: boolean;
}

const JSON_1_1: JsonProtocol = { contentType: "application/x-amz-json-1.1" };
const JSON_1_0_DYNAMODB: JsonProtocol = {
  contentType: "application/x-amz-json-1.0",
  // What DynamoDB sends, e.g. `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`.
  errorNamespace: (type) =>
    type === "ValidationException" ? "com.amazon.coral.validate" : DYNAMODB_ERROR_NAMESPACE,
};

const JSON_1_0_SQS: JsonProtocol = {
  contentType: "application/x-amz-json-1.0",
  // What SQS sends, e.g. `com.amazonaws.sqs#QueueDoesNotExist`.
  errorNamespace: (type) => (COMMON_ERRORS.has(type) ? undefined : SQS_ERROR_NAMESPACE),
};

const JSON_1_0_CLOUDWATCH: JsonProtocol = {
  contentType: "application/x-amz-json-1.0",
  errorNamespace: () => "com.amazonaws.cloudwatch",
  queryCompatible: true,
};

function routeFor(service: JsonServiceName): Route {
  if (service === "secretsmanager") return { service, operations: new Set(["GetSecretValue"]) };
  const model = loadModel(service);
  const operations = new Set(
    Object.entries(model.model.shapes)
      .filter(([, s]) => s.type === "operation")
      .map(([id]) => id.split("#")[1] ?? id),
  );
  return { service, operations, model, validator: new Validator(model) };
}

function faultError(error: InjectedError): AwsError {
  if (error === "ThrottlingException") return new AwsError(error, "Rate exceeded", 400);
  if (error === "InternalFailure") {
    return new AwsError(
      error,
      "The request processing has failed because of an unknown error.",
      500,
    );
  }
  if (error === "ServiceUnavailable") {
    return new AwsError(error, "The service is unavailable. Please try again later.", 503);
  }
  return new AwsError(error.type, error.message ?? error.type, error.status);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class AwsDouble {
  readonly calls: RecordedCall[] = [];
  private readonly codepipelineState: CodePipelineState;
  private readonly ecrState: EcrState;
  private readonly secretsState: SecretsState;
  private readonly snsState = new SnsState();
  private readonly dynamodbState: DynamoDbState;
  private readonly sqsState: SqsState;
  private readonly ecsState: EcsState;
  private readonly elbState: ElbState;
  private readonly elbRoute: Route;
  private readonly lambdaState: LambdaState;
  private readonly lambdaModel = loadModel("lambda");
  private readonly lambdaValidator = new Validator(this.lambdaModel);
  private readonly codebuildState: CodeBuildState;
  private readonly logsState = new LogsState();
  private readonly cloudwatchState = new CloudWatchState();
  private clockOffsetMs = 0;
  private readonly routes = new Map<ServiceName, Route>();
  private faults: ActiveFault[] = [];
  private buckets = new Map<string, Bucket>();
  readonly region: string;
  readonly accountId: string;

  /** Use `startAwsDouble`. */
  constructor(
    private readonly server: Server,
    options: AwsDoubleOptions,
  ) {
    this.region = options.region ?? "us-east-1";
    this.accountId = options.accountId ?? "123456789012";
    this.codepipelineState = new CodePipelineState(
      this.region,
      this.accountId,
      options.stoppedStatus,
    );
    this.ecrState = new EcrState(this.accountId);
    this.secretsState = new SecretsState(this.region, this.accountId);
    this.dynamodbState = new DynamoDbState(this.region, this.accountId);
    this.lambdaState = new LambdaState(this.region, this.accountId);
    this.codebuildState = new CodeBuildState(this.region, this.accountId);
    const now = options.now ?? Date.now;
    this.sqsState = new SqsState(this.region, this.accountId, () => now() + this.clockOffsetMs);
    this.elbState = new ElbState(this.region, this.accountId);
    this.ecsState = new EcsState(this.region, this.accountId, this.elbState);
    const elbModel = loadModel("elbv2");
    this.elbRoute = {
      service: "elbv2",
      operations: new Set(
        Object.keys(elbModel.model.shapes)
          .filter((id) => elbModel.model.shapes[id]?.type === "operation")
          .map((id) => id.split("#")[1] ?? id),
      ),
      model: elbModel,
      validator: new Validator(elbModel),
    };
    // SNS and ELBv2 (awsQuery) are routed by content type, not by X-Amz-Target: see handleQuery.
    for (const service of Object.values(TARGET_PREFIXES)) {
      this.routes.set(service, routeFor(service));
    }
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  /** Environment variables that point the AWS SDK at the double. */
  env(): AwsDoubleEnv {
    return {
      AWS_ENDPOINT_URL: this.url,
      AWS_REGION: this.region,
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    };
  }

  // ---- CodePipeline ----

  /**
   * Stores a pipeline as if created (version from the declaration, default 1; created now unless
   * `options.created` says when); returns its ARN.
   */
  seedPipeline(
    declaration: PipelineDeclaration,
    tags: Tag[] = [],
    options: { created?: Date } = {},
  ): string {
    return this.codepipelineState.seedPipeline(declaration, tags, options);
  }

  pipeline(name: string): StoredPipelineView | undefined {
    const stored = this.codepipelineState.pipelines.get(name);
    if (!stored) return undefined;
    return structuredClone({
      declaration: stored.declaration,
      tags: stored.tags,
      arn: stored.arn,
      version: stored.version,
    });
  }

  pipelineNames(): string[] {
    return [...this.codepipelineState.pipelines.keys()].sort();
  }

  /** Adds an execution (newest so far) to the pipeline; returns its id. */
  seedExecution(pipelineName: string, seed: SeedExecution): string {
    return this.codepipelineState.seedExecution(pipelineName, seed);
  }

  /** The pipeline's executions, oldest first. */
  executions(pipelineName: string): ExecutionView[] {
    const list = this.codepipelineState.executionsByPipeline.get(pipelineName) ?? [];
    return list.map((e) => {
      const view: ExecutionView = {
        pipelineExecutionId: e.pipelineExecutionId,
        status: e.status,
        startTime: new Date(e.startTime),
        lastUpdateTime: new Date(e.lastUpdateTime),
        sourceRevisions: structuredClone(e.sourceRevisions),
        trigger: structuredClone(e.trigger),
      };
      if (e.stopTrigger) view.stopTrigger = structuredClone(e.stopTrigger);
      return view;
    });
  }

  /** Records an action's run in an execution (ListActionExecutions); returns its id. */
  seedActionExecution(
    pipelineName: string,
    executionId: string,
    seed: SeedActionExecution,
  ): string {
    return this.codepipelineState.seedActionExecution(pipelineName, executionId, seed);
  }

  /** Changes a seeded action execution. */
  updateActionExecution(
    pipelineName: string,
    actionExecutionId: string,
    change: Partial<SeedActionExecution>,
  ): void {
    this.codepipelineState.updateActionExecution(pipelineName, actionExecutionId, change);
  }

  /** Changes a seeded execution's status (and last update time, now unless given). */
  updateExecution(
    pipelineName: string,
    executionId: string,
    change: { status: string; lastUpdateTime?: Date },
  ): void {
    this.codepipelineState.updateExecution(pipelineName, executionId, change);
  }

  // ---- CodeBuild, CloudWatch Logs ----

  /** Stores a build BatchGetBuilds answers with. */
  seedBuild(build: SeedBuild): void {
    this.codebuildState.seedBuild(build);
  }

  /** Appends events to a log stream (created on first use). */
  seedLogEvents(group: string, stream: string, events: (string | SeedLogEvent)[]): void {
    this.logsState.seedLogEvents(group, stream, events);
  }

  // ---- ECR ----

  createRepository(name: string): void {
    this.ecrState.createRepository(name);
  }

  /** Pushes an image (digest derived if not given); a tag already on another image moves. Returns the digest. */
  seedImage(repository: string, seed: SeedImage): string {
    return this.ecrState.seedImage(repository, seed);
  }

  /**
   * Makes BatchDeleteImage report the ids naming these tags as failures (and keep those images),
   * while the other ids of the same call are deleted: ECR's partial failure.
   */
  failImageDeletes(failure: ImageDeleteFailure): void {
    this.ecrState.failImageDeletes(failure);
  }

  /** The repository's images in push order ([] for an unknown repository). */
  images(repository: string): { digest: string; tags: string[] }[] {
    return (this.ecrState.repositories.get(repository) ?? []).map((i) => ({
      digest: i.digest,
      tags: [...i.tags],
    }));
  }

  // ---- Lambda ----

  /** Registers a function that Invoke runs in process; returns its ARN. */
  registerFunction(name: string, handler: LambdaHandler): string {
    return this.lambdaState.register(name, handler);
  }

  /** Every invocation so far, in order. */
  get invocations(): readonly Invocation[] {
    return this.lambdaState.invocations;
  }

  // ---- Secrets Manager ----

  /** Stores a secret string under a name (or a full secret ARN); returns the secret's ARN. */
  seedSecret(nameOrArn: string, value: string): string {
    return this.secretsState.seedSecret(nameOrArn, value);
  }

  // ---- DynamoDB ----

  /** Creates an empty table whose partition key is the string attribute `keyName`. */
  createTable(name: string, keyName = "pk"): void {
    this.dynamodbState.createTable(name, keyName);
  }

  /** The item of the table with that partition key value, or `undefined`. */
  item(tableName: string, key: string): Item | undefined {
    return this.dynamodbState.item(tableName, key);
  }

  // ---- SQS ----

  /** Moves the double's clock (SQS visibility, delays, deduplication window) forward. */
  advanceTime(ms: number): void {
    this.clockOffsetMs += ms;
  }

  /** The URL the double gives a queue of that name (whether or not it exists). */
  queueUrl(name: string): string {
    return this.sqsState.queueUrl(name);
  }

  /** The queue's messages, in flight or not, oldest first ([] for an unknown queue). */
  queueMessages(name: string): SqsMessage[] {
    return this.sqsState.messages(name);
  }

  /**
   * Message move tasks started from now on are listed RUNNING (their moved count growing) by this
   * many ListMessageMoveTasks answers before COMPLETED (default 0: completed at once). Reset with
   * the double.
   */
  holdMoveTasks(listings: number): void {
    this.sqsState.moveTaskRunningListings = listings;
  }

  // ---- SNS ----

  /** The messages published so far, oldest first. */
  published(): { topicArn: string; subject: string | undefined; message: string }[] {
    return this.snsState.published.map(({ topicArn, subject, message }) => ({
      topicArn,
      subject,
      message,
    }));
  }

  // ---- ECS ----

  /** Creates a cluster (by name); returns its ARN. */
  createCluster(name: string): string {
    return this.ecsState.createCluster(name);
  }

  /** Registers a task definition as if by RegisterTaskDefinition (a source service's); returns its ARN. */
  seedTaskDefinition(definition: Record<string, unknown>, tags: EcsTag[] = []): string {
    return this.ecsState.seedTaskDefinition(definition, tags);
  }

  /** Every revision of the family, oldest first ([] for an unknown family). */
  taskDefinitions(family: string): StoredTaskDefinition[] {
    return structuredClone(this.ecsState.taskDefinitions.get(family) ?? []);
  }

  /** The newest service of that name in the cluster (name or ARN), any status. */
  ecsService(cluster: string, name: string): StoredService | undefined {
    const arn = cluster.startsWith("arn:") ? cluster : this.ecsState.clusters.get(cluster);
    const service = arn ? this.ecsState.services.get(arn)?.get(name) : undefined;
    return service ? structuredClone(service) : undefined;
  }

  /**
   * Moves the service's creation and its deployments' `createdAt` and `updatedAt` `ms` into the
   * past: a preview last deployed that long ago.
   */
  ageDeployments(cluster: string, name: string, ms: number): void {
    this.ecsState.ageDeployments(cluster, name, ms);
  }

  /** Every DRAINING service becomes INACTIVE (its tasks have stopped). */
  finishDraining(): void {
    this.ecsState.finishDraining();
  }

  // ---- Elastic Load Balancing v2 ----

  /**
   * Creates an Application Load Balancer (reused by name) and a listener with its default rule;
   * `ruleLimit` is the rules besides the default one it takes (default 100). Returns its ARN.
   */
  seedListener(
    options: {
      loadBalancerName?: string;
      port?: number;
      protocol?: string;
      ruleLimit?: number;
    } = {},
  ): string {
    return this.elbState.seedListener(options);
  }

  /** The listener and its rules (default rule included), or `undefined`. */
  listener(arn: string): StoredListener | undefined {
    const listener = this.elbState.listeners.get(arn);
    return listener ? structuredClone(listener) : undefined;
  }

  /** Every target group, by name. */
  targetGroups(): StoredTargetGroup[] {
    return [...this.elbState.targetGroups.values()]
      .map((group) => structuredClone(group))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- CloudWatch ----

  /**
   * Records a datapoint of a metric (a series is its namespace, name and exact dimension set), as a
   * service publishing it would; GetMetricData aggregates them per period.
   */
  recordMetric(datapoint: MetricDatapoint): void {
    this.cloudwatchState.record(datapoint);
  }

  /**
   * The most datapoints one GetMetricData answer holds before it pages with NextToken (CloudWatch:
   * 100,800; a request's MaxDatapoints, when smaller, wins). Reset with the double.
   */
  setMetricDataPageSize(datapoints: number): void {
    this.cloudwatchState.pageSize = datapoints;
  }

  // ---- calls, faults ----

  /** How many requests the double received, for one operation or in all. */
  callCount(operation?: string): number {
    return operation === undefined
      ? this.calls.length
      : this.calls.filter((c) => c.operation === operation).length;
  }

  inject(fault: FaultSpec): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** Forgets the injected faults not used up yet (state, calls and throttles stay). */
  clearFaults(): void {
    this.faults = [];
  }

  /** Token bucket per operation ("*" for all): calls beyond `perSecond` get ThrottlingException. */
  throttle(operation: string, limit: { perSecond: number }): void {
    this.buckets.set(operation, {
      perSecond: limit.perSecond,
      tokens: Math.max(1, limit.perSecond),
      refilledAt: Date.now(),
    });
  }

  /** Forgets all state, recorded calls, faults and throttles. */
  reset(): void {
    this.codepipelineState.reset();
    this.ecrState.reset();
    this.secretsState.reset();
    this.snsState.reset();
    this.dynamodbState.reset();
    this.sqsState.reset();
    this.codebuildState.reset();
    this.logsState.reset();
    this.ecsState.reset();
    this.elbState.reset();
    this.cloudwatchState.reset();
    this.clockOffsetMs = 0;
    this.calls.length = 0;
    this.lambdaState.reset();
    this.faults = [];
    this.buckets.clear();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  // ---- request handling ----

  /** @internal */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (request.method === "POST" && isQueryRequest(request.headers["content-type"])) {
      await this.handleQuery(body, response);
      return;
    }
    if (isLambdaRequest(request.method, request.url)) {
      await this.handleLambda(request, body, response);
      return;
    }
    const target = String(request.headers["x-amz-target"] ?? "");
    const dot = target.lastIndexOf(".");
    const service = TARGET_PREFIXES[target.slice(0, dot)];
    const operation = target.slice(dot + 1);
    const route = service ? this.routes.get(service) : undefined;
    if (request.method !== "POST" || !route || dot < 0 || !route.operations.has(operation)) {
      send(response, new AwsError("UnknownOperationException", `Unknown operation ${target}`));
      return;
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error("not an object");
      }
      input = parsed as Record<string, unknown>;
    } catch {
      send(
        response,
        new AwsError("SerializationException", "The request body is not a JSON object."),
      );
      return;
    }
    const call: RecordedCall = { service: route.service, operation, input, status: 0 };
    this.calls.push(call);
    const protocol =
      route.service === "dynamodb"
        ? JSON_1_0_DYNAMODB
        : route.service === "sqs"
          ? JSON_1_0_SQS
          : route.service === "cloudwatch"
            ? JSON_1_0_CLOUDWATCH
            : JSON_1_1;
    const answer = (result: unknown): void => {
      call.status = send(response, result, protocol);
    };

    if (!this.takeToken(operation)) {
      answer(new AwsError("ThrottlingException", "Rate exceeded"));
      return;
    }
    const fault = this.takeFault(operation);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.until) await fault.until.then(undefined, () => undefined);
    if (fault?.error && fault.after !== "apply") {
      answer(faultError(fault.error));
      return;
    }
    const result = this.execute(route, operation, input);
    answer(fault?.error ? faultError(fault.error) : result);
  }

  /** A Lambda REST-JSON request (Invoke): recorded, throttled and faulted like the JSON operations. */
  private async handleLambda(
    request: IncomingMessage,
    body: string,
    response: ServerResponse,
  ): Promise<void> {
    const input = this.lambdaState.input(this.lambdaModel, request);
    const call: RecordedCall = { service: "lambda", operation: "Invoke", input, status: 0 };
    this.calls.push(call);
    const answer = (result: Parameters<typeof sendLambda>[1]): void => {
      call.status = sendLambda(response, result);
    };
    if (!this.takeToken("Invoke")) {
      answer(new AwsError("TooManyRequestsException", "Rate exceeded", 429));
      return;
    }
    const fault = this.takeFault("Invoke");
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.error && fault.after !== "apply") {
      answer(faultError(fault.error));
      return;
    }
    const result = await this.lambdaState.invoke(this.lambdaValidator, input, body);
    answer(fault?.error ? faultError(fault.error) : result);
  }

  /**
   * An awsQuery request (SNS, ELBv2, CloudWatch): recorded, throttled and faulted like the JSON
   * operations.
   */
  private async handleQuery(body: string, response: ServerResponse): Promise<void> {
    const params = new URLSearchParams(body);
    const operation = params.get("Action") ?? "";
    const version = params.get("Version");
    const service: ServiceName =
      version === ELBV2_VERSION ? "elbv2" : version === CLOUDWATCH_VERSION ? "cloudwatch" : "sns";
    const call: RecordedCall = {
      service,
      operation,
      input: Object.fromEntries(params),
      status: 0,
    };
    this.calls.push(call);
    const answer = (result: string | AwsError): void => {
      call.status =
        service === "elbv2"
          ? sendQuery(response, operation, result, ELBV2_XMLNS)
          : service === "cloudwatch"
            ? sendQuery(response, operation, result, CLOUDWATCH_XMLNS)
            : sendQuery(response, operation, result);
    };
    if (!this.takeToken(operation)) {
      answer(new AwsError("Throttling", "Rate exceeded"));
      return;
    }
    const fault = this.takeFault(operation);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.error && fault.after !== "apply") {
      answer(faultError(fault.error));
      return;
    }
    if (fault?.until) await fault.until.then(undefined, () => undefined);
    let result: string | AwsError;
    try {
      result =
        service === "elbv2"
          ? this.executeQuery(this.elbRoute, operation, params, call)
          : service === "cloudwatch"
            ? this.executeQuery(this.cloudwatchQueryRoute(), operation, params, call)
            : this.snsState.handle(operation, params);
    } catch (error) {
      result =
        error instanceof AwsError
          ? error
          : new AwsError("InternalFailure", `The double failed: ${String(error)}`, 500);
    }
    answer(fault?.error ? faultError(fault.error) : result);
  }

  private cloudwatchQueryRoute(): Route {
    const route = this.routes.get("cloudwatch");
    if (!route) throw new Error("the CloudWatch route is missing");
    return route;
  }

  /** An ELBv2 or CloudWatch action: decoded and validated from the model, carried out, as XML. */
  private executeQuery(
    route: Route,
    operation: string,
    params: URLSearchParams,
    call: RecordedCall,
  ): string {
    const { model, validator } = route;
    if (!model || !validator || !route.operations.has(operation)) {
      throw new AwsError(
        "InvalidAction",
        `The action ${operation} is not valid for this endpoint.`,
      );
    }
    const input = decodeQueryInput(model, operation, params);
    call.input = input;
    const violations = validator.validateInput(operation, input);
    if (violations.length > 0) throw new AwsError("ValidationError", validationMessage(violations));
    try {
      const output =
        route.service === "cloudwatch"
          ? this.cloudwatchState.handle(operation, input)
          : this.elbState.handle(operation, input);
      return encodeQueryOutput(model, operation, output);
    } catch (error) {
      if (
        error instanceof AwsError &&
        !queryErrorCodes(model, operation).includes(error.type) &&
        !COMMON_QUERY_ERRORS.has(error.type)
      ) {
        return this.unlisted(operation, error);
      }
      throw error;
    }
  }

  private unlisted(operation: string, error: AwsError): never {
    throw new AwsError(
      "InternalFailure",
      `The double answered ${operation} with ${error.type}, which the model does not list`,
      500,
    );
  }

  private execute(route: Route, operation: string, input: Record<string, unknown>): unknown {
    if (route.validator && route.service === "cloudwatch") {
      // CloudWatch answers every malformed input with its awsQuery ValidationError.
      const violations = route.validator.validateInput(operation, input);
      if (violations.length > 0)
        return new AwsError("ValidationError", validationMessage(violations));
    } else if (route.validator) {
      const violations = route.validator.validateInput(operation, input);
      const typeErrors = violations.filter((v) => v.kind === "type");
      if (typeErrors.length > 0) {
        return new AwsError("SerializationException", typeErrors.map((v) => v.message).join("; "));
      }
      if (violations.length > 0) {
        return new AwsError("ValidationException", validationMessage(violations));
      }
    }
    try {
      switch (route.service) {
        case "codepipeline":
          return this.codepipelineState.handle(operation, input);
        case "ecr":
          return this.ecrState.handle(operation, input);
        case "secretsmanager":
          return this.secretsState.handle(operation, input);
        case "dynamodb":
          return this.dynamodbState.handle(operation, input);
        case "sqs":
          return this.sqsState.handle(operation, input);
        case "codebuild":
          return this.codebuildState.handle(operation, input);
        case "logs":
          return this.logsState.handle(operation, input);
        case "ecs":
          return this.ecsState.handle(operation, input);
        case "cloudwatch":
          return jsonWire(this.cloudwatchState.handle(operation, input));
        case "sns":
        case "elbv2":
          throw new AwsError("UnknownOperationException", `${route.service} speaks awsQuery`);
      }
    } catch (error) {
      if (!(error instanceof AwsError)) {
        return new AwsError("InternalFailure", `The double failed: ${String(error)}`, 500);
      }
      const allowed = route.model?.errorNames(operation);
      const common =
        COMMON_ERRORS.has(error.type) ||
        (route.service === "cloudwatch" && COMMON_QUERY_ERRORS.has(error.type));
      if (allowed && !allowed.includes(error.type) && !common) {
        return new AwsError(
          "InternalFailure",
          `The double answered ${operation} with ${error.type}, which the model does not list`,
          500,
        );
      }
      return error;
    }
  }

  private takeToken(operation: string): boolean {
    for (const key of [operation, "*"]) {
      const bucket = this.buckets.get(key);
      if (!bucket) continue;
      const now = Date.now();
      const capacity = Math.max(1, bucket.perSecond);
      bucket.tokens = Math.min(
        capacity,
        bucket.tokens + ((now - bucket.refilledAt) / 1000) * bucket.perSecond,
      );
      bucket.refilledAt = now;
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
    }
    return true;
  }

  private takeFault(operation: string): ActiveFault | undefined {
    const fault = this.faults.find(
      (f) => f.remaining > 0 && (f.operation === operation || f.operation === "*"),
    );
    if (fault) fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** Writes a JSON answer (an AwsError becomes an error answer); returns the HTTP status. */
function send(
  response: ServerResponse,
  result: unknown,
  protocol: JsonProtocol = JSON_1_1,
): number {
  const isError = result instanceof AwsError;
  const status = isError ? result.status : 200;
  let body: unknown = result ?? {};
  if (isError) {
    const namespace = protocol.errorNamespace?.(result.type);
    const type = namespace === undefined ? result.type : `${namespace}#${result.type}`;
    body = { __type: type, message: result.message, ...result.extra };
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": protocol.contentType,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
    ...(isError && protocol.queryCompatible
      ? { "x-amzn-query-error": `${result.type};${status >= 500 ? "Receiver" : "Sender"}` }
      : {}),
  });
  response.end(text);
  return status;
}

/** Starts the double on 127.0.0.1 and a free port. */
export async function startAwsDouble(options: AwsDoubleOptions = {}): Promise<AwsDouble> {
  const handlers: { double?: AwsDouble } = {};
  const server = createServer((request, response) => {
    handlers.double?.handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        send(response, new AwsError("InternalFailure", `The double failed: ${String(error)}`, 500));
      }
    });
  });
  const double = new AwsDouble(server, options);
  handlers.double = double;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return double;
}

/**
 * A retry strategy for tests: retries throttling, transient and server errors up to
 * `maxAttempts` attempts in all, waiting `delayMs` between attempts.
 */
export function fastRetryStrategy(maxAttempts: number, delayMs = 5): RetryStrategyV2 {
  const token = (count: number): RetryToken => ({
    getRetryCount: () => count,
    getRetryDelay: () => delayMs,
  });
  return {
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: RetryToken, info: RetryErrorInfo) => {
      const next = previous.getRetryCount() + 1;
      if (info.errorType === "CLIENT_ERROR" || next >= maxAttempts)
        throw info.error ?? new Error("no retry");
      return token(next);
    },
    recordSuccess: () => undefined,
  };
}
