/** Secrets Manager (GetSecretValue only) of the AWS test double. No model is vendored for it. */
import { randomBytes, randomUUID } from "node:crypto";
import { AwsError } from "./errors.js";

export interface SecretState {
  name: string;
  arn: string;
  value: string;
  versionId: string;
  /** Epoch milliseconds. */
  created: number;
}

type Input = Record<string, unknown>;

const SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export class SecretsState {
  readonly secrets = new Map<string, SecretState>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  reset(): void {
    this.secrets.clear();
  }

  /** Stores `value` under a name, or under the name inside a full secret ARN; returns the ARN. */
  seedSecret(nameOrArn: string, value: string): string {
    let name = nameOrArn;
    let arn: string;
    const match = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(nameOrArn);
    if (match?.[1]) {
      arn = nameOrArn;
      // A full ARN ends in `-` and six random characters that are not part of the name.
      name = match[1].replace(/-[A-Za-z0-9]{6}$/, "");
    } else {
      const suffix = [...randomBytes(6)].map((b) => SUFFIX_CHARS[b % SUFFIX_CHARS.length]).join("");
      arn = `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${suffix}`;
    }
    this.secrets.set(name, { name, arn, value, versionId: randomUUID(), created: Date.now() });
    return arn;
  }

  private find(secretId: string): SecretState | undefined {
    for (const secret of this.secrets.values()) {
      const partialArn = secret.arn.replace(/-[A-Za-z0-9]{6}$/, "");
      if (secret.name === secretId || secret.arn === secretId || partialArn === secretId) {
        return secret;
      }
    }
    return undefined;
  }

  handle(operation: string, input: Input): unknown {
    if (operation !== "GetSecretValue") {
      throw new AwsError("UnknownOperationException", `Unknown operation ${operation}`);
    }
    const secretId = input.SecretId;
    if (typeof secretId !== "string") {
      throw new AwsError(
        "ValidationException",
        "1 validation error detected: SecretId: is required",
      );
    }
    const length = [...secretId].length;
    if (length < 1 || length > 2048) {
      throw new AwsError(
        "ValidationException",
        `1 validation error detected: SecretId: length ${length} is not within 1..2048`,
      );
    }
    const secret = this.find(secretId);
    if (!secret) {
      throw new AwsError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
      );
    }
    if (input.VersionId !== undefined && input.VersionId !== secret.versionId) {
      throw new AwsError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for VersionId: " +
          String(input.VersionId),
      );
    }
    if (input.VersionStage !== undefined && input.VersionStage !== "AWSCURRENT") {
      throw new AwsError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: " +
          String(input.VersionStage),
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      SecretString: secret.value,
      VersionStages: ["AWSCURRENT"],
      CreatedDate: secret.created / 1000,
    };
  }
}
