/**
 * notify in a stack serving many services, over the wire: each execution event is mapped to its
 * service by the routing table (the source pipeline, or a clone named and tagged as the service's),
 * reported with that service's source facts, and a pipeline of no service is ignored.
 */
import { expect } from "chai";
import { cloneDeclaration, cloneTags } from "../../../functions/core/clone.js";
import { defaultNotifyDeps } from "../../../functions/notify/deps.js";
import { createHandler } from "../../../functions/notify/handler.js";
import { fixture } from "../../helpers/fixtures.js";
import { seedServices, servicePipeline, type TestService } from "../../helpers/services.js";
import { useWireDoubles } from "../../helpers/wire.js";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:branchline-dev";
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const CONTEXT = {
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:branchline-notify",
  getRemainingTimeInMillis: () => 30_000,
};

const api: TestService = { name: "api", repository: "Codertocat/Hello-World", branch: "master" };
const docs: TestService = { name: "docs", repository: "acme/docs", branch: "main" };

describe("notify handler: many services (wire level)", function () {
  const wire = useWireDoubles({ github: false, seed: false });

  function handler() {
    const table = seedServices(wire.aws, [api, docs]);
    const notify = createHandler(
      defaultNotifyDeps(
        { BRANCHLINE_SERVICES: table, NOTIFICATION_TOPIC_ARN: TOPIC },
        { logger: wire.logger },
      ),
    );
    return (event: unknown) => notify(event, CONTEXT);
  }

  function seedClone(service: TestService, prNumber: number, taggedFor = `shop-${service.name}`) {
    const declaration = cloneDeclaration(servicePipeline(service), {
      prNumber,
      headBranch: "changes",
      headRepository: service.repository,
    });
    wire.aws.seedPipeline(declaration, cloneTags(taggedFor, prNumber, "changes"));
    return declaration.name;
  }

  function succeeded(pipeline: string) {
    const id = wire.aws.seedExecution(pipeline, {
      status: "Succeeded",
      sourceRevisions: [{ actionName: "GitHub", revisionId: SHA }],
    });
    const base = fixture<Record<string, unknown>>("events/pipeline-execution-succeeded.json");
    return {
      ...base,
      resources: [`arn:aws:codepipeline:us-east-1:123456789012:${pipeline}`],
      detail: { ...(base["detail"] as object), pipeline, "execution-id": id },
    };
  }

  it("reports a clone of the second service with that service's repository", async () => {
    const notify = handler();
    const clone = seedClone(docs, 5);
    const result = await notify(succeeded(clone));
    expect(result).to.deep.include({
      outcome: "reported",
      pipeline: "shop-docs-pr-5",
      pullRequest: 5,
      notification: "published",
      errors: [],
    });
    const [message] = wire.aws.published();
    expect(message?.message).to.include("https://github.com/acme/docs/pull/5");
    expect(message?.message).to.not.include("Codertocat");
  });

  it("reports each service's source pipeline", async () => {
    const notify = handler();
    for (const service of ["shop-api", "shop-docs"]) {
      expect(await notify(succeeded(service))).to.deep.include({
        outcome: "reported",
        pipeline: service,
        notification: "published",
      });
    }
    expect(wire.aws.published()).to.have.length(2);
  });

  it("ignores a pipeline of no service, without an AWS call", async () => {
    const notify = handler();
    wire.aws.seedPipeline({ ...servicePipeline(api), name: "billing" });
    const event = succeeded("billing");
    const before = wire.aws.callCount();
    expect(await notify(event)).to.deep.include({
      outcome: "ignored",
      reason: "billing belongs to no service of this stack",
      notification: "skipped",
    });
    expect(wire.aws.callCount()).to.equal(before);
    expect(wire.aws.published()).to.deep.equal([]);
  });

  it("ignores a clone named like one service's but tagged for another", async () => {
    const notify = handler();
    const clone = seedClone(docs, 6, "shop-api");
    expect(await notify(succeeded(clone))).to.deep.include({
      outcome: "ignored",
      reason: "shop-docs-pr-6 is not managed by branchline for shop-docs",
    });
    expect(wire.aws.published()).to.deep.equal([]);
  });
});
