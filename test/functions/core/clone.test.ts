import { expect } from "chai";
import {
  cloneDeclaration,
  cloneTags,
  isManagedClone,
  sameDeclaration,
  sanitiseTagValue,
  sourceRefOf,
} from "../../../functions/core/clone.js";
import { ConfigurationError } from "../../../functions/core/errors.js";
import type { PipelineDeclaration } from "../../../functions/core/pipeline.js";
import { pipelineFixture } from "../../helpers/fixtures.js";

const target = {
  prNumber: 12,
  headBranch: "feature/login",
  headRepository: "Codertocat/Hello-World",
};

function variablesOf(pipeline: PipelineDeclaration, action: string): unknown {
  const found = pipeline.stages.flatMap((s) => s.actions).find((a) => a.name === action);
  return JSON.parse(found?.configuration?.["EnvironmentVariables"] ?? "null");
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

    it("drops every Deploy action and the stage they leave empty, keeping approvals", () => {
      expect(clone.stages.map((s) => s.name)).to.deep.equal(["Source", "Build", "Approve"]);
      const categories = clone.stages.flatMap((s) => s.actions.map((a) => a.actionTypeId.category));
      expect(categories).not.to.include("Deploy");
    });

    it("rewrites the repository's trigger to the PR branch only and leaves the others", () => {
      expect(clone.triggers).to.deep.equal([
        {
          providerType: "CodeStarSourceConnection",
          gitConfiguration: {
            sourceActionName: "App",
            push: [
              { branches: { includes: ["feature/login"] }, filePaths: { includes: ["src/**"] } },
            ],
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

  it("drops an action whose input came only from a Deploy action", () => {
    const source = pipelineFixture("v1-ecs");
    const deploy = source.stages[2]?.actions[0];
    if (deploy) deploy.outputArtifacts = [{ name: "deployed" }];
    source.stages.push({
      name: "Smoke",
      actions: [
        {
          name: "Check",
          actionTypeId: { category: "Test", owner: "AWS", provider: "CodeBuild", version: "1" },
          configuration: { ProjectName: "smoke" },
          inputArtifacts: [{ name: "deployed" }],
        },
      ],
    });
    expect(cloneDeclaration(source, target).stages.map((s) => s.name)).to.deep.equal([
      "Source",
      "Build",
    ]);
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
