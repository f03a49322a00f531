/**
 * The clone transform on a corpus of real pipeline declarations (test/fixtures/pipelines/corpus,
 * sources in its README). Each source and each clone goes through the real SDK into the AWS
 * double's CreatePipeline, which validates it against the CodePipeline API model and the pipeline
 * structure rules; the clone is read back with GetPipeline.
 */
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineCommand,
  type PipelineDeclaration as SdkPipelineDeclaration,
} from "@aws-sdk/client-codepipeline";
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  cloneDeclaration,
  sameDeclaration,
  sourceRefOf,
  type CloneTier,
} from "../../../functions/core/clone.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import type {
  ActionDeclaration,
  PipelineDeclaration,
  StageDeclaration,
} from "../../../functions/core/pipeline.js";
import {
  fastRetryStrategy,
  startAwsDouble,
  type AwsDouble,
} from "../../helpers/aws-double/index.js";
import { fixture } from "../../helpers/fixtures.js";

/** Our declaration type is structurally the SDK's; the cast only narrows string unions. */
const sdk = (d: PipelineDeclaration): SdkPipelineDeclaration => d as SdkPipelineDeclaration;

const corpusDir = join(__dirname, "..", "..", "fixtures", "pipelines", "corpus");
const corpus = readdirSync(corpusDir)
  .filter((file) => file.endsWith(".json"))
  .map((file) => file.replace(/\.json$/, ""))
  .sort();

/** What each clone keeps, stage by stage (action names), or the refusal it must give. */
const expected: Record<string, Record<string, string[]> | RegExp> = {
  "aws-cdk-commands-action": { Source: ["Source"], Build: ["Commands"] },
  "aws-docs-cross-region-deploy":
    /^pipeline AnyCompanyPipeline: its pull request clone would keep 1 stage \(Source\)/,
  "aws-docs-ecs-blue-green":
    /^pipeline MyImagePipeline: its pull request clone would keep 1 stage \(Source\)/,
  "aws-docs-lambda-invoke": { Source: ["Source"], Lambda: ["Lambda"] },
  "aws-docs-trigger-filters": { Source: ["ApplicationSource"], Build: ["Build"] },
  "aws-docs-variables": { Source: ["Source"], Build: ["Build"] },
  "copilot-bitbucket": {
    Source: ["SourceCodeFor-phonetool"],
    Build: ["Build"],
    "DeployTo-test": ["TestCommands"],
  },
  "deploy-backend-tag-trigger": { Source: ["Source"], Build: ["CodeBuild"] },
  "ecs-standard-deploy": { Source: ["Source"], Build: ["Build"] },
  // The apply behind the manual approval is gated by it: the clone drops both.
  "terraform-plan-approve-apply": { Source: ["Source"], Terraform_Plan: ["Terraform-Plan"] },
  "terraform-provider-aws-example": { Source: ["Source"], Build: ["Build"] },
  "uktrade-environment-pipeline": {
    Source: ["GitCheckout"],
    Build: ["InstallTools"],
    "Plan-dev": ["Plan"],
    "Apply-dev": ["Apply"],
    "Plan-prod": ["Plan"],
  },
};

/** A branch name with glob characters: the clone's triggers must match it literally. */
const headBranch = "feature/new-{ui}";

/** The clone role every clone of the corpus runs with. */
const CLONE_ROLE = "arn:aws:iam::123456789012:role/branchline-clone-role";

/** The pull request tier's artifact bucket, every clone's artifact store. */
const PR_BUCKET = "branchline-pr-artifacts";

/** The PR build project mirroring a source project. */
const prProject = (project: string) => `${project}-pr`;

/**
 * The pull request tier: the clone role, a PR project for each CodeBuild project of `source`, and the
 * PR artifact bucket (the pipeline's region left for the transform to read from the declaration).
 */
function tierOf(source: PipelineDeclaration): CloneTier {
  const buildProjects: Record<string, string> = {};
  for (const action of source.stages.flatMap((stage) => stage.actions)) {
    const project = action.configuration?.["ProjectName"];
    if (action.actionTypeId.provider === "CodeBuild" && project !== undefined) {
      buildProjects[project] = prProject(project);
    }
  }
  return { roleArn: CLONE_ROLE, buildProjects, artifactBucket: PR_BUCKET };
}

const withoutVersion = ({ version: _version, ...rest }: PipelineDeclaration) => rest;
const stageMembers = ({ actions: _actions, ...rest }: StageDeclaration) => rest;

function load(name: string): PipelineDeclaration {
  return fixture<{ pipeline: PipelineDeclaration }>(`pipelines/corpus/${name}.json`).pipeline;
}

function actionsByStage(pipeline: PipelineDeclaration): Record<string, string[]> {
  return Object.fromEntries(pipeline.stages.map((s) => [s.name, s.actions.map((a) => a.name)]));
}

function findAction(
  pipeline: PipelineDeclaration,
  stage: string,
  name: string,
): ActionDeclaration | undefined {
  return pipeline.stages.find((s) => s.name === stage)?.actions.find((a) => a.name === name);
}

/** The action as the clone must have it, given the source's: what the transform may change. */
function expectedAction(action: ActionDeclaration, repository: string): ActionDeclaration {
  const copy = structuredClone(action);
  const { category, provider } = action.actionTypeId;
  const config = copy.configuration ?? {};
  if (provider === "CodeStarSourceConnection" && config["FullRepositoryId"] === repository) {
    copy.configuration = { ...config, FullRepositoryId: repository, BranchName: headBranch };
  }
  if (provider === "CodeBuild") {
    const current: unknown[] = JSON.parse(config["EnvironmentVariables"] ?? "[]");
    const variables = current.filter((v) => v !== null);
    variables.push({ name: "IMAGE_TAG_PREFIX", value: "pr-7", type: "PLAINTEXT" });
    copy.configuration = {
      ...config,
      EnvironmentVariables: JSON.stringify(variables),
      ProjectName: prProject(config["ProjectName"] ?? ""),
    };
  }
  if (category === "Compute" && provider === "Commands") {
    copy.environmentVariables = [
      ...(action.environmentVariables ?? []),
      { name: "IMAGE_TAG_PREFIX", value: "pr-7" },
    ];
  }
  return copy;
}

describe("core/clone on the corpus of real declarations", () => {
  let double: AwsDouble;
  let client: CodePipelineClient;

  before(async () => {
    double = await startAwsDouble();
    client = new CodePipelineClient({
      endpoint: double.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
      retryStrategy: fastRetryStrategy(1),
    });
  });
  after(async () => {
    client.destroy();
    await double.close();
  });
  beforeEach(() => double.reset());

  it("holds at least 10 declarations, each with an expectation", () => {
    expect(corpus.length).to.be.at.least(10);
    expect(corpus).to.deep.equal(Object.keys(expected).sort());
  });

  for (const name of corpus) {
    describe(name, () => {
      it("is a declaration CodePipeline accepts", async () => {
        const source = load(name);
        await client.send(new CreatePipelineCommand({ pipeline: sdk(withoutVersion(source)) }));
        expect(double.pipelineNames()).to.include(source.name);
      });

      const outcome = expected[name];
      if (outcome instanceof RegExp) {
        it("gives a clone CodePipeline would refuse: the transform says why", () => {
          const source = load(name);
          const target = {
            prNumber: 7,
            headBranch,
            headRepository: sourceRefOf(source).repository,
          };
          expect(() => cloneDeclaration(source, target, tierOf(source))).to.throw(
            ConfigurationError,
            outcome,
          );
        });
        return;
      }

      it("gives a clone that CodePipeline accepts and GetPipeline returns unchanged", async () => {
        const source = load(name);
        const clone = cloneDeclaration(
          source,
          {
            prNumber: 7,
            headBranch,
            headRepository: sourceRefOf(source).repository,
          },
          tierOf(source),
        );
        await client.send(new CreatePipelineCommand({ pipeline: sdk(clone) }));
        const stored = await client.send(new GetPipelineCommand({ name: clone.name }));
        expect(sameDeclaration(stored.pipeline as PipelineDeclaration, clone)).to.equal(true);
      });

      it("keeps exactly the expected stages and actions", () => {
        const source = load(name);
        const clone = cloneDeclaration(
          source,
          {
            prNumber: 7,
            headBranch,
            headRepository: sourceRefOf(source).repository,
          },
          tierOf(source),
        );
        expect(actionsByStage(clone)).to.deep.equal(outcome);
      });

      it("keeps what the source had but the role and the store: variables, namespaces, other actions", () => {
        const source = load(name);
        const repository = sourceRefOf(source).repository;
        const clone = cloneDeclaration(
          source,
          {
            prNumber: 7,
            headBranch,
            headRepository: repository,
          },
          tierOf(source),
        );
        const members = ({
          name: _n,
          stages: _s,
          triggers: _t,
          version: _v,
          artifactStore: _store,
          artifactStores: _stores,
          ...rest
        }: PipelineDeclaration) => rest;
        expect(members(clone)).to.deep.equal({ ...members(source), roleArn: CLONE_ROLE });
        // One store, the pull request tier's bucket, S3-managed: no source KMS key, no other region.
        expect(clone.artifactStore).to.deep.equal({ type: "S3", location: PR_BUCKET });
        expect(clone).not.to.have.property("artifactStores");
        for (const stage of clone.stages) {
          const sourceStage = source.stages.find((s) => s.name === stage.name);
          expect(stageMembers(stage)).to.deep.equal(
            stageMembers(sourceStage ?? { name: "", actions: [] }),
          );
          for (const action of stage.actions) {
            const original = findAction(source, stage.name, action.name);
            expect(original, `${stage.name}/${action.name}`).not.to.equal(undefined);
            if (original) expect(action).to.deep.equal(expectedAction(original, repository));
          }
        }
      });

      it("fires its triggers on pushes to the pull request branch only, keeping the others", () => {
        const source = load(name);
        const repository = sourceRefOf(source).repository;
        const clone = cloneDeclaration(
          source,
          {
            prNumber: 7,
            headBranch,
            headRepository: repository,
          },
          tierOf(source),
        );
        expect(clone.triggers?.length ?? 0).to.equal(source.triggers?.length ?? 0);
        for (const trigger of clone.triggers ?? []) {
          const action = findAction(
            clone,
            clone.stages[0]?.name ?? "",
            trigger.gitConfiguration.sourceActionName,
          );
          if (action?.configuration?.["FullRepositoryId"] !== repository) continue;
          expect(trigger.gitConfiguration.pullRequest).to.equal(undefined);
          for (const push of trigger.gitConfiguration.push ?? []) {
            expect(push.branches).to.deep.equal({ includes: ["feature/new-\\{ui\\}"] });
            expect(push.tags).to.equal(undefined);
          }
        }
      });
    });
  }

  it("keeps every file path filter of the AWS docs trigger example", () => {
    const source = load("aws-docs-trigger-filters");
    const clone = cloneDeclaration(
      source,
      {
        prNumber: 7,
        headBranch,
        headRepository: sourceRefOf(source).repository,
      },
      tierOf(source),
    );
    expect(clone.triggers).to.deep.equal([
      {
        providerType: "CodeStarSourceConnection",
        gitConfiguration: {
          sourceActionName: "ApplicationSource",
          push: [
            {
              branches: { includes: ["feature/new-\\{ui\\}"] },
              filePaths: {
                includes: ["projectA/**", "common/**/*.js"],
                excludes: ["**/README.md", "**/LICENSE", "**/CONTRIBUTING.md"],
              },
            },
          ],
        },
      },
    ]);
  });
});
