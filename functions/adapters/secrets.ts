/**
 * Secrets: a plain value from the environment wins; otherwise the value is read from Secrets Manager
 * on first use and kept for the container's life. A failed read is not kept, so the next invocation
 * tries again.
 *
 * Rotation: a kept value goes stale when the secret rotates. `refresh()` reads it again, but at most
 * once per `minRefreshIntervalMs` (default one minute, counted from the last read), so that a caller
 * who can make it happen at will (anyone can send a delivery with a wrong signature) costs at most
 * one Secrets Manager call a minute per container. The webhook refreshes its secret when a signature
 * does not match; the GitHub clients refresh the token when GitHub answers 401.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError } from "../core/errors.js";

export interface SecretReader {
  /** The kept value (read on first use). */
  (): Promise<string>;
  /**
   * Reads the value again, if the last read is at least `minRefreshIntervalMs` old; concurrent
   * calls share one read. Resolves to the new value when it differs from the kept one, otherwise
   * (too soon, unchanged, or a plain value from the environment) to `undefined`. A failed read
   * rejects and keeps the old value.
   */
  refresh(): Promise<string | undefined>;
}

export interface SecretSource {
  /** The plain-text value (local runs and tests). */
  value?: string | undefined;
  /** The ARN (or name) of a Secrets Manager secret holding the value. */
  arn?: string | undefined;
}

export interface SecretRefreshOptions {
  /** The shortest time between two reads of one secret (default 60 000 ms). */
  minRefreshIntervalMs?: number;
  /** Milliseconds; `Date.now` unless a test moves the clock. */
  now?: () => number;
}

export const DEFAULT_SECRET_REFRESH_MS = 60_000;

/** A reader for the secret, or `undefined` when neither a value nor an ARN is configured. */
export function secretReader(
  label: string,
  source: SecretSource,
  client: () => SecretsManagerClient,
  options: SecretRefreshOptions = {},
): SecretReader | undefined {
  if (source.value) {
    const value = source.value;
    return Object.assign(async () => value, { refresh: async () => undefined });
  }
  if (!source.arn) return undefined;
  const arn = source.arn;
  const interval = options.minRefreshIntervalMs ?? DEFAULT_SECRET_REFRESH_MS;
  const now = options.now ?? Date.now;
  let kept: Promise<string> | undefined;
  let refreshing: Promise<string | undefined> | undefined;
  let lastReadAt = -Infinity;

  const read = (): Promise<string> => {
    lastReadAt = now();
    return readSecret(client(), arn, label);
  };
  const get = (): Promise<string> => {
    kept ??= read().catch((error: unknown) => {
      kept = undefined;
      throw error;
    });
    return kept;
  };
  const refresh = (): Promise<string | undefined> => {
    if (refreshing) return refreshing;
    if (!kept || now() - lastReadAt < interval) return Promise.resolve(undefined);
    const previous = kept;
    refreshing = (async () => {
      const old = await previous.catch(() => undefined);
      const fresh = await read();
      kept = Promise.resolve(fresh);
      return fresh === old ? undefined : fresh;
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  return Object.assign(get, { refresh });
}

async function readSecret(
  client: SecretsManagerClient,
  arn: string,
  label: string,
): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  // The ARN is left out: this message may reach an answer; the secret's name is in the settings.
  if (!out.SecretString) throw new ConfigurationError(`the ${label} secret has no string value`);
  return out.SecretString;
}
