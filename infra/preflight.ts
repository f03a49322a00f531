/**
 * Checks made before the program declares anything. Pure: the caller passes what it checks.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * The Node.js versions the program runs on (package.json `engines` says the same). The webhook
 * registration (infra/github) is a dynamic provider that `require`s @octokit/rest, an ES module
 * only: Node.js loads an ES module with `require` from 20.19 on the 20 line and from 22.12 on;
 * 21.x and 22.0-22.11 fail only when the webhook is created.
 */
export const SUPPORTED_NODE = "^20.19.0 || >=22.12.0";

/** Throws a `pulumi.RunError` saying which Node.js to install when `version` is not supported. */
export function checkNodeVersion(version: string): void {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  const [major, minor] = [Number(match?.[1]), Number(match?.[2])];
  const supported =
    match !== null &&
    ((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23);
  if (!supported) {
    throw new pulumi.RunError(
      `branchline needs Node.js 20.19 or later on the 20 line, or 22.12 or later ` +
        `(${SUPPORTED_NODE}): the GitHub webhook resource loads the ES module @octokit/rest ` +
        `with require(), which older versions refuse. This is Node.js ${version}: install ` +
        `Node.js 22 (22.12 or later) and run pulumi again.`,
    );
  }
}
