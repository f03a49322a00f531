#!/usr/bin/env node
// Prunes the official AWS Smithy JSON models (github.com/aws/api-models-aws) down to the operations
// the local AWS test double serves, and writes them to test/fixtures/aws-models.
//
// Usage: node scripts/vendor-aws-models.mjs <directory holding the official model files>
//
// The directory must contain codepipeline-2015-07-09.json and ecr-2015-09-21.json (plus LICENSE and
// NOTICE, which are copied alongside). Only the listed operations and the closure of the shapes they
// reference are kept; documentation and example traits are dropped to keep the files small. Tests
// never run this script: they read the pruned files it produced.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const MODELS = [
  {
    file: "codepipeline-2015-07-09.json",
    operations: [
      "CreatePipeline",
      "DeletePipeline",
      "GetPipeline",
      "GetPipelineExecution",
      "GetPipelineState",
      "ListPipelineExecutions",
      "ListPipelines",
      "ListTagsForResource",
      "StartPipelineExecution",
      "StopPipelineExecution",
      "TagResource",
      "UntagResource",
      "UpdatePipeline",
    ],
  },
  {
    file: "ecr-2015-09-21.json",
    operations: ["BatchDeleteImage", "DescribeImages", "ListImages"],
  },
];

const DROPPED_TRAITS = new Set([
  "smithy.api#documentation",
  "smithy.api#examples",
  "smithy.api#externalDocumentation",
  "smithy.rules#endpointRuleSet",
  "smithy.rules#endpointTests",
  "aws.api#clientEndpointDiscovery",
  "smithy.test#smokeTests",
]);

function pruneTraits(traits) {
  if (!traits) return undefined;
  const kept = Object.fromEntries(
    Object.entries(traits).filter(([name]) => !DROPPED_TRAITS.has(name)),
  );
  return Object.keys(kept).length > 0 ? kept : undefined;
}

function withPrunedTraits(node) {
  const copy = { ...node };
  const traits = pruneTraits(node.traits);
  if (traits) copy.traits = traits;
  else delete copy.traits;
  return copy;
}

function pruneShape(shape) {
  const copy = withPrunedTraits(shape);
  for (const key of ["member", "key", "value", "input", "output"]) {
    if (shape[key]) copy[key] = withPrunedTraits(shape[key]);
  }
  if (shape.members) {
    copy.members = Object.fromEntries(
      Object.entries(shape.members).map(([name, member]) => [name, withPrunedTraits(member)]),
    );
  }
  return copy;
}

/** Every shape id a shape refers to (members, list/map parts, operation input/output/errors). */
function references(shape) {
  const ids = [];
  for (const key of ["member", "key", "value", "input", "output"]) {
    if (shape[key]?.target) ids.push(shape[key].target);
  }
  for (const member of Object.values(shape.members ?? {})) ids.push(member.target);
  for (const error of shape.errors ?? []) ids.push(error.target);
  return ids;
}

function prune(model, operationNames) {
  const shapes = model.shapes;
  const [serviceId, service] = Object.entries(shapes).find(([, s]) => s.type === "service");
  const namespace = serviceId.split("#")[0];
  const operationIds = operationNames.map((name) => `${namespace}#${name}`);
  for (const id of operationIds) {
    if (shapes[id]?.type !== "operation") throw new Error(`${id} is not an operation of the model`);
  }
  const keep = new Set();
  const queue = [...operationIds, ...(service.errors ?? []).map((e) => e.target)];
  while (queue.length > 0) {
    const id = queue.pop();
    if (keep.has(id) || !shapes[id]) continue; // prelude shapes (smithy.api#String) are not in the file
    keep.add(id);
    queue.push(...references(shapes[id]));
  }
  const out = {};
  const prunedService = pruneShape(service);
  prunedService.operations = operationIds.map((target) => ({ target }));
  delete prunedService.resources;
  out[serviceId] = prunedService;
  for (const id of [...keep].sort()) out[id] = pruneShape(shapes[id]);
  return { smithy: model.smithy, metadata: model.metadata, shapes: out };
}

function main() {
  const source = process.argv[2];
  if (!source) {
    console.error("usage: node scripts/vendor-aws-models.mjs <directory with the official models>");
    process.exit(2);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const target = resolve(here, "..", "test", "fixtures", "aws-models");
  mkdirSync(target, { recursive: true });
  for (const { file, operations } of MODELS) {
    const model = JSON.parse(readFileSync(join(source, file), "utf8"));
    const pruned = prune(model, operations);
    writeFileSync(join(target, file), JSON.stringify(pruned, null, 1) + "\n");
    console.log(`${file}: ${Object.keys(pruned.shapes).length} shapes`);
  }
  for (const file of ["LICENSE", "NOTICE"]) {
    if (!existsSync(join(source, file))) continue;
    copyFileSync(join(source, file), join(target, file));
    chmodSync(join(target, file), 0o644);
  }
}

main();
