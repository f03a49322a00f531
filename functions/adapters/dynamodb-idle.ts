/**
 * Idle-expiry markers in the state table (key `pk` = `<source>#<n>#idle`, see `idleMarkerKey`):
 * GetItem, UpdateItem and DeleteItem of one item each, under the `<source>#` keys IAM allows.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { IdleMarkers } from "../app/ports.js";
import { STATE_TABLE } from "../shared/names.js";
import { callOptions } from "./aws-config.js";
import { MARK_TTL_DAYS } from "./dynamodb-marks.js";

export const IDLE_ATTRIBUTES = {
  key: STATE_TABLE.key,
  headSha: "headSha",
  expiresAt: STATE_TABLE.expiresAt,
} as const;

export class DynamoDbIdleMarkers implements IdleMarkers {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly signal?: AbortSignal,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [IDLE_ATTRIBUTES.key]: { S: key } },
        ConsistentRead: true,
      }),
      callOptions(this.signal),
    );
    return out.Item?.[IDLE_ATTRIBUTES.headSha]?.S;
  }

  async put(key: string, headSha: string): Promise<void> {
    const expiresAt = Math.floor(this.now() / 1000) + MARK_TTL_DAYS * 24 * 60 * 60;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [IDLE_ATTRIBUTES.key]: { S: key } },
        UpdateExpression: "SET #h = :h, #e = :e",
        ExpressionAttributeNames: {
          "#h": IDLE_ATTRIBUTES.headSha,
          "#e": IDLE_ATTRIBUTES.expiresAt,
        },
        ExpressionAttributeValues: { ":h": { S: headSha }, ":e": { N: String(expiresAt) } },
      }),
      callOptions(this.signal),
    );
  }

  async clear(key: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { [IDLE_ATTRIBUTES.key]: { S: key } },
      }),
      callOptions(this.signal),
    );
  }
}
