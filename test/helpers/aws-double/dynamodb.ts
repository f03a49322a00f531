/**
 * DynamoDB state (tables with a string partition key, their items) and the GetItem, UpdateItem and
 * DeleteItem operations of the AWS test double. Condition and update expressions are evaluated for
 * the subset branchline uses: `attribute_exists` / `attribute_not_exists`, the comparators
 * (`=`, `<>`, `<`, `<=`, `>`, `>=`), `AND`, `OR`, `NOT`, parentheses, `SET a = b, ...` and
 * ExpressionAttributeNames/Values. Anything else is refused with a ValidationException that says the
 * double does not support it, so a test never passes on syntax AWS would read differently.
 */
import { AwsError } from "./errors.js";

/** An AttributeValue as on the wire: `{"S": "..."}`, `{"N": "12"}`, ... */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

type Input = Record<string, unknown>;

interface Table {
  keyName: string;
  items: Map<string, Item>;
}

/** DynamoDB's error type names on the wire carry a namespace; the SDK keeps the part after `#`. */
export const DYNAMODB_ERROR_NAMESPACE = "com.amazonaws.dynamodb.v20120810";

export class DynamoDbState {
  readonly tables = new Map<string, Table>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  reset(): void {
    this.tables.clear();
  }

  /** A table whose partition key is the string attribute `keyName` (no sort key). */
  createTable(name: string, keyName = "pk"): void {
    this.tables.set(name, { keyName, items: new Map() });
  }

  /** The item with that key, or `undefined`. */
  item(tableName: string, key: string): Item | undefined {
    const item = this.tables.get(tableName)?.items.get(key);
    return item === undefined ? undefined : structuredClone(item);
  }

  handle(operation: string, input: Input): unknown {
    switch (operation) {
      case "GetItem":
        return this.getItem(input);
      case "UpdateItem":
        return this.updateItem(input);
      case "DeleteItem":
        return this.deleteItem(input);
      default:
        throw new AwsError("UnknownOperationException", `Unknown operation ${operation}`);
    }
  }

  private table(input: Input): Table {
    const name = String(input["TableName"]);
    // TableName may be the table's ARN.
    const prefix = `arn:aws:dynamodb:${this.region}:${this.accountId}:table/`;
    const table = this.tables.get(name.startsWith(prefix) ? name.slice(prefix.length) : name);
    if (!table) {
      throw new AwsError("ResourceNotFoundException", "Requested resource not found");
    }
    return table;
  }

  private key(table: Table, input: Input): string {
    const key = input["Key"] as Record<string, AttributeValue>;
    const names = Object.keys(key);
    const value = key[table.keyName];
    if (names.length !== 1 || value === undefined || typeof value["S"] !== "string") {
      throw new AwsError(
        "ValidationException",
        "The provided key element does not match the schema",
      );
    }
    return value["S"];
  }

  private getItem(input: Input): unknown {
    const table = this.table(input);
    const expressions = new Expressions(input);
    if (input["ProjectionExpression"] !== undefined) {
      throw unsupported("ProjectionExpression");
    }
    expressions.assertAllUsed();
    const item = table.items.get(this.key(table, input));
    return item === undefined ? {} : { Item: structuredClone(item) };
  }

  private updateItem(input: Input): unknown {
    const table = this.table(input);
    const key = this.key(table, input);
    for (const legacy of ["AttributeUpdates", "Expected"]) {
      if (input[legacy] !== undefined) throw unsupported(legacy);
    }
    const expressions = new Expressions(input);
    const condition =
      input["ConditionExpression"] === undefined
        ? undefined
        : expressions.condition(String(input["ConditionExpression"]));
    const assignments =
      input["UpdateExpression"] === undefined
        ? []
        : expressions.update(String(input["UpdateExpression"]));
    expressions.assertAllUsed();
    for (const { name } of assignments) {
      if (name === table.keyName) {
        throw new AwsError(
          "ValidationException",
          `One or more parameter values were invalid: Cannot update attribute ${name}. This attribute is part of the key`,
        );
      }
    }
    const existing = table.items.get(key);
    const current: Item = existing ?? {};
    if (condition && !condition(current)) throw conditionFailed(existing, input);
    const next: Item = { ...structuredClone(current), [table.keyName]: { S: key } };
    for (const { name, value } of assignments) {
      const resolved = value(current);
      if (resolved === undefined) {
        throw new AwsError(
          "ValidationException",
          "The provided expression refers to an attribute that does not exist in the item",
        );
      }
      next[name] = structuredClone(resolved);
    }
    table.items.set(key, next);
    return returnValues(input["ReturnValues"], existing, next);
  }

  private deleteItem(input: Input): unknown {
    const table = this.table(input);
    const key = this.key(table, input);
    if (input["Expected"] !== undefined) throw unsupported("Expected");
    const expressions = new Expressions(input);
    const condition =
      input["ConditionExpression"] === undefined
        ? undefined
        : expressions.condition(String(input["ConditionExpression"]));
    expressions.assertAllUsed();
    const existing = table.items.get(key);
    if (condition && !condition(existing ?? {})) throw conditionFailed(existing, input);
    table.items.delete(key);
    return input["ReturnValues"] === "ALL_OLD" && existing ? { Attributes: existing } : {};
  }
}

function unsupported(what: string): AwsError {
  return new AwsError("ValidationException", `The AWS double does not support ${what}`);
}

function conditionFailed(existing: Item | undefined, input: Input): AwsError {
  const error = new AwsError("ConditionalCheckFailedException", "The conditional request failed");
  if (input["ReturnValuesOnConditionCheckFailure"] === "ALL_OLD" && existing) {
    error.extra = { Item: structuredClone(existing) };
  }
  return error;
}

function returnValues(mode: unknown, before: Item | undefined, after: Item): unknown {
  if (mode === undefined || mode === "NONE") return {};
  if (mode === "ALL_NEW") return { Attributes: structuredClone(after) };
  if (mode === "ALL_OLD") return before ? { Attributes: structuredClone(before) } : {};
  throw unsupported(`ReturnValues ${String(mode)}`);
}

type Operand = (item: Item) => AttributeValue | undefined;
type Condition = (item: Item) => boolean;

const COMPARATORS = ["<=", ">=", "<>", "=", "<", ">"] as const;
type Comparator = (typeof COMPARATORS)[number];

/**
 * Parses expressions against one request's ExpressionAttributeNames and ExpressionAttributeValues,
 * recording which placeholders were used (DynamoDB refuses unused ones).
 */
class Expressions {
  private readonly names: Record<string, string>;
  private readonly values: Record<string, AttributeValue>;
  private readonly usedNames = new Set<string>();
  private readonly usedValues = new Set<string>();
  private tokens: string[] = [];
  private at = 0;

  constructor(input: Input) {
    this.names = (input["ExpressionAttributeNames"] as Record<string, string> | undefined) ?? {};
    this.values =
      (input["ExpressionAttributeValues"] as Record<string, AttributeValue> | undefined) ?? {};
  }

  condition(text: string): Condition {
    this.start(text);
    const condition = this.or();
    this.end();
    return condition;
  }

  /** `SET name = operand, ...`: the assignments, in order. */
  update(text: string): { name: string; value: Operand }[] {
    this.start(text);
    if (this.next()?.toUpperCase() !== "SET")
      throw unsupported("update expressions other than SET");
    const assignments: { name: string; value: Operand }[] = [];
    do {
      const name = this.attributeName(this.next());
      this.expect("=");
      assignments.push({ name, value: this.operand() });
    } while (this.accept(","));
    this.end();
    return assignments;
  }

  assertAllUsed(): void {
    const unusedValues = Object.keys(this.values).filter((k) => !this.usedValues.has(k));
    if (unusedValues.length > 0) {
      throw new AwsError(
        "ValidationException",
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(", ")}}`,
      );
    }
    const unusedNames = Object.keys(this.names).filter((k) => !this.usedNames.has(k));
    if (unusedNames.length > 0) {
      throw new AwsError(
        "ValidationException",
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(", ")}}`,
      );
    }
  }

  private start(text: string): void {
    this.tokens = text.match(/<=|>=|<>|[=<>(),]|[#:]?[A-Za-z0-9_]+|\S/g) ?? [];
    this.at = 0;
  }

  private end(): void {
    if (this.at < this.tokens.length) {
      throw syntax(`unexpected ${this.tokens[this.at]}`);
    }
  }

  private next(): string | undefined {
    return this.tokens[this.at++];
  }

  private peek(): string | undefined {
    return this.tokens[this.at];
  }

  private accept(token: string): boolean {
    if (this.peek()?.toUpperCase() !== token) return false;
    this.at++;
    return true;
  }

  private expect(token: string): void {
    if (!this.accept(token)) throw syntax(`expected ${token}, got ${this.peek() ?? "the end"}`);
  }

  private or(): Condition {
    let left = this.and();
    while (this.accept("OR")) {
      const a = left;
      const b = this.and();
      left = (item) => a(item) || b(item);
    }
    return left;
  }

  private and(): Condition {
    let left = this.not();
    while (this.accept("AND")) {
      const a = left;
      const b = this.not();
      left = (item) => a(item) && b(item);
    }
    return left;
  }

  private not(): Condition {
    if (this.accept("NOT")) {
      const inner = this.not();
      return (item) => !inner(item);
    }
    return this.primary();
  }

  private primary(): Condition {
    if (this.accept("(")) {
      const inner = this.or();
      this.expect(")");
      return inner;
    }
    const token = this.peek();
    if (token === "attribute_exists" || token === "attribute_not_exists") {
      this.at++;
      this.expect("(");
      const name = this.attributeName(this.next());
      this.expect(")");
      return token === "attribute_exists"
        ? (item) => item[name] !== undefined
        : (item) => item[name] === undefined;
    }
    if (token !== undefined && this.tokens[this.at + 1] === "(") {
      throw unsupported(`the function ${token}`);
    }
    const left = this.operand();
    const comparator = this.next();
    if (!COMPARATORS.includes(comparator as Comparator)) {
      throw unsupported(`the comparator ${comparator ?? "(none)"}`);
    }
    const right = this.operand();
    return (item) => compare(left(item), comparator as Comparator, right(item));
  }

  private operand(): Operand {
    const token = this.next();
    if (token?.startsWith(":")) {
      const value = this.values[token];
      if (value === undefined) {
        throw new AwsError(
          "ValidationException",
          `Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: ${token}`,
        );
      }
      this.usedValues.add(token);
      return () => value;
    }
    const name = this.attributeName(token);
    return (item) => item[name];
  }

  /** A top-level attribute name, plain or `#placeholder`. */
  private attributeName(token: string | undefined): string {
    if (token === undefined) throw syntax("expected an attribute name, got the end");
    if (token.startsWith("#")) {
      const name = this.names[token];
      if (name === undefined) {
        throw new AwsError(
          "ValidationException",
          `An expression attribute name used in the document path is not defined; attribute name: ${token}`,
        );
      }
      this.usedNames.add(token);
      return name;
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(token)) throw syntax(`unexpected ${token}`);
    if (this.peek() === "." || this.peek() === "[") throw unsupported("nested attribute paths");
    return token;
  }
}

function syntax(message: string): AwsError {
  return new AwsError("ValidationException", `Invalid expression: ${message}`);
}

/**
 * DynamoDB's comparison: operands of different types (or a missing attribute) compare false;
 * strings compare by their UTF-8 bytes, numbers by value.
 */
function compare(
  left: AttributeValue | undefined,
  comparator: Comparator,
  right: AttributeValue | undefined,
): boolean {
  if (left === undefined || right === undefined) return false;
  let order: number;
  if (typeof left["S"] === "string" && typeof right["S"] === "string") {
    order = Buffer.compare(Buffer.from(left["S"]), Buffer.from(right["S"]));
  } else if (typeof left["N"] === "string" && typeof right["N"] === "string") {
    order = Math.sign(Number(left["N"]) - Number(right["N"]));
  } else {
    if (comparator !== "=" && comparator !== "<>") return false;
    const equal = JSON.stringify(left) === JSON.stringify(right);
    return comparator === "=" ? equal : !equal;
  }
  switch (comparator) {
    case "=":
      return order === 0;
    case "<>":
      return order !== 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}
