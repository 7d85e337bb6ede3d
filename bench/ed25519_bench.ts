/**
 * Ed25519 signing, verification and the full in-memory handshake, on both
 * backends. Run: `deno bench -A bench/ed25519_bench.ts`.
 */

import { ed25519Client, ed25519Server } from "../lib/ed25519_authenticator.ts";
import { Ed25519Signer, generateKeyPair, verify } from "../lib/ed25519_keys.ts";
import { pipe } from "../tests/_pipe.ts";

const client = await generateKeyPair();
const server = await generateKeyPair();
const message = crypto.getRandomValues(new Uint8Array(128));

for (const backend of ["webcrypto", "noble"] as const) {
  const signer = await Ed25519Signer.create(client.secretKey, { backend });
  const signature = await signer.sign(message);

  Deno.bench(`sign 128 B (${backend})`, {
    group: "sign",
    baseline: backend === "webcrypto",
  }, async () => {
    await signer.sign(message);
  });

  Deno.bench(`verify 128 B (${backend})`, {
    group: "verify",
    baseline: backend === "webcrypto",
  }, async () => {
    if (!await verify(signature, message, client.publicKey, { backend })) {
      throw new Error("bad");
    }
  });

  const clientAuth = ed25519Client({
    secretKey: client.secretKey,
    serverPublicKey: server.publicKey,
    backend,
  });
  const serverAuth = ed25519Server({
    secretKey: server.secretKey,
    allow: [client.publicKey],
    backend,
  });
  Deno.bench(
    `handshake, mutual + pinned (${backend})`,
    { group: "handshake", baseline: backend === "webcrypto" },
    async () => {
      const [c, s] = pipe();
      const signal = AbortSignal.timeout(5000);
      await Promise.all([
        clientAuth.handshakeClient(c, signal),
        serverAuth.handshakeServer(s, signal),
      ]);
    },
  );
}
