/**
 * API definitions: the commands a connection understands, each with the
 * schema of its payload, so that calls, writes and handlers are typed end to
 * end and incoming payloads are checked.
 *
 * @module
 */

import { InvalidCommandError } from "./errors.ts";

/**
 * The Standard Schema v1 interface (standardschema.dev), which Zod, Valibot,
 * ArkType and others implement. Declared here so that wsrpc depends on none
 * of them.
 *
 * @typeParam Input What the schema accepts.
 * @typeParam Output What validation produces.
 *
 * @example A hand-written Standard Schema
 * ```ts
 * import type { StandardSchemaV1 } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const positive: StandardSchemaV1<number> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (v) => typeof v === "number" && v > 0 ? { value: v } : { issues: [{ message: "not positive" }] },
 *   },
 * };
 * assert.deepEqual(positive["~standard"].validate(2), { value: 2 });
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard's properties. */
  readonly "~standard": {
    /** Always 1. */
    readonly version: 1;
    /** The library that made the schema. */
    readonly vendor: string;
    /** Checks a value. */
    readonly validate: (
      value: unknown,
    ) => StandardResult<Output> | Promise<StandardResult<Output>>;
    /** Types only; not present at run time. */
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/**
 * What a Standard Schema's `validate` returns.
 *
 * @typeParam Output The validated value's type.
 *
 * @example
 * ```ts
 * import { defineAPI } from "@wsrpc/protocol";
 * import { type StandardResult } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * // A validator returns a StandardResult; an API built on it rejects on `issues`.
 * const validate = (v: unknown): StandardResult<number> =>
 *   typeof v === "number" ? { value: v } : { issues: [{ message: "expected a number" }] };
 * const api = defineAPI({ "a-n-request": { "~standard": { version: 1, vendor: "x", validate } } });
 * assert.equal(await api.parse("a-n-request", 3), 3);
 * await assert.rejects(async () => await api.parse("a-n-request", "3"), /expected a number/);
 * ```
 */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
    readonly issues: ReadonlyArray<{
      readonly message: string;
      readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
    }>;
  };

/**
 * A payload type with no run-time check: zero cost, for trusted peers and hot
 * paths. Made by {@linkcode unchecked}.
 *
 * @typeParam T The payload's type.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import { type Unchecked } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const schema: Unchecked<{ seq: number }> = unchecked<{ seq: number }>();
 * const api = defineAPI({ "demo-event-notification": schema });
 * const payload = { seq: 1 };
 * assert.equal(api.parse("demo-event-notification", payload), payload); // passed through as is
 * ```
 */
export interface Unchecked<T> {
  /** Marks the schema as unchecked. */
  readonly "~unchecked": true;
  /** Types only; never present. */
  readonly "~type"?: T;
}

/**
 * A payload schema: a Standard Schema v1 validator, or {@linkcode unchecked}.
 *
 * @typeParam T The payload's type.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked, type StandardSchemaV1 } from "@wsrpc/protocol";
 * import { type PayloadSchema } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const name: StandardSchemaV1<string> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (v) => typeof v === "string" ? { value: v } : { issues: [{ message: "not a string" }] },
 *   },
 * };
 * // Either kind of schema may describe a payload.
 * const schemas: PayloadSchema<string>[] = [unchecked<string>(), name];
 * const api = defineAPI({ "a-loose-request": schemas[0]!, "a-strict-request": schemas[1]! });
 * assert.equal(api.parse("a-loose-request", 7), 7);
 * await assert.rejects(async () => await api.parse("a-strict-request", 7), /not a string/);
 * ```
 */
export type PayloadSchema<T = unknown> =
  | StandardSchemaV1<unknown, T>
  | Unchecked<T>;

/**
 * Command name to payload schema.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import { type APIDefinition } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const definition: APIDefinition = { "demo-ping-request": unchecked() };
 * const api = defineAPI(definition);
 * assert.ok(api.has("demo-ping-request"));
 * assert.ok(!api.has("demo-pong-request"));
 * ```
 */
export type APIDefinition = Readonly<Record<string, PayloadSchema>>;

/**
 * The payload type a schema produces.
 *
 * @typeParam S A payload schema.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import { type Infer } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const schema = unchecked<{ n: number }>();
 * const api = defineAPI({ "a-n-request": schema });
 * const value = api.parse("a-n-request", { n: 1 }) as Infer<typeof schema>;
 * assert.equal(value.n, 1);
 * ```
 */
export type Infer<S> = S extends Unchecked<infer T> ? T
  : S extends StandardSchemaV1<unknown, infer O> ? O
  : never;

/**
 * A set of commands with their payload schemas, made by {@linkcode defineAPI}.
 * `read` uses it to reject unknown commands and invalid payloads; `Conn`,
 * `write` and servers use its types.
 *
 * @typeParam D The definition.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "demo-echo-request": unchecked<string>() });
 * assert.ok(api.has("demo-echo-request"));
 * assert.ok(!api.has("demo-other-request"));
 * ```
 */
export interface API<D extends APIDefinition = APIDefinition> {
  /** The definition, as given. */
  readonly definition: D;
  /** Whether `command` belongs to this API. */
  has(command: string): boolean;
  /**
   * Checks a payload against its command's schema.
   *
   * @throws {InvalidCommandError} For an unknown command or a payload that fails its schema.
   */
  parse(command: string, payload: unknown): unknown;
}

/**
 * The command names of an API.
 *
 * @typeParam A An API.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import { encodeMessage } from "./framing.ts";
 * import { type CommandOf } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "a-ping-request": unchecked() });
 * const command: CommandOf<typeof api> = "a-ping-request"; // another string would not compile
 * assert.ok(api.has(command));
 * assert.equal(encodeMessage(command, "1", {}), '{"header":{"command":"a-ping-request","id":"1"},"payload":{}}');
 * ```
 */
export type CommandOf<A> = A extends API<infer D> ? keyof D & string : never;

/**
 * The payload type of one command of an API.
 *
 * @typeParam A An API.
 * @typeParam C One of its commands.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked, write, type APIConn } from "@wsrpc/protocol";
 * import { type PayloadOf } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "a-sum-request": unchecked<{ a: number; b: number }>() });
 * const payload: PayloadOf<typeof api, "a-sum-request"> = { a: 1, b: 2 };
 * const sent: unknown[] = [];
 * const conn: APIConn = { readJSON: () => Promise.reject(), writeJSON: async (v) => void sent.push(v) };
 * await write(conn, api, "1", "a-sum-request", payload); // write() takes exactly this type
 * assert.deepEqual(sent, [{ header: { command: "a-sum-request", id: "1" }, payload: { a: 1, b: 2 } }]);
 * ```
 */
export type PayloadOf<A, C extends string> = A extends API<infer D>
  ? C extends keyof D ? Infer<D[C]> : unknown
  : unknown;

/**
 * The response command for a request command, by the protocol's naming
 * convention (`x-request` answered by `x-response`), when the API has it.
 *
 * @typeParam A An API.
 * @typeParam C A request command.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import { type ResponseCommandOf } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "a-ping-request": unchecked(), "a-ping-response": unchecked() });
 * const response: ResponseCommandOf<typeof api, "a-ping-request"> = "a-ping-response";
 * assert.ok(api.has(response)); // the API defines the response it names
 * ```
 */
export type ResponseCommandOf<A, C extends string> = C extends `${infer P}-request`
  ? `${P}-response` extends CommandOf<A> ? `${P}-response` : CommandOf<A>
  : CommandOf<A>;

/**
 * The request commands of an API: those that end in `-request`.
 *
 * @typeParam A An API.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import { type RequestCommandOf } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "a-ping-request": unchecked(), "a-ping-response": unchecked() });
 * const request: RequestCommandOf<typeof api> = "a-ping-request"; // "a-ping-response" would not compile
 * assert.ok(api.has(request));
 * ```
 */
export type RequestCommandOf<A> = Extract<CommandOf<A>, `${string}-request`>;

/**
 * Makes a payload schema that checks nothing at run time and types the
 * payload as `T`.
 *
 * @typeParam T The payload's type.
 * @returns The unchecked marker.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "demo-echo-request": unchecked<unknown>() });
 * assert.deepEqual(api.parse("demo-echo-request", [1, 2]), [1, 2]);
 * ```
 */
export function unchecked<T = unknown>(): Unchecked<T> {
  return UNCHECKED_SCHEMA as Unchecked<T>;
}

const UNCHECKED_SCHEMA: Unchecked<unknown> = Object.freeze({
  "~unchecked": true as const,
});

/**
 * Defines an API: command names and their payload schemas. Payloads of
 * commands with an {@linkcode unchecked} schema are passed through as they
 * are; others are validated (sync or async Standard Schema validators alike).
 *
 * @typeParam D The definition.
 * @param definition Command name to payload schema.
 * @returns The API.
 *
 * @example With a Standard Schema validator and unchecked commands
 * ```ts
 * import { defineAPI, unchecked, type StandardSchemaV1, type PingRequest } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const count: StandardSchemaV1<{ count: number }> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (v) =>
 *       typeof (v as { count?: unknown })?.count === "number"
 *         ? { value: v as { count: number } }
 *         : { issues: [{ message: "count must be a number", path: ["count"] }] },
 *   },
 * };
 * const api = defineAPI({
 *   "demo-ping-request": unchecked<PingRequest>(),
 *   "demo-notify-request": count,
 * });
 * assert.deepEqual(await api.parse("demo-notify-request", { count: 2 }), { count: 2 });
 * await assert.rejects(async () => await api.parse("demo-notify-request", {}), /count must be a number/);
 * ```
 */
export function defineAPI<const D extends APIDefinition>(definition: D): API<D> {
  const commands = new Map<string, PayloadSchema>(Object.entries(definition));
  return {
    definition,
    has: (command: string): boolean => commands.has(command),
    parse: (command, payload) => {
      const schema = commands.get(command);
      if (schema === undefined) {
        throw new InvalidCommandError(`unknown command ${JSON.stringify(command)}`, {
          command,
        });
      }
      return validate(command, schema, payload);
    },
  };
}

/**
 * An API that accepts every command and checks no payload: for tools that
 * speak to any server, such as the `wsrpc` command line.
 *
 * @example
 * ```ts
 * import { schemalessAPI } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.ok(schemalessAPI.has("anything-at-all-request"));
 * assert.deepEqual(schemalessAPI.parse("x", { a: 1 }), { a: 1 });
 * ```
 */
export const schemalessAPI: API<Record<string, Unchecked<unknown>>> = {
  definition: {},
  has: (command: string): boolean => typeof command === "string",
  parse: (_command, payload) => payload,
};

function validate(command: string, schema: PayloadSchema, payload: unknown): unknown {
  if ("~unchecked" in schema) return payload;
  const result = schema["~standard"].validate(payload);
  return result instanceof Promise
    ? result.then((r) => unwrap(command, r))
    : unwrap(command, result);
}

function unwrap(command: string, result: StandardResult<unknown>): unknown {
  if (result.issues === undefined) return result.value;
  const detail = result.issues.map((issue) => {
    const path = issue.path?.map((p) => typeof p === "object" ? p.key : p).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  }).join("; ");
  throw new InvalidCommandError(
    `invalid payload for ${JSON.stringify(command)}: ${detail}`,
    { command },
  );
}
