import {
  CodePipelineClient,
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  InvalidNextTokenException,
  InvalidStructureException,
  ListPipelineExecutionsCommand,
  ListPipelinesCommand,
  ListTagsForResourceCommand,
  PipelineNameInUseException,
  PipelineNotFoundException,
  StartPipelineExecutionCommand,
  StopPipelineExecutionCommand,
  TagResourceCommand,
  UpdatePipelineCommand,
  ValidationException,
  paginateListPipelines,
  type PipelineDeclaration as SdkPipelineDeclaration,
} from "@aws-sdk/client-codepipeline";
import {
  BatchDeleteImageCommand,
  DescribeImagesCommand,
  ECRClient,
  ListImagesCommand,
  RepositoryNotFoundException,
  paginateListImages,
  type ImageIdentifier,
} from "@aws-sdk/client-ecr";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { expect } from "chai";
import type { PipelineDeclaration } from "../../functions/core/pipeline.js";
import { fastRetryStrategy, startAwsDouble, type AwsDouble } from "./aws-double/index.js";
import { ServiceModel } from "./aws-double/model.js";
import { Validator } from "./aws-double/validate.js";
import { withEnv } from "./env.js";

function declaration(name: string): PipelineDeclaration {
  return {
    name,
    roleArn: "arn:aws:iam::123456789012:role/pipeline",
    artifactStore: { type: "S3", location: "artifact-bucket" },
    pipelineType: "V2",
    executionMode: "QUEUED",
    stages: [
      {
        name: "Source",
        actions: [
          {
            name: "Checkout",
            actionTypeId: {
              category: "Source",
              owner: "AWS",
              provider: "CodeStarSourceConnection",
              version: "1",
            },
            configuration: {
              ConnectionArn: "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
              FullRepositoryId: "acme/app",
              BranchName: "main",
            },
            outputArtifacts: [{ name: "SourceOutput" }],
          },
        ],
      },
      {
        name: "Build",
        actions: [
          {
            name: "Build",
            actionTypeId: { category: "Build", owner: "AWS", provider: "CodeBuild", version: "1" },
            configuration: { ProjectName: "app-build" },
            inputArtifacts: [{ name: "SourceOutput" }],
          },
        ],
      },
    ],
  };
}

/** Our declaration type is structurally the SDK's; the cast only narrows string unions. */
const sdk = (d: PipelineDeclaration): SdkPipelineDeclaration => d as SdkPipelineDeclaration;

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected the call to fail");
}

describe("AWS double", () => {
  let double: AwsDouble;
  const config = (maxAttempts = 1) => ({
    endpoint: double.url,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    maxAttempts,
    retryStrategy: fastRetryStrategy(maxAttempts),
  });
  const codepipeline = (maxAttempts = 1) => new CodePipelineClient(config(maxAttempts));
  const ecr = (maxAttempts = 1) => new ECRClient(config(maxAttempts));

  before(async () => {
    double = await startAwsDouble();
  });
  after(async () => {
    await double.close();
  });
  beforeEach(() => double.reset());

  describe("validation from the model", () => {
    it("rejects a pipeline name that breaks the pattern", async () => {
      const error = await rejection(
        codepipeline().send(new CreatePipelineCommand({ pipeline: sdk(declaration("x y")) })),
      );
      expect(error).to.be.instanceOf(ValidationException);
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain('pipeline.name: "x y" does not match ^[A-Za-z0-9.@\\-_]+$');
      expect(double.pipelineNames()).to.deep.equal([]);
    });

    it("rejects a pipeline name longer than 100 characters", async () => {
      const error = await rejection(
        codepipeline().send(new GetPipelineCommand({ name: "a".repeat(101) })),
      );
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain("name: length 101 is not within 1..100");
    });

    it("rejects a missing required member", async () => {
      const withoutRole: Partial<PipelineDeclaration> = declaration("no-role");
      delete withoutRole.roleArn;
      const error = await rejection(
        codepipeline().send(
          new CreatePipelineCommand({ pipeline: withoutRole as SdkPipelineDeclaration }),
        ),
      );
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain("pipeline.roleArn: is required");
    });

    it("rejects an enum value the model does not list", async () => {
      const bad = { ...declaration("bad-mode"), executionMode: "SOMETIMES" };
      const error = await rejection(
        codepipeline().send(new CreatePipelineCommand({ pipeline: sdk(bad) })),
      );
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain('pipeline.executionMode: "SOMETIMES" is not one of');
    });

    it("rejects BatchDeleteImage with more than 100 image ids", async () => {
      double.createRepository("app");
      const imageIds = Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }));
      const error = await rejection(
        ecr().send(new BatchDeleteImageCommand({ repositoryName: "app", imageIds })),
      );
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain("imageIds: length 101 is not within 1..100");
    });

    it("rejects a number outside the model's range", async () => {
      const error = await rejection(
        codepipeline().send(new ListPipelinesCommand({ maxResults: 0 })),
      );
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain("maxResults: 0 is not within 1..1000");
    });

    it("accepts a full V2 declaration with triggers and variables and returns it unchanged", async () => {
      const full = declaration("full");
      full.variables = [{ name: "PR_NUMBER", defaultValue: "0", description: "pull request" }];
      full.triggers = [
        {
          providerType: "CodeStarSourceConnection",
          gitConfiguration: {
            sourceActionName: "Checkout",
            pullRequest: [{ events: ["OPEN", "UPDATED"], branches: { includes: ["main"] } }],
          },
        },
      ];
      const client = codepipeline();
      await client.send(new CreatePipelineCommand({ pipeline: sdk(full) }));
      const got = await client.send(new GetPipelineCommand({ name: "full" }));
      expect(got.pipeline).to.deep.equal({ ...full, version: 1 });
    });

    it("reports every violation with its member path", () => {
      const model = new ServiceModel({
        shapes: {
          "x#Svc": { type: "service" },
          "x#Op": { type: "operation", input: { target: "x#In" } },
          "x#In": {
            type: "structure",
            members: {
              choice: { target: "x#Choice" },
              labels: { target: "x#Labels" },
              count: { target: "smithy.api#Integer", traits: { "smithy.api#range": { max: 3 } } },
            },
          },
          "x#Choice": {
            type: "union",
            members: { a: { target: "smithy.api#String" }, b: { target: "smithy.api#String" } },
          },
          "x#Labels": {
            type: "map",
            key: { target: "x#Key" },
            value: { target: "smithy.api#String" },
            traits: { "smithy.api#length": { max: 2 } },
          },
          "x#Key": { type: "string", traits: { "smithy.api#pattern": "^[a-z]+$" } },
        },
      });
      const violations = new Validator(model).validateInput("Op", {
        choice: { a: "1", b: "2" },
        labels: { ok: "1", Bad: "2", ok2: "3" },
        count: 4,
        unknown: "ignored",
      });
      expect(violations.map((v) => v.message)).to.deep.equal([
        "choice: exactly one member of the union must be set, got 2",
        "labels: length 3 is not within <= 2",
        'labels.Bad(key): "Bad" does not match ^[a-z]+$',
        'labels.ok2(key): "ok2" does not match ^[a-z]+$',
        "count: 4 is not within <= 3",
      ]);
      const typed = new Validator(model).validateInput("Op", { count: "four" });
      expect(typed).to.deep.equal([
        { kind: "type", path: "count", message: 'count: expected a number, got "four"' },
      ]);
    });

    it("answers an unknown operation with UnknownOperationException", async () => {
      const response = await fetch(double.url, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "CodePipeline_20150709.PutWebhook",
        },
        body: "{}",
      });
      expect(response.status).to.equal(400);
      expect(await response.json()).to.include({ __type: "UnknownOperationException" });
    });
  });

  describe("CodePipeline", () => {
    it("creates, reads, tags, updates and deletes a pipeline", async () => {
      const client = codepipeline();
      const tags = [{ key: "branchline:pr", value: "42" }];
      await client.send(
        new CreatePipelineCommand({ pipeline: sdk(declaration("app-pr-42")), tags }),
      );

      const got = await client.send(new GetPipelineCommand({ name: "app-pr-42" }));
      expect(got.pipeline?.version).to.equal(1);
      expect(got.pipeline?.stages?.map((s) => s.name)).to.deep.equal(["Source", "Build"]);
      expect(got.metadata?.pipelineArn).to.equal(
        "arn:aws:codepipeline:us-east-1:123456789012:app-pr-42",
      );
      expect(got.metadata?.created).to.be.instanceOf(Date);

      const arn = got.metadata?.pipelineArn ?? "";
      await client.send(
        new TagResourceCommand({ resourceArn: arn, tags: [{ key: "team", value: "web" }] }),
      );
      const listed = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
      expect(listed.tags).to.deep.equal([...tags, { key: "team", value: "web" }]);

      const changed = declaration("app-pr-42");
      const build = changed.stages[1]?.actions[0];
      if (build) build.configuration = { ProjectName: "other" };
      const updated = await client.send(new UpdatePipelineCommand({ pipeline: sdk(changed) }));
      expect(updated.pipeline?.version).to.equal(2);
      expect(
        double.pipeline("app-pr-42")?.declaration.stages[1]?.actions[0]?.configuration,
      ).to.deep.equal({
        ProjectName: "other",
      });

      await client.send(new DeletePipelineCommand({ name: "app-pr-42" }));
      expect(double.pipeline("app-pr-42")).to.equal(undefined);
    });

    it("answers GetPipeline of a missing pipeline with PipelineNotFoundException", async () => {
      const error = await rejection(codepipeline().send(new GetPipelineCommand({ name: "nope" })));
      expect(error).to.be.instanceOf(PipelineNotFoundException);
      expect(error.name).to.equal("PipelineNotFoundException");
    });

    it("deletes a missing pipeline silently and rejects updating one", async () => {
      const client = codepipeline();
      await client.send(new DeletePipelineCommand({ name: "nope" }));
      const error = await rejection(
        client.send(new UpdatePipelineCommand({ pipeline: sdk(declaration("nope")) })),
      );
      expect(error.name).to.equal("ValidationException");
      expect(error.message).to.contain("does not exist");
    });

    it("answers a second CreatePipeline of a name with PipelineNameInUseException", async () => {
      double.seedPipeline(declaration("taken"));
      const error = await rejection(
        codepipeline().send(new CreatePipelineCommand({ pipeline: sdk(declaration("taken")) })),
      );
      expect(error).to.be.instanceOf(PipelineNameInUseException);
    });

    it("rejects a pipeline with a single stage as InvalidStructureException", async () => {
      const single = declaration("single");
      single.stages = single.stages.slice(0, 1);
      const error = await rejection(
        codepipeline().send(new CreatePipelineCommand({ pipeline: sdk(single) })),
      );
      expect(error).to.be.instanceOf(InvalidStructureException);
    });

    it("pages ListPipelines and the SDK paginator collects all 250", async () => {
      for (let i = 0; i < 250; i++)
        double.seedPipeline(declaration(`p-${String(i).padStart(3, "0")}`));
      const client = codepipeline();
      const names: string[] = [];
      for await (const page of paginateListPipelines({ client }, {})) {
        names.push(...(page.pipelines ?? []).map((p) => p.name ?? ""));
      }
      expect(names).to.have.length(250);
      expect(new Set(names).size).to.equal(250);
      expect(double.callCount("ListPipelines")).to.equal(3);

      const first = await client.send(new ListPipelinesCommand({ maxResults: 7 }));
      expect(first.pipelines).to.have.length(7);
      expect(first.pipelines?.[0]).to.include({ name: "p-000", version: 1, pipelineType: "V2" });
      expect(first.pipelines?.[0]?.created).to.be.instanceOf(Date);
      const second = await client.send(
        new ListPipelinesCommand({ maxResults: 7, nextToken: first.nextToken }),
      );
      expect(second.pipelines?.[0]?.name).to.equal("p-007");

      const error = await rejection(client.send(new ListPipelinesCommand({ nextToken: "bogus" })));
      expect(error).to.be.instanceOf(InvalidNextTokenException);
    });

    it("lists, starts and stops executions", async () => {
      double.seedPipeline(declaration("app"));
      const done = double.seedExecution("app", { status: "Succeeded" });
      const running = double.seedExecution("app", {
        status: "InProgress",
        sourceRevisions: [{ actionName: "Checkout", revisionId: "abc123" }],
      });
      const client = codepipeline();
      const listed = await client.send(new ListPipelineExecutionsCommand({ pipelineName: "app" }));
      expect(listed.pipelineExecutionSummaries?.map((e) => e.pipelineExecutionId)).to.deep.equal([
        running,
        done,
      ]);
      expect(listed.pipelineExecutionSummaries?.[0]?.sourceRevisions?.[0]?.revisionId).to.equal(
        "abc123",
      );
      expect(listed.pipelineExecutionSummaries?.[0]?.startTime).to.be.instanceOf(Date);

      await client.send(
        new StopPipelineExecutionCommand({
          pipelineName: "app",
          pipelineExecutionId: running,
          reason: "closed",
        }),
      );
      expect(double.executions("app").find((e) => e.pipelineExecutionId === running)).to.include({
        status: "Stopped",
      });
      const again = await rejection(
        client.send(
          new StopPipelineExecutionCommand({ pipelineName: "app", pipelineExecutionId: running }),
        ),
      );
      expect(again.name).to.equal("DuplicatedStopRequestException");
      const finished = await rejection(
        client.send(
          new StopPipelineExecutionCommand({ pipelineName: "app", pipelineExecutionId: done }),
        ),
      );
      expect(finished.name).to.equal("PipelineExecutionNotStoppableException");

      const started = await client.send(new StartPipelineExecutionCommand({ name: "app" }));
      const execution = await client.send(
        new GetPipelineExecutionCommand({
          pipelineName: "app",
          pipelineExecutionId: started.pipelineExecutionId,
        }),
      );
      expect(execution.pipelineExecution?.status).to.equal("InProgress");
    });
  });

  describe("ECR", () => {
    beforeEach(() => {
      double.createRepository("app");
      double.seedImage("app", { tags: ["pr-1", "sha-aaa"], digest: "sha256:aaa" });
      double.seedImage("app", { tags: ["pr-2"], digest: "sha256:bbb" });
      double.seedImage("app", { tags: [], digest: "sha256:ccc" });
    });

    const ids = async (tagStatus?: "TAGGED" | "UNTAGGED" | "ANY"): Promise<ImageIdentifier[]> => {
      const out = await ecr().send(
        new ListImagesCommand({
          repositoryName: "app",
          ...(tagStatus ? { filter: { tagStatus } } : {}),
        }),
      );
      return out.imageIds ?? [];
    };

    it("lists one id per tag and filters by tag status", async () => {
      expect(await ids("TAGGED")).to.deep.equal([
        { imageDigest: "sha256:aaa", imageTag: "pr-1" },
        { imageDigest: "sha256:aaa", imageTag: "sha-aaa" },
        { imageDigest: "sha256:bbb", imageTag: "pr-2" },
      ]);
      expect(await ids("UNTAGGED")).to.deep.equal([{ imageDigest: "sha256:ccc" }]);
      expect(await ids("ANY")).to.have.length(4);
      expect(await ids()).to.have.length(4);
    });

    it("pages ListImages and the SDK paginator collects every id", async () => {
      for (let i = 0; i < 250; i++) double.seedImage("app", { tags: [`bulk-${i}`] });
      const client = ecr();
      const all: ImageIdentifier[] = [];
      for await (const page of paginateListImages({ client }, { repositoryName: "app" })) {
        all.push(...(page.imageIds ?? []));
      }
      expect(all).to.have.length(254);
      expect(double.callCount("ListImages")).to.equal(3);
      const described = await client.send(
        new DescribeImagesCommand({ repositoryName: "app", imageIds: [{ imageTag: "pr-1" }] }),
      );
      expect(described.imageDetails?.[0]?.imageTags).to.deep.equal(["pr-1", "sha-aaa"]);
    });

    it("deletes by tag (untag, image goes with its last tag) and by digest", async () => {
      const client = ecr();
      const first = await client.send(
        new BatchDeleteImageCommand({ repositoryName: "app", imageIds: [{ imageTag: "pr-1" }] }),
      );
      expect(first.imageIds).to.deep.equal([{ imageDigest: "sha256:aaa", imageTag: "pr-1" }]);
      expect(double.images("app").find((i) => i.digest === "sha256:aaa")?.tags).to.deep.equal([
        "sha-aaa",
      ]);

      const second = await client.send(
        new BatchDeleteImageCommand({
          repositoryName: "app",
          imageIds: [
            { imageTag: "sha-aaa" },
            { imageDigest: "sha256:bbb" },
            { imageTag: "missing" },
          ],
        }),
      );
      expect(second.imageIds).to.have.length(2);
      expect(second.failures).to.deep.equal([
        {
          imageId: { imageTag: "missing" },
          failureCode: "ImageNotFound",
          failureReason: "Requested image not found",
        },
      ]);
      expect(double.images("app")).to.deep.equal([{ digest: "sha256:ccc", tags: [] }]);
    });

    it("answers an unknown repository with RepositoryNotFoundException", async () => {
      const error = await rejection(
        ecr().send(
          new BatchDeleteImageCommand({ repositoryName: "nope", imageIds: [{ imageTag: "x" }] }),
        ),
      );
      expect(error).to.be.instanceOf(RepositoryNotFoundException);
    });
  });

  describe("Secrets Manager", () => {
    it("returns a secret by name and by ARN, and ResourceNotFoundException otherwise", async () => {
      const arn = double.seedSecret("branchline/github", "s3cret");
      const client = new SecretsManagerClient(config());
      const byName = await client.send(
        new GetSecretValueCommand({ SecretId: "branchline/github" }),
      );
      expect(byName).to.include({ SecretString: "s3cret", ARN: arn, Name: "branchline/github" });
      const byArn = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      expect(byArn.SecretString).to.equal("s3cret");
      const error = await rejection(client.send(new GetSecretValueCommand({ SecretId: "other" })));
      expect(error.name).to.equal("ResourceNotFoundException");
    });
  });

  describe("faults", () => {
    it("injected throttling is retried by the SDK", async () => {
      double.seedPipeline(declaration("app"));
      double.inject({ operation: "GetPipeline", error: "ThrottlingException", times: 2 });
      const got = await codepipeline(3).send(new GetPipelineCommand({ name: "app" }));
      expect(got.pipeline?.name).to.equal("app");
      expect(double.calls.map((c) => c.status)).to.deep.equal([400, 400, 200]);
    });

    it("gives up when the faults outlast the attempts", async () => {
      double.inject({ operation: "ListPipelines", error: "ServiceUnavailable", times: 5 });
      const error = await rejection(codepipeline(2).send(new ListPipelinesCommand({})));
      expect((error.$metadata as { httpStatusCode?: number }).httpStatusCode).to.equal(503);
      expect(double.callCount("ListPipelines")).to.equal(2);
    });

    it("an 'after: apply' fault changes the state while the client sees an error", async () => {
      double.inject({ operation: "CreatePipeline", error: "InternalFailure", after: "apply" });
      const error = await rejection(
        codepipeline().send(new CreatePipelineCommand({ pipeline: sdk(declaration("lost")) })),
      );
      expect((error.$metadata as { httpStatusCode?: number }).httpStatusCode).to.equal(500);
      expect(double.pipeline("lost")?.version).to.equal(1);
    });

    it("throttle(perSecond) answers excess calls with ThrottlingException", async () => {
      double.throttle("ListPipelines", { perSecond: 1 });
      const client = codepipeline();
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => client.send(new ListPipelinesCommand({}))),
      );
      const throttled = results.filter(
        (r) => r.status === "rejected" && (r.reason as Error).name === "ThrottlingException",
      );
      expect(throttled.length).to.be.greaterThan(0);
      expect(results.some((r) => r.status === "fulfilled")).to.equal(true);
    });

    it("answers with a custom error and can delay without failing", async () => {
      double.seedPipeline(declaration("app"));
      double.inject({
        operation: "StartPipelineExecution",
        error: { status: 409, type: "ConflictException", message: "busy" },
      });
      double.inject({ operation: "GetPipeline", delayMs: 20 });
      const client = codepipeline();
      const error = await rejection(
        client.send(new StartPipelineExecutionCommand({ name: "app" })),
      );
      expect(error.name).to.equal("ConflictException");
      expect(error.message).to.equal("busy");
      expect((await client.send(new GetPipelineCommand({ name: "app" }))).pipeline?.name).to.equal(
        "app",
      );
      expect(double.calls.map((c) => c.status)).to.deep.equal([409, 200]);
    });

    it("reset() forgets state, calls and faults", async () => {
      double.seedPipeline(declaration("app"));
      double.inject({ operation: "GetPipeline", error: "ThrottlingException" });
      double.throttle("GetPipeline", { perSecond: 1 });
      double.reset();
      double.seedPipeline(declaration("app"));
      const client = codepipeline();
      await client.send(new GetPipelineCommand({ name: "app" }));
      await client.send(new GetPipelineCommand({ name: "app" }));
      expect(double.calls.map((c) => c.status)).to.deep.equal([200, 200]);
    });

    it("records calls with their input and status", async () => {
      await rejection(codepipeline().send(new GetPipelineCommand({ name: "nope" })));
      expect(double.calls).to.deep.equal([
        { service: "codepipeline", operation: "GetPipeline", input: { name: "nope" }, status: 400 },
      ]);
    });
  });

  describe("options", () => {
    it("stoppedStatus: 'Stopping' leaves a stopped execution Stopping", async () => {
      const stopping = await startAwsDouble({ stoppedStatus: "Stopping", region: "eu-west-1" });
      try {
        const arn = stopping.seedPipeline(declaration("app"));
        expect(arn).to.equal("arn:aws:codepipeline:eu-west-1:123456789012:app");
        const id = stopping.seedExecution("app", { status: "InProgress" });
        const client = new CodePipelineClient({ ...config(), endpoint: stopping.url });
        await client.send(
          new StopPipelineExecutionCommand({ pipelineName: "app", pipelineExecutionId: id }),
        );
        expect(stopping.executions("app")[0]?.status).to.equal("Stopping");
        const again = await rejection(
          client.send(
            new StopPipelineExecutionCommand({ pipelineName: "app", pipelineExecutionId: id }),
          ),
        );
        expect(again.name).to.equal("DuplicatedStopRequestException");
      } finally {
        await stopping.close();
      }
    });
  });

  describe("env()", () => {
    it("points clients built without an endpoint at the double", async () => {
      double.seedPipeline(declaration("via-env"));
      const got = await withEnv(double.env(), () =>
        new CodePipelineClient({}).send(new GetPipelineCommand({ name: "via-env" })),
      );
      expect(got.pipeline?.name).to.equal("via-env");
    });

    it("withEnv restores the variables afterwards", async () => {
      const before = process.env.AWS_ENDPOINT_URL;
      await withEnv({ AWS_ENDPOINT_URL: "http://127.0.0.1:1" }, () => {
        expect(process.env.AWS_ENDPOINT_URL).to.equal("http://127.0.0.1:1");
      });
      expect(process.env.AWS_ENDPOINT_URL).to.equal(before);
    });
  });
});
