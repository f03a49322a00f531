/**
 * Loads the pruned Smithy JSON models in test/fixtures/aws-models (produced by
 * test/fixtures/aws-models/vendor.mjs) and answers the questions the double asks of them: an operation's
 * input shape and the errors it may return.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ShapeRef {
  target: string;
  traits?: Record<string, unknown>;
}

export interface Shape {
  type: string;
  traits?: Record<string, unknown>;
  members?: Record<string, ShapeRef>;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  input?: ShapeRef;
  output?: ShapeRef;
  errors?: ShapeRef[];
  operations?: ShapeRef[];
}

export interface SmithyModel {
  shapes: Record<string, Shape>;
}

const MODEL_DIR = join(__dirname, "..", "..", "fixtures", "aws-models");

export const MODEL_FILES = {
  codepipeline: "codepipeline-2015-07-09.json",
  ecr: "ecr-2015-09-21.json",
  dynamodb: "dynamodb-2012-08-10.json",
  sqs: "sqs-2012-11-05.json",
  ecs: "ecs-2014-11-13.json",
  elbv2: "elastic-load-balancing-v2-2015-12-01.json",
  lambda: "lambda-2015-03-31.json",
  codebuild: "codebuild-2016-10-06.json",
  logs: "cloudwatch-logs-2014-03-28.json",
  cloudwatch: "cloudwatch-2010-08-01.json",
} as const;

export type ModelledService = keyof typeof MODEL_FILES;

const cache = new Map<ModelledService, ServiceModel>();

export class ServiceModel {
  readonly namespace: string;

  constructor(readonly model: SmithyModel) {
    const serviceId = Object.keys(model.shapes).find((id) => model.shapes[id]?.type === "service");
    if (!serviceId) throw new Error("model has no service shape");
    this.namespace = serviceId.split("#")[0] ?? "";
  }

  shape(id: string): Shape | undefined {
    return this.model.shapes[id];
  }

  operation(name: string): Shape | undefined {
    const op = this.model.shapes[`${this.namespace}#${name}`];
    return op?.type === "operation" ? op : undefined;
  }

  /** The shape id of the operation's input structure, if it has one. */
  inputShapeId(operation: string): string | undefined {
    return this.operation(operation)?.input?.target;
  }

  /** The plain names (no namespace) of the errors the model lists for the operation. */
  errorNames(operation: string): string[] {
    return (this.operation(operation)?.errors ?? []).map((e) => e.target.split("#")[1] ?? e.target);
  }
}

export function loadModel(service: ModelledService): ServiceModel {
  let model = cache.get(service);
  if (!model) {
    const text = readFileSync(join(MODEL_DIR, MODEL_FILES[service]), "utf8");
    model = new ServiceModel(JSON.parse(text) as SmithyModel);
    cache.set(service, model);
  }
  return model;
}
