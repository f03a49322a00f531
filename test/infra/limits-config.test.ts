/**
 * Clone limits and idle expiry in the stack's configuration: `branchline:maxClones`,
 * `branchline:maxClonesPerService`, `branchline:idleDays` and a service's own `maxClones` and
 * `idleDays`, validated with errors naming the key, and carried to the functions (one service: the
 * variables; several: the routing table; the stack's total to every function that creates clones).
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ENV } from "../../functions/shared/names.js";
import { readSettings } from "../../functions/app/settings.js";
import { parseServicesTable } from "../../functions/core/services.js";
import { ConfigError, parseConfig, type ConfigReader } from "../../infra/config.js";
import { cloneManagerVariables } from "../../infra/components/clone-manager.js";
import { limitGrantsOf } from "../../infra/branchline.js";

function reader(values: Record<string, string>): ConfigReader {
  return {
    get: (key) => values[key],
    getSecret: (key) => (values[key] === undefined ? undefined : pulumi.secret(values[key])),
    defaultPipelineName: "branchline-dev",
    awsRegion: undefined,
  };
}

const minimal = { repository: "octo/app", webhookSecret: "s3cret" };
const services = (entries: object[]) => JSON.stringify(entries);

function errorOf(values: Record<string, string>): string {
  try {
    parseConfig(reader(values));
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("parseConfig accepted the configuration");
}

describe("clone limits and idle expiry: configuration", () => {
  it("defaults: no limit, no expiry", () => {
    const config = parseConfig(reader(minimal));
    expect(config).to.include({
      maxClones: undefined,
      maxClonesPerService: undefined,
      idleDays: undefined,
    });
    expect(config.services[0]).to.include({ maxClones: undefined, idleDays: undefined });
    expect(limitGrantsOf(config)).to.equal(undefined);
  });

  it("one service: maxClonesPerService and idleDays are its own", () => {
    const config = parseConfig(
      reader({ ...minimal, maxClones: "20", maxClonesPerService: "5", idleDays: "14" }),
    );
    expect(config.maxClones).to.equal(20);
    expect(config.services[0]).to.include({ maxClones: 5, idleDays: 14 });
    expect(limitGrantsOf(config)).to.deep.equal({ listPipelines: true, idleMarkers: true });
  });

  it("several services: an entry's own value, else the stack-wide default", () => {
    const config = parseConfig(
      reader({
        webhookSecret: "s3cret",
        maxClonesPerService: "3",
        services: services([
          { name: "shop", repository: "octo/mono", maxClones: 8, idleDays: 7 },
          { name: "cart", repository: "octo/mono" },
        ]),
      }),
    );
    expect(config.services.map((s) => [s.name, s.maxClones, s.idleDays])).to.deep.equal([
      ["shop", 8, 7],
      ["cart", 3, undefined],
    ]);
  });

  it("refuses values that are no whole number of at least 1, naming the key", () => {
    expect(errorOf({ ...minimal, maxClones: "0" })).to.equal(
      "branchline:maxClones must be a whole number of at least 1, got 0",
    );
    expect(errorOf({ ...minimal, maxClonesPerService: "two" })).to.equal(
      'branchline:maxClonesPerService must be a whole number of at least 1, got "two"',
    );
    expect(errorOf({ ...minimal, idleDays: "1.5" })).to.equal(
      'branchline:idleDays must be a whole number of at least 1, got "1.5"',
    );
    expect(
      errorOf({
        webhookSecret: "s3cret",
        services: services([{ name: "shop", repository: "octo/mono", idleDays: -1 }]),
      }),
    ).to.equal("branchline:services[0].idleDays must be a whole number of at least 1, got -1");
  });

  it("one service's variables: its limit, its idle days and the stack's total", () => {
    const variables = cloneManagerVariables({
      sourcePipelineName: "app",
      cloneRoleArn: "arn:aws:iam::123456789012:role/clone",
      prBuildProjects: {},
      prArtifactBucketName: "bucket",
      prRepositoryNames: ["app-pr"],
      prRepositoryArns: [],
      connectionArn: "arn:aws:codeconnections:eu-west-1:123456789012:connection/x",
      allowForkPullRequests: false,
      buildDraftPullRequests: true,
      maxClones: 5,
      idleDays: 14,
      stackMaxClones: 20,
      stateTableName: "state",
      stateTableArn: "arn",
    });
    expect(variables).to.include({
      [ENV.serviceMaxClones]: "5",
      [ENV.idleDays]: "14",
      [ENV.maxClones]: "20",
    });
    // The functions read them back.
    const settings = readSettings({
      SOURCE_PIPELINE_NAME: "app",
      ECR_REPOSITORY_NAMES: '["app-pr"]',
      SERVICE_MAX_CLONES: "5",
      IDLE_DAYS: "14",
      BRANCHLINE_MAX_CLONES: "20",
    });
    expect(settings.maxClones).to.equal(20);
    expect(settings.services[0]).to.include({ maxClones: 5, idleDays: 14 });
  });

  it("the functions refuse a bad variable or table member, naming it", () => {
    expect(() =>
      readSettings({ SOURCE_PIPELINE_NAME: "app", ECR_REPOSITORY_NAME: "r", IDLE_DAYS: "0" }),
    ).to.throw("environment variable IDLE_DAYS must be a whole number of at least 1, got 0");
    expect(() =>
      readSettings({
        SOURCE_PIPELINE_NAME: "app",
        ECR_REPOSITORY_NAME: "r",
        BRANCHLINE_MAX_CLONES: "x",
      }),
    ).to.throw(
      "environment variable BRANCHLINE_MAX_CLONES must be a whole number of at least 1, got x",
    );
    const entry = {
      name: "api",
      sourcePipeline: "shop-api",
      repository: "o/r",
      branch: "main",
      ecrRepositories: ["x"],
    };
    expect(
      parseServicesTable(JSON.stringify([{ ...entry, maxClones: 2, idleDays: 3 }]), "T")[0],
    ).to.include({ maxClones: 2, idleDays: 3 });
    expect(() => parseServicesTable(JSON.stringify([{ ...entry, maxClones: 0 }]), "T")).to.throw(
      "T: entry 0 (api): maxClones must be a whole number of at least 1, got 0",
    );
    // The stack's total goes with the table; the one-service variables do not.
    expect(() =>
      readSettings({ BRANCHLINE_SERVICES: JSON.stringify([entry]), IDLE_DAYS: "3" }),
    ).to.throw("IDLE_DAYS");
    expect(
      readSettings({ BRANCHLINE_SERVICES: JSON.stringify([entry]), BRANCHLINE_MAX_CLONES: "4" })
        .maxClones,
    ).to.equal(4);
  });
});
