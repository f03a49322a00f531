/**
 * Checks made before the program declares anything. Pure: the caller passes what it checks.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * The Node.js versions the program runs on (package.json `engines` says the same): 22.12 and later,
 * the line the Lambdas run on. Below it the AWS SDK's releases after January 2027 stop working, and
 * the webhook registration (infra/github), a dynamic provider that `require`s the ES module
 * @octokit/rest, fails on 22.0-22.11 only when the webhook is created.
 */
export const SUPPORTED_NODE = ">=22.12.0";

/** Throws a `pulumi.RunError` saying which Node.js to install when `version` is not supported. */
export function checkNodeVersion(version: string): void {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  const [major, minor] = [Number(match?.[1]), Number(match?.[2])];
  const supported = match !== null && ((major === 22 && minor >= 12) || major >= 23);
  if (!supported) {
    throw new pulumi.RunError(
      `branchline needs Node.js 22.12 or later (${SUPPORTED_NODE}): the Lambdas run on ` +
        `Node.js 22, and the GitHub webhook resource loads the ES module @octokit/rest with ` +
        `require(), which older versions refuse. This is Node.js ${version}: install ` +
        `Node.js 22 (22.12 or later) and run pulumi again.`,
    );
  }
}
