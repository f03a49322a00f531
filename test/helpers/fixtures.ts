/** Loads JSON fixtures from test/fixtures. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PipelineDeclaration } from "../../functions/core/pipeline.js";

const root = join(__dirname, "..", "fixtures");

export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(join(root, path), "utf8")) as T;
}

/** A realistic GetPipeline answer's `pipeline` member. */
export function pipelineFixture(name: "v1-ecs" | "v2-triggers"): PipelineDeclaration {
  return fixture<{ pipeline: PipelineDeclaration }>(`pipelines/${name}.json`).pipeline;
}
