/**
 * The whole stack: config -> components -> outputs. `infra/index.ts` calls this with the stack's
 * configuration; tests and `npm run synth` call it under Pulumi mocks.
 */
import { Branchline, type BranchlineOutputs } from "./branchline";
import type { FunctionArchives } from "./bundle";
import type { BranchlineConfig } from "./config";

export {
  Branchline,
  CONNECTION_PENDING_NOTE,
  connectionStatusNote,
  pipelineConsoleUrl,
  pullRequestName,
  type BranchlineOutputs,
} from "./branchline";

/** The component's name in the one-service form (its children keep the stack's former names). */
export const ONE_SERVICE_COMPONENT_NAME = "branchline";

/**
 * Declares every resource of a stack: one {@link Branchline} component, named after the prefix with
 * `branchline:services`, or `branchline` with today's one-service keys (whose resources keep their
 * names).
 * @param code the Lambdas' deployment archives (`functionArchives(bundleFunctions(), bundlePreviews())`).
 */
export function createBranchline(
  config: BranchlineConfig,
  code: FunctionArchives,
): BranchlineOutputs {
  const legacyNames = !config.multiService;
  return new Branchline(legacyNames ? ONE_SERVICE_COMPONENT_NAME : config.prefix, {
    config,
    code,
    legacyNames,
  }).outputs;
}
