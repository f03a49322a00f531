/**
 * The setup the wire-level function tests share. Called inside a `describe`, it registers hooks that
 * start the AWS double (and the GitHub API double) once for the suite with the SDK pointed at it,
 * restore the environment and close both afterwards, and before each test reset both doubles, seed
 * the source pipeline, create the ECR repository and make a fresh capturing logger.
 */
import type { PipelineDeclaration } from "../../functions/core/pipeline.js";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";
import { captureLogger } from "./capture-logger.js";
import { setEnv } from "./env.js";
import { pipelineFixture } from "./fixtures.js";
import { GitHubApiDouble } from "./github-api.js";

export interface WireDoublesOptions {
  /** Start the GitHub API double as well (default true). */
  github?: boolean;
  /** The ECR repository created before each test (default: none). */
  repository?: string;
  /** The pipeline fixture seeded before each test as the source pipeline, or false for none. */
  seed?: "v1-ecs" | "v2-triggers" | false;
}

/** Filled in by the hooks: read the members inside tests and hooks, not while declaring the suite. */
export interface WireDoubles {
  readonly aws: AwsDouble;
  readonly github: GitHubApiDouble;
  /** A new one before each test. */
  readonly logger: ReturnType<typeof captureLogger>;
  /** The pipeline seeded before each test, as declared. */
  readonly source: PipelineDeclaration;
}

export function useWireDoubles(options: WireDoublesOptions = {}): WireDoubles {
  const { github: withGitHub = true, repository, seed = "v1-ecs" } = options;
  let aws: AwsDouble | undefined;
  let github: GitHubApiDouble | undefined;
  let logger: ReturnType<typeof captureLogger> | undefined;
  let source: PipelineDeclaration | undefined;
  let restoreEnv: (() => void) | undefined;

  before(async () => {
    aws = await startAwsDouble();
    if (withGitHub) {
      github = new GitHubApiDouble();
      await github.start();
    }
    restoreEnv = setEnv({ ...aws.env() });
  });

  after(async () => {
    restoreEnv?.();
    await aws?.close();
    await github?.close();
  });

  beforeEach(() => {
    const double = ready(aws, "the AWS double");
    double.reset();
    github?.reset();
    if (seed) {
      source = pipelineFixture(seed);
      double.seedPipeline(source);
    }
    if (repository !== undefined) double.createRepository(repository);
    logger = captureLogger();
  });

  return {
    get aws() {
      return ready(aws, "the AWS double");
    },
    get github() {
      return ready(
        github,
        withGitHub ? "the GitHub API double" : "a GitHub API double (github: false)",
      );
    },
    get logger() {
      return ready(logger, "the logger");
    },
    get source() {
      return ready(source, seed ? "the source pipeline" : "a source pipeline (seed: false)");
    },
  };
}

function ready<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`useWireDoubles: ${what} is not available here`);
  return value;
}
