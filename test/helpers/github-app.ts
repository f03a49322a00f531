/**
 * A GitHub App for tests: a key pair made here (RSA 2048, the private key as PKCS#1 PEM like the
 * one GitHub hands out), registered with the GitHub API double and installed on repositories.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { GitHubApiDouble } from "./github-api.js";

export interface TestApp {
  id: number;
  slug: string;
  privateKey: string;
  publicKey: KeyObject;
}

let keys: { privateKey: string; publicKey: KeyObject } | undefined;

function keyPair(): { privateKey: string; publicKey: KeyObject } {
  const pair = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKey: pair.privateKey, publicKey: createPublicKey(pair.publicKey) };
}

/** The App (one key pair per process: making one takes a moment). */
export function testApp(): TestApp {
  keys ??= keyPair();
  return { id: 424242, slug: "branchline-app", ...keys };
}

/** Another private key, which GitHub does not know for the App. */
export function otherPrivateKey(): string {
  return keyPair().privateKey;
}

/** Registers the App with the double and installs it (id `installationId`) on `repositories`. */
export function installApp(
  github: GitHubApiDouble,
  repositories: "all" | string[] = ["Codertocat/Hello-World"],
  installationId = 7,
): TestApp {
  const app = testApp();
  github.registerApp({ id: app.id, slug: app.slug, publicKey: app.publicKey });
  github.addInstallation({ id: installationId, account: "Codertocat", repositories });
  return app;
}

/** The environment of a function that authenticates as the App with the key as a plain value. */
export function appEnv(app: TestApp, apiUrl: string): Record<string, string> {
  return {
    GITHUB_APP_ID: String(app.id),
    GITHUB_APP_PRIVATE_KEY: app.privateKey,
    GITHUB_API_URL: apiUrl,
  };
}
