import { expect } from "chai";
import fc from "fast-check";
import {
  cloneDeclaration,
  cloneTags,
  isManagedClone,
  sameDeclaration,
  sanitiseTagValue,
  sourceRefOf,
} from "../../../functions/core/clone.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import type {
  ActionDeclaration,
  GitPullRequestFilter,
  GitPushFilter,
  PipelineDeclaration,
  PipelineTriggerDeclaration,
} from "../../../functions/core/pipeline.js";
import { pipelineFixture } from "../../helpers/fixtures.js";
import { CLONE_ROLE_ARN, PR_ARTIFACT_BUCKET, PR_BUILD_PROJECTS } from "../../helpers/tiers.js";

/** The clone role and the PR build projects of the fixtures. */
const tierOf = () => ({ roleArn: CLONE_ROLE_ARN, buildProjects: PR_BUILD_PROJECTS });

const target = {
  prNumber: 12,
  headBranch: "feature/login",
  headRepository: "Codertocat/Hello-World",
};

function variablesOf(pipeline: PipelineDeclaration, action: string): unknown {
  const found = pipeline.stages.flatMap((s) => s.actions).find((a) => a.name === action);
  return JSON.parse(found?.configuration?.["EnvironmentVariables"] ?? "null");
}

function actionOf(pipeline: PipelineDeclaration, action: string): ActionDeclaration | undefined {
  return pipeline.stages.flatMap((s) => s.actions).find((a) => a.name === action);
}

/**
 * A glob matcher written from CodePipeline's description of trigger filters, independent of the
 * code under test: `*` any characters but `/`, `**` any characters, `?` one character but `/`,
 * `[abc]`, `[a-z]`, `[!abc]` a character class, `{a,b}` alternatives (nestable), `\x` the literal x.
 */
export function globToRegExp(glob: string): RegExp {
  let i = 0;
  const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const inClass = (c: string) => c.replace(/[\\\]^-]/g, "\\$&");
  const take = (): string => {
    const c = glob[i++];
    if (c === undefined) throw new SyntaxError(`unterminated glob: ${glob}`);
    return c;
  };
  const charClass = (): string => {
    let out = "[";
    if (glob[i] === "!" || glob[i] === "^") {
      i++;
      out += "^";
    }
    let first = true;
    for (;;) {
      let c = take();
      if (c === "]" && !first) return `${out}]`;
      first = false;
      if (c === "\\") c = take();
      if (glob[i] === "-" && glob[i + 1] !== undefined && glob[i + 1] !== "]") {
        i++;
        let end = take();
        if (end === "\\") end = take();
        out += `${inClass(c)}-${inClass(end)}`;
      } else {
        out += inClass(c);
      }
    }
  };
  const sequence = (stops: string): string => {
    let out = "";
    while (i < glob.length && !stops.includes(glob[i] ?? "")) {
      const c = take();
      if (c === "\\") out += literal(take());
      else if (c === "*" && glob[i] === "*") {
        i++;
        out += ".*";
      } else if (c === "*") out += "[^/]*";
      else if (c === "?") out += "[^/]";
      else if (c === "[") out += charClass();
      else if (c === "{") {
        const alternatives: string[] = [];
        for (;;) {
          alternatives.push(sequence(",}"));
          if (take() === "}") break;
        }
        out += `(?:${alternatives.join("|")})`;
      } else out += literal(c);
    }
    return out;
  };
  const body = sequence("");
  return new RegExp(`^${body}$`, "su");
}

const globMatches = (glob: string, text: string): boolean => globToRegExp(glob).test(text);

/** The v2-triggers fixture with the App trigger's filters replaced. */
function withAppFilters(push: GitPushFilter[], pullRequest?: GitPullRequestFilter[]) {
  const source = pipelineFixture("v2-triggers");
  const trigger = source.triggers?.[0] as PipelineTriggerDeclaration;
  trigger.gitConfiguration.push = push;
  if (pullRequest) trigger.gitConfiguration.pullRequest = pullRequest;
  else delete trigger.gitConfiguration.pullRequest;
  return source;
}

function appTriggerOf(clone: PipelineDeclaration): PipelineTriggerDeclaration | undefined {
  return clone.triggers?.find((t) => t.gitConfiguration.sourceActionName === "App");
}

describe("core/clone", () => {
  describe("sourceRefOf", () => {
    it("reads the repository and branch of the first CodeConnections source action", () => {
      expect(sourceRefOf(pipelineFixture("v1-ecs"))).to.deep.equal({
        repository: "Codertocat/Hello-World",
        branch: "master",
      });
      expect(sourceRefOf(pipelineFixture("v2-triggers")).repository).to.equal(
        "Codertocat/Hello-World",
      );
    });

    it("refuses a pipeline without a GitHub source", () => {
      const pipeline = pipelineFixture("v1-ecs");
      pipeline.stages = pipeline.stages.slice(1);
      expect(() => sourceRefOf(pipeline)).to.throw(
        ConfigurationError,
        /no CodeStarSourceConnection/,
      );
    });
  });

  describe("cloneDeclaration of a V1 pipeline with an ECS deploy", () => {
    it("gives exactly the expected declaration", () => {
      const clone = cloneDeclaration(pipelineFixture("v1-ecs"), target);
      expect(clone).to.deep.equal({
        name: "hello-world-pr-12",
        roleArn: "arn:aws:iam::123456789012:role/hello-world-pipeline-role",
        artifactStore: { type: "S3", location: "hello-world-artifacts-0a1b2c3d" },
        executionMode: "SUPERSEDED",
        pipelineType: "V1",
        stages: [
          {
            name: "Source",
            actions: [
              {
                name: "GitHub",
                actionTypeId: {
                  category: "Source",
                  owner: "AWS",
                  provider: "CodeStarSourceConnection",
                  version: "1",
                },
                runOrder: 1,
                configuration: {
                  BranchName: "feature/login",
                  ConnectionArn:
                    "arn:aws:codeconnections:us-east-1:123456789012:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
                  DetectChanges: "true",
                  FullRepositoryId: "Codertocat/Hello-World",
                  OutputArtifactFormat: "CODE_ZIP",
                },
                outputArtifacts: [{ name: "source" }],
                inputArtifacts: [],
              },
            ],
          },
          {
            name: "Build",
            actions: [
              {
                name: "Image",
                actionTypeId: {
                  category: "Build",
                  owner: "AWS",
                  provider: "CodeBuild",
                  version: "1",
                },
                runOrder: 1,
                configuration: {
                  ProjectName: "hello-world-build",
                  EnvironmentVariables:
                    '[{"name":"STAGE","value":"ci","type":"PLAINTEXT"},{"name":"IMAGE_TAG_PREFIX","value":"pr-12","type":"PLAINTEXT"}]',
                },
                outputArtifacts: [{ name: "imagedefinitions" }],
                inputArtifacts: [{ name: "source" }],
              },
            ],
          },
        ],
      });
    });

    it("does not change the source declaration", () => {
      const source = pipelineFixture("v1-ecs");
      const before = structuredClone(source);
      cloneDeclaration(source, target);
      expect(source).to.deep.equal(before);
    });

    it("gives every CodeBuild action IMAGE_TAG_PREFIX even without variables", () => {
      const source = pipelineFixture("v1-ecs");
      const build = source.stages[1]?.actions[0];
      if (build?.configuration) delete build.configuration["EnvironmentVariables"];
      const clone = cloneDeclaration(source, target);
      expect(variablesOf(clone, "Image")).to.deep.equal([
        { name: "IMAGE_TAG_PREFIX", value: "pr-12", type: "PLAINTEXT" },
      ]);
    });

    it("refuses EnvironmentVariables that are not a JSON list, naming the action", () => {
      const source = pipelineFixture("v1-ecs");
      const build = source.stages[1]?.actions[0];
      if (build?.configuration) build.configuration["EnvironmentVariables"] = "{not json";
      expect(() => cloneDeclaration(source, target)).to.throw(ConfigurationError, /action Image/);
    });

    it("names a fork's repository when a fork is built", () => {
      const clone = cloneDeclaration(pipelineFixture("v1-ecs"), {
        ...target,
        headRepository: "someone/Hello-World",
      });
      expect(clone.stages[0]?.actions[0]?.configuration).to.include({
        FullRepositoryId: "someone/Hello-World",
        BranchName: "feature/login",
      });
    });
  });

  describe("cloneDeclaration of a V2 pipeline with triggers and several sources", () => {
    const clone = cloneDeclaration(pipelineFixture("v2-triggers"), target);

    it("keeps type, execution mode, variables, role and artifact store; drops version", () => {
      expect(clone.name).to.equal("hello-world-v2-pr-12");
      expect(clone.pipelineType).to.equal("V2");
      expect(clone.executionMode).to.equal("QUEUED");
      expect(clone.variables).to.deep.equal([
        { name: "DEPLOY_ENV", defaultValue: "staging", description: "target environment" },
      ]);
      expect(clone.roleArn).to.equal("arn:aws:iam::123456789012:role/hello-world-pipeline-role");
      expect(clone.artifactStore).to.deep.equal({
        type: "S3",
        location: "hello-world-artifacts-0a1b2c3d",
      });
      expect(clone).not.to.have.property("version");
    });

    it("points only the source actions reading the repository at the PR branch", () => {
      const [app, charts] = clone.stages[0]?.actions ?? [];
      expect(app?.configuration?.["BranchName"]).to.equal("feature/login");
      expect(app?.namespace).to.equal("SourceVariables");
      expect(charts?.configuration?.["BranchName"]).to.equal("main");
      expect(charts?.configuration?.["FullRepositoryId"]).to.equal("Codertocat/charts");
    });

    it("replaces a stale IMAGE_TAG_PREFIX and keeps the other variables, in every CodeBuild action", () => {
      expect(variablesOf(clone, "Image")).to.deep.equal([
        { name: "COMMIT", value: "#{SourceVariables.CommitId}", type: "PLAINTEXT" },
        { name: "IMAGE_TAG_PREFIX", value: "pr-12", type: "PLAINTEXT" },
      ]);
      expect(variablesOf(clone, "UnitTests")).to.deep.equal([
        { name: "IMAGE_TAG_PREFIX", value: "pr-12", type: "PLAINTEXT" },
      ]);
    });

    it("drops every Deploy and Approval action and the stages they leave empty", () => {
      expect(clone.stages.map((s) => s.name)).to.deep.equal(["Source", "Build"]);
      const categories = clone.stages.flatMap((s) => s.actions.map((a) => a.actionTypeId.category));
      expect(categories).not.to.include("Deploy");
      expect(categories).not.to.include("Approval");
    });

    it("rewrites the repository's trigger to the PR branch only and leaves the others", () => {
      // The source trigger's pull request filter has no filePaths: it starts the source pipeline
      // on a change to any path, and so does the clone's trigger.
      expect(clone.triggers).to.deep.equal([
        {
          providerType: "CodeStarSourceConnection",
          gitConfiguration: {
            sourceActionName: "App",
            push: [{ branches: { includes: ["feature/login"] } }],
          },
        },
        {
          providerType: "CodeStarSourceConnection",
          gitConfiguration: {
            sourceActionName: "Charts",
            push: [{ branches: { includes: ["main"] } }],
          },
        },
      ]);
    });
  });

  describe("the pull request tier (clone role, PR build projects)", () => {
    const tier = { roleArn: CLONE_ROLE_ARN, buildProjects: PR_BUILD_PROJECTS };
    const projectOf = (pipeline: PipelineDeclaration, action: string) =>
      actionOf(pipeline, action)?.configuration?.["ProjectName"];

    it("runs the clone with the clone role and each CodeBuild action in its PR project", () => {
      const source = pipelineFixture("v2-triggers");
      const before = structuredClone(source);
      const clone = cloneDeclaration(source, target, tier);
      expect(clone.roleArn).to.equal(CLONE_ROLE_ARN);
      expect(projectOf(clone, "Image")).to.equal("hello-world-pr");
      expect(projectOf(clone, "UnitTests")).to.equal("hello-world-pr-test");
      // The rest of the action is rewritten as without a tier.
      expect(variablesOf(clone, "Image")).to.deep.equal([
        { name: "COMMIT", value: "#{SourceVariables.CommitId}", type: "PLAINTEXT" },
        { name: "IMAGE_TAG_PREFIX", value: "pr-12", type: "PLAINTEXT" },
      ]);
      expect(source).to.deep.equal(before);
    });

    it("is the same clone as without a tier but for the role and the projects", () => {
      const source = pipelineFixture("v2-triggers");
      const plain = cloneDeclaration(source, target);
      const tiered = cloneDeclaration(source, target, tier);
      for (const stage of plain.stages) {
        for (const action of stage.actions) {
          const project = action.configuration?.["ProjectName"];
          if (action.actionTypeId.provider === "CodeBuild" && project !== undefined) {
            action.configuration = {
              ...action.configuration,
              ProjectName: PR_BUILD_PROJECTS[project] ?? "",
            };
          }
        }
      }
      expect(tiered).to.deep.equal({ ...plain, roleArn: CLONE_ROLE_ARN });
    });

    it("sets only the role when no projects are given, and only the projects when no role is", () => {
      const source = pipelineFixture("v1-ecs");
      const roleOnly = cloneDeclaration(source, target, { roleArn: CLONE_ROLE_ARN });
      expect(roleOnly.roleArn).to.equal(CLONE_ROLE_ARN);
      expect(projectOf(roleOnly, "Image")).to.equal("hello-world-build");
      const projectsOnly = cloneDeclaration(source, target, { buildProjects: PR_BUILD_PROJECTS });
      expect(projectsOnly.roleArn).to.equal(source.roleArn);
      expect(projectOf(projectsOnly, "Image")).to.equal("hello-world-pr");
    });

    it("refuses a CodeBuild action whose project has no PR project, naming the action and project", () => {
      const source = pipelineFixture("v2-triggers");
      expect(() =>
        cloneDeclaration(source, target, {
          roleArn: CLONE_ROLE_ARN,
          buildProjects: { "hello-world-build": "hello-world-pr" },
        }),
      ).to.throw(
        ConfigurationError,
        /^pipeline hello-world-v2, action UnitTests: its CodeBuild project hello-world-test has no pull request build project in PR_BUILD_PROJECTS \(mapped: hello-world-build\)/,
      );
      expect(() => cloneDeclaration(source, target, { buildProjects: {} })).to.throw(
        ConfigurationError,
        /action Image: its CodeBuild project hello-world-build has no pull request build project in PR_BUILD_PROJECTS \(mapped: none\)/,
      );
    });

    it("never maps a project through an inherited member", () => {
      const source = pipelineFixture("v1-ecs");
      const image = actionOf(source, "Image");
      if (image?.configuration) image.configuration["ProjectName"] = "toString";
      expect(() => cloneDeclaration(source, target, tier)).to.throw(
        ConfigurationError,
        /action Image: its CodeBuild project toString has no pull request build project/,
      );
    });

    it("keeps an action's own roleArn (a cross-account action's role in the other account)", () => {
      const source = pipelineFixture("v1-ecs");
      const crossAccount = "arn:aws:iam::210987654321:role/partner-build-role";
      const image = actionOf(source, "Image");
      if (image) image.roleArn = crossAccount;
      const clone = cloneDeclaration(source, target, tier);
      expect(clone.roleArn).to.equal(CLONE_ROLE_ARN);
      expect(actionOf(clone, "Image")?.roleArn).to.equal(crossAccount);
      expect(projectOf(clone, "Image")).to.equal("hello-world-pr");
    });

    it("leaves other providers' ProjectName alone", () => {
      const source = pipelineFixture("v1-ecs");
      source.stages[1]?.actions.push({
        name: "Invoke",
        actionTypeId: { category: "Invoke", owner: "AWS", provider: "Lambda", version: "1" },
        configuration: { FunctionName: "notify", ProjectName: "not-codebuild" },
        runOrder: 2,
      });
      const clone = cloneDeclaration(source, target, tier);
      expect(actionOf(clone, "Invoke")?.configuration).to.deep.equal({
        FunctionName: "notify",
        ProjectName: "not-codebuild",
      });
    });
  });

  describe("the pull request tier's artifact bucket", () => {
    const KMS_KEY = { id: "arn:aws:kms:eu-west-1:123456789012:key/source-tier", type: "KMS" };

    /** v1-ecs made cross-region: its ECS deploy runs in us-east-1, with a store there. */
    function crossRegion(): PipelineDeclaration {
      const source = pipelineFixture("v1-ecs");
      delete source.artifactStore;
      source.artifactStores = {
        "eu-west-1": {
          type: "S3",
          location: "hello-world-artifacts-0a1b2c3d",
          encryptionKey: KMS_KEY,
        },
        "us-east-1": { type: "S3", location: "hello-world-artifacts-us-east-1" },
      };
      const service = actionOf(source, "Service");
      if (service) service.region = "us-east-1";
      return source;
    }

    function addInvoke(source: PipelineDeclaration, region: string | undefined): void {
      source.stages[1]?.actions.push({
        name: "Smoke",
        actionTypeId: { category: "Invoke", owner: "AWS", provider: "Lambda", version: "1" },
        configuration: { FunctionName: "smoke" },
        inputArtifacts: [{ name: "imagedefinitions" }],
        runOrder: 2,
        ...(region === undefined ? {} : { region }),
      });
    }

    it("stores the clone's artifacts in the bucket, S3-managed: the source's KMS key is dropped", () => {
      const source = pipelineFixture("v1-ecs");
      source.artifactStore = {
        ...(source.artifactStore ?? { type: "S3", location: "" }),
        encryptionKey: KMS_KEY,
      };
      const before = structuredClone(source);
      const clone = cloneDeclaration(source, target, {
        ...tierOf(),
        artifactBucket: PR_ARTIFACT_BUCKET,
      });
      expect(clone.artifactStore).to.deep.equal({ type: "S3", location: PR_ARTIFACT_BUCKET });
      expect(clone).not.to.have.property("artifactStores");
      // Nothing else differs from the clone without a bucket, and the source is untouched.
      const plain = cloneDeclaration(source, target, tierOf());
      expect({ ...clone, artifactStore: plain.artifactStore }).to.deep.equal(plain);
      expect(source).to.deep.equal(before);
    });

    it("keeps the source's artifact store without a bucket", () => {
      const clone = cloneDeclaration(crossRegion(), target, tierOf());
      expect(clone.artifactStores).to.deep.equal(crossRegion().artifactStores);
      expect(clone).not.to.have.property("artifactStore");
    });

    it("gives a cross-region source's clone the one bucket once the other region's actions are dropped", () => {
      const source = crossRegion();
      addInvoke(source, "eu-west-1");
      const image = actionOf(source, "Image");
      if (image) image.region = "eu-west-1";
      const clone = cloneDeclaration(source, target, {
        ...tierOf(),
        artifactBucket: PR_ARTIFACT_BUCKET,
        region: "eu-west-1",
      });
      expect(clone).not.to.have.property("artifactStores");
      expect(clone.artifactStore).to.deep.equal({ type: "S3", location: PR_ARTIFACT_BUCKET });
      expect(clone.stages.map((stage) => stage.name)).to.deep.equal(["Source", "Build"]);
      // Actions naming the pipeline's own region keep it, as GetPipeline returns them.
      expect(actionOf(clone, "Smoke")?.region).to.equal("eu-west-1");
      expect(actionOf(clone, "Image")?.region).to.equal("eu-west-1");
    });

    it("refuses a clone that keeps an action in another region, naming the action and the region", () => {
      const source = crossRegion();
      addInvoke(source, "us-east-1");
      expect(() =>
        cloneDeclaration(source, target, {
          ...tierOf(),
          artifactBucket: PR_ARTIFACT_BUCKET,
          region: "eu-west-1",
        }),
      ).to.throw(
        ConfigurationError,
        /^pipeline hello-world, action Smoke: its pull request clone would keep this action in region us-east-1, and the pull request tier's artifact bucket is in the pipeline's region only$/,
      );
      // Without a bucket the clone keeps the source's stores, and the action.
      const clone = cloneDeclaration(source, target, tierOf());
      expect(actionOf(clone, "Smoke")?.region).to.equal("us-east-1");
      expect(clone.artifactStores).to.deep.equal(source.artifactStores);
    });

    it("without the pipeline's region: reads it from one store, else counts every named region as another", () => {
      const bucketOnly = { ...tierOf(), artifactBucket: PR_ARTIFACT_BUCKET };
      // A single artifactStore: no action runs in another region (CodePipeline's rule).
      const single = pipelineFixture("v1-ecs");
      addInvoke(single, "eu-west-1");
      expect(actionOf(cloneDeclaration(single, target, bucketOnly), "Smoke")?.region).to.equal(
        "eu-west-1",
      );
      // One store: its region is the pipeline's.
      const oneStore = crossRegion();
      oneStore.artifactStores = { "eu-west-1": { type: "S3", location: "hello-world-artifacts" } };
      addInvoke(oneStore, "eu-west-1");
      expect(cloneDeclaration(oneStore, target, bucketOnly).artifactStore).to.deep.equal({
        type: "S3",
        location: PR_ARTIFACT_BUCKET,
      });
      // Two stores: the declaration does not tell which region is the pipeline's.
      const twoStores = crossRegion();
      addInvoke(twoStores, "eu-west-1");
      expect(() => cloneDeclaration(twoStores, target, bucketOnly)).to.throw(
        ConfigurationError,
        /action Smoke: .* in region eu-west-1,/,
      );
    });
  });

  describe("CodeBuild EnvironmentVariables as Terraform renders them", () => {
    it("drops null entries (jsonencode of an unset conditional entry) and keeps the others", () => {
      const source = pipelineFixture("v1-ecs");
      const build = actionOf(source, "Image");
      if (build?.configuration) {
        build.configuration["EnvironmentVariables"] =
          '[{"name":"STAGE","value":"ci","type":"PLAINTEXT"},null,{"name":"TOKEN","value":"/ci/token","type":"PARAMETER_STORE"},null]';
      }
      expect(variablesOf(cloneDeclaration(source, target), "Image")).to.deep.equal([
        { name: "STAGE", value: "ci", type: "PLAINTEXT" },
        { name: "TOKEN", value: "/ci/token", type: "PARAMETER_STORE" },
        { name: "IMAGE_TAG_PREFIX", value: "pr-12", type: "PLAINTEXT" },
      ]);
    });

    it("accepts a list of nulls only", () => {
      const source = pipelineFixture("v1-ecs");
      const build = actionOf(source, "Image");
      if (build?.configuration) build.configuration["EnvironmentVariables"] = "[null]";
      expect(variablesOf(cloneDeclaration(source, target), "Image")).to.deep.equal([
        { name: "IMAGE_TAG_PREFIX", value: "pr-12", type: "PLAINTEXT" },
      ]);
    });

    for (const bad of ["[1]", '["STAGE=ci"]', '[{"value":"x"}]', '{"name":"A","value":"b"}']) {
      it(`refuses ${bad}, naming the pipeline and the action`, () => {
        const source = pipelineFixture("v1-ecs");
        const build = actionOf(source, "Image");
        if (build?.configuration) build.configuration["EnvironmentVariables"] = bad;
        expect(() => cloneDeclaration(source, target)).to.throw(
          ConfigurationError,
          /pipeline hello-world, action Image: EnvironmentVariables is not a JSON list/,
        );
      });
    }

    it("refuses variables that IMAGE_TAG_PREFIX would push past 1000 characters", () => {
      const source = pipelineFixture("v1-ecs");
      const build = actionOf(source, "Image");
      const long = JSON.stringify([{ name: "A", value: "x".repeat(930), type: "PLAINTEXT" }]);
      expect(long.length).to.be.below(1000);
      if (build?.configuration) build.configuration["EnvironmentVariables"] = long;
      expect(() => cloneDeclaration(source, target)).to.throw(
        ConfigurationError,
        /pipeline hello-world, action Image: .* more than CodePipeline's 1000/,
      );
    });
  });

  describe("Commands actions", () => {
    function withCommands(environmentVariables?: ActionDeclaration["environmentVariables"]) {
      const source = pipelineFixture("v2-triggers");
      const action: ActionDeclaration = {
        name: "Lint",
        actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
        runOrder: 2,
        commands: ["npm ci", "npm run lint"],
        inputArtifacts: [{ name: "app" }],
        outputVariables: ["LINT_STATUS"],
      };
      if (environmentVariables) action.environmentVariables = environmentVariables;
      source.stages[1]?.actions.push(action);
      return source;
    }

    it("get IMAGE_TAG_PREFIX in their environmentVariables member, and no configuration", () => {
      const lint = actionOf(cloneDeclaration(withCommands(), target), "Lint");
      expect(lint).to.deep.equal({
        name: "Lint",
        actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
        runOrder: 2,
        commands: ["npm ci", "npm run lint"],
        inputArtifacts: [{ name: "app" }],
        outputVariables: ["LINT_STATUS"],
        environmentVariables: [{ name: "IMAGE_TAG_PREFIX", value: "pr-12" }],
      });
    });

    it("keep their other variables and lose a stale IMAGE_TAG_PREFIX", () => {
      const source = withCommands([
        { name: "IMAGE_TAG_PREFIX", value: "stale" },
        { name: "NODE_ENV", value: "test", type: "PLAINTEXT" },
      ]);
      expect(
        actionOf(cloneDeclaration(source, target), "Lint")?.environmentVariables,
      ).to.deep.equal([
        { name: "NODE_ENV", value: "test", type: "PLAINTEXT" },
        { name: "IMAGE_TAG_PREFIX", value: "pr-12" },
      ]);
      expect(actionOf(source, "Lint")?.environmentVariables).to.have.length(2);
    });

    it("refuses a Commands action that already has the 10 variables CodePipeline allows", () => {
      const ten = Array.from({ length: 10 }, (_, n) => ({ name: `V${n}`, value: "x" }));
      expect(() => cloneDeclaration(withCommands(ten), target)).to.throw(
        ConfigurationError,
        /pipeline hello-world-v2, action Lint: .*at most 10/,
      );
    });
  });

  describe("what the clone drops", () => {
    it("drops an Approval action from a stage and keeps the stage's other actions", () => {
      const source = pipelineFixture("v2-triggers");
      source.stages[1]?.actions.push({
        name: "SignOff",
        actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" },
        runOrder: 2,
        configuration: { NotificationArn: "arn:aws:sns:us-east-1:123456789012:prod-approvers" },
      });
      const clone = cloneDeclaration(source, target);
      expect(clone.stages.map((s) => s.actions.map((a) => a.name))).to.deep.equal([
        ["App", "Charts"],
        ["Image", "UnitTests"],
      ]);
    });

    it("drops what an approval gates: the later actions of its stage and every later stage", () => {
      const source = pipelineFixture("v2-triggers");
      const build = source.stages[1];
      if (!build) throw new Error("fixture has no second stage");
      const approval: ActionDeclaration = {
        name: "SignOff",
        actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" },
        runOrder: 2,
      };
      const apply: ActionDeclaration = {
        name: "Apply",
        actionTypeId: { category: "Build", owner: "AWS", provider: "CodeBuild", version: "1" },
        runOrder: 3,
        configuration: { ProjectName: "terraform-apply" },
        inputArtifacts: [{ name: "app" }],
      };
      build.actions.push(approval, apply);
      source.stages.push({
        name: "AfterSignOff",
        actions: [{ ...apply, name: "Migrate", runOrder: 1 }],
      });
      const clone = cloneDeclaration(source, target);
      expect(clone.stages.map((s) => s.actions.map((a) => a.name))).to.deep.equal([
        ["App", "Charts"],
        ["Image", "UnitTests"],
      ]);
    });

    it("drops actions that read the variables of a dropped action, and only those", () => {
      const source = pipelineFixture("v2-triggers");
      // Without the approval stage, which would gate (and drop) everything after it.
      source.stages = source.stages.filter((stage) => stage.name !== "Approve");
      const service = actionOf(source, "Service");
      if (service) service.namespace = "DeployVariables";
      const check = (name: string, url: string): ActionDeclaration => ({
        name,
        actionTypeId: { category: "Test", owner: "AWS", provider: "CodeBuild", version: "1" },
        configuration: {
          ProjectName: "smoke",
          EnvironmentVariables: JSON.stringify([{ name: "URL", value: url, type: "PLAINTEXT" }]),
        },
        inputArtifacts: [{ name: "app" }],
      });
      source.stages.push({
        name: "Verify",
        actions: [
          check("Smoke", "#{DeployVariables.ServiceUrl}"),
          check("Commit", "#{SourceVariables.CommitId}"),
          check("Run", "#{codepipeline.PipelineExecutionId}"),
          check("Env", "#{variables.DEPLOY_ENV}"),
        ],
      });
      const clone = cloneDeclaration(source, target);
      expect(
        clone.stages.find((s) => s.name === "Verify")?.actions.map((a) => a.name),
      ).to.deep.equal(["Commit", "Run", "Env"]);
    });
  });

  describe("CodePipeline's shape rules", () => {
    it("refuses a source pipeline whose clone would keep only its source stage", () => {
      const source = pipelineFixture("v1-ecs");
      source.stages.splice(1, 1); // Source + Deploy only
      expect(() => cloneDeclaration(source, target)).to.throw(
        ConfigurationError,
        /^pipeline hello-world: its pull request clone would keep 1 stage \(Source\) .* at least 2/,
      );
    });

    it("refuses a clone whose only build reads the output of a deploy action", () => {
      const source = pipelineFixture("v1-ecs");
      const image = actionOf(source, "Image");
      if (image) image.inputArtifacts = [{ name: "approved" }];
      source.stages.splice(1, 0, {
        name: "Gate",
        actions: [
          {
            name: "Release",
            actionTypeId: { category: "Deploy", owner: "AWS", provider: "S3", version: "1" },
            configuration: { BucketName: "b", Extract: "false", ObjectKey: "k" },
            inputArtifacts: [{ name: "source" }],
            outputArtifacts: [{ name: "approved" }],
          },
        ],
      });
      expect(() => cloneDeclaration(source, target)).to.throw(ConfigurationError, /1 stage/);
    });

    it("refuses a stage condition whose rule reads an artifact only dropped actions produce", () => {
      const source = pipelineFixture("v2-triggers");
      const build = source.stages[1];
      if (build) {
        build.beforeEntry = {
          conditions: [
            {
              result: "FAIL",
              rules: [
                {
                  name: "Policy",
                  ruleTypeId: {
                    category: "Rule",
                    owner: "AWS",
                    provider: "Commands",
                    version: "1",
                  },
                  commands: ["./check.sh"],
                  inputArtifacts: [{ name: "released" }],
                },
              ],
            },
          ],
        };
      }
      const assets = actionOf(source, "Assets");
      if (assets) assets.outputArtifacts = [{ name: "released" }];
      expect(() => cloneDeclaration(source, target)).to.throw(
        ConfigurationError,
        /pipeline hello-world-v2: rule Policy of stage Build reads artifact released/,
      );
    });

    it("refuses a first stage holding other than source actions (a source CodePipeline would refuse)", () => {
      const source = pipelineFixture("v1-ecs");
      const first = source.stages[0];
      const image = actionOf(source, "Image");
      if (first && image) first.actions.push({ ...structuredClone(image), name: "Early" });
      expect(() => cloneDeclaration(source, target)).to.throw(
        ConfigurationError,
        /pipeline hello-world: the clone's first stage Source would hold action Early/,
      );
    });

    it("refuses a trigger that names no source action of the clone", () => {
      const source = pipelineFixture("v2-triggers");
      const charts = source.triggers?.[1];
      if (charts) charts.gitConfiguration.sourceActionName = "Missing";
      expect(() => cloneDeclaration(source, target)).to.throw(
        ConfigurationError,
        /pipeline hello-world-v2: a trigger names Missing/,
      );
    });

    it("refuses a branch whose trigger pattern would exceed 255 characters", () => {
      const branch = `feature/${"{x}".repeat(82)}`;
      expect(branch.length).to.be.at.most(255);
      expect(() =>
        cloneDeclaration(pipelineFixture("v2-triggers"), { ...target, headBranch: branch }),
      ).to.throw(ConfigurationError, /pipeline hello-world-v2: the trigger branch pattern/);
    });
  });

  describe("V2 triggers", () => {
    it("the glob matcher of this test reads patterns as CodePipeline documents them", () => {
      const cases: [string, string, boolean][] = [
        ["release/*", "release/1.2", true],
        ["release/*", "release/1/2", false],
        ["release/**", "release/1/2", true],
        ["v?", "v1", true],
        ["v?", "v10", false],
        ["[ab]x", "bx", true],
        ["[!ab]x", "bx", false],
        ["[a-c]x", "cx", true],
        ["{main,evil}", "main", true],
        ["{main,evil}", "{main,evil}", false],
        ["fix-{1}", "fix-1", true],
        ["fix-{1}", "fix-{1}", false],
        ["a\\*b", "a*b", true],
        ["a\\*b", "axb", false],
      ];
      for (const [glob, text, expected] of cases) {
        expect(globMatches(glob, text), `${glob} ~ ${text}`).to.equal(expected);
      }
    });

    const patternOf = (branch: string): string => {
      const clone = cloneDeclaration(pipelineFixture("v2-triggers"), {
        ...target,
        headBranch: branch,
      });
      const includes = appTriggerOf(clone)?.gitConfiguration.push?.[0]?.branches?.includes ?? [];
      expect(includes).to.have.length(1);
      return includes[0] ?? "";
    };

    it("a branch named {main,evil} does not fire on pushes to main", () => {
      const pattern = patternOf("{main,evil}");
      expect(globMatches(pattern, "main")).to.equal(false);
      expect(globMatches(pattern, "evil")).to.equal(false);
      expect(globMatches(pattern, "{main,evil}")).to.equal(true);
    });

    it("a branch named fix-{1} fires on itself (and not on fix-1)", () => {
      const pattern = patternOf("fix-{1}");
      expect(globMatches(pattern, "fix-{1}")).to.equal(true);
      expect(globMatches(pattern, "fix-1")).to.equal(false);
    });

    it("every branch's pattern matches exactly that branch", () => {
      const text = fc.string({
        unit: fc.constantFrom(
          "a",
          "b",
          "/",
          "*",
          "?",
          "[",
          "]",
          "{",
          "}",
          ",",
          "!",
          "-",
          "\\",
          ".",
        ),
        minLength: 1,
        maxLength: 12,
      });
      fc.assert(
        fc.property(text, fc.array(text, { maxLength: 8 }), (branch, others) => {
          const pattern = patternOf(branch);
          expect(globMatches(pattern, branch), pattern).to.equal(true);
          for (const other of others) {
            expect(globMatches(pattern, other), `${pattern} ~ ${other}`).to.equal(other === branch);
          }
        }),
        { numRuns: 300 },
      );
    });

    it("keeps the file paths of every push and pull request filter, one push filter each", () => {
      const source = withAppFilters(
        [
          {
            branches: { includes: ["main"] },
            filePaths: { includes: ["src/**"], excludes: ["src/docs/**"] },
          },
          { branches: { includes: ["release/*"] }, filePaths: { includes: ["lib/**"] } },
          { tags: { includes: ["v*"] } },
        ],
        [
          {
            events: ["OPEN", "UPDATED"],
            branches: { includes: ["main"] },
            filePaths: { includes: ["src/**"], excludes: ["src/docs/**"] },
          },
          { branches: { includes: ["dev"] }, filePaths: { excludes: ["**/*.md"] } },
        ],
      );
      const branches = { includes: ["feature/login"] };
      expect(appTriggerOf(cloneDeclaration(source, target))).to.deep.equal({
        providerType: "CodeStarSourceConnection",
        gitConfiguration: {
          sourceActionName: "App",
          push: [
            { branches, filePaths: { includes: ["src/**"], excludes: ["src/docs/**"] } },
            { branches, filePaths: { includes: ["lib/**"] } },
            { branches, filePaths: { excludes: ["**/*.md"] } },
          ],
        },
      });
    });

    it("merges more than 3 distinct file path filters into one that fires whenever one would", () => {
      const paths = (include: string, excludes: string[]) => ({
        branches: { includes: ["main"] },
        filePaths: { includes: [include], excludes },
      });
      const source = withAppFilters(
        [paths("a/**", ["**/*.md", "a/x/**"]), paths("b/**", ["**/*.md"])],
        [paths("c/**", ["**/*.md", "c/y"]), paths("d/**", ["**/*.md"])],
      );
      expect(appTriggerOf(cloneDeclaration(source, target))?.gitConfiguration.push).to.deep.equal([
        {
          branches: { includes: ["feature/login"] },
          filePaths: { includes: ["a/**", "b/**", "c/**", "d/**"], excludes: ["**/*.md"] },
        },
      ]);
    });

    it("merges more than 3 filters, one without includes, into their common excludes", () => {
      const paths = (filePaths: { includes?: string[]; excludes?: string[] }) => ({
        branches: { includes: ["main"] },
        filePaths,
      });
      const source = withAppFilters(
        [
          paths({ includes: ["a/**"], excludes: ["**/*.md"] }),
          paths({ excludes: ["**/*.md", "x"] }),
        ],
        [
          paths({ includes: ["c/**"], excludes: ["**/*.md"] }),
          paths({ includes: ["d/**"], excludes: ["**/*.md", "y"] }),
        ],
      );
      expect(appTriggerOf(cloneDeclaration(source, target))?.gitConfiguration.push).to.deep.equal([
        { branches: { includes: ["feature/login"] }, filePaths: { excludes: ["**/*.md"] } },
      ]);
    });

    it("fires on any path when the merged includes exceed CodePipeline's 8 patterns", () => {
      const paths = (...includes: string[]) => ({
        branches: { includes: ["main"] },
        filePaths: { includes },
      });
      const source = withAppFilters(
        [paths("a/**", "b/**", "c/**"), paths("d/**", "e/**")],
        [paths("f/**", "g/**"), paths("h/**", "i/**")],
      );
      expect(appTriggerOf(cloneDeclaration(source, target))?.gitConfiguration.push).to.deep.equal([
        { branches: { includes: ["feature/login"] } },
      ]);
    });

    it("fires on any path when one of the filters has no file paths", () => {
      const source = withAppFilters(
        [{ branches: { includes: ["main"] }, filePaths: { includes: ["src/**"] } }],
        [{ branches: { includes: ["main"] } }],
      );
      expect(appTriggerOf(cloneDeclaration(source, target))?.gitConfiguration.push).to.deep.equal([
        { branches: { includes: ["feature/login"] } },
      ]);
    });

    it("keeps a push-only trigger's file paths", () => {
      const source = withAppFilters([
        { branches: { includes: ["main"] }, filePaths: { includes: ["src/**"] } },
        { tags: { includes: ["v*"] } },
      ]);
      expect(appTriggerOf(cloneDeclaration(source, target))?.gitConfiguration.push).to.deep.equal([
        { branches: { includes: ["feature/login"] }, filePaths: { includes: ["src/**"] } },
      ]);
    });
  });

  describe("sameDeclaration", () => {
    it("ignores version, key order and undefined members", () => {
      const clone = cloneDeclaration(pipelineFixture("v1-ecs"), target);
      const stored = JSON.parse(JSON.stringify({ version: 4, ...clone, executionMode: undefined }));
      stored.executionMode = "SUPERSEDED";
      expect(sameDeclaration(stored, clone)).to.equal(true);
    });

    it("sees a changed branch or build variable", () => {
      const clone = cloneDeclaration(pipelineFixture("v1-ecs"), target);
      const other = cloneDeclaration(pipelineFixture("v1-ecs"), { ...target, headBranch: "other" });
      expect(sameDeclaration(clone, other)).to.equal(false);
    });
  });

  describe("tags", () => {
    it("name the source pipeline, the pull request and the branch", () => {
      expect(cloneTags("hello-world", 12, "feature/login")).to.deep.equal([
        { key: "branchline:managed-by", value: "branchline" },
        { key: "branchline:source-pipeline", value: "hello-world" },
        { key: "branchline:pull-request", value: "12" },
        { key: "branchline:branch", value: "feature/login" },
      ]);
    });

    const sanitised: [string, string][] = [
      ["feature/login", "feature/login"],
      ["fix#12", "fix_12"],
      ["a,b;c", "a_b_c"],
      ["ünïcode-ok", "ünïcode-ok"],
      ["x".repeat(300), "x".repeat(256)],
      ["emoji-🚀", "emoji-_"],
    ];
    for (const [input, expected] of sanitised) {
      it(`sanitises ${input.slice(0, 20)} for a tag value`, () => {
        expect(sanitiseTagValue(input)).to.equal(expected);
      });
    }

    it("recognise only clones of the same source pipeline", () => {
      const tags = cloneTags("hello-world", 12, "b");
      expect(isManagedClone(tags, "hello-world")).to.equal(true);
      expect(isManagedClone(tags, "other")).to.equal(false);
      expect(isManagedClone([], "hello-world")).to.equal(false);
      expect(
        isManagedClone([{ key: "branchline:managed-by", value: "someone" }], "hello-world"),
      ).to.equal(false);
    });
  });
});
