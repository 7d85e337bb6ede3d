import assert from "node:assert/strict";
import { fromBase64url, fromHex, randomTrace, toHex } from "../lib/_bytes.ts";

Deno.test("toHex() and fromHex() round-trip, lowercase out, either case in", () => {
  const bytes = new Uint8Array([0, 1, 0x7f, 0x80, 0xab, 0xff]);
  assert.equal(toHex(bytes), "00017f80abff");
  assert.deepEqual(fromHex("00017F80ABff"), bytes);
  assert.throws(() => fromHex("abc"), SyntaxError);
  assert.deepEqual(fromBase64url("AAF_gKv_"), bytes);
  assert.match(randomTrace(), /^[0-9a-f]{16}$/);
});

Deno.test("the package works without native Uint8Array hex/base64 (Node 22, older browsers)", async () => {
  const script = new URL("./_bytes_fallback.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname],
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(out.trim(), "fallback ok 64");
});
