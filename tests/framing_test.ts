import assert from "node:assert/strict";
import {
  type APIConn,
  defineAPI,
  InvalidCommandError,
  read,
  schemalessAPI,
  type StandardSchemaV1,
  unchecked,
  write,
} from "../mod.ts";
import { decodeMessage, encodeMessage, messageOf } from "../lib/framing.ts";
import { goKeyMatches } from "../lib/_go_keys.ts";

const api = defineAPI({
  "demo-ping-request": unchecked<{ timestamp: number }>(),
  "demo-ping-response": unchecked<{ origintimestamp: number; timestamp: number }>(),
});

function memoryConn(incoming: unknown[] = []): APIConn & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    readJSON: () => Promise.resolve(incoming.shift()),
    writeJSON: (value) => {
      sent.push(value);
      return Promise.resolve();
    },
  };
}

Deno.test("encodeMessage() writes the exact wire format", () => {
  const table: [string, string, unknown, string][] = [
    [
      "tbcapi-ping-request",
      "0",
      { timestamp: 1732453000 },
      '{"header":{"command":"tbcapi-ping-request","id":"0"},"payload":{"timestamp":1732453000}}',
    ],
    ["x-notification", "", { a: 1 }, '{"header":{"command":"x-notification"},"payload":{"a":1}}'],
    ["x-request", "7", null, '{"header":{"command":"x-request","id":"7"},"payload":null}'],
    ["x-request", "7", undefined, '{"header":{"command":"x-request","id":"7"},"payload":null}'],
    [
      'q"uote',
      "1",
      2n ** 64n,
      '{"header":{"command":"q\\"uote","id":"1"},"payload":18446744073709551616}',
    ],
  ];
  for (const [command, id, payload, expected] of table) {
    assert.equal(encodeMessage(command, id, payload), expected);
    if (typeof payload !== "bigint") {
      assert.equal(JSON.stringify(messageOf(command, id, payload)), expected, "messageOf agrees");
    }
  }
});

Deno.test("decodeMessage() accepts any key order, unknown header keys, a missing payload", () => {
  const table: [unknown, unknown][] = [
    [
      { payload: { timestamp: 1 }, header: { id: "3", command: "demo-ping-request", extra: true } },
      { command: "demo-ping-request", id: "3", payload: { timestamp: 1 } },
    ],
    [
      { header: { command: "demo-ping-request" } },
      { command: "demo-ping-request", id: "", payload: null },
    ],
    [
      { header: { command: "demo-ping-request", id: null }, payload: null },
      { command: "demo-ping-request", id: "", payload: null },
    ],
  ];
  for (const [value, expected] of table) assert.deepEqual(decodeMessage(api, value), expected);
});

Deno.test("decodeMessage() rejects malformed messages with InvalidCommandError", () => {
  const table: [unknown, RegExp][] = [
    [null, /not a JSON object/],
    [[1, 2], /not a JSON object/],
    ["text", /not a JSON object/],
    [{ payload: 1 }, /"header" is missing/],
    [{ header: "x" }, /"header" is missing or not an object/],
    [{ header: [] }, /"header" is missing or not an object/],
    [{ header: {} }, /"header.command" is missing/],
    [{ header: { command: 5 } }, /"header.command" is missing or not a string/],
    [{ header: { command: "" } }, /"header.command" is missing/],
    [{ header: { command: "demo-ping-request", id: 5 } }, /"header.id" is a number, not a string/],
    [{ header: { command: "demo-ping-request", id: {} } }, /"header.id" is a object/],
    [{ header: { command: "demo-ping-request", id: true } }, /"header.id" is a boolean/],
    [{ header: { command: "nope-request", id: "1" } }, /unknown command "nope-request"/],
  ];
  for (const [value, pattern] of table) {
    assert.throws(() => decodeMessage(api, value), (error: unknown) => {
      assert.ok(error instanceof InvalidCommandError, `${JSON.stringify(value)}`);
      assert.match(error.message, /^invalid command: /);
      assert.match(error.message, pattern);
      return true;
    });
  }
  const unknown = (() => {
    try {
      decodeMessage(api, { header: { command: "nope-request", id: "9" } });
    } catch (e) {
      return e as InvalidCommandError;
    }
  })();
  assert.equal(unknown?.command, "nope-request");
  assert.equal(unknown?.id, "9");
});

Deno.test("decodeMessage() reads keys case-insensitively, as Go's encoding/json does", () => {
  const ping = (id: string, payload: unknown = { timestamp: 1 }) => ({
    command: "demo-ping-request",
    id,
    payload,
  });
  // JSON text, so that document order is the wire's.
  const table: [string, unknown][] = [
    ['{"Header":{"Command":"demo-ping-request","ID":"5"},"Payload":{"timestamp":1}}', ping("5")],
    ['{"HEADER":{"COMMAND":"demo-ping-request","Id":"5"},"PAYLOAD":{"timestamp":1}}', ping("5")],
    ['{"hEaDeR":{"cOmMaNd":"demo-ping-request","iD":"5"},"pAyLoAd":{"timestamp":1}}', ping("5")],
    // only the header's keys inexact, or only the payload's
    ['{"header":{"Command":"demo-ping-request","id":"5"},"payload":{"timestamp":1}}', ping("5")],
    ['{"header":{"command":"demo-ping-request","ID":"5"},"Payload":{"timestamp":1}}', ping("5")],
    // no payload key at all reads as null, no id key as a push
    ['{"Header":{"Command":"demo-ping-request"}}', ping("", null)],
    // several matching keys: each assigned in document order, the last one wins
    [
      '{"Header":{"Command":"x-request","COMMAND":"demo-ping-request","ID":"1","id":"2"}}',
      ping("2", null),
    ],
    [
      '{"Payload":{"timestamp":1},"PAYLOAD":{"timestamp":2},"Header":{"Command":"demo-ping-request"}}',
      ping("", { timestamp: 2 }),
    ],
    [
      '{"Payload":{"timestamp":1},"payload":null,"Header":{"Command":"demo-ping-request"}}',
      ping("", null),
    ],
    // several headers decode into one struct: their fields merge; null changes nothing
    ['{"Header":{"Command":"demo-ping-request","ID":"7"},"HEADER":{"ID":"8"}}', ping("8", null)],
    ['{"Header":{"Command":"demo-ping-request","ID":"7"},"HEADER":null}', ping("7", null)],
    ['{"Header":{"Command":"demo-ping-request","ID":"7"},"HEADER":{"ID":null}}', ping("7", null)],
    // dotless i and dotted capital I are not in i's fold set: not the id, so a push
    ['{"Header":{"Command":"demo-ping-request","\\u0131d":"5"}}', ping("", null)],
    ['{"Header":{"Command":"demo-ping-request","\\u0130D":"5"}}', ping("", null)],
  ];
  for (const [text, expected] of table) {
    assert.deepEqual(decodeMessage(api, JSON.parse(text)), expected, text);
  }
});

Deno.test("decodeMessage() refuses what Go's encoding/json refuses or does not match", () => {
  const table: [string, RegExp][] = [
    // other scripts do not fold to ASCII (U+04BB CYRILLIC SMALL LETTER SHHA)
    ['{"\\u04bbeader":{"command":"demo-ping-request"}}', /"header" is missing/],
    ['{"Headers":{"command":"demo-ping-request"}}', /"header" is missing/],
    ['{"Header":"demo-ping-request"}', /"header" is missing or not an object/],
    [
      '{"Header":{"Command":"demo-ping-request"},"HEADER":5}',
      /"header" is missing or not an object/,
    ],
    ['{"Header":{"Cmd":"demo-ping-request"}}', /"header.command" is missing/],
    // a value of the wrong type is an error in Go even when a later key is right
    [
      '{"Header":{"Command":5,"COMMAND":"demo-ping-request"}}',
      /"header.command" is missing or not a string/,
    ],
    ['{"Header":{"Command":"demo-ping-request","ID":5,"Id":"5"}}', /"header.id" is a number/],
  ];
  for (const [text, pattern] of table) {
    assert.throws(() => decodeMessage(api, JSON.parse(text)), (error: unknown) => {
      assert.ok(error instanceof InvalidCommandError, text);
      assert.match(error.message, pattern, text);
      return true;
    });
  }
});

Deno.test("goKeyMatches() follows Go's folding: ASCII case, the Kelvin sign and the long s", () => {
  const table: [string, string, boolean][] = [
    ["header", "header", true],
    ["HEADER", "header", true],
    ["Header", "header", true],
    ["\u212aey", "key", true], // KELVIN SIGN folds to k
    ["\u017fize", "size", true], // LATIN SMALL LETTER LONG S folds to s
    ["\u212a\u017f", "ks", true],
    ["\u0131d", "id", false], // dotless i: not in i's fold set
    ["\u0130d", "id", false], // dotted capital I: not in i's fold set
    ["\uff48eader", "header", false], // fullwidth h
    ["header ", "header", false],
    ["heade", "header", false],
    ["h@ader", "h`ader", false], // 0x40 and 0x60 differ by 0x20 but are not letters
    ["ID", "id", true],
    ["id", "id", true],
  ];
  for (const [key, name, expected] of table) {
    assert.equal(goKeyMatches(key, name), expected, `${JSON.stringify(key)} ~ ${name}`);
  }
});

Deno.test("decodeMessage() validates payloads with a Standard Schema, sync or async", async () => {
  const count: StandardSchemaV1<{ count: number }> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (v) =>
        typeof (v as { count?: unknown })?.count === "number"
          ? { value: v as { count: number } }
          : { issues: [{ message: "expected a number", path: ["count"] }] },
    },
  };
  const asyncCount: StandardSchemaV1<{ count: number }> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (v) => Promise.resolve(count["~standard"].validate(v)),
    },
  };
  const checked = defineAPI({ "a-request": count, "b-request": asyncCount });
  assert.deepEqual(
    decodeMessage(checked, { header: { command: "a-request" }, payload: { count: 1 } }),
    {
      command: "a-request",
      id: "",
      payload: { count: 1 },
    },
  );
  assert.throws(
    () => decodeMessage(checked, { header: { command: "a-request", id: "2" }, payload: {} }),
    (e: unknown) =>
      e instanceof InvalidCommandError && e.id === "2" &&
      e.message === 'invalid command: invalid payload for "a-request": count: expected a number',
  );
  const ok = decodeMessage(checked, { header: { command: "b-request" }, payload: { count: 2 } });
  assert.ok(ok instanceof Promise);
  assert.deepEqual(await ok, { command: "b-request", id: "", payload: { count: 2 } });
  await assert.rejects(
    async () => await decodeMessage(checked, { header: { command: "b-request", id: "4" } }),
    (e: unknown) => e instanceof InvalidCommandError && e.id === "4",
  );
});

Deno.test("read() and write() go through an APIConn", async () => {
  const conn = memoryConn([
    { header: { command: "demo-ping-request", id: "0" }, payload: { timestamp: 5 } },
    { header: { command: "other" } },
  ]);
  assert.deepEqual(await read(conn, api), {
    command: "demo-ping-request",
    id: "0",
    payload: { timestamp: 5 },
  });
  await assert.rejects(read(conn, api), InvalidCommandError);
  await write(conn, api, "1", "demo-ping-response", { origintimestamp: 5, timestamp: 6 });
  await write(conn, api, "", "demo-ping-request", { timestamp: 1 });
  assert.deepEqual(conn.sent, [
    {
      header: { command: "demo-ping-response", id: "1" },
      payload: { origintimestamp: 5, timestamp: 6 },
    },
    { header: { command: "demo-ping-request" }, payload: { timestamp: 1 } },
  ]);
  await assert.rejects(
    // @ts-expect-error: not a command of the API
    write(conn, api, "1", "bogus", null),
    /unknown command "bogus"/,
  );
});

Deno.test("schemalessAPI accepts every command and payload", () => {
  assert.deepEqual(
    decodeMessage(schemalessAPI, { header: { command: "anything" }, payload: [1] }),
    {
      command: "anything",
      id: "",
      payload: [1],
    },
  );
});
