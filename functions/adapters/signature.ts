/**
 * GitHub's webhook signature (`X-Hub-Signature-256`), checked with @octokit/webhooks-methods, which
 * compares in constant time after a length check. The package is ESM-only, hence the dynamic import.
 */
const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

let methods: Promise<typeof import("@octokit/webhooks-methods")> | undefined;

export async function verifySignature(
  secret: string,
  body: string,
  signature: string,
): Promise<boolean> {
  if (!SIGNATURE.test(signature) || body === "") return false;
  methods ??= import("@octokit/webhooks-methods");
  return (await methods).verify(secret, body, signature);
}
