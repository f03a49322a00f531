/**
 * Figure 2: the whole webhook handler (signed `opened` delivery to 200) against the bare SDK calls it
 * makes (GetPipeline of the source, CreatePipeline of the clone), same client settings, same double,
 * same run. The clone is deleted between iterations, untimed, so both sides do the same work; the
 * sides alternate which goes first, to cancel drift.
 */
import {
  CodePipelineClient,
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  type PipelineDeclaration as SdkPipelineDeclaration,
} from "@aws-sdk/client-codepipeline";
import { awsClientConfig } from "../functions/adapters/aws-config.js";
import { cloneDeclaration, cloneTags } from "../functions/core/clone.js";
import { cloneName } from "../functions/shared/names.js";
import { createHandler } from "../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../functions/webhook/deps.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import { pullRequestPayload, signedEvent } from "../test/helpers/github-events.js";
import {
  discardLogger,
  elapsedMs,
  figure,
  functionEnv,
  percentile,
  REPO,
  SECRET,
  seedWorld,
  SOURCE,
  type Figure,
} from "./lib.js";

const PR = 2;
const HEAD = "changes";

export interface OverheadOptions {
  iterations: number;
  warmup: number;
}

export async function measureOverhead(
  aws: AwsDouble,
  options: OverheadOptions,
): Promise<{ figures: Figure[]; detail: Record<string, number> }> {
  const source = seedWorld(aws);
  const clone = cloneName(SOURCE, PR);
  const handler = createHandler(defaultWebhookDeps(functionEnv(), { logger: discardLogger() }));
  const payload = pullRequestPayload({ action: "opened" });

  const client = new CodePipelineClient(awsClientConfig());
  const janitor = new CodePipelineClient(awsClientConfig());
  const desired = cloneDeclaration(source, {
    prNumber: PR,
    headBranch: HEAD,
    headRepository: REPO,
  });
  const tags = cloneTags(SOURCE, PR, HEAD);

  const viaHandler = async (): Promise<number> => {
    // A fresh delivery (new delivery id and signature) each time, built outside the timing.
    const event = signedEvent(payload, { secret: SECRET });
    const start = process.hrtime.bigint();
    const response = await handler(event);
    const ms = elapsedMs(start);
    if (response.statusCode !== 200 || !response.body.includes('"created"')) {
      throw new Error(`overhead: the handler answered ${response.statusCode} ${response.body}`);
    }
    return ms;
  };
  const bare = async (): Promise<number> => {
    const start = process.hrtime.bigint();
    const got = await client.send(new GetPipelineCommand({ name: SOURCE }));
    if (!got.pipeline) throw new Error("overhead: GetPipeline answered without a pipeline");
    await client.send(
      new CreatePipelineCommand({
        pipeline: desired as unknown as SdkPipelineDeclaration,
        tags,
      }),
    );
    return elapsedMs(start);
  };
  const cleanUp = async (): Promise<void> => {
    await janitor.send(new DeletePipelineCommand({ name: clone }));
  };

  // Both sides must leave the same clone behind, or they do not do the same work.
  await viaHandler();
  const fromHandler = aws.pipeline(clone);
  await cleanUp();
  await bare();
  const fromBare = aws.pipeline(clone);
  await cleanUp();
  if (JSON.stringify(fromHandler?.declaration) !== JSON.stringify(fromBare?.declaration)) {
    throw new Error("overhead: the handler and the bare calls made different clones");
  }

  const handlerMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < options.warmup + options.iterations; i++) {
    const order = i % 2 === 0 ? ([viaHandler, bare] as const) : ([bare, viaHandler] as const);
    for (const side of order) {
      const ms = await side();
      await cleanUp();
      if (i < options.warmup) continue;
      (side === viaHandler ? handlerMs : bareMs).push(ms);
    }
  }
  client.destroy();
  janitor.destroy();
  aws.calls.length = 0;

  const detail = {
    iterations: options.iterations,
    handlerP50Ms: percentile(handlerMs, 50),
    handlerP99Ms: percentile(handlerMs, 99),
    bareP50Ms: percentile(bareMs, 50),
    bareP99Ms: percentile(bareMs, 99),
  };
  const note = `${options.iterations} interleaved iterations per side after ${options.warmup} warm-up; bare = GetPipeline + CreatePipeline with the same client settings`;
  return {
    figures: [
      figure("2 handler overhead p50", detail.handlerP50Ms, detail.bareP50Ms, "ms", 1.2, note),
      figure("2 handler overhead p99", detail.handlerP99Ms, detail.bareP99Ms, "ms", 1.2, note),
    ],
    detail,
  };
}
