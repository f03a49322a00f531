/**
 * A generic validator of JSON 1.1 and 1.0 request bodies against a Smithy model's input shapes:
 * required members, length, pattern, range, enums, and the JSON types of structures, unions, lists
 * and maps. Unknown members are ignored, as AWS does.
 */
import type { ServiceModel, Shape, ShapeRef } from "./model.js";

export interface Violation {
  /** `constraint`: the value breaks a model constraint (ValidationException); `type`: wrong JSON type (SerializationException). */
  kind: "constraint" | "type";
  path: string;
  message: string;
}

const PRELUDE_TYPES: Record<string, string> = {
  String: "string",
  Blob: "blob",
  Boolean: "boolean",
  PrimitiveBoolean: "boolean",
  Byte: "byte",
  PrimitiveByte: "byte",
  Short: "short",
  PrimitiveShort: "short",
  Integer: "integer",
  PrimitiveInteger: "integer",
  Long: "long",
  PrimitiveLong: "long",
  Float: "float",
  PrimitiveFloat: "float",
  Double: "double",
  PrimitiveDouble: "double",
  BigInteger: "bigInteger",
  BigDecimal: "bigDecimal",
  Timestamp: "timestamp",
  Document: "document",
  Unit: "structure",
};

const INTEGER_TYPES = new Set(["byte", "short", "integer", "long", "bigInteger", "intEnum"]);
const NUMBER_TYPES = new Set([...INTEGER_TYPES, "float", "double", "bigDecimal"]);

interface LengthTrait {
  min?: number;
  max?: number;
}

const regexCache = new Map<string, RegExp>();

function regex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(pattern, "u");
    } catch {
      re = new RegExp(pattern);
    }
    regexCache.set(pattern, re);
  }
  return re;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function within(bounds: LengthTrait): string {
  if (bounds.min !== undefined && bounds.max !== undefined) return `${bounds.min}..${bounds.max}`;
  if (bounds.min !== undefined) return `>= ${bounds.min}`;
  return `<= ${bounds.max}`;
}

function outside(n: number, bounds: LengthTrait): boolean {
  return (
    (bounds.min !== undefined && n < bounds.min) || (bounds.max !== undefined && n > bounds.max)
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class Validator {
  constructor(private readonly model: ServiceModel) {}

  /** Validates `input` against the operation's input shape; returns every violation found. */
  validateInput(operation: string, input: unknown): Violation[] {
    const violations: Violation[] = [];
    const inputId = this.model.inputShapeId(operation);
    if (!inputId) return violations;
    this.check({ target: inputId }, input, "", violations);
    return violations;
  }

  private resolve(ref: ShapeRef): { type: string; shape: Shape | undefined } {
    const shape = this.model.shape(ref.target);
    if (shape) return { type: shape.type, shape };
    const prelude = ref.target.startsWith("smithy.api#") ? ref.target.slice(11) : "";
    return { type: PRELUDE_TYPES[prelude] ?? "document", shape: undefined };
  }

  private check(ref: ShapeRef, value: unknown, path: string, out: Violation[]): void {
    if (value === null || value === undefined) return;
    const { type, shape } = this.resolve(ref);
    // Member traits refine (and win over) the target shape's traits.
    const traits = { ...(shape?.traits ?? {}), ...(ref.traits ?? {}) };
    const where = path || "(input)";
    const typeError = (expected: string): void => {
      out.push({
        kind: "type",
        path: where,
        message: `${where}: expected ${expected}, got ${show(value)}`,
      });
    };

    switch (type) {
      case "structure": {
        if (!isObject(value)) return typeError("an object");
        this.checkMembers(shape, value, path, out);
        return;
      }
      case "union": {
        if (!isObject(value)) return typeError("an object");
        const set = Object.keys(shape?.members ?? {}).filter(
          (k) => value[k] !== undefined && value[k] !== null,
        );
        if (set.length !== 1) {
          out.push({
            kind: "constraint",
            path: where,
            message: `${where}: exactly one member of the union must be set, got ${set.length}`,
          });
        }
        this.checkMembers(shape, value, path, out, false);
        return;
      }
      case "list":
      case "set": {
        if (!Array.isArray(value)) return typeError("a list");
        this.checkLength(traits, value.length, `${value.length} items`, where, out);
        if (shape?.member) {
          value.forEach((item, i) =>
            this.check(shape.member as ShapeRef, item, `${path}[${i}]`, out),
          );
        }
        return;
      }
      case "map": {
        if (!isObject(value)) return typeError("an object");
        const keys = Object.keys(value);
        this.checkLength(traits, keys.length, `${keys.length} entries`, where, out);
        for (const key of keys) {
          const child = path ? `${path}.${key}` : key;
          if (shape?.key) this.check(shape.key, key, `${child}(key)`, out);
          if (shape?.value) this.check(shape.value, value[key], child, out);
        }
        return;
      }
      case "string":
      case "enum": {
        if (typeof value !== "string") return typeError("a string");
        this.checkString(shape, traits, value, where, out);
        return;
      }
      case "blob": {
        if (typeof value !== "string") return typeError("a base64 string");
        const bytes = Buffer.from(value, "base64").length;
        this.checkLength(traits, bytes, `${bytes} bytes`, where, out);
        return;
      }
      case "boolean":
        if (typeof value !== "boolean") typeError("a boolean");
        return;
      case "timestamp":
        if (typeof value !== "number" && typeof value !== "string") typeError("a timestamp");
        return;
      case "document":
        return;
      default: {
        if (!NUMBER_TYPES.has(type)) return;
        if (typeof value !== "number" || !Number.isFinite(value)) return typeError("a number");
        if (INTEGER_TYPES.has(type) && !Number.isInteger(value)) return typeError("an integer");
        const range = traits["smithy.api#range"] as LengthTrait | undefined;
        if (range && outside(value, range)) {
          out.push({
            kind: "constraint",
            path: where,
            message: `${where}: ${value} is not within ${within(range)}`,
          });
        }
        if (type === "intEnum" && shape?.members) {
          const allowed = Object.values(shape.members).map(
            (m) => m.traits?.["smithy.api#enumValue"],
          );
          if (!allowed.includes(value)) {
            out.push({
              kind: "constraint",
              path: where,
              message: `${where}: ${value} is not one of [${allowed.join(", ")}]`,
            });
          }
        }
      }
    }
  }

  private checkMembers(
    shape: Shape | undefined,
    value: Record<string, unknown>,
    path: string,
    out: Violation[],
    enforceRequired = true,
  ): void {
    for (const [name, member] of Object.entries(shape?.members ?? {})) {
      const child = path ? `${path}.${name}` : name;
      const present = value[name] !== undefined && value[name] !== null;
      if (!present) {
        if (enforceRequired && member.traits?.["smithy.api#required"] !== undefined) {
          out.push({ kind: "constraint", path: child, message: `${child}: is required` });
        }
        continue;
      }
      this.check(member, value[name], child, out);
    }
  }

  private checkLength(
    traits: Record<string, unknown>,
    n: number,
    what: string,
    where: string,
    out: Violation[],
  ): void {
    const length = traits["smithy.api#length"] as LengthTrait | undefined;
    if (length && outside(n, length)) {
      out.push({
        kind: "constraint",
        path: where,
        message: `${where}: length ${what.replace(/ .*/, "")} is not within ${within(length)}`,
      });
    }
  }

  private checkString(
    shape: Shape | undefined,
    traits: Record<string, unknown>,
    value: string,
    where: string,
    out: Violation[],
  ): void {
    const codePoints = [...value].length;
    this.checkLength(traits, codePoints, `${codePoints} characters`, where, out);
    const pattern = traits["smithy.api#pattern"];
    if (typeof pattern === "string" && !regex(pattern).test(value)) {
      out.push({
        kind: "constraint",
        path: where,
        message: `${where}: ${show(value)} does not match ${pattern}`,
      });
    }
    let allowed: unknown[] | undefined;
    if (shape?.type === "enum" && shape.members) {
      allowed = Object.entries(shape.members).map(
        ([name, m]) => m.traits?.["smithy.api#enumValue"] ?? name,
      );
    } else if (Array.isArray(traits["smithy.api#enum"])) {
      allowed = (traits["smithy.api#enum"] as { value: string }[]).map((e) => e.value);
    }
    if (allowed && !allowed.includes(value)) {
      out.push({
        kind: "constraint",
        path: where,
        message: `${where}: ${show(value)} is not one of [${allowed.join(", ")}]`,
      });
    }
  }
}

/** The message of a ValidationException for the violations, in the style of AWS's. */
export function validationMessage(violations: Violation[]): string {
  const n = violations.length;
  return `${n} validation error${n === 1 ? "" : "s"} detected: ${violations.map((v) => v.message).join("; ")}`;
}
