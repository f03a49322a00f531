/**
 * The cold-start baseline: a Lambda entry that only constructs the SDK clients the webhook uses,
 * with the same client settings, and answers a ping. Bundled with the webhook's esbuild options.
 */
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECRClient } from "@aws-sdk/client-ecr";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientConfig } from "../functions/adapters/aws-config.js";

let clients: [CodePipelineClient, ECRClient, SecretsManagerClient, DynamoDBClient] | undefined;

export async function handler(): Promise<{ statusCode: number; body: string }> {
  clients ??= [
    new CodePipelineClient(awsClientConfig()),
    new ECRClient(awsClientConfig()),
    new SecretsManagerClient(awsClientConfig()),
    new DynamoDBClient(awsClientConfig()),
  ];
  return { statusCode: 200, body: JSON.stringify({ outcome: "pong", clients: clients.length }) };
}
