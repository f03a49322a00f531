/**
 * Stacks of many services for the function tests: a routing table entry per service, and each
 * service's source pipeline (the v1-ecs fixture under the service's name, building its repository
 * and branch) seeded into the AWS double with its PR tier ECR repository.
 */
import type { PipelineDeclaration } from "../../functions/core/pipeline.js";
import type { AwsDouble } from "./aws-double/index.js";
import { pipelineFixture } from "./fixtures.js";

export interface TestService {
  name: string;
  repository: string;
  branch: string;
}

/** The table entry of a test service: source pipeline `shop-<name>`, PR images in `shop-<name>-pr`. */
export function tableEntry(service: TestService, extra: Record<string, unknown> = {}) {
  return {
    name: service.name,
    sourcePipeline: sourceOf(service),
    repository: service.repository,
    branch: service.branch,
    ecrRepositories: [imagesOf(service)],
    ...extra,
  };
}

export const sourceOf = (service: Pick<TestService, "name">): string => `shop-${service.name}`;
export const imagesOf = (service: Pick<TestService, "name">): string => `shop-${service.name}-pr`;

/** The v1-ecs fixture as the service's source pipeline. */
export function servicePipeline(service: TestService): PipelineDeclaration {
  const declaration = pipelineFixture("v1-ecs");
  declaration.name = sourceOf(service);
  const action = declaration.stages[0]?.actions[0];
  if (action?.configuration) {
    action.configuration["FullRepositoryId"] = service.repository;
    action.configuration["BranchName"] = service.branch;
  }
  return declaration;
}

/** Seeds each service's source pipeline and PR image repository; returns the table as JSON. */
export function seedServices(aws: AwsDouble, services: readonly TestService[]): string {
  for (const service of services) {
    aws.seedPipeline(servicePipeline(service));
    aws.createRepository(imagesOf(service));
  }
  return JSON.stringify(services.map((service) => tableEntry(service)));
}
