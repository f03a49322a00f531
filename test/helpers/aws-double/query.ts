/**
 * The awsQuery protocol read and written from a Smithy model: form parameters
 * (`Tags.member.1.Key=...`, maps as `Name.entry.1.key`) decoded into the operation's input object,
 * and an operation's output object encoded as the XML the SDK parses (lists as `<member>`
 * elements). The models served this way use neither `xmlName` nor `xmlFlattened` traits.
 */
import type { ServiceModel, ShapeRef } from "./model.js";

const NUMBER_TYPES = new Set([
  "byte",
  "short",
  "integer",
  "long",
  "float",
  "double",
  "bigInteger",
  "bigDecimal",
  "intEnum",
]);

function scalar(type: string, text: string): unknown {
  if (NUMBER_TYPES.has(type)) return Number(text);
  if (type === "boolean") return text === "true" ? true : text === "false" ? false : text;
  return text;
}

/** The operation's input from the form parameters (keys the model does not know are ignored). */
export function decodeQueryInput(
  model: ServiceModel,
  operation: string,
  params: URLSearchParams,
): Record<string, unknown> {
  const inputId = model.inputShapeId(operation);
  if (!inputId) return {};
  const decoded = decode(model, { target: inputId }, "", params);
  return (decoded as Record<string, unknown> | undefined) ?? {};
}

function decode(
  model: ServiceModel,
  ref: ShapeRef,
  prefix: string,
  params: URLSearchParams,
): unknown {
  const shape = model.shape(ref.target);
  const type = shape?.type ?? "string";
  switch (type) {
    case "structure": {
      const out: Record<string, unknown> = {};
      const base = prefix === "" ? "" : `${prefix}.`;
      for (const [name, member] of Object.entries(shape?.members ?? {})) {
        const value = decode(model, member, `${base}${name}`, params);
        if (value !== undefined) out[name] = value;
      }
      // A structure member is present when any of its parameters is; the top level always is.
      return prefix === "" || Object.keys(out).length > 0 ? out : undefined;
    }
    case "list":
    case "set": {
      if (params.get(prefix) === "") return [];
      const items: unknown[] = [];
      for (let i = 1; ; i++) {
        const key = `${prefix}.member.${i}`;
        if (!hasPrefix(params, key)) break;
        const target = shape?.member ?? { target: "smithy.api#String" };
        const item = decode(model, target, key, params);
        items.push(item ?? {});
      }
      return items.length > 0 ? items : undefined;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let i = 1; ; i++) {
        const key = params.get(`${prefix}.entry.${i}.key`);
        if (key === null) break;
        const valueRef = shape?.value ?? { target: "smithy.api#String" };
        out[key] = decode(model, valueRef, `${prefix}.entry.${i}.value`, params);
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    default: {
      const text = params.get(prefix);
      return text === null ? undefined : scalar(type, text);
    }
  }
}

function hasPrefix(params: URLSearchParams, key: string): boolean {
  for (const name of params.keys()) {
    if (name === key || name.startsWith(`${key}.`)) return true;
  }
  return false;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The XML content of the operation's `<Op>Result>` element for `result`. */
export function encodeQueryOutput(model: ServiceModel, operation: string, result: unknown): string {
  const outputId = model.operation(operation)?.output?.target;
  if (!outputId || result === undefined) return "";
  return encodeMembers(model, { target: outputId }, result);
}

function encodeMembers(model: ServiceModel, ref: ShapeRef, value: unknown): string {
  const shape = model.shape(ref.target);
  if (typeof value !== "object" || value === null) return "";
  const record = value as Record<string, unknown>;
  return Object.entries(shape?.members ?? {})
    .filter(([name]) => record[name] !== undefined && record[name] !== null)
    .map(([name, member]) => `<${name}>${encode(model, member, record[name])}</${name}>`)
    .join("");
}

function encode(model: ServiceModel, ref: ShapeRef, value: unknown): string {
  const shape = model.shape(ref.target);
  switch (shape?.type) {
    case "structure":
      return encodeMembers(model, ref, value);
    case "list":
    case "set": {
      const member = shape.member ?? { target: "smithy.api#String" };
      return (value as unknown[])
        .map((item) => `<member>${encode(model, member, item)}</member>`)
        .join("");
    }
    case "map": {
      const valueRef = shape.value ?? { target: "smithy.api#String" };
      return Object.entries(value as Record<string, unknown>)
        .map(
          ([k, v]) =>
            `<entry><key>${escapeXml(k)}</key><value>${encode(model, valueRef, v)}</value></entry>`,
        )
        .join("");
    }
    case "timestamp":
      return new Date(value as number).toISOString();
    default:
      return escapeXml(String(value));
  }
}

/** The awsQuery error codes the model lists for the operation (`PriorityInUse`, ...). */
export function queryErrorCodes(model: ServiceModel, operation: string): string[] {
  return (model.operation(operation)?.errors ?? []).map((e) => {
    const trait = model.shape(e.target)?.traits?.["aws.protocols#awsQueryError"] as
      { code?: string } | undefined;
    return trait?.code ?? e.target.split("#")[1] ?? e.target;
  });
}
