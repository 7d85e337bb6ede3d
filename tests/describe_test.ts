/**
 * The `describe` extension over real sockets: commands, kinds and a JSON
 * Schema per payload (Standard JSON Schema, the server's hook, `unchecked`,
 * or null); one command; an unknown one; not offered; hostile requests.
 * Zod and Valibot themselves: tests/ext/schema_libs_test.ts.
 */
import assert from "node:assert/strict";
import { Conn, defineAPI, ProtocolError, type StandardSchemaV1, unchecked } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { rawConnect, startServer } from "./_server.ts";

/** A Standard Schema that also implements Standard JSON Schema (as Zod 4 does). */
const numberWithJSONSchema = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value: unknown) =>
      typeof value === "number" ? { value } : { issues: [{ message: "not a number" }] },
    jsonSchema: { input: () => ({ type: "number" }) },
  },
} as StandardSchemaV1<unknown, number>;
/** One that cannot describe itself. */
const opaque = {
  "~standard": { version: 1, vendor: "opaque", validate: (value: unknown) => ({ value }) },
} as StandardSchemaV1<unknown, unknown>;
const hooked = {
  "~standard": { version: 1, vendor: "hooked", validate: (value: unknown) => ({ value }) },
  shape: { type: "string" },
} as StandardSchemaV1<unknown, unknown>;

const api = defineAPI({
  "t-ping-request": unchecked<unknown>(),
  "t-ping-response": unchecked<unknown>(),
  "t-add-request": numberWithJSONSchema,
  "t-add-response": opaque,
  "t-tick-notification": hooked,
});

function start(extensions: boolean | string[]) {
  return startServer(api, {
    extensions,
    handlers: { "t-add-request": (n) => n + 1 },
    describeSchema: (schema) => (schema as { shape?: Record<string, unknown> }).shape,
  });
}

Deno.test("describe: every command, its kind, response and schema", async () => {
  await using ts = start(["describe"]);
  const conn = new Conn(ts.url, { api });
  await conn.connect();
  try {
    assert.deepEqual(conn.extensions, ["describe"]);
    assert.deepEqual(await conn.describe(), {
      commands: [
        {
          command: "t-add-request",
          kind: "request",
          response: "t-add-response",
          schema: { type: "number" },
        },
        { command: "t-add-response", kind: "response", schema: null },
        { command: "t-ping-request", kind: "request", schema: "unchecked" },
        { command: "t-ping-response", kind: "response", schema: "unchecked" },
        { command: "t-tick-notification", kind: "notification", schema: { type: "string" } },
      ],
    });
    assert.deepEqual(await conn.describe("t-tick-notification"), {
      commands: [{
        command: "t-tick-notification",
        kind: "notification",
        schema: { type: "string" },
      }],
    });
    await assert.rejects(
      conn.describe("t-nope-request"),
      (e) => e instanceof ProtocolError && e.message === 'unknown command "t-nope-request"',
    );
    assert.equal(await conn.call("t-add-request", 1), 2); // the session goes on
  } finally {
    await conn.close();
  }
});

Deno.test("describe: off unless named (true offers cancel, trace and topics); Conn says so", async () => {
  await using ts = start(true);
  const conn = new Conn(ts.url, { api });
  await conn.connect();
  assert.deepEqual(conn.extensions, ["cancel", "trace", "topics"]);
  await assert.rejects(conn.describe(), TypeError);
  await conn.close();
});

Deno.test("describe: a schemaless server lists its handlers; hostile requests close 1008", async () => {
  await using ts = startServer(demoAPI, { handlers: demoHandlers, extensions: ["describe"] });
  const raw = await rawConnect(ts.url);
  raw.send('{"header":{"command":"wsrpc-hello"},"payload":{"extensions":["describe"]}}');
  raw.send(
    '{"header":{"command":"wsrpc-describe-request","id":"d1"},"payload":{"command":"demo-echo-request"}}',
  );
  assert.deepEqual(await raw.next(), {
    header: { command: "wsrpc-describe-response", id: "d1" },
    payload: {
      commands: [{
        command: "demo-echo-request",
        kind: "request",
        response: "demo-echo-response",
        schema: "unchecked",
      }],
    },
  });
  raw.send('{"header":{"command":"wsrpc-describe-request"},"payload":{}}'); // no id
  assert.deepEqual(await raw.closed, {
    code: 1008,
    reason: 'invalid command: wsrpc-describe-request: needs an id, and "command" must be a string',
  });
});
