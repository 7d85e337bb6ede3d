/** `wsrpc keygen`, in-process: the key files, their mode, --force. */
import assert from "node:assert/strict";
import { publicKeyFromSecret } from "../../lib/ed25519_keys.ts";
import { assertExit, wsrpc } from "./_fake_io.ts";

Deno.test("wsrpc keygen writes a 0600 key file and prints the public key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc_keygen_" });
  const key = `${dir}/me.key`;
  try {
    const r = await wsrpc(["keygen", "--out", key]);
    assertExit(r, 0);
    const printed = r.stdout.trim();
    assert.match(printed, /^[0-9a-f]{64}$/);
    assert.equal(
      r.stderr,
      `wrote the secret key to ${key} (mode 0600) and the public key to ${key}.pub\n`,
    );
    const secret = (await Deno.readTextFile(key)).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(key)).mode! & 0o777, 0o600);
    }
    assert.equal((await Deno.readTextFile(`${key}.pub`)).trim(), printed);
    // The key round-trips: the printed key is the public key of the secret in the file.
    assert.equal((await publicKeyFromSecret(Uint8Array.fromHex(secret))).toHex(), printed);

    const again = await wsrpc(["keygen", "--out", key]);
    assertExit(again, 1);
    assert.match(again.stderr, /use --force to overwrite/);
    assert.equal((await Deno.readTextFile(key)).trim(), secret, "not overwritten");

    const forced = await wsrpc(["keygen", "-o", key, "--force"]);
    assertExit(forced, 0);
    assert.notEqual(forced.stdout.trim(), printed);
    assert.equal((await Deno.readTextFile(`${key}.pub`)).trim(), forced.stdout.trim());

    const bad = `${dir}/bad.key`;
    await Deno.writeTextFile(bad, "not hex\n");
    const invalid = await wsrpc(["call", "ws://127.0.0.1:1/", "x", "--key", bad]);
    assertExit(invalid, 2);
    assert.match(invalid.stderr, /invalid key file ".*bad\.key": /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wsrpc warns when a key file is readable by others", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wsrpc_keygen_" });
  try {
    const key = `${dir}/open.key`;
    assertExit(await wsrpc(["keygen", "--out", key]), 0);
    await Deno.chmod(key, 0o644);
    // Port 1 refuses: the warning comes before the connect fails.
    const r = await wsrpc(["call", "ws://127.0.0.1:1/", "x-request", "--key", key]);
    assertExit(r, 3);
    assert.match(r.stderr, /^wsrpc: key file ".*open\.key" is readable by others \(mode 644\)\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
