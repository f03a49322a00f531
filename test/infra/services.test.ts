/**
 * The many-service stack (`branchline:services`) under Pulumi mocks: the config form and its errors,
 * what is declared per service and what once per stack, the physical names, the routing table in the
 * functions' archives, one GitHub webhook per repository, two instances in one program, IAM proven by
 * simulation, and a stack of 50 services over 20 repositories.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ENV } from "../../functions/shared/names.js";
import { parseServicesTable } from "../../functions/core/services.js";
import { Branchline, SERVICES_FILE, SERVICES_FILE_PATH } from "../../infra/branchline.js";
import { loadConfig, parseConfig, type ConfigReader } from "../../infra/config.js";
import { createBranchline } from "../../infra/program.js";
import { inlinePolicyJson } from "../../infra/policies.js";
import { policyDocument, simulate } from "../helpers/iam.js";
import {
  MOCK_ACCOUNT,
  resourceNamed,
  resourcesOfType,
  runWithConfig,
  stubArchives,
  unwrap,
  type RecordedResource,
} from "../helpers/pulumi-mocks.js";

const at = `eu-west-1:${MOCK_ACCOUNT}`;
const repositoryArn = (name: string) => `arn:aws:ecr:${at}:repository/${name}`;
const pipelineAt = (name: string) => `arn:aws:codepipeline:${at}:${name}`;

function reader(
  values: Record<string, string | object>,
  defaultPipelineName = "acme-dev",
): ConfigReader {
  const text = (key: string): string | undefined => {
    const value = values[key];
    if (value === undefined) return undefined;
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  return {
    get: text,
    getSecret: (key) => {
      const value = text(key);
      return value === undefined ? undefined : pulumi.output(value);
    },
    defaultPipelineName,
  };
}

const shop = { name: "shop", repository: "octo/mono" };
const cart = {
  name: "cart",
  repository: "octo/mono",
  images: [{ name: "api", context: "cart" }],
};
const billing = {
  name: "billing",
  repository: "octo/billing",
  branch: "release",
  deploy: { cluster: "prod", service: "billing" },
  pipelineType: "V2",
  allowForkPullRequests: true,
};
const threeServices = { services: [shop, cart, billing], webhookSecret: "s3cret" };

function configError(values: Record<string, string | object>): string {
  try {
    parseConfig(reader(values));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("infra: a stack of many services (branchline:services)", () => {
  describe("config", () => {
    it("reads each entry with the defaults of today's keys, names under the prefix", () => {
      const config = parseConfig(reader({ ...threeServices, prefix: "acme" }));
      expect(config.multiService).to.equal(true);
      expect(config.prefix).to.equal("acme");
      expect(
        config.services.map((s) => [
          s.name,
          s.pipelineName,
          s.repository,
          s.branch,
          s.pipelineType,
          s.images.map((i) => i.name),
          s.deploy?.service,
          s.allowForkPullRequests,
          s.buildDraftPullRequests,
        ]),
      ).to.deep.equal([
        ["shop", "acme-shop", "octo/mono", "main", "V1", ["app"], undefined, false, true],
        ["cart", "acme-cart", "octo/mono", "main", "V1", ["api"], undefined, false, true],
        [
          "billing",
          "acme-billing",
          "octo/billing",
          "release",
          "V2",
          ["app"],
          "billing",
          true,
          true,
        ],
      ]);
    });

    it("defaults the prefix to <project>-<stack>", () => {
      expect(parseConfig(reader(threeServices)).prefix).to.equal("acme-dev");
    });

    it("keeps today's keys as a one-service stack with today's names", () => {
      const config = parseConfig(reader({ repository: "octo/shop", webhookSecret: "s" }));
      expect(config.multiService).to.equal(false);
      expect(config.prefix).to.equal("acme-dev");
      expect(config.services.map((s) => [s.name, s.pipelineName])).to.deep.equal([
        ["acme-dev", "acme-dev"],
      ]);
    });

    const errors: [string, Record<string, string | object>, string][] = [
      [
        "both forms at once",
        { ...threeServices, repository: "octo/shop", pipelineName: "x" },
        "branchline:services cannot be combined with the one-service keys (branchline:repository, branchline:pipelineName)",
      ],
      [
        "prefix with the one-service form",
        { repository: "octo/shop", webhookSecret: "s", prefix: "acme" },
        "branchline:prefix belongs to the branchline:services form",
      ],
      [
        "an empty list",
        { services: [], webhookSecret: "s" },
        "branchline:services must be a non-empty list",
      ],
      [
        "an upper-case name",
        { services: [shop, cart, { ...billing, name: "Billing" }], webhookSecret: "s" },
        "branchline:services[2].name must be lower-case letters and digits",
      ],
      [
        "a repeated name",
        { services: [shop, { ...cart, name: "shop" }], webhookSecret: "s" },
        'branchline:services[1].name repeats "shop"',
      ],
      [
        "a name of the pull request tier",
        { services: [shop, { ...cart, name: "shop-pr" }], webhookSecret: "s" },
        "branchline:services[1].name must not end with -pr nor contain -pr-",
      ],
      [
        "a name too long for the source build role (IAM: 64)",
        { services: [{ ...shop, name: "s".repeat(50) }], webhookSecret: "s" },
        `branchline:services[0].name is too long: its source build role "acme-dev-${"s".repeat(50)}-build" has 65 characters, at most 64 allowed (at most 49 characters for this name`,
      ],
      [
        "a missing repository",
        { services: [{ name: "shop" }], webhookSecret: "s" },
        "branchline:services[0].repository is required",
      ],
      [
        "an unknown field",
        { services: [{ ...shop, pipelineName: "x" }], webhookSecret: "s" },
        'branchline:services[0] has an unknown field "pipelineName"',
      ],
      [
        "a bad image, named under its entry",
        {
          services: [shop, { ...cart, images: [{ name: "API", context: "." }] }],
          webhookSecret: "s",
        },
        "branchline:services[1].images[0].name must be 1-64 lower-case letters",
      ],
      [
        "a bad deploy, named under its entry",
        { services: [{ ...shop, deploy: { cluster: "c" } }], webhookSecret: "s" },
        "branchline:services[0].deploy.service is required",
      ],
      [
        "a bad flag",
        { services: [{ ...shop, allowForkPullRequests: "yes" }], webhookSecret: "s" },
        "branchline:services[0].allowForkPullRequests must be true or false",
      ],
      [
        "a prefix too long for the shared Lambdas' names",
        { ...threeServices, prefix: "p".repeat(33) },
        "branchline:prefix must be 1-32 lower-case letters and digits",
      ],
    ];
    for (const [what, values, message] of errors) {
      it(`refuses ${what}, naming the entry and key`, () => {
        expect(configError(values)).to.contain(message);
      });
    }
  });

  describe("three services over two repositories (a monorepo of two, one with a deploy)", () => {
    let resources: RecordedResource[];
    let services: Record<string, unknown>;
    let stack: Branchline;

    before(async () => {
      const run = await runWithConfig(
        { ...threeServices, prefix: "acme", githubRegistrationToken: "t0ken" },
        () => new Branchline("acme", { config: loadConfig(), code: stubArchives() }),
        ["webhookSecret", "githubRegistrationToken"],
      );
      resources = run.resources;
      stack = run.result;
      services = await unwrap(run.result.outputs.services);
    });

    const named = (type: string): string[] =>
      resourcesOfType(type)
        .map((r) => r.inputs["name"] as string)
        .sort();

    it("declares each service's pipeline, projects and repositories under <prefix>-<service>", () => {
      expect(named("aws:codepipeline/pipeline:Pipeline")).to.deep.equal([
        "acme-billing",
        "acme-cart",
        "acme-shop",
      ]);
      expect(named("aws:codebuild/project:Project")).to.deep.equal([
        "acme-billing",
        "acme-billing-pr",
        "acme-cart",
        "acme-cart-pr",
        "acme-shop",
        "acme-shop-pr",
      ]);
      expect(named("aws:ecr/repository:Repository")).to.deep.equal([
        "acme-billing-pr/app",
        "acme-billing/app",
        "acme-cart-pr/api",
        "acme-cart/api",
        "acme-shop-pr/app",
        "acme-shop/app",
      ]);
      expect(named("aws:cloudwatch/logGroup:LogGroup").filter(Boolean)).to.deep.equal([
        "/branchline/acme-billing-pr/build",
        "/branchline/acme-billing/build",
        "/branchline/acme-cart-pr/build",
        "/branchline/acme-cart/build",
        "/branchline/acme-shop-pr/build",
        "/branchline/acme-shop/build",
      ]);
    });

    it("shares the buckets, pipeline roles, PR build role, functions, topic, table and connection", () => {
      const count = (type: string) => resourcesOfType(type).length;
      expect(count("aws:s3/bucket:Bucket")).to.equal(2);
      expect(count("aws:lambda/function:Function")).to.equal(4);
      expect(count("aws:sqs/queue:Queue")).to.equal(2);
      expect(count("aws:sns/topic:Topic")).to.equal(1);
      expect(count("aws:dynamodb/table:Table")).to.equal(1);
      expect(count("aws:codeconnections/connection:Connection")).to.equal(1);
      expect(count("aws:apigatewayv2/api:Api")).to.equal(1);
      expect(count("branchline:pipeline:SharedPipelineRoles")).to.equal(1);
      // 3 source build roles (one per service), the PR build role, 2 pipeline roles, 4 Lambda roles.
      const roles = resourcesOfType("aws:iam/role:Role");
      expect(roles.map((r) => r.name).sort()).to.deep.equal([
        "acme-billing-build-role",
        "acme-cart-build-role",
        "acme-notifications-role",
        "acme-pipelines-clone-role",
        "acme-pipelines-role",
        "acme-pr-build-role",
        "acme-reconciler-role",
        "acme-shop-build-role",
        "acme-webhook-role",
        "acme-worker-role",
      ]);
      expect(
        resourcesOfType("aws:iam/rolePolicy:RolePolicy")
          .filter(
            (p) => p.name.endsWith("-build-role-policy") && p.name !== "acme-pr-build-role-policy",
          )
          .map((p) => p.inputs["name"])
          .sort(),
      ).to.deep.equal(["acme-billing-build", "acme-cart-build", "acme-shop-build"]);
      expect(named("aws:iam/role:Role").filter(Boolean)).to.deep.equal([
        "acme-billing-build",
        "acme-cart-build",
        "acme-shop-build",
      ]);
      // Every pipeline runs with the one source pipeline role; every PR project with the PR build role.
      const roleArns = resourcesOfType("aws:codepipeline/pipeline:Pipeline").map(
        (p) => p.inputs["roleArn"],
      );
      expect(new Set(roleArns).size).to.equal(1);
      const prRoles = resourcesOfType("aws:codebuild/project:Project")
        .filter((p) => (p.inputs["name"] as string).endsWith("-pr"))
        .map((p) => p.inputs["serviceRole"]);
      expect(prRoles).to.deep.equal([
        `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pr-build-role-0000000`,
        `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pr-build-role-0000000`,
        `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pr-build-role-0000000`,
      ]);
    });

    it("derives every child's logical name from the component's, under one Branchline", () => {
      const components = resources.filter((r) => r.type === "branchline:index:Branchline");
      expect(components.map((r) => r.name)).to.deep.equal(["acme"]);
      const outside = resources.filter((r) => !r.name.startsWith("acme"));
      expect(outside.map((r) => `${r.type} ${r.name}`)).to.deep.equal([]);
    });

    it("registers the webhook once per repository", () => {
      const hooks = resources.filter((r) => r.type === "branchline:github:RepositoryWebhook");
      const registered =
        hooks.length > 0 ? hooks : resourcesOfType("branchline:github:GitHubWebhook");
      expect(registered.map((r) => r.name).sort()).to.deep.equal([
        "acme-github-webhook-octo--billing",
        "acme-github-webhook-octo--mono",
      ]);
    });

    it("gives the functions the routing table in their archives, not the one-service variables", async () => {
      const expected = [
        {
          name: "shop",
          sourcePipeline: "acme-shop",
          repository: "octo/mono",
          branch: "main",
          ecrRepositories: ["acme-shop-pr/app"],
          cloneRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pipelines-clone-role-0000000`,
          prBuildProjects: { "acme-shop": "acme-shop-pr" },
          artifactBucket: "acme-pr-artifacts-bucket-0000000",
          allowForkPullRequests: false,
          buildDraftPullRequests: true,
        },
        {
          name: "cart",
          sourcePipeline: "acme-cart",
          repository: "octo/mono",
          branch: "main",
          ecrRepositories: ["acme-cart-pr/api"],
          cloneRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pipelines-clone-role-0000000`,
          prBuildProjects: { "acme-cart": "acme-cart-pr" },
          artifactBucket: "acme-pr-artifacts-bucket-0000000",
          allowForkPullRequests: false,
          buildDraftPullRequests: true,
        },
        {
          name: "billing",
          sourcePipeline: "acme-billing",
          repository: "octo/billing",
          branch: "release",
          ecrRepositories: ["acme-billing-pr/app"],
          cloneRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pipelines-clone-role-0000000`,
          prBuildProjects: { "acme-billing": "acme-billing-pr" },
          artifactBucket: "acme-pr-artifacts-bucket-0000000",
          allowForkPullRequests: true,
          buildDraftPullRequests: true,
        },
      ];
      const archives = {
        webhook: stack.functionCode.webhook,
        reconciler: stack.functionCode.reconcile,
        notifications: stack.functionCode.notify,
        worker: stack.functionCode.worker,
      };
      for (const fn of ["webhook", "reconciler", "notifications", "worker"] as const) {
        const lambda = resourceNamed(`acme-${fn}-function`);
        const variables = (lambda.inputs["environment"] as { variables: Record<string, string> })
          .variables;
        expect(variables[ENV.servicesFile], fn).to.equal(SERVICES_FILE_PATH);
        for (const gone of [ENV.sourcePipelineName, ENV.ecrRepositoryNames, ENV.cloneRoleArn]) {
          expect(variables, `${fn} ${gone}`).not.to.have.property(gone);
        }
        const archive = await unwrap(archives[fn]);
        const text = await archiveFile(archive, SERVICES_FILE);
        expect(JSON.parse(text), fn).to.deep.equal(expected);
        // The functions accept the table the stack writes: one service per entry, none refused.
        expect(
          parseServicesTable(text, SERVICES_FILE_PATH).map((entry) => [
            entry.name,
            entry.sourcePipelineName,
            entry.ref,
            entry.repositoryNames,
            entry.prArtifactBucket,
          ]),
          fn,
        ).to.deep.equal(
          expected.map((entry) => [
            entry.name,
            entry.sourcePipeline,
            { repository: entry.repository, branch: entry.branch },
            entry.ecrRepositories,
            entry.artifactBucket,
          ]),
        );
        expect(await archiveFile(archive, "index.js"), fn).to.contain("exports.handler");
      }
    });

    it("gives the webhook the queue, the worker the dead-letter queue, the reconciler the webhook's URL", () => {
      const variablesOf = (fn: string) =>
        (
          resourceNamed(`acme-${fn}-function`).inputs["environment"] as {
            variables: Record<string, string>;
          }
        ).variables;
      const queues = `https://sqs.eu-west-1.amazonaws.com/${MOCK_ACCOUNT}`;
      expect(variablesOf("webhook")[ENV.queueUrl]).to.equal(
        `${queues}/acme-delivery-queue-0000000.fifo`,
      );
      expect(variablesOf("webhook")).to.not.have.property(ENV.githubTokenSecretArn);
      expect(variablesOf("worker")[ENV.deadLetterQueueUrl]).to.equal(
        `${queues}/acme-delivery-dead-letter-queue-0000000.fifo`,
      );
      expect(variablesOf("reconciler")[ENV.webhookUrl]).to.equal(
        "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/webhook",
      );
      expect(resourceNamed("acme-worker-dead-letters-alarm").inputs["name"]).to.equal(
        "acme-delivery-dead-letters",
      );
    });

    it("exports each service's pipeline and repositories", () => {
      expect(services).to.deep.equal({
        shop: {
          pipelineName: "acme-shop",
          repository: "octo/mono",
          branch: "main",
          sourceRepositoryUris: {
            app: `${MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/acme-shop/app`,
          },
          prRepositoryNames: ["acme-shop-pr/app"],
        },
        cart: {
          pipelineName: "acme-cart",
          repository: "octo/mono",
          branch: "main",
          sourceRepositoryUris: {
            api: `${MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/acme-cart/api`,
          },
          prRepositoryNames: ["acme-cart-pr/api"],
        },
        billing: {
          pipelineName: "acme-billing",
          repository: "octo/billing",
          branch: "release",
          sourceRepositoryUris: {
            app: `${MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/acme-billing/app`,
          },
          prRepositoryNames: ["acme-billing-pr/app"],
        },
      });
    });

    it("matches every pipeline of the prefix in notify's rule", () => {
      const pattern = JSON.parse(
        resourceNamed("acme-notifications-rule").inputs["eventPattern"] as string,
      );
      expect(pattern.detail).to.deep.equal({ pipeline: [{ prefix: "acme-" }] });
    });

    describe("IAM (simulated)", () => {
      const policy = (name: string) => policyDocument(resourceNamed(name).inputs["policy"]);
      const push = (repository: string) => ({
        action: "ecr:PutImage",
        resource: repositoryArn(repository),
      });

      it("one service's build cannot push another service's production images", async () => {
        const shopBuild = policy("acme-shop-build-role-policy");
        expect(await simulate(shopBuild, push("acme-shop/app"))).to.equal("Allowed");
        expect(await simulate(shopBuild, push("acme-cart/api"))).to.equal("ImplicitlyDenied");
        expect(await simulate(shopBuild, push("acme-billing/app"))).to.equal("ImplicitlyDenied");
        expect(await simulate(shopBuild, push("acme-shop-pr/app"))).to.equal("ImplicitlyDenied");
      });

      it("the shared PR build role pushes to pull request repositories only, pulls the source ones", async () => {
        const prBuild = policy("acme-pr-build-role-policy");
        for (const repository of ["acme-shop-pr/app", "acme-cart-pr/api", "acme-billing-pr/app"]) {
          expect(await simulate(prBuild, push(repository)), repository).to.equal("Allowed");
        }
        for (const repository of ["acme-shop/app", "acme-cart/api", "acme-billing/app"]) {
          expect(await simulate(prBuild, push(repository)), repository).to.equal(
            "ImplicitlyDenied",
          );
          expect(
            await simulate(prBuild, {
              action: "ecr:BatchGetImage",
              resource: repositoryArn(repository),
            }),
          ).to.equal("Allowed");
        }
      });

      it("the webhook only queues: no clone of any service, only the delivery queue", async () => {
        const webhook = policy("acme-webhook-role-policy");
        expect(
          await simulate(webhook, {
            action: "sqs:SendMessage",
            resource: `arn:aws:sqs:${at}:acme-delivery-queue-0000000.fifo`,
          }),
        ).to.equal("Allowed");
        for (const source of ["acme-shop", "acme-cart", "acme-billing"]) {
          expect(
            await simulate(webhook, {
              action: "codepipeline:CreatePipeline",
              resource: pipelineAt(`${source}-pr-7`),
              context: {
                "aws:RequestTag/branchline:managed-by": "branchline",
                "aws:RequestTag/branchline:source-pipeline": source,
                "aws:TagKeys": ["branchline:managed-by", "branchline:source-pipeline"],
              },
            }),
            source,
          ).to.equal("ImplicitlyDenied");
        }
      });

      it("the worker creates and deletes every service's clones, never a source pipeline", async () => {
        const worker = policy("acme-worker-role-policy");
        for (const source of ["acme-shop", "acme-cart", "acme-billing"]) {
          const tags = {
            "aws:RequestTag/branchline:managed-by": "branchline",
            "aws:RequestTag/branchline:source-pipeline": source,
            "aws:TagKeys": ["branchline:managed-by", "branchline:source-pipeline"],
          };
          expect(
            await simulate(worker, {
              action: "codepipeline:CreatePipeline",
              resource: pipelineAt(`${source}-pr-7`),
              context: tags,
            }),
            source,
          ).to.equal("Allowed");
          const owned = {
            "aws:ResourceTag/branchline:managed-by": "branchline",
            "aws:ResourceTag/branchline:source-pipeline": source,
          };
          expect(
            await simulate(worker, {
              action: "codepipeline:DeletePipeline",
              resource: pipelineAt(`${source}-pr-7`),
              context: owned,
            }),
          ).to.equal("Allowed");
          expect(
            await simulate(worker, {
              action: "codepipeline:DeletePipeline",
              resource: pipelineAt(source),
              context: owned,
            }),
          ).to.equal("ImplicitlyDenied");
          expect(
            await simulate(worker, {
              action: "ecr:BatchDeleteImage",
              resource: repositoryArn(source),
            }),
          ).to.equal("ImplicitlyDenied");
        }
        expect(
          await simulate(worker, {
            action: "iam:PassRole",
            resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/acme-pipelines-clone-role-0000000`,
            context: { "iam:PassedToService": "codepipeline.amazonaws.com" },
          }),
        ).to.equal("Allowed");
        expect(
          await simulate(worker, {
            action: "ecr:BatchDeleteImage",
            resource: repositoryArn("acme-cart-pr/api"),
          }),
        ).to.equal("Allowed");
        // Another stack's clone (prefix "other") is not ours.
        expect(
          await simulate(worker, {
            action: "codepipeline:DeletePipeline",
            resource: pipelineAt("other-shop-pr-7"),
            context: {
              "aws:ResourceTag/branchline:managed-by": "branchline",
              "aws:ResourceTag/branchline:source-pipeline": "other-shop",
            },
          }),
        ).to.equal("ImplicitlyDenied");
      });

      it("the reconciler manages every service's clones and marks; notify reads every service", async () => {
        const reconciler = policy("acme-reconciler-role-policy");
        expect(
          await simulate(reconciler, { action: "codepipeline:ListPipelines", resource: "*" }),
        ).to.equal("Allowed");
        for (const source of ["acme-shop", "acme-cart", "acme-billing"]) {
          expect(
            await simulate(reconciler, {
              action: "codepipeline:UpdatePipeline",
              resource: pipelineAt(`${source}-pr-3`),
              context: {
                "aws:ResourceTag/branchline:managed-by": "branchline",
                "aws:ResourceTag/branchline:source-pipeline": source,
              },
            }),
            source,
          ).to.equal("Allowed");
          expect(
            await simulate(reconciler, {
              action: "dynamodb:UpdateItem",
              resource: `arn:aws:dynamodb:${at}:table/acme-state-table-0000000`,
              context: { "dynamodb:LeadingKeys": [`${source}#3`] },
            }),
          ).to.equal("Allowed");
        }
        const notify = policy("acme-notifications-role-policy");
        for (const source of ["acme-shop", "acme-cart", "acme-billing"]) {
          expect(
            await simulate(notify, {
              action: "codepipeline:GetPipelineExecution",
              resource: pipelineAt(source),
            }),
            source,
          ).to.equal("Allowed");
          expect(
            await simulate(notify, {
              action: "codepipeline:ListTagsForResource",
              resource: pipelineAt(`${source}-pr-3`),
            }),
          ).to.equal("Allowed");
          expect(
            await simulate(notify, {
              action: "codepipeline:UpdatePipeline",
              resource: pipelineAt(`${source}-pr-3`),
            }),
          ).to.equal("ImplicitlyDenied");
        }
        expect(
          await simulate(notify, {
            action: "codepipeline:GetPipelineExecution",
            resource: pipelineAt("other-shop"),
          }),
        ).to.equal("ImplicitlyDenied");
      });

      it("the clone role runs every PR project, never a source project", async () => {
        const clone = policy("acme-pipelines-clone-role-policy");
        const project = (name: string) => `arn:aws:codebuild:${at}:project/${name}`;
        expect(
          await simulate(clone, {
            action: "codebuild:StartBuild",
            resource: project("acme-cart-pr"),
          }),
        ).to.equal("Allowed");
        expect(
          await simulate(clone, { action: "codebuild:StartBuild", resource: project("acme-cart") }),
        ).to.equal("ImplicitlyDenied");
      });

      it("the source pipeline role runs the source builds and deploys the services that deploy", async () => {
        const role = policy("acme-pipelines-role-policy");
        const project = (name: string) => `arn:aws:codebuild:${at}:project/${name}`;
        for (const name of ["acme-shop", "acme-cart", "acme-billing"]) {
          expect(
            await simulate(role, { action: "codebuild:StartBuild", resource: project(name) }),
          ).to.equal("Allowed");
        }
        expect(
          await simulate(role, {
            action: "ecs:UpdateService",
            resource: `arn:aws:ecs:${at}:service/prod/billing`,
          }),
        ).to.equal("Allowed");
        expect(
          await simulate(role, {
            action: "ecs:UpdateService",
            resource: `arn:aws:ecs:${at}:service/prod/shop`,
          }),
        ).to.equal("ImplicitlyDenied");
        for (const repository of ["octo/mono", "octo/billing"]) {
          expect(
            await simulate(role, {
              action: "codeconnections:UseConnection",
              resource: `arn:aws:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`,
              context: { "codeconnections:FullRepositoryId": repository },
            }),
            repository,
          ).to.equal("Allowed");
        }
        expect(
          await simulate(role, {
            action: "codeconnections:UseConnection",
            resource: `arn:aws:codeconnections:${at}:connection/00000000-0000-0000-0000-000000000000`,
            context: { "codeconnections:FullRepositoryId": "octo/other" },
          }),
        ).to.equal("ImplicitlyDenied");
      });

      it("the source pipeline role trusts the source pipelines, not their clones", () => {
        const trust = JSON.parse(
          resourceNamed("acme-pipelines-role").inputs["assumeRolePolicy"] as string,
        );
        expect(trust.Statement[0].Condition).to.deep.equal({
          StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
          ArnLike: { "aws:SourceArn": pipelineAt("acme-*") },
          ArnNotLike: { "aws:SourceArn": pipelineAt("acme-*-pr-*") },
        });
      });
    });
  });

  describe("a custom build image in ECR shared by two services", () => {
    it("declares one repository policy naming every project that pulls it", async () => {
      const image = `${MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/build-images/node:22`;
      await runWithConfig(
        {
          services: [{ ...shop, build: { image } }, { ...cart, build: { image } }, billing],
          prefix: "acme",
          webhookSecret: "s3cret",
        },
        () => createBranchline(loadConfig(), stubArchives()),
        ["webhookSecret"],
      );
      const policies = resourcesOfType("aws:ecr/repositoryPolicy:RepositoryPolicy");
      expect(policies.map((p) => [p.name, p.inputs["repository"]])).to.deep.equal([
        ["acme-shop-build-build-image-policy", "build-images/node"],
      ]);
      const document = JSON.parse(policies[0]?.inputs["policy"] as string);
      expect(JSON.stringify(document)).to.contain("project/acme-cart-pr");
      for (const project of ["acme-shop", "acme-shop-pr", "acme-cart", "acme-cart-pr"]) {
        expect(JSON.stringify(document), project).to.contain(`project/${project}"`);
      }
      expect(JSON.stringify(document)).not.to.contain("acme-billing");
    });
  });

  describe("the one-service form inside the component", () => {
    it("aliases each top-level child to its former URN, so an existing stack updates in place", async () => {
      const children: pulumi.Resource[] = [];
      await runWithConfig(
        { repository: "octo/shop", webhookSecret: "s3cret", githubRegistrationToken: "t0ken" },
        () =>
          new Branchline(
            "branchline",
            { config: loadConfig(), code: stubArchives(), legacyNames: true },
            {
              transformations: [
                (args) => {
                  if (args.opts.parent instanceof Branchline) children.push(args.resource);
                  return undefined;
                },
              ],
            },
          ),
        ["webhookSecret", "githubRegistrationToken"],
      );
      const internal = (resource: pulumi.Resource) =>
        resource as unknown as { __aliases: pulumi.Output<string>[]; urn: pulumi.Output<string> };
      const aliases = await Promise.all(
        children.map(async (child) => ({
          urn: await unwrap(internal(child).urn),
          aliases: await Promise.all(internal(child).__aliases.map((alias) => unwrap(alias))),
        })),
      );
      const stackUrn = (type: string, name: string) =>
        `urn:pulumi:dev::branchline::${type}::${name}`;
      expect(aliases.map((a) => a.aliases)).to.deep.equal(
        aliases.map((a) => {
          const [type, name] = a.urn.split("::").slice(2) as [string, string];
          return [stackUrn(type.split("$").pop() as string, name)];
        }),
      );
      expect(aliases.map((a) => a.urn.split("::").pop()).sort()).to.deep.equal(
        [
          "artifacts",
          "connection",
          "delivery",
          "worker",
          "github-webhook",
          "monitoring",
          "notifications",
          "pipeline",
          "pr-artifacts",
          "pr-build",
          "pr-registry",
          "reconciler",
          "registry",
          "build",
          "state",
          "webhook",
        ].sort(),
      );
    });
  });

  describe("two instances in one program", () => {
    it("do not collide: no duplicate URN or physical name", async () => {
      const { resources } = await runWithConfig({}, () => {
        for (const prefix of ["acme", "zeta"]) {
          const config = parseConfig(reader({ ...threeServices, prefix }));
          new Branchline(prefix, { config, code: stubArchives() });
        }
      });
      const urns = resources.map((r) => `${r.type}::${r.name}`);
      expect(urns.length).to.be.greaterThan(100);
      expect(new Set(urns).size).to.equal(urns.length);
      // Physical names are unique per resource type (a pipeline and its build project share one).
      const typed = resources
        .filter((r) => typeof r.inputs["name"] === "string")
        .map((r) => ({ type: r.type, name: r.inputs["name"] as string }))
        // `$default` is a stage name inside each API, not an account-wide name.
        .filter((r) => r.name !== "$default");
      const accountWide = typed.map((r) => `${r.type} ${r.name}`);
      const repeated = accountWide.filter((name, i) => accountWide.indexOf(name) !== i);
      expect(repeated).to.deep.equal([]);
      expect(typed.filter((r) => !/^(\/branchline\/)?(acme|zeta)(-|$)/.test(r.name))).to.deep.equal(
        [],
      );
    });
  });

  describe("scale", () => {
    function servicesOf(count: number): object[] {
      return Array.from({ length: count }, (_, i) => ({
        name: `svc-${String(i).padStart(2, "0")}`,
        repository: `octo/repo-${i % 20}`,
        images: [{ name: "app", context: `svc-${i}` }],
        ...(i % 5 === 0 ? { deploy: { cluster: "prod", service: `svc-${i}` } } : {}),
      }));
    }

    async function synthOf(count: number): Promise<RecordedResource[]> {
      const { resources } = await runWithConfig(
        {
          services: servicesOf(count),
          prefix: "plat",
          webhookSecret: "s3cret",
          githubToken: "t0ken",
          githubRegistrationToken: "r3g",
        },
        () => createBranchline(loadConfig(), stubArchives()),
        ["webhookSecret", "githubToken", "githubRegistrationToken"],
      );
      return resources;
    }

    const counts: Record<number, number> = {};

    for (const [count, repositories] of [
      [1, 1],
      [10, 10],
      [50, 20],
    ] as const) {
      it(`synthesises ${count} services over ${repositories} repositories within IAM's limits`, async () => {
        const resources = await synthOf(count);
        // One service: today's variables (the functions' one-service path); several: the table.
        const variables = (
          resourceNamed("plat-webhook-function").inputs["environment"] as {
            variables: Record<string, string>;
          }
        ).variables;
        if (count === 1) {
          expect(variables[ENV.sourcePipelineName]).to.equal("plat-svc-00");
          expect(variables[ENV.ecrRepositoryNames]).to.equal(
            JSON.stringify(["plat-svc-00-pr/app"]),
          );
          expect(variables).not.to.have.property(ENV.servicesFile);
        } else {
          expect(variables[ENV.servicesFile]).to.equal(SERVICES_FILE_PATH);
          expect(variables).not.to.have.property(ENV.sourcePipelineName);
        }
        const custom = resources.filter((r) => !r.type.startsWith("branchline:"));
        counts[count] = custom.length;
        // Per service: 2 repositories + 2 lifecycle policies (one image), 2 log groups, 2 projects,
        // its build role + policy, its pipeline = 11; one GitHub webhook per repository; shared: 49,
        // the dashboard, 3 error alarms, the topic's key and policy (6), and durable delivery's 13
        // (2 queues, their 2 policies, the redrive allow policy, the worker's log group, role,
        // policy, function and mapping, 2 delivery alarms and its error alarm).
        expect(custom.length).to.equal(49 + 6 + 13 + 11 * count + repositories);
        expect(resourcesOfType("aws:codepipeline/pipeline:Pipeline")).to.have.length(count);
        expect(resourcesOfType("aws:iam/role:Role")).to.have.length(count + 7);
        expect(resourcesOfType("aws:s3/bucket:Bucket")).to.have.length(2);
        expect(resourcesOfType("aws:lambda/function:Function")).to.have.length(4);
        expect(
          resources.filter((r) => r.type === "branchline:github:GitHubWebhook"),
        ).to.have.length(repositories);
        // IAM: 10,240 characters of inline policy per role, 2,048 of trust policy.
        for (const rolePolicy of resourcesOfType("aws:iam/rolePolicy:RolePolicy")) {
          expect((rolePolicy.inputs["policy"] as string).length, rolePolicy.name).to.be.below(
            10240,
          );
        }
        for (const role of resourcesOfType("aws:iam/role:Role")) {
          expect((role.inputs["assumeRolePolicy"] as string).length, role.name).to.be.below(2048);
        }
      });
    }

    it("keeps every policy within IAM's limits with the longest names, every service deploying", async () => {
      const prefix = "p".repeat(32);
      const { resources } = await runWithConfig(
        {
          prefix,
          webhookSecret: "s3cret",
          githubToken: "t0ken",
          services: Array.from({ length: 50 }, (_, i) => ({
            // 25 characters: the longest `<prefix>-<name>-build` role name IAM allows with this prefix.
            name: `service-${String(i).padStart(2, "0")}`.padEnd(25, "x"),
            repository: `some-organisation/repository-${i % 20}`,
            deploy: {
              cluster: "production-cluster",
              service: `service-${i}`.padEnd(40, "x"),
              passRoles: [`arn:aws:iam::${MOCK_ACCOUNT}:role/task-${i}`],
            },
          })),
        },
        () => createBranchline(loadConfig(), stubArchives()),
        ["webhookSecret", "githubToken"],
      );
      const policies = resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy");
      expect(policies).to.have.length(50 + 7);
      for (const rolePolicy of policies) {
        expect((rolePolicy.inputs["policy"] as string).length, rolePolicy.name).to.be.below(10240);
      }
    });

    it("refuses, naming the role, a policy IAM would refuse for its size", () => {
      const statement = {
        Effect: "Allow" as const,
        Action: "s3:GetObject",
        Resource: Array.from({ length: 600 }, (_, i) => `arn:aws:s3:::bucket-${i}/*`),
      };
      expect(() =>
        inlinePolicyJson("the clone role", { Version: "2012-10-17", Statement: [statement] }),
      ).to.throw(
        /^the inline policy of the clone role would have \d+ characters, IAM allows 10240/,
      );
    });

    after(() => {
      // The closing note's figures (resources other than components).
      console.log(
        `      resources for 1, 10, 50 services: ${counts[1]}, ${counts[10]}, ${counts[50]}`,
      );
    });
  });
});

/** The text of one file of a deployment archive as the mocks receive it. */
function archiveFile(code: unknown, file: string): string {
  const assets = (code as { assets?: Record<string, { text?: string }> }).assets;
  const text = assets?.[file]?.text;
  if (typeof text !== "string")
    throw new Error(`no ${file} in ${JSON.stringify(code).slice(0, 300)}`);
  return text;
}
