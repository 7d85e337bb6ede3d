/**
 * `describe` with real Standard Schema libraries (dev-only, tests/ext): Zod 4
 * describes itself (Standard JSON Schema); Valibot through the server's
 * `describeSchema` hook with `@valibot/to-json-schema`. Over real sockets,
 * and `wsrpc call` refusing a payload that does not fit Zod's schema.
 */
import assert from "node:assert/strict";
import { Conn, defineAPI, unchecked } from "../mod.ts";
import { importDev } from "./_ext_deps.ts";
import { startServer } from "./_server.ts";
import { assertExit, wsrpc } from "./cli/_fake_io.ts";

const { z } = await importDev("zod");
const v = await importDev("valibot");
const { toJsonSchema } = await importDev("@valibot/to-json-schema");

const api = defineAPI({
  "s-ping-request": unchecked(),
  "s-ping-response": unchecked(),
  "s-add-request": z.object({ a: z.number().int(), b: z.number().int() }),
  "s-add-response": z.number(),
  "s-tag-request": v.object({ tag: v.picklist(["red", "blue"]) }),
  "s-tag-response": v.string(),
});

function start() {
  return startServer(api, {
    extensions: ["describe"],
    handlers: {
      // The libraries come in untyped (a computed import): payloads cast here.
      "s-add-request": (p) => (p as { a: number }).a + (p as { b: number }).b,
      "s-tag-request": (p) => (p as { tag: string }).tag,
    },
    // Valibot needs its converter; Zod 4 answers `~standard.jsonSchema` itself.
    describeSchema: (schema) =>
      (schema as { "~standard": { vendor: string } })["~standard"].vendor === "valibot"
        ? toJsonSchema(schema)
        : undefined,
  });
}

Deno.test("describe: Zod 4 and Valibot schemas as JSON Schema", async () => {
  await using ts = start();
  const conn = new Conn(ts.url, { api });
  await conn.connect();
  try {
    const add = (await conn.describe("s-add-request")).commands[0]!;
    assert.equal(add.kind, "request");
    const addSchema = add.schema as Record<string, unknown>;
    assert.equal(addSchema.type, "object");
    assert.deepEqual(addSchema.required, ["a", "b"]);
    assert.equal((addSchema.properties as Record<string, { type: string }>).a?.type, "integer");
    const tag = (await conn.describe("s-tag-request")).commands[0]!;
    assert.deepEqual((tag.schema as { properties: unknown }).properties, {
      tag: { enum: ["red", "blue"] },
    });
    assert.equal((await conn.describe("s-ping-request")).commands[0]!.schema, "unchecked");
    assert.equal(await conn.call("s-add-request", { a: 2, b: 3 }), 5);
  } finally {
    await conn.close();
  }
});

Deno.test("wsrpc call refuses a payload that does not fit the Zod or Valibot schema, naming the field", async () => {
  await using ts = start();
  const bad = await wsrpc(["call", ts.url, "s-add-request", '{"a":1,"b":2.5}']);
  assertExit(bad, 2);
  assert.match(
    bad.stderr,
    /invalid payload for "s-add-request": payload\.b expected integer, got number/,
  );
  const badTag = await wsrpc(["call", ts.url, "s-tag-request", '{"tag":"green"}']);
  assertExit(badTag, 2);
  assert.match(badTag.stderr, /payload\.tag must be one of "red", "blue"/);
  const ok = await wsrpc(["call", ts.url, "s-tag-request", '{"tag":"blue"}']);
  assertExit(ok, 0);
  assert.equal(ok.stdout, '"blue"\n');
});
