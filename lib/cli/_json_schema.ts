/**
 * A small JSON Schema subset, enough to check a payload against what a
 * server describes before `wsrpc call` sends it: `type`, `enum`, `const`,
 * `properties`, `required`, `additionalProperties`, `items`, `anyOf`/`oneOf`,
 * `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`.
 * Other keywords are not checked (the server still validates).
 */

/** The first mismatch: where (`payload.a[0].b`) and what. */
export interface SchemaMismatch {
  readonly path: string;
  readonly message: string;
}

type Schema = Record<string, unknown>;

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "bigint") return "integer";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

/** Checks `value` against `schema`; the first mismatch, or undefined when it fits. */
export function checkSchema(
  value: unknown,
  schema: unknown,
  path = "payload",
): SchemaMismatch | undefined {
  if (schema === true || schema === undefined) return undefined;
  if (schema === false) return { path, message: "is not allowed" };
  if (schema === null || typeof schema !== "object") return undefined;
  const s = schema as Schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type as string[] : [s.type as string];
    if (!types.some((t) => matchesType(value, t))) {
      return { path, message: `expected ${types.join(" or ")}, got ${typeOf(value)}` };
    }
  }
  if ("const" in s && JSON.stringify(value) !== JSON.stringify(s.const)) {
    return { path, message: `must be ${JSON.stringify(s.const)}` };
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return { path, message: `must be one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}` };
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = s[key];
    if (Array.isArray(options) && !options.some((o) => checkSchema(value, o, path) === undefined)) {
      return { path, message: "matches none of the allowed shapes" };
    }
  }
  if (typeof value === "number" || typeof value === "bigint") {
    if (typeof s.minimum === "number" && value < s.minimum) {
      return { path, message: `must be >= ${s.minimum}` };
    }
    if (typeof s.maximum === "number" && value > s.maximum) {
      return { path, message: `must be <= ${s.maximum}` };
    }
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) {
      return { path, message: `must be at least ${s.minLength} characters` };
    }
    if (typeof s.maxLength === "number" && value.length > s.maxLength) {
      return { path, message: `must be at most ${s.maxLength} characters` };
    }
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) {
      return { path, message: `must have at least ${s.minItems} items` };
    }
    if (typeof s.maxItems === "number" && value.length > s.maxItems) {
      return { path, message: `must have at most ${s.maxItems} items` };
    }
    if (s.items !== undefined && !Array.isArray(s.items)) {
      for (const [i, item] of value.entries()) {
        const mismatch = checkSchema(item, s.items, `${path}[${i}]`);
        if (mismatch) return mismatch;
      }
    }
  }
  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Record<string, unknown>;
    for (const key of Array.isArray(s.required) ? s.required as string[] : []) {
      if (!Object.hasOwn(object, key)) return { path: `${path}.${key}`, message: "is required" };
    }
    for (const [key, item] of Object.entries(object)) {
      const sub = Object.hasOwn(properties, key) ? properties[key] : s.additionalProperties;
      const mismatch = checkSchema(item, sub, `${path}.${key}`);
      if (mismatch) {
        return sub === false
          ? { path: `${path}.${key}`, message: "is not an allowed field" }
          : mismatch;
      }
    }
  }
  return undefined;
}
