/**
 * The functions read a service's preview settings as the stack writes them: a routing table entry's
 * `preview`, or `PREVIEW_SETTINGS` for the one service; both parsed by the preview core, with errors
 * that name where the setting came from.
 */
import { expect } from "chai";
import { readSettings } from "../../../functions/app/settings.js";
import { PREVIEW_DEFAULTS } from "../../../functions/core/preview.js";
import { ConfigurationError } from "../../../functions/core/errors.js";

const PREVIEW = {
  cluster: "previews",
  subnets: ["subnet-0123456789abcdef0"],
  securityGroups: ["sg-0123456789abcdef0"],
  listenerArn:
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/previews/0123456789abcdef/fedcba9876543210",
  domain: "preview.example.com",
  taskRoleArn: "arn:aws:iam::123456789012:role/shop-web-preview-task",
  executionRoleArn: "arn:aws:iam::123456789012:role/shop-web-preview-execution",
};

const ENTRY = {
  name: "web",
  sourcePipeline: "shop-web",
  repository: "acme/shop",
  branch: "main",
  ecrRepositories: ["shop-web-pr/app"],
};

describe("settings: a service's preview environments", () => {
  it("a routing table entry's preview is read with the defaults filled in", () => {
    const settings = readSettings({
      BRANCHLINE_SERVICES: JSON.stringify([
        { ...ENTRY, preview: PREVIEW },
        { ...ENTRY, name: "api", sourcePipeline: "shop-api" },
      ]),
    });
    const [web, api] = settings.services;
    expect(web?.preview).to.deep.equal({ ...PREVIEW_DEFAULTS, ...PREVIEW });
    expect(api).to.not.have.property("preview");
  });

  it("the one service's PREVIEW_SETTINGS", () => {
    const settings = readSettings({
      SOURCE_PIPELINE_NAME: "shop-web",
      ECR_REPOSITORY_NAME: "shop-web-pr/app",
      PREVIEW_SETTINGS: JSON.stringify({ ...PREVIEW, port: 8080 }),
    });
    expect(settings.services[0]?.preview).to.deep.include({ port: 8080, domain: PREVIEW.domain });
  });

  it("a bad preview names its entry or variable", () => {
    const table = () =>
      readSettings({
        BRANCHLINE_SERVICES: JSON.stringify([{ ...ENTRY, preview: { ...PREVIEW, subnets: [] } }]),
      });
    expect(table)
      .to.throw(ConfigurationError)
      .with.property("message")
      .that.matches(
        /^environment variable BRANCHLINE_SERVICES: entry 0 \(web\): preview\.subnets must be/,
      );
    const variable = () =>
      readSettings({
        SOURCE_PIPELINE_NAME: "shop-web",
        ECR_REPOSITORY_NAME: "shop-web-pr/app",
        PREVIEW_SETTINGS: JSON.stringify("yes"),
      });
    expect(variable)
      .to.throw(ConfigurationError)
      .with.property("message")
      .that.matches(/^environment variable PREVIEW_SETTINGS must be an object/);
  });
});
