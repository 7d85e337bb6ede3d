/**
 * Cross-runtime interop, Deno side: a Deno client against the Bun server of
 * `examples/bun/server.ts`, unauthenticated and with ed25519 (both keys
 * checked). The other direction, a Bun client against a Deno server, is in
 * `tests/bun/interop.test.ts`.
 */
import assert from "node:assert/strict";
import { ECHO, refusedConnect, runScenario, type ScenarioResult } from "./interop/_scenario.ts";
import { startChild } from "./interop/_process.ts";
import { encodeHex, generateKeyPair } from "../lib/ed25519_keys.ts";

const BUN = Deno.env.get("BUN") ?? "bun";
const SERVER = new URL("../examples/bun/server.ts", import.meta.url).pathname;

function assertScenario(result: ScenarioResult): void {
  assert.equal(result.pong.origintimestamp, 1234);
  assert.ok(result.pong.timestamp > 1_700_000_000);
  assert.deepEqual(result.echo, ECHO); // the bigint survives the trip through Bun
  assert.deepEqual(result.notify, { count: 3 });
  assert.deepEqual(result.pushes, [1, 2, 3]);
  assert.equal(result.error?.name, "ProtocolError");
  assert.equal(result.error?.message, "demo failure, as requested");
  assert.deepEqual(result.sleepOrder, [1, 200]); // answered out of order
}

Deno.test("Deno Conn calls a Bun server: calls, pushes, errors, no auth", async () => {
  await using server = await startChild(BUN, [SERVER, "--port", "0"]);
  assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/ws$/);
  assertScenario(await runScenario(server.url));
  assert.match(await server.waitForLine(/^open /), /^open \d+ anonymous$/);
  assert.equal(await server.stop(), 0);
});

Deno.test("Deno Conn authenticates to a Bun server with ed25519", async (t) => {
  const serverKey = await generateKeyPair();
  const alice = await generateKeyPair();
  const mallory = await generateKeyPair();
  const hex = (b: Uint8Array) => encodeHex(b);
  await using server = await startChild(BUN, [
    SERVER,
    "--port",
    "0",
    "--secret-key",
    hex(serverKey.secretKey),
    "--allow",
    hex(alice.publicKey),
  ]);

  await t.step("an allowed key connects and the server sees it", async () => {
    const result = await runScenario(server.url, {
      secretKey: hex(alice.secretKey),
      serverPublicKey: hex(serverKey.publicKey),
    });
    assertScenario(result);
    assert.equal(
      await server.waitForLine(new RegExp(hex(alice.publicKey))),
      `open 1 ${hex(alice.publicKey)}`,
    );
  });

  await t.step("a key not on the allow-list is refused with invalid public key", async () => {
    const refused = await refusedConnect(server.url, {
      secretKey: hex(mallory.secretKey),
      serverPublicKey: hex(serverKey.publicKey),
    });
    // README: a refused key rejects connect() with a HandshakeError, never a bare close.
    assert.equal(refused.name, "HandshakeError", `${refused.name}: ${refused.message}`);
    assert.equal(refused.handshake, true);
    assert.match(refused.message, /^failed to handshake with server: .*invalid public key/);
  });

  await t.step("a client pinning another server key refuses the server", async () => {
    const refused = await refusedConnect(server.url, {
      secretKey: hex(alice.secretKey),
      serverPublicKey: hex(mallory.publicKey),
    });
    assert.equal(refused.handshake, true, `${refused.name}: ${refused.message}`);
    assert.match(refused.message, /server key mismatch/);
  });

  assert.ok(!server.lines.some((l) => l.includes(hex(mallory.publicKey))));
  assert.equal(await server.stop(), 0);
});
