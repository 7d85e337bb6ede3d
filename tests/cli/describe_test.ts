/**
 * `wsrpc describe` against an in-process `wsrpc serve`, and `wsrpc call`'s
 * payload check against a described schema; the JSON Schema subset checker.
 */
import assert from "node:assert/strict";
import { defineAPI, type StandardSchemaV1, unchecked } from "../../mod.ts";
import { checkSchema } from "../../lib/cli/_json_schema.ts";
import { startServer } from "../_server.ts";
import { assertExit, serve, wsrpc } from "./_fake_io.ts";

Deno.test("wsrpc describe lists and describes the commands of `wsrpc serve`", async () => {
  const server = await serve();
  try {
    const list = await wsrpc(["describe", server.url]);
    assertExit(list, 0);
    const lines = list.stdout.trim().split("\n").map((line) => line.split(/ +/).join(" "));
    assert.ok(lines.includes("demo-echo-request request -> demo-echo-response"), list.stdout);
    assert.ok(lines.includes("demo-event-notification notification"), list.stdout);
    assert.equal(lines.length, 11);
    const one = await wsrpc(["describe", server.url, "demo-echo-request"]);
    assertExit(one, 0);
    assert.deepEqual(JSON.parse(one.stdout), {
      command: "demo-echo-request",
      kind: "request",
      response: "demo-echo-response",
      schema: "unchecked",
    });
    const unknown = await wsrpc(["describe", server.url, "demo-nope-request"]);
    assertExit(unknown, 1);
    assert.match(unknown.stderr, /describe failed: unknown command "demo-nope-request"/);
  } finally {
    await server.stop();
  }
});

Deno.test("wsrpc describe against a server without describe fails clearly", async () => {
  const api = defineAPI({ "x-ping-request": unchecked(), "x-ping-response": unchecked() });
  await using ts = startServer(api, { handlers: {}, extensions: true });
  const r = await wsrpc(["describe", ts.url]);
  assertExit(r, 1);
  assert.match(r.stderr, /the server does not offer the describe extension/);
});

/** A validator that describes itself with a JSON Schema (as Zod 4's do) and accepts anything. */
function described(jsonSchema: Record<string, unknown>): StandardSchemaV1 {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value: unknown) => ({ value }),
      jsonSchema: { input: () => jsonSchema },
    },
  } as StandardSchemaV1;
}

Deno.test("wsrpc call checks the payload against the described schema before sending", async () => {
  const api = defineAPI({
    "x-ping-request": unchecked(),
    "x-ping-response": unchecked(),
    "x-add-request": described({
      type: "object",
      properties: { a: { type: "integer" }, b: { type: "integer" } },
      required: ["a", "b"],
      additionalProperties: false,
    }),
    "x-add-response": unchecked(),
  });
  const seen: unknown[] = [];
  await using ts = startServer(api, {
    handlers: {
      "x-add-request": (p) => {
        seen.push(p);
        const { a, b } = p as { a: number; b: number };
        return a + b;
      },
    },
    extensions: ["describe"],
  });
  const ok = await wsrpc(["call", ts.url, "x-add-request", '{"a":1,"b":2}']);
  assertExit(ok, 0);
  assert.equal(ok.stdout, "3\n");
  const bad = await wsrpc(["call", ts.url, "x-add-request", '{"a":1,"b":"2"}']);
  assertExit(bad, 2);
  assert.match(
    bad.stderr,
    /invalid payload for "x-add-request": payload\.b expected integer, got string/,
  );
  const missing = await wsrpc(["call", ts.url, "x-add-request", '{"a":1}']);
  assertExit(missing, 2);
  assert.match(missing.stderr, /payload\.b is required/);
  assert.deepEqual(seen, [{ a: 1, b: 2 }]); // the bad ones were never sent
});

Deno.test("checkSchema: the subset, with the path of the first mismatch", () => {
  const schema = {
    type: "object",
    properties: {
      name: { type: "string", minLength: 1 },
      tags: { type: "array", items: { enum: ["a", "b"] } },
      n: { anyOf: [{ type: "null" }, { type: "number", minimum: 0 }] },
      big: { type: "integer" },
    },
    required: ["name"],
    additionalProperties: false,
  };
  const table: [unknown, string | undefined][] = [
    [{ name: "x", tags: ["a"], n: null, big: 18446744073709551615n }, undefined],
    [{ name: "" }, "payload.name must be at least 1 characters"],
    [{ name: "x", tags: ["c"] }, 'payload.tags[0] must be one of "a", "b"'],
    [{ name: "x", n: -1 }, "payload.n matches none of the allowed shapes"],
    [{ name: "x", extra: 1 }, "payload.extra is not an allowed field"],
    [{ name: "x", big: 1.5 }, "payload.big expected integer, got number"],
    [[], "payload expected object, got array"],
  ];
  for (const [value, expected] of table) {
    const m = checkSchema(value, schema);
    assert.equal(m === undefined ? undefined : `${m.path} ${m.message}`, expected);
  }
});
