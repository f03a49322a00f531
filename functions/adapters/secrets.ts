/**
 * Secrets: a plain value from the environment wins; otherwise the value is read from Secrets Manager
 * once per container and kept. A failed read is not kept, so the next invocation tries again.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError } from "../core/errors.js";

export type SecretReader = () => Promise<string>;

export interface SecretSource {
  /** The plain-text value (local runs and tests). */
  value?: string | undefined;
  /** The ARN (or name) of a Secrets Manager secret holding the value. */
  arn?: string | undefined;
}

/** A reader for the secret, or `undefined` when neither a value nor an ARN is configured. */
export function secretReader(
  label: string,
  source: SecretSource,
  client: () => SecretsManagerClient,
): SecretReader | undefined {
  if (source.value) {
    const value = source.value;
    return async () => value;
  }
  if (!source.arn) return undefined;
  const arn = source.arn;
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= readSecret(client(), arn, label).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function readSecret(
  client: SecretsManagerClient,
  arn: string,
  label: string,
): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!out.SecretString)
    throw new ConfigurationError(`secret ${label} (${arn}) has no string value`);
  return out.SecretString;
}
