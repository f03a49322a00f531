/**
 * Pull request high-water marks in a DynamoDB table (key `pk`, see `pullRequestMarkKey`): one
 * conditional UpdateItem per advance. Timestamps are normalised ISO-8601 UTC strings, which DynamoDB
 * compares byte by byte, so `<=` on strings is `<=` in time.
 */
import { UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { PullRequestMarks } from "../app/ports.js";
import { STATE_TABLE } from "../shared/names.js";
import { callOptions, isAwsError } from "./aws-config.js";

/** How long a mark is kept after its last advance (the table's TTL attribute `expiresAt`). */
export const MARK_TTL_DAYS = 400;

/** The attribute names of a mark item. */
export const MARK_ATTRIBUTES = {
  key: STATE_TABLE.key,
  updatedAt: "updatedAt",
  deliveryId: "deliveryId",
  expiresAt: STATE_TABLE.expiresAt,
} as const;

export class DynamoDbPullRequestMarks implements PullRequestMarks {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly signal?: AbortSignal,
    private readonly now: () => number = Date.now,
  ) {}

  async advance(key: string, updatedAt: string, deliveryId: string | undefined): Promise<boolean> {
    const expiresAt = Math.floor(this.now() / 1000) + MARK_TTL_DAYS * 24 * 60 * 60;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [MARK_ATTRIBUTES.key]: { S: key } },
          UpdateExpression: "SET #u = :t, #d = :d, #e = :e",
          ConditionExpression: "attribute_not_exists(#u) OR #u <= :t",
          ExpressionAttributeNames: {
            "#u": MARK_ATTRIBUTES.updatedAt,
            "#d": MARK_ATTRIBUTES.deliveryId,
            "#e": MARK_ATTRIBUTES.expiresAt,
          },
          ExpressionAttributeValues: {
            ":t": { S: updatedAt },
            // The delivery that set the mark, for whoever reads the table; "-" for a sweep.
            ":d": { S: deliveryId || "-" },
            ":e": { N: String(expiresAt) },
          },
        }),
        callOptions(this.signal),
      );
      return true;
    } catch (error) {
      if (isAwsError(error, "ConditionalCheckFailedException")) return false;
      throw error;
    }
  }
}
