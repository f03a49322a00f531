import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ResourceNotFoundException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { startAwsDouble, type AwsDouble } from "./aws-double/index.js";

const TABLE = "branchline-state";

describe("AWS double: DynamoDB (JSON 1.0)", () => {
  let aws: AwsDouble;
  let client: DynamoDBClient;

  before(async () => {
    aws = await startAwsDouble();
    client = new DynamoDBClient({
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await aws.close();
  });

  beforeEach(() => {
    aws.reset();
    aws.createTable(TABLE);
  });

  const advance = (key: string, t: string) =>
    client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: key } },
        UpdateExpression: "SET #u = :t, #e = :e",
        ConditionExpression: "attribute_not_exists(#u) OR #u <= :t",
        ExpressionAttributeNames: { "#u": "updatedAt", "#e": "expiresAt" },
        ExpressionAttributeValues: { ":t": { S: t }, ":e": { N: "1700000000" } },
      }),
    );

  it("creates an item, then accepts an equal or newer value and refuses an older one", async () => {
    await advance("a#1", "2026-01-01T00:00:01.000Z");
    await advance("a#1", "2026-01-01T00:00:01.000Z");
    await advance("a#1", "2026-01-01T00:00:02.000Z");
    let refused: unknown;
    try {
      await advance("a#1", "2026-01-01T00:00:01.500Z");
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(ConditionalCheckFailedException);
    expect((refused as ConditionalCheckFailedException).$metadata.httpStatusCode).to.equal(400);
    expect(aws.item(TABLE, "a#1")).to.deep.equal({
      pk: { S: "a#1" },
      updatedAt: { S: "2026-01-01T00:00:02.000Z" },
      expiresAt: { N: "1700000000" },
    });
    expect(aws.calls.map((c) => [c.service, c.operation, c.status])).to.deep.equal([
      ["dynamodb", "UpdateItem", 200],
      ["dynamodb", "UpdateItem", 200],
      ["dynamodb", "UpdateItem", 200],
      ["dynamodb", "UpdateItem", 400],
    ]);
  });

  it("answers with the JSON 1.0 content type and DynamoDB's namespaced error type", async () => {
    await advance("a#1", "2026-01-02T00:00:00.000Z");
    const response = await fetch(aws.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "DynamoDB_20120810.UpdateItem",
      },
      body: JSON.stringify({
        TableName: TABLE,
        Key: { pk: { S: "a#1" } },
        UpdateExpression: "SET updatedAt = :t",
        ConditionExpression: "updatedAt <= :t",
        ExpressionAttributeValues: { ":t": { S: "2026-01-01T00:00:00.000Z" } },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    });
    expect(response.status).to.equal(400);
    expect(response.headers.get("content-type")).to.equal("application/x-amz-json-1.0");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body["__type"]).to.equal(
      "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
    );
    expect(body["Item"]).to.deep.include({ updatedAt: { S: "2026-01-02T00:00:00.000Z" } });
  });

  it("reads and deletes items; an unknown table is ResourceNotFoundException", async () => {
    await advance("a#2", "2026-01-01T00:00:00.000Z");
    const got = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: "a#2" } } }),
    );
    expect(got.Item?.["updatedAt"]).to.deep.equal({ S: "2026-01-01T00:00:00.000Z" });
    await client.send(
      new DeleteItemCommand({
        TableName: TABLE,
        Key: { pk: { S: "a#2" } },
        ConditionExpression: "attribute_exists(pk)",
      }),
    );
    const gone = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: "a#2" } } }),
    );
    expect(gone.Item).to.equal(undefined);
    let missing: unknown;
    try {
      await client.send(new GetItemCommand({ TableName: "other", Key: { pk: { S: "x" } } }));
    } catch (error) {
      missing = error;
    }
    expect(missing).to.be.instanceOf(ResourceNotFoundException);
  });

  it("evaluates AND, NOT, parentheses and number comparisons", async () => {
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: "n" } },
        UpdateExpression: "SET v = :v",
        ExpressionAttributeValues: { ":v": { N: "10" } },
      }),
    );
    const update = (condition: string, values: Record<string, { N: string }>) =>
      client
        .send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: { pk: { S: "n" } },
            UpdateExpression: "SET w = :one",
            ConditionExpression: condition,
            ExpressionAttributeValues: { ":one": { N: "1" }, ...values },
          }),
        )
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof ConditionalCheckFailedException) return false;
            throw error;
          },
        );
    expect(
      await update("v > :a AND NOT (v >= :b)", { ":a": { N: "9" }, ":b": { N: "11" } }),
    ).to.equal(true);
    expect(await update("v < :a OR attribute_not_exists(v)", { ":a": { N: "9" } })).to.equal(false);
    expect(await update("v = :a AND v <> :b", { ":a": { N: "10" }, ":b": { N: "2" } })).to.equal(
      true,
    );
  });

  it("refuses what AWS refuses: unused or undefined placeholders, updating the key, bad input", async () => {
    const refusal = async (input: ConstructorParameters<typeof UpdateItemCommand>[0]) => {
      try {
        await client.send(new UpdateItemCommand(input));
      } catch (error) {
        return (error as Error).name + ": " + (error as Error).message;
      }
      return "accepted";
    };
    expect(
      await refusal({
        TableName: TABLE,
        Key: { pk: { S: "k" } },
        UpdateExpression: "SET a = :a",
        ExpressionAttributeValues: { ":a": { S: "x" }, ":b": { S: "y" } },
      }),
    ).to.match(/^ValidationException: .*unused in expressions: keys: \{:b\}/);
    expect(
      await refusal({
        TableName: TABLE,
        Key: { pk: { S: "k" } },
        UpdateExpression: "SET #a = :a",
        ExpressionAttributeValues: { ":a": { S: "x" } },
      }),
    ).to.match(/^ValidationException: .*attribute name: #a/);
    expect(
      await refusal({
        TableName: TABLE,
        Key: { pk: { S: "k" } },
        UpdateExpression: "SET pk = :a",
        ExpressionAttributeValues: { ":a": { S: "x" } },
      }),
    ).to.match(/^ValidationException: .*part of the key/);
    expect(
      await refusal({
        TableName: TABLE,
        Key: { pk: { S: "k" } },
        UpdateExpression: "SET a = :a",
        ConditionExpression: "begins_with(a, :a)",
        ExpressionAttributeValues: { ":a": { S: "x" } },
      }),
    ).to.match(/^ValidationException: The AWS double does not support the function begins_with/);
    // The model: TableName has at least 1 character.
    expect(
      await refusal({ TableName: "", Key: { pk: { S: "k" } }, UpdateExpression: "SET a = :a" }),
    ).to.match(/^ValidationException: .*TableName/);
  });
});
