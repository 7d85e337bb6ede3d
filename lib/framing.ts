/**
 * Reading and writing protocol messages against an API: Go's `Read` and
 * `Write`.
 *
 * @module
 */

import type { API, CommandOf, PayloadOf } from "./api.ts";
import { InvalidCommandError } from "./errors.ts";
import { goMessage } from "./_go_keys.ts";
import { stringifyJSON } from "./_json.ts";
import type { APIConn, Message } from "./message.ts";

/**
 * One decoded message: its command, its id (`""` for a push) and its
 * validated payload.
 *
 * @typeParam A The API it was read against.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./framing.ts";
 * import { schemalessAPI } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const incoming = await decodeMessage(schemalessAPI, {
 *   header: { command: "demo-event-notification" },
 *   payload: { seq: 1 },
 * });
 * assert.deepEqual(incoming, { command: "demo-event-notification", id: "", payload: { seq: 1 } });
 * ```
 */
export type Incoming<A extends API = API> = {
  [C in CommandOf<A>]: { command: C; id: string; payload: PayloadOf<A, C> };
}[CommandOf<A>];

/**
 * Options for {@linkcode read} and {@linkcode write}.
 *
 * @example
 * ```ts
 * import { read, schemalessAPI, type APIConn } from "@wsrpc/protocol";
 * import { type FramingOptions } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const silent: APIConn = {
 *   readJSON: (signal) => new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason))),
 *   writeJSON: () => Promise.resolve(),
 * };
 * const options: FramingOptions = { signal: AbortSignal.timeout(10) };
 * await assert.rejects(read(silent, schemalessAPI, options), { name: "TimeoutError" });
 * ```
 */
export interface FramingOptions {
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/**
 * Reads the next message from `conn` and checks it against `api` (Go `Read`).
 *
 * @param conn The connection.
 * @param api The commands allowed.
 * @param options A `signal` to cancel the wait.
 * @returns The message's command, id and payload.
 * @throws {InvalidCommandError} For a missing or malformed header, a non-string
 * id, an unknown command or a payload that fails its schema.
 *
 * @example Reading from an in-memory connection
 * ```ts
 * import { defineAPI, read, unchecked, type APIConn } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "demo-ping-request": unchecked<{ timestamp: number }>() });
 * const conn: APIConn = {
 *   readJSON: () => Promise.resolve({ header: { command: "demo-ping-request", id: "0" }, payload: { timestamp: 1 } }),
 *   writeJSON: () => Promise.resolve(),
 * };
 * const message = await read(conn, api);
 * assert.equal(message.id, "0");
 * assert.deepEqual(message.payload, { timestamp: 1 });
 * ```
 */
export async function read<A extends API>(
  conn: APIConn,
  api: A,
  options: FramingOptions = {},
): Promise<Incoming<A>> {
  return await decodeMessage(api, await conn.readJSON(options.signal));
}

/**
 * Writes one message with the given id (`""` for a push) to `conn`
 * (Go `Write`). The payload must be one the API defines for `command`; it is
 * not validated on the way out.
 *
 * @param conn The connection.
 * @param api The API that defines `command`.
 * @param id The request id, or `""`.
 * @param command The command.
 * @param payload Its payload; `undefined` is sent as `null`.
 * @param options A `signal` to cancel the write.
 * @throws {InvalidCommandError} When `api` does not define `command`.
 *
 * @example
 * ```ts
 * import { defineAPI, unchecked, write, type APIConn } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const api = defineAPI({ "demo-echo-request": unchecked<string>() });
 * const sent: unknown[] = [];
 * const conn: APIConn = {
 *   readJSON: () => Promise.reject(new Error("unused")),
 *   writeJSON: (v) => { sent.push(v); return Promise.resolve(); },
 * };
 * await write(conn, api, "7", "demo-echo-request", "hi");
 * assert.deepEqual(sent, [{ header: { command: "demo-echo-request", id: "7" }, payload: "hi" }]);
 * ```
 */
export async function write<A extends API, C extends CommandOf<A>>(
  conn: APIConn,
  api: A,
  id: string,
  command: C,
  payload: PayloadOf<A, C>,
  options: FramingOptions = {},
): Promise<void> {
  if (!api.has(command)) {
    throw new InvalidCommandError(`unknown command ${JSON.stringify(command)}`, {
      command,
    });
  }
  await conn.writeJSON(messageOf(command, id, payload), options.signal);
}

/**
 * Builds a message value with the wire's key order and rules: `id` omitted
 * when empty, `payload` `null` when absent.
 *
 * @param command The command.
 * @param id The request id, or `""` for a push.
 * @param payload The payload.
 * @returns The message.
 *
 * @example
 * ```ts
 * import { messageOf } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   JSON.stringify(messageOf("x-notification", "", undefined)),
 *   '{"header":{"command":"x-notification"},"payload":null}',
 * );
 * ```
 */
export function messageOf(command: string, id: string, payload: unknown): Message {
  return {
    header: id === "" ? { command } : { command, id },
    payload: payload === undefined ? null : payload,
  };
}

/**
 * Encodes a message as wire text in one step, the same bytes as
 * `JSON.stringify(messageOf(command, id, payload))` but with `bigint` payload
 * values written as JSON integers.
 *
 * @param command The command.
 * @param id The request id, or `""` for a push.
 * @param payload The payload.
 * @returns The JSON text of one frame.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   encodeMessage("demo-ping-request", "0", { timestamp: 2n ** 63n }),
 *   '{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":9223372036854775808}}',
 * );
 * ```
 */
export function encodeMessage(command: string, id: string, payload: unknown): string {
  // One JSON.stringify of the whole message: the text comes out flat, where
  // joining a header to the payload's text makes a rope that the runtime
  // copies again to send it (Deno's send takes its fast path only for flat
  // strings; on Bun the join costs a third of a 64 KiB echo's throughput).
  return stringifyJSON(messageOf(command, id, encodable(payload)));
}

/** `null` for a payload JSON would drop from the message (a function, a symbol). */
function encodable(payload: unknown): unknown {
  const type = typeof payload;
  return type === "function" || type === "symbol" ? null : payload;
}

/**
 * Checks a decoded JSON value as a message of `api`. Keys may come in any
 * order; unknown header keys are ignored; a missing payload reads as `null`;
 * a `null` id reads as no id (as Go decodes it). A message without the exact
 * `header`, `command` or `payload` key is read as Go's `encoding/json` reads
 * it, matching keys case-insensitively (`{"Header":{"Command":…,"ID":…}}`);
 * with the exact `header.command` and `payload` present, only exact keys are
 * read.
 *
 * @param api The commands allowed.
 * @param value A decoded JSON document.
 * @returns The command, id and validated payload (a promise only when the
 * command's schema validates asynchronously).
 * @throws {InvalidCommandError} As {@linkcode read} does.
 *
 * @example Refusing a malformed header
 * ```ts
 * import { decodeMessage } from "./framing.ts";
 * import { schemalessAPI, InvalidCommandError } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodeMessage(schemalessAPI, { header: { command: "x", id: 5 } }), InvalidCommandError);
 * ```
 *
 * @example Keys in another case, as Go's encoding/json accepts them
 * ```ts
 * import { decodeMessage } from "./framing.ts";
 * import { schemalessAPI } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * const text = '{"Header":{"Command":"demo-ping-request","ID":"5"},"Payload":{"timestamp":1}}';
 * assert.deepEqual(decodeMessage(schemalessAPI, JSON.parse(text)), {
 *   command: "demo-ping-request",
 *   id: "5",
 *   payload: { timestamp: 1 },
 * });
 * ```
 */
export function decodeMessage<A extends API>(
  api: A,
  value: unknown,
): Incoming<A> | Promise<Incoming<A>> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidCommandError("message is not a JSON object");
  }
  const { header, payload } = value as { header?: unknown; payload?: unknown };
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    return decodeGoKeys(api, value, 'field "header" is missing or not an object');
  }
  const { command, id } = header as { command?: unknown; id?: unknown };
  if (typeof command !== "string" || command === "") {
    return decodeGoKeys(api, value, 'field "header.command" is missing or not a string');
  }
  if (payload === undefined) {
    const normalized = goMessage(value);
    if (normalized !== undefined) return decodeMessage(api, normalized);
  }
  if (id !== undefined && id !== null && typeof id !== "string") {
    throw new InvalidCommandError(`field "header.id" is a ${typeof id}, not a string`, {
      command,
    });
  }
  const messageID = typeof id === "string" ? id : "";
  if (!api.has(command)) {
    throw new InvalidCommandError(`unknown command ${JSON.stringify(command)}`, {
      command,
      id: messageID,
    });
  }
  let parsed: unknown;
  try {
    parsed = api.parse(command, payload === undefined ? null : payload);
  } catch (error) {
    throw withID(error, messageID);
  }
  if (parsed instanceof Promise) {
    return parsed.then(
      (p) => ({ command, id: messageID, payload: p }) as Incoming<A>,
      (error) => {
        throw withID(error, messageID);
      },
    );
  }
  return { command, id: messageID, payload: parsed } as Incoming<A>;
}

/**
 * The slow path: a message without the exact keys Go's `encoding/json` would
 * still decode (`{"Header":{"Command":…}}`), decoded as Go reads it; or the
 * `detail` error when it has none.
 */
function decodeGoKeys<A extends API>(
  api: A,
  value: object,
  detail: string,
): Incoming<A> | Promise<Incoming<A>> {
  const normalized = goMessage(value);
  if (normalized === undefined) throw new InvalidCommandError(detail);
  return decodeMessage(api, normalized);
}

function withID(error: unknown, id: string): unknown {
  if (error instanceof InvalidCommandError && error.id === undefined) {
    const detail = error.message.replace(/^invalid command: /, "");
    const options: { command?: string; id: string; cause: unknown } = { id, cause: error };
    if (error.command !== undefined) options.command = error.command;
    return new InvalidCommandError(detail, options);
  }
  return error;
}
