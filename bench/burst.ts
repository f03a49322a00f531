/**
 * Figure 4: N pull requests opened at once while the double lets CreatePipeline through at `rate` a
 * second. Each concurrent delivery gets its own handler (one Lambda container each, as Lambda scales
 * out). Deliveries that answer 5xx are healed by the reconciler, run again each time a sweep ends
 * until every pull request has its clone. Total time against N / rate.
 */
import { defaultReconcileDeps } from "../functions/reconcile/deps.js";
import { createReconcileHandler } from "../functions/reconcile/handler.js";
import { cloneName } from "../functions/shared/names.js";
import { createHandler } from "../functions/webhook/handler.js";
import { defaultWebhookDeps } from "../functions/webhook/deps.js";
import type { AwsDouble } from "../test/helpers/aws-double/index.js";
import type { GitHubApiDouble } from "../test/helpers/github-api.js";
import { pullRequestPayload, signedEvent } from "../test/helpers/github-events.js";
import {
  discardLogger,
  elapsedMs,
  figure,
  functionEnv,
  headBranch,
  openPullRequest,
  seedWorld,
  SECRET,
  SOURCE,
  type Figure,
} from "./lib.js";

export interface BurstOptions {
  pullRequests: number;
  /** CreatePipeline calls the double lets through per second. */
  rate: number;
  /** Give up (and fail the run) after this long. */
  limitMs: number;
}

export async function measureBurst(
  aws: AwsDouble,
  github: GitHubApiDouble,
  options: BurstOptions,
): Promise<{ figures: Figure[]; detail: Record<string, unknown> }> {
  seedWorld(aws);
  github.reset();
  const numbers = Array.from({ length: options.pullRequests }, (_, i) => i + 1);
  for (const n of numbers) github.addPullRequest(openPullRequest(n));
  const missing = () => numbers.filter((n) => aws.pipeline(cloneName(SOURCE, n)) === undefined);

  const events = numbers.map((n) =>
    signedEvent(pullRequestPayload({ action: "opened", number: n, headRef: headBranch(n) }), {
      secret: SECRET,
    }),
  );
  const handlers = numbers.map(() =>
    createHandler(defaultWebhookDeps(functionEnv(), { logger: discardLogger() })),
  );
  aws.calls.length = 0;
  aws.throttle("CreatePipeline", { perSecond: options.rate });

  const start = process.hrtime.bigint();
  const responses = await Promise.all(
    events.map((event, i) => {
      const handler = handlers[i];
      if (!handler) throw new Error("burst: one handler per delivery");
      return handler(event);
    }),
  );
  const deliveryMs = elapsedMs(start);
  const statuses: Record<string, number> = {};
  for (const response of responses) {
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
  }
  const createdByWebhook = options.pullRequests - missing().length;

  let sweeps = 0;
  const sweepErrors: number[] = [];
  while (missing().length > 0) {
    if (elapsedMs(start) > options.limitMs) {
      throw new Error(
        `burst: ${missing().length} pull request(s) still without a clone after ${options.limitMs} ms`,
      );
    }
    const reconcile = createReconcileHandler(
      defaultReconcileDeps(
        functionEnv({ GITHUB_TOKEN: "ghs_bench-token", GITHUB_API_URL: github.url }),
        { logger: discardLogger() },
      ),
    );
    const summary = await reconcile({});
    sweeps++;
    sweepErrors.push(summary.errors.length);
  }
  const totalMs = elapsedMs(start);
  const boundMs = (options.pullRequests / options.rate) * 1000;
  const stillMissing = missing();
  if (stillMissing.length > 0) throw new Error(`burst: no clone for ${stillMissing.join(", ")}`);

  const createCalls = aws.callCount("CreatePipeline");
  const throttled = aws.calls.filter(
    (call) => call.operation === "CreatePipeline" && call.status === 400,
  ).length;
  const detail = {
    pullRequests: options.pullRequests,
    rate: options.rate,
    deliveryMs,
    webhookStatuses: statuses,
    createdByWebhook,
    reconcileSweeps: sweeps,
    sweepErrors,
    createPipelineCalls: createCalls,
    createPipelineThrottled: throttled,
    totalMs,
    boundMs,
  };
  return {
    figures: [
      figure(
        `4 burst: ${options.pullRequests} opened, CreatePipeline ${options.rate}/s`,
        totalMs / 1000,
        boundMs / 1000,
        "s",
        1.3,
        `webhook created ${createdByWebhook}, ${sweeps} reconcile sweep(s) created the rest; ${throttled} of ${createCalls} CreatePipeline calls throttled`,
      ),
    ],
    detail,
  };
}
