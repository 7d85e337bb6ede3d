import assert from "node:assert/strict";
import {
  ed25519Client,
  ed25519Server,
  PublicKeyRefusedError,
} from "../lib/ed25519_authenticator.ts";
import { type Ed25519KeyPair, generateKeyPair, sign } from "../lib/ed25519_keys.ts";
import { HandshakeError } from "../lib/errors.ts";
import type { APIConn, PeerIdentity } from "../lib/message.ts";
import { pipe, type PipeEnd } from "./_pipe.ts";
import { concat } from "../lib/_bytes.ts";

const HELLO = "ed25519-hello";
const CHALLENGE = "ed25519-hello-challenge";
const ACCEPTED = "ed25519-hello-challenge-accepted";
const COMPLETE = "ed25519-hello-complete";
const ERROR = "ed25519-error";
const SERVER_DOMAIN = new TextEncoder().encode("wsrpc-ed25519-v1 server\n");
const CLIENT_DOMAIN = new TextEncoder().encode("wsrpc-ed25519-v1 client\n");
const BACKENDS = ["webcrypto", "noble"] as const;

const alice = await generateKeyPair();
const bob = await generateKeyPair();
const serverKeys = await generateKeyPair();
const otherServerKeys = await generateKeyPair();
const aliceHex = alice.publicKey.toHex();

type Payload = Record<string, unknown>;
const message = (command: string, payload: unknown) => ({ header: { command }, payload });
const text = (s: string) => new TextEncoder().encode(s);
const timeout = (ms = 5000) => AbortSignal.timeout(ms);

/** Reads the next message from a scripted end; asserts its command; returns its payload. */
async function expectMessage(end: PipeEnd, command: string): Promise<Payload> {
  const value = await end.readJSON(timeout()) as { header: { command: string }; payload: Payload };
  assert.equal(value.header.command, command);
  return value.payload;
}

/** Asserts the scripted end received `ed25519-error` with exactly `text`. */
async function expectError(end: PipeEnd, text: string | RegExp): Promise<void> {
  const payload = await expectMessage(end, ERROR);
  const error = payload.error as { timestamp: number; message: string };
  assert.equal(typeof error.timestamp, "number");
  if (typeof text === "string") assert.equal(error.message, text);
  else assert.match(error.message, text);
}

/** Asserts `promise` rejects with a HandshakeError (or `type`) whose message is `text`. */
async function rejectsWith(
  promise: Promise<unknown>,
  text: string | RegExp,
  type: new (...args: never[]) => Error = HandshakeError,
): Promise<Error> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  if (typeof text === "string") assert.equal(caught.message, text);
  else assert.match(caught.message, text);
  return caught;
}

/** Runs a real client against a real server over a pipe. */
async function handshake(
  client: ReturnType<typeof ed25519Client>,
  server: ReturnType<typeof ed25519Server>,
  signal: AbortSignal = timeout(),
) {
  const [c, s] = pipe();
  const [clientResult, serverResult] = await Promise.allSettled([
    client.handshakeClient(c, signal),
    server.handshakeServer(s, signal),
  ]);
  return { c, s, clientResult, serverResult };
}

/** A scripted client: sends hello, returns the challenge payload and bytes. */
async function scriptedHello(
  end: PipeEnd,
  keys: Ed25519KeyPair = alice,
  nonce: Uint8Array = crypto.getRandomValues(new Uint8Array(16)),
) {
  await end.writeJSON(
    message(HELLO, {
      userAgent: "script/1",
      publickey: keys.publicKey.toHex(),
      nonce: nonce.toHex(),
    }),
  );
  const payload = await expectMessage(end, CHALLENGE);
  return { payload, challenge: Uint8Array.fromHex(payload.message as string), nonce };
}

/** A scripted server: reads hello, sends a challenge; returns what it read. */
async function scriptedChallenge(end: PipeEnd, payload: (hello: Payload) => Promise<Payload>) {
  const hello = await expectMessage(end, HELLO);
  await end.writeJSON(message(CHALLENGE, await payload(hello)));
  return hello;
}

/** The challenge a real server would make, for client key `keyHex`. */
function makeChallenge(keyHex: string, serverMessage = ""): Uint8Array {
  return concat(
    crypto.getRandomValues(new Uint8Array(16)),
    text(`Hello: ${keyHex}\nMessage: ${serverMessage}\n`),
  );
}

async function signedChallenge(
  challenge: Uint8Array,
  nonceHex: string,
  keys: Ed25519KeyPair = serverKeys,
): Promise<Payload> {
  const signature = await sign(
    concat(SERVER_DOMAIN, Uint8Array.fromHex(nonceHex), challenge),
    keys.secretKey,
  );
  return {
    message: challenge.toHex(),
    publickey: keys.publicKey.toHex(),
    signature: signature.toHex(),
  };
}

Deno.test("ed25519Client() and ed25519Server() complete the handshake", async (t) => {
  for (const backend of BACKENDS) {
    await t.step(`${backend}: without a server key`, async () => {
      const { c, s, clientResult, serverResult } = await handshake(
        ed25519Client({ secretKey: alice.secretKey, userAgent: "cli/1.0", backend }),
        ed25519Server({ message: "tbcd", backend }),
      );
      assert.equal(clientResult.status, "fulfilled");
      assert.deepEqual(serverResult, {
        status: "fulfilled",
        value: { publicKey: aliceHex, userAgent: "cli/1.0" },
      });
      // The wire, message by message.
      assert.deepEqual(c.sent.map((m) => Object.keys((m as { payload: Payload }).payload)), [
        ["userAgent", "publickey", "nonce"],
        ["signature"],
      ]);
      const [hello, accepted] = c.sent as { header: unknown; payload: Payload }[];
      assert.deepEqual(hello!.header, { command: HELLO });
      assert.equal(hello!.payload.publickey, aliceHex);
      assert.match(hello!.payload.nonce as string, /^[0-9a-f]{32}$/);
      assert.deepEqual(accepted!.header, { command: ACCEPTED });
      assert.match(accepted!.payload.signature as string, /^[0-9a-f]{128}$/);
      const [challenge, complete] = s.sent as { header: unknown; payload: Payload }[];
      assert.deepEqual(challenge!.header, { command: CHALLENGE });
      assert.deepEqual(Object.keys(challenge!.payload), ["message"]);
      const bytes = Uint8Array.fromHex(challenge!.payload.message as string);
      assert.equal(
        new TextDecoder().decode(bytes.subarray(16)),
        `Hello: ${aliceHex}\nMessage: tbcd\n`,
      );
      assert.deepEqual(complete, { header: { command: COMPLETE }, payload: {} });
    });

    await t.step(`${backend}: with a server key the client does not pin`, async () => {
      const { s, clientResult, serverResult } = await handshake(
        ed25519Client({ secretKey: alice.secretKey, backend }),
        ed25519Server({ secretKey: serverKeys.secretKey, backend }),
      );
      assert.equal(clientResult.status, "fulfilled");
      assert.deepEqual(serverResult, {
        status: "fulfilled",
        value: { publicKey: aliceHex, userAgent: "wsrpc" },
      });
      const challenge = (s.sent[0] as { payload: Payload }).payload;
      assert.deepEqual(Object.keys(challenge), ["message", "publickey", "signature"]);
      assert.equal(challenge.publickey, serverKeys.publicKey.toHex());
    });

    await t.step(`${backend}: with a pinned server key, as hex and as bytes`, async () => {
      for (const pin of [serverKeys.publicKey.toHex(), serverKeys.publicKey]) {
        const { clientResult, serverResult } = await handshake(
          ed25519Client({ secretKey: alice.secretKey.toHex(), serverPublicKey: pin, backend }),
          ed25519Server({ secretKey: serverKeys.secretKey.toHex(), backend }),
        );
        assert.equal(clientResult.status, "fulfilled");
        assert.equal(serverResult.status, "fulfilled");
      }
    });
  }

  await t.step("client and server on different backends", async () => {
    const { clientResult, serverResult } = await handshake(
      ed25519Client({
        secretKey: alice.secretKey,
        serverPublicKey: serverKeys.publicKey,
        backend: "noble",
      }),
      ed25519Server({ secretKey: serverKeys.secretKey, backend: "webcrypto" }),
    );
    assert.equal(clientResult.status, "fulfilled");
    assert.equal(serverResult.status, "fulfilled");
  });

  await t.step("one authenticator serves concurrent connections", async () => {
    const server = ed25519Server({ secretKey: serverKeys.secretKey });
    const clients = [alice, bob, alice, bob, alice].map((keys) =>
      ed25519Client({ secretKey: keys.secretKey, serverPublicKey: serverKeys.publicKey })
    );
    const results = await Promise.all(clients.map((client) => handshake(client, server)));
    assert.deepEqual(
      results.map((r) => r.serverResult.status === "fulfilled" && r.serverResult.value.publicKey),
      [aliceHex, bob.publicKey.toHex(), aliceHex, bob.publicKey.toHex(), aliceHex],
    );
  });

  await t.step("a 256-character user agent is accepted", async () => {
    const { serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey, userAgent: "u".repeat(256) }),
      ed25519Server(),
    );
    assert.equal(serverResult.status, "fulfilled");
  });
});

Deno.test("ed25519Client() refuses a server that does not prove the pinned key", async (t) => {
  await t.step("the server proves another key", async () => {
    const { clientResult, serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey, serverPublicKey: serverKeys.publicKey }),
      ed25519Server({ secretKey: otherServerKeys.secretKey }),
    );
    const expected = `server key mismatch: expected ${
      serverKeys.publicKey.toHex().slice(0, 8)
    }…, got ${otherServerKeys.publicKey.toHex().slice(0, 8)}…`;
    await rejectsWith(Promise.reject((clientResult as PromiseRejectedResult).reason), expected);
    await rejectsWith(
      Promise.reject((serverResult as PromiseRejectedResult).reason),
      `client refused: ${expected}`,
    );
  });

  await t.step("the server proves no key", async () => {
    const { clientResult, serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey, serverPublicKey: serverKeys.publicKey }),
      ed25519Server(),
    );
    const expected = `server did not prove its key: expected ${
      serverKeys.publicKey.toHex().slice(0, 8)
    }…`;
    await rejectsWith(Promise.reject((clientResult as PromiseRejectedResult).reason), expected);
    assert.equal(serverResult.status, "rejected");
  });
});

Deno.test("ed25519Client() rejects a bad server signature or challenge", async (t) => {
  const cases: [string, (hello: Payload) => Promise<Payload>, string, boolean?][] = [
    [
      "a signature over another nonce",
      (hello) => signedChallenge(makeChallenge(hello.publickey as string), "11".repeat(16)),
      "invalid server signature",
    ],
    [
      "a signature by another key",
      async (hello) => {
        const payload = await signedChallenge(
          makeChallenge(hello.publickey as string),
          hello.nonce as string,
          otherServerKeys,
        );
        return { ...payload, publickey: serverKeys.publicKey.toHex() };
      },
      "invalid server signature",
    ],
    [
      "a signature without the domain prefix",
      async (hello) => {
        const challenge = makeChallenge(hello.publickey as string);
        const signature = await sign(
          concat(Uint8Array.fromHex(hello.nonce as string), challenge),
          serverKeys.secretKey,
        );
        return {
          message: challenge.toHex(),
          publickey: serverKeys.publicKey.toHex(),
          signature: signature.toHex(),
        };
      },
      "invalid server signature",
    ],
    [
      "a key without a signature",
      (hello) =>
        Promise.resolve({
          message: makeChallenge(hello.publickey as string).toHex(),
          publickey: serverKeys.publicKey.toHex(),
        }),
      'invalid challenge: fields "publickey" and "signature" must come together',
    ],
    [
      "a small-order server key",
      (hello) =>
        Promise.resolve({
          message: makeChallenge(hello.publickey as string).toHex(),
          publickey: "01" + "00".repeat(31),
          signature: "01" + "00".repeat(63),
        }),
      'invalid challenge: field "publickey" is not a valid ed25519 public key',
      true,
    ],
    [
      "a server signature of 63 bytes",
      async (hello) => {
        const p = await signedChallenge(
          makeChallenge(hello.publickey as string),
          hello.nonce as string,
        );
        return { ...p, signature: (p.signature as string).slice(2) };
      },
      'invalid challenge: field "signature" must be 64 bytes (128 hex characters), got 126 characters',
    ],
    [
      "a challenge for another client",
      (hello) => signedChallenge(makeChallenge(bob.publicKey.toHex()), hello.nonce as string),
      `challenge is not for this client: it names key ${
        bob.publicKey.toHex().slice(0, 8)
      }…, ours is ${aliceHex.slice(0, 8)}…`,
    ],
    [
      "a challenge without the final newline",
      (hello) =>
        Promise.resolve({
          message: makeChallenge(hello.publickey as string).subarray(0, -1).toHex(),
        }),
      'invalid challenge: text is not "Hello: <key>\\nMessage: <text>\\n"',
    ],
    [
      "a challenge whose message holds a newline",
      (hello) =>
        Promise.resolve({ message: makeChallenge(hello.publickey as string, "a\nb").toHex() }),
      'invalid challenge: text is not "Hello: <key>\\nMessage: <text>\\n"',
    ],
    [
      "a challenge whose message holds a right-to-left override",
      (hello) =>
        Promise.resolve({
          message: makeChallenge(hello.publickey as string, "ok\u202eevil").toHex(),
        }),
      'invalid challenge: text is not "Hello: <key>\\nMessage: <text>\\n"',
    ],
    [
      "a challenge that is not UTF-8",
      (hello) =>
        Promise.resolve({
          message: concat(makeChallenge(hello.publickey as string, "x"), Uint8Array.of(0xff))
            .toHex(),
        }),
      'invalid challenge: text is not "Hello: <key>\\nMessage: <text>\\n"',
    ],
    [
      "a challenge with an all-zero random prefix",
      (hello) =>
        Promise.resolve({
          message: concat(new Uint8Array(16), text(`Hello: ${hello.publickey}\nMessage: \n`))
            .toHex(),
        }),
      "invalid challenge: no random prefix",
    ],
    [
      "a challenge in uppercase hex",
      (hello) =>
        Promise.resolve({
          message: makeChallenge(hello.publickey as string).toHex().toUpperCase(),
        }),
      'invalid challenge: field "message" is not lowercase hex',
    ],
    [
      "an oversized challenge",
      (hello) =>
        Promise.resolve({
          message: makeChallenge(hello.publickey as string, "m".repeat(100_000)).toHex(),
        }),
      /^invalid challenge: field "message" is over \d+ bytes/,
    ],
    [
      "a challenge that is a number",
      () => Promise.resolve({ message: 42 }),
      'invalid challenge: field "message" is a number, not a string',
    ],
  ] as [string, (hello: Payload) => Promise<Payload>, string, boolean?][];
  for (const [name, makePayload, expected] of cases) {
    await t.step(name, async () => {
      for (const pinned of [false, true]) {
        if (pinned && name === "a small-order server key") continue; // a pin mismatch first
        const [c, s] = pipe();
        const client = ed25519Client({
          secretKey: alice.secretKey,
          ...(pinned ? { serverPublicKey: serverKeys.publicKey } : {}),
        });
        const running = client.handshakeClient(c, timeout());
        await scriptedChallenge(s, makePayload);
        await rejectsWith(running, expected as string | RegExp);
        // The client tells the server why it gave up, and sends nothing else.
        await expectError(s, expected as string | RegExp);
        assert.equal(c.sent.length, 2);
      }
    });
  }
});

Deno.test("ed25519Server() rejects a wrong client signature", async (t) => {
  const cases: [string, (challenge: Uint8Array) => Promise<Uint8Array>][] = [
    [
      "signed by another key",
      (ch) => sign(concat(CLIENT_DOMAIN, ch, serverKeys.publicKey), bob.secretKey),
    ],
    [
      "signed without the domain prefix",
      (ch) => sign(concat(ch, serverKeys.publicKey), alice.secretKey),
    ],
    [
      "signed with the server's domain prefix",
      (ch) => sign(concat(SERVER_DOMAIN, ch, serverKeys.publicKey), alice.secretKey),
    ],
    ["signed without the server key", (ch) => sign(concat(CLIENT_DOMAIN, ch), alice.secretKey)],
    [
      "signed for another server key",
      (ch) => sign(concat(CLIENT_DOMAIN, ch, otherServerKeys.publicKey), alice.secretKey),
    ],
    ["all zeros", () => Promise.resolve(new Uint8Array(64))],
  ];
  for (const [name, makeSignature] of cases) {
    await t.step(name, async () => {
      const [c, s] = pipe();
      const running = ed25519Server({ secretKey: serverKeys.secretKey, allow: [alice.publicKey] })
        .handshakeServer(s, timeout());
      const { challenge } = await scriptedHello(c);
      await c.writeJSON(
        message(ACCEPTED, { signature: (await makeSignature(challenge)).toHex() }),
      );
      await rejectsWith(running, "invalid signature");
      await expectError(c, "invalid signature");
    });
  }

  await t.step("a bad signature for a key outside the allow-list reads the same", async () => {
    const [c, s] = pipe();
    const running = ed25519Server({ allow: [bob.publicKey] }).handshakeServer(s, timeout());
    await scriptedHello(c);
    await c.writeJSON(message(ACCEPTED, { signature: "00".repeat(64) }));
    await rejectsWith(running, "invalid signature");
    await expectError(c, "invalid signature");
  });
});

Deno.test("ed25519Server() rejects a replayed signature", async (t) => {
  for (const withKey of [false, true]) {
    await t.step(withKey ? "server with a key" : "server without a key", async () => {
      const server = ed25519Server(withKey ? { secretKey: serverKeys.secretKey } : {});
      const first = await handshake(ed25519Client({ secretKey: alice.secretKey }), server);
      assert.equal(first.serverResult.status, "fulfilled");
      const [hello, accepted] = first.c.sent;

      // Replay the recorded hello (same nonce) and answer on a fresh connection.
      const [c, s] = pipe();
      const running = server.handshakeServer(s, timeout());
      await c.writeJSON(hello);
      const payload = await expectMessage(c, CHALLENGE);
      const firstChallenge = (first.s.sent[0] as { payload: Payload }).payload.message;
      assert.notEqual(payload.message, firstChallenge, "every challenge is fresh");
      await c.writeJSON(accepted);
      await rejectsWith(running, "invalid signature");
      await expectError(c, "invalid signature");
    });
  }
});

Deno.test("ed25519Server() rejects a relayed signature", async (t) => {
  // Mallory runs a server the client trusts (key `serverKeys`) and relays the
  // client's handshake to server B (key `otherServerKeys`) to log in as the client.
  const serverB = ed25519Server({ secretKey: otherServerKeys.secretKey });

  await t.step("the relay re-signs B's challenge with its own key", async () => {
    const [clientEnd, malloryFromClient] = pipe();
    const [malloryToB, bEnd] = pipe();
    const client = ed25519Client({
      secretKey: alice.secretKey,
      serverPublicKey: serverKeys.publicKey,
    })
      .handshakeClient(clientEnd, timeout());
    const atB = serverB.handshakeServer(bEnd, timeout());

    const hello = await expectMessage(malloryFromClient, HELLO);
    await malloryToB.writeJSON(message(HELLO, hello));
    const fromB = await expectMessage(malloryToB, CHALLENGE);
    const challenge = Uint8Array.fromHex(fromB.message as string);
    await malloryFromClient.writeJSON(
      message(CHALLENGE, await signedChallenge(challenge, hello.nonce as string, serverKeys)),
    );
    const answer = await expectMessage(malloryFromClient, ACCEPTED);
    await malloryToB.writeJSON(message(ACCEPTED, answer));

    await rejectsWith(atB, "invalid signature");
    // Mallory passes B's verdict on; the client learns it failed.
    const verdict = await malloryToB.readJSON(timeout());
    await malloryFromClient.writeJSON(verdict);
    await rejectsWith(client, "server refused: invalid signature");
  });

  await t.step("the relay forwards B's key and signature unchanged", async () => {
    const [clientEnd, malloryFromClient] = pipe();
    const [malloryToB, bEnd] = pipe();
    const client = ed25519Client({
      secretKey: alice.secretKey,
      serverPublicKey: serverKeys.publicKey,
    })
      .handshakeClient(clientEnd, timeout());
    const atB = serverB.handshakeServer(bEnd, timeout());
    await malloryToB.writeJSON(message(HELLO, await expectMessage(malloryFromClient, HELLO)));
    await malloryFromClient.writeJSON(
      message(CHALLENGE, await expectMessage(malloryToB, CHALLENGE)),
    );
    await rejectsWith(client, /^server key mismatch: /);
    await malloryToB.writeJSON(await malloryFromClient.readJSON(timeout()));
    await rejectsWith(atB, /^client refused: server key mismatch: /);
  });
});

Deno.test("ed25519Server() refuses a key outside the allow-list", async (t) => {
  await t.step("a refused key: PublicKeyRefusedError, and the client sees why", async () => {
    const { clientResult, serverResult, s } = await handshake(
      ed25519Client({ secretKey: alice.secretKey }),
      ed25519Server({ allow: [bob.publicKey.toHex()] }),
    );
    const error = await rejectsWith(
      Promise.reject((serverResult as PromiseRejectedResult).reason),
      "invalid public key",
      PublicKeyRefusedError,
    );
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.name, "PublicKeyRefusedError");
    assert.equal((error as PublicKeyRefusedError).publicKey, aliceHex);
    await rejectsWith(
      Promise.reject((clientResult as PromiseRejectedResult).reason),
      "server refused: invalid public key",
    );
    assert.deepEqual((s.sent.at(-1) as { header: unknown }).header, { command: ERROR });
  });

  await t.step("an allowed key, given as bytes or as uppercase hex", async () => {
    for (const entry of [alice.publicKey, aliceHex.toUpperCase()]) {
      const { serverResult } = await handshake(
        ed25519Client({ secretKey: alice.secretKey }),
        ed25519Server({ allow: new Set([bob.publicKey, entry]) }),
      );
      assert.equal(serverResult.status, "fulfilled");
    }
  });

  await t.step("an empty allow-list refuses everyone", async () => {
    const { serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey }),
      ed25519Server({ allow: [] }),
    );
    assert.ok((serverResult as PromiseRejectedResult).reason instanceof PublicKeyRefusedError);
  });
});

Deno.test("ed25519Server() asks its authorize callback", async (t) => {
  await t.step("an async yes, with the proven identity", async () => {
    const seen: PeerIdentity[] = [];
    const { serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey, userAgent: "cli/2" }),
      ed25519Server({
        authorize: async (peer) => {
          seen.push(peer);
          await new Promise((r) => setTimeout(r, 5));
          return true;
        },
      }),
    );
    assert.equal(serverResult.status, "fulfilled");
    assert.deepEqual(seen, [{ publicKey: aliceHex, userAgent: "cli/2" }]);
  });

  await t.step("an async refusal", async () => {
    const { clientResult, serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey }),
      ed25519Server({ authorize: () => Promise.resolve(false) }),
    );
    await rejectsWith(
      Promise.reject((serverResult as PromiseRejectedResult).reason),
      "invalid public key",
      PublicKeyRefusedError,
    );
    await rejectsWith(
      Promise.reject((clientResult as PromiseRejectedResult).reason),
      "server refused: invalid public key",
    );
  });

  await t.step("the allow-list is asked first", async () => {
    let calls = 0;
    const { serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey }),
      ed25519Server({ allow: [bob.publicKey], authorize: () => (calls++, true) }),
    );
    assert.ok((serverResult as PromiseRejectedResult).reason instanceof PublicKeyRefusedError);
    assert.equal(calls, 0);
  });

  await t.step("a throwing callback: the client sees only an internal error", async () => {
    const secret = new Error("database password rejected");
    const { clientResult, serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey }),
      ed25519Server({ authorize: () => Promise.reject(secret) }),
    );
    const error = await rejectsWith(
      Promise.reject((serverResult as PromiseRejectedResult).reason),
      /^authorize failed: internal error: database password rejected \[trace [0-9a-f]{16}\]$/,
    );
    assert.ok(!(error instanceof PublicKeyRefusedError));
    assert.equal(error.cause, secret);
    await rejectsWith(
      Promise.reject((clientResult as PromiseRejectedResult).reason),
      /^server refused: internal error \[[0-9a-f]{16}:\d+\]$/,
    );
  });
});

Deno.test("ed25519Server() rejects a malformed hello", async (t) => {
  const nonce = "5a".repeat(16);
  const valid = { userAgent: "script/1", publickey: aliceHex, nonce };
  const cases: [string, unknown, string][] = [
    [
      "malformed key hex",
      { ...valid, publickey: "zz".repeat(32) },
      'invalid hello: field "publickey" is not lowercase hex',
    ],
    [
      "uppercase key hex",
      { ...valid, publickey: aliceHex.toUpperCase() },
      'invalid hello: field "publickey" is not lowercase hex',
    ],
    [
      "a 31-byte key",
      { ...valid, publickey: aliceHex.slice(2) },
      'invalid hello: field "publickey" must be 32 bytes (64 hex characters), got 62 characters',
    ],
    [
      "a 33-byte key",
      { ...valid, publickey: aliceHex + "00" },
      'invalid hello: field "publickey" must be 32 bytes (64 hex characters), got 66 characters',
    ],
    [
      "a key that is a number",
      { ...valid, publickey: 7 },
      'invalid hello: field "publickey" is a number, not a string',
    ],
    [
      "no key",
      { userAgent: "x", nonce },
      'invalid hello: field "publickey" is missing, not a string',
    ],
    [
      "the identity point as key",
      { ...valid, publickey: "01" + "00".repeat(31) },
      'invalid hello: field "publickey" is not a valid ed25519 public key',
    ],
    [
      "a zero nonce",
      { ...valid, nonce: "00".repeat(16) },
      'invalid hello: field "nonce" is all zeros',
    ],
    [
      "a 15-byte nonce",
      { ...valid, nonce: "5a".repeat(15) },
      'invalid hello: field "nonce" must be 16 bytes (32 hex characters), got 30 characters',
    ],
    [
      "a 17-byte nonce",
      { ...valid, nonce: "5a".repeat(17) },
      'invalid hello: field "nonce" must be 16 bytes (32 hex characters), got 34 characters',
    ],
    [
      "a non-hex nonce",
      { ...valid, nonce: "5g".repeat(16) },
      'invalid hello: field "nonce" is not lowercase hex',
    ],
    [
      "a 1 MB user agent",
      { ...valid, userAgent: "a".repeat(1 << 20) },
      'invalid hello: field "userAgent" is 1048576 characters, over 256',
    ],
    [
      "a 257-character user agent",
      { ...valid, userAgent: "a".repeat(257) },
      'invalid hello: field "userAgent" is 257 characters, over 256',
    ],
    [
      "a user agent with a newline",
      { ...valid, userAgent: "cli\nroot login ok" },
      'invalid hello: field "userAgent" holds a control character',
    ],
    [
      "a user agent with a right-to-left override",
      { ...valid, userAgent: "cli\u202egnp.exe" },
      'invalid hello: field "userAgent" holds a bidi or line-separator character (U+202E)',
    ],
    [
      "a user agent with a line separator",
      { ...valid, userAgent: "cli\u2028root login ok" },
      'invalid hello: field "userAgent" holds a bidi or line-separator character (U+2028)',
    ],
    [
      "a user agent with a lone surrogate",
      { ...valid, userAgent: "cli\ud800" },
      'invalid hello: field "userAgent" holds a lone surrogate (U+D800)',
    ],
    [
      "a null user agent",
      { ...valid, userAgent: null },
      'invalid hello: field "userAgent" is null, not a string',
    ],
    ["a null payload", null, "invalid ed25519-hello: payload is null, not an object"],
    ["an array payload", [valid], "invalid ed25519-hello: payload is an array, not an object"],
  ];
  for (const [name, payload, expected] of cases) {
    await t.step(name, async () => {
      const [c, s] = pipe();
      const running = ed25519Server().handshakeServer(s, timeout());
      await c.writeJSON(message(HELLO, payload));
      await rejectsWith(running, expected);
      await expectError(c, expected);
      assert.equal(s.sent.length, 1, "nothing but the error");
    });
  }

  await t.step("a message without a header", async () => {
    const [c, s] = pipe();
    const running = ed25519Server().handshakeServer(s, timeout());
    await c.writeJSON({ payload: valid });
    const expected = 'invalid message: expected "ed25519-hello", got no command';
    await rejectsWith(running, expected);
    await expectError(c, expected);
  });
});

Deno.test("ed25519Server() rejects a malformed answer", async (t) => {
  const cases: [string, unknown, string][] = [
    [
      "a 63-byte signature",
      { signature: "ab".repeat(63) },
      'invalid answer: field "signature" must be 64 bytes (128 hex characters), got 126 characters',
    ],
    [
      "a 65-byte signature",
      { signature: "ab".repeat(65) },
      'invalid answer: field "signature" must be 64 bytes (128 hex characters), got 130 characters',
    ],
    [
      "a non-hex signature",
      { signature: "xy".repeat(64) },
      'invalid answer: field "signature" is not lowercase hex',
    ],
    ["no signature", {}, 'invalid answer: field "signature" is missing, not a string'],
    [
      "a numeric signature",
      { signature: 1 },
      'invalid answer: field "signature" is a number, not a string',
    ],
  ];
  for (const [name, payload, expected] of cases) {
    await t.step(name, async () => {
      const [c, s] = pipe();
      const running = ed25519Server().handshakeServer(s, timeout());
      await scriptedHello(c);
      await c.writeJSON(message(ACCEPTED, payload));
      await rejectsWith(running, expected);
      await expectError(c, expected);
    });
  }
});

Deno.test("ed25519 handshakes reject messages out of order", async (t) => {
  await t.step("ed25519Server(): an answer before the hello", async () => {
    const [c, s] = pipe();
    const running = ed25519Server().handshakeServer(s, timeout());
    await c.writeJSON(message(ACCEPTED, { signature: "00".repeat(64) }));
    const expected =
      'unexpected message "ed25519-hello-challenge-accepted", expected "ed25519-hello"';
    await rejectsWith(running, expected);
    await expectError(c, expected);
  });

  await t.step("ed25519Server(): a repeated hello", async () => {
    const [c, s] = pipe();
    const running = ed25519Server().handshakeServer(s, timeout());
    const { nonce } = await scriptedHello(c);
    await c.writeJSON(
      message(HELLO, { userAgent: "x", publickey: aliceHex, nonce: nonce.toHex() }),
    );
    const expected =
      'unexpected message "ed25519-hello", expected "ed25519-hello-challenge-accepted"';
    await rejectsWith(running, expected);
    await expectError(c, expected);
  });

  await t.step("ed25519Server(): an unknown command", async () => {
    const [c, s] = pipe();
    const running = ed25519Server().handshakeServer(s, timeout());
    await c.writeJSON(message("tbcapi-ping-request", { timestamp: 1 }));
    await rejectsWith(
      running,
      'unexpected message "tbcapi-ping-request", expected "ed25519-hello"',
    );
  });

  await t.step("ed25519Client(): completion before the challenge", async () => {
    const [c, s] = pipe();
    const running = ed25519Client({ secretKey: alice.secretKey }).handshakeClient(c, timeout());
    await expectMessage(s, HELLO);
    await s.writeJSON(message(COMPLETE, {}));
    const expected =
      'unexpected message "ed25519-hello-complete", expected "ed25519-hello-challenge"';
    await rejectsWith(running, expected);
    await expectError(s, expected);
  });

  await t.step("ed25519Client(): a second challenge instead of completion", async () => {
    const [c, s] = pipe();
    const running = ed25519Client({ secretKey: alice.secretKey }).handshakeClient(c, timeout());
    const hello = await scriptedChallenge(
      s,
      (h) => Promise.resolve({ message: makeChallenge(h.publickey as string).toHex() }),
    );
    await expectMessage(s, ACCEPTED);
    await s.writeJSON(
      message(CHALLENGE, { message: makeChallenge(hello.publickey as string).toHex() }),
    );
    await rejectsWith(
      running,
      'unexpected message "ed25519-hello-challenge", expected "ed25519-hello-complete"',
    );
  });
});

Deno.test("ed25519Client() quotes the server's error safely", async () => {
  const [c, s] = pipe();
  const running = ed25519Client({ secretKey: alice.secretKey }).handshakeClient(c, timeout());
  await expectMessage(s, HELLO);
  await s.writeJSON(
    message(ERROR, { error: { timestamp: 1, message: "busy\n\u001b[31m" + "x".repeat(5000) } }),
  );
  const error = await rejectsWith(running, /^server refused: busy\uFFFD\uFFFD\[31mx+…$/);
  assert.ok(error.message.length < 300);
  assert.equal(c.sent.length, 1, "a peer's error is not echoed back");

  const [c2, s2] = pipe();
  const running2 = ed25519Client({ secretKey: alice.secretKey }).handshakeClient(c2, timeout());
  await expectMessage(s2, HELLO);
  await s2.writeJSON(message(ERROR, null));
  await rejectsWith(running2, "server refused: no reason given");
});

Deno.test("ed25519 handshakes honour the abort signal", async (t) => {
  await t.step("ed25519Server(): a client that never says hello", async () => {
    const [_c, s] = pipe();
    const started = performance.now();
    await assert.rejects(
      ed25519Server().handshakeServer(s, AbortSignal.timeout(50)),
      (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
    );
    assert.ok(performance.now() - started < 1000);
  });

  await t.step("ed25519Server(): a client that never answers the challenge", async () => {
    const [c, s] = pipe();
    const controller = new AbortController();
    const running = ed25519Server({ secretKey: serverKeys.secretKey }).handshakeServer(
      s,
      controller.signal,
    );
    await scriptedHello(c);
    const reason = new Error("handshake timed out");
    controller.abort(reason);
    await assert.rejects(running, (error) => error === reason);
    assert.equal(s.sent.length, 1, "no error message after an abort");
  });

  await t.step("ed25519Client(): a server that never answers", async () => {
    const [c, _s] = pipe();
    const started = performance.now();
    await assert.rejects(
      ed25519Client({ secretKey: alice.secretKey }).handshakeClient(c, AbortSignal.timeout(50)),
      (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
    );
    assert.ok(performance.now() - started < 1000);
  });

  await t.step("ed25519Server(): an authorize callback that never settles", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    const { serverResult } = await handshake(
      ed25519Client({ secretKey: alice.secretKey }),
      ed25519Server({
        authorize: () => {
          setTimeout(() => controller.abort(reason), 10);
          return new Promise<boolean>(() => {});
        },
      }),
      controller.signal,
    );
    assert.equal((serverResult as PromiseRejectedResult).reason, reason);
  });

  await t.step("an already aborted signal: nothing is sent", async () => {
    const reason = new Error("already");
    const [c, s] = pipe();
    await assert.rejects(
      ed25519Client({ secretKey: alice.secretKey }).handshakeClient(c, AbortSignal.abort(reason)),
      (error) => error === reason,
    );
    await assert.rejects(
      ed25519Server().handshakeServer(s, AbortSignal.abort(reason)),
      (error) => error === reason,
    );
    assert.deepEqual([c.sent.length, s.sent.length], [0, 0]);
  });

  await t.step(
    "a connection that ignores the signal: nothing is sent after the abort",
    async () => {
      // Reads and writes that never look at the signal: only the handshake's own checks stop it.
      const deaf = (end: PipeEnd): APIConn => ({
        readJSON: () => end.readJSON(),
        writeJSON: (value) => end.writeJSON(value),
      });
      const reason = new Error("stop");
      const [c, s] = pipe();
      const serverAbort = new AbortController();
      const server = ed25519Server({ secretKey: serverKeys.secretKey }).handshakeServer(
        deaf(s),
        serverAbort.signal,
      );
      serverAbort.abort(reason);
      await assert.rejects(server, (error) => error === reason);
      await c.writeJSON(
        message(HELLO, { userAgent: "x", publickey: aliceHex, nonce: "01".repeat(16) }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(s.sent.length, 0, "no challenge after the abort");

      const [c2, s2] = pipe();
      const clientAbort = new AbortController();
      const client = ed25519Client({ secretKey: alice.secretKey }).handshakeClient(
        deaf(c2),
        clientAbort.signal,
      );
      const hello = await expectMessage(s2, HELLO);
      clientAbort.abort(reason);
      await assert.rejects(client, (error) => error === reason);
      // A valid challenge (from a real server, for this hello) arrives after the abort.
      const [c3, s3] = pipe();
      const server3 = ed25519Server().handshakeServer(s3, timeout());
      await c3.writeJSON(message(HELLO, hello));
      await s2.writeJSON(message(CHALLENGE, await expectMessage(c3, CHALLENGE)));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(c2.sent.length, 1, "only the hello: no answer and no error after the abort");
      s3.close();
      await server3.catch(() => {});
    },
  );

  await t.step("a connection that fails passes its error through", async () => {
    const [c, s] = pipe();
    const closed = new Error("socket closed");
    const running = ed25519Server().handshakeServer(s, timeout());
    c.close(closed);
    await assert.rejects(running, (error) => error === closed);
  });
});

Deno.test("ed25519Client() and ed25519Server() validate their options", async (t) => {
  const u = <T>(x: unknown) => x as T;
  await t.step("ed25519Client()", () => {
    assert.throws(() => ed25519Client({ secretKey: "ab".repeat(31) }), RangeError);
    assert.throws(() => ed25519Client({ secretKey: "zz".repeat(32) }), SyntaxError);
    assert.throws(() => ed25519Client({ secretKey: new Uint8Array(33) }), RangeError);
    assert.throws(() => ed25519Client(u({})), TypeError);
    assert.throws(
      () => ed25519Client({ secretKey: alice.secretKey, serverPublicKey: new Uint8Array(31) }),
      RangeError,
    );
    assert.throws(
      () => ed25519Client({ secretKey: alice.secretKey, userAgent: "a".repeat(257) }),
      RangeError,
    );
    assert.throws(
      () => ed25519Client({ secretKey: alice.secretKey, userAgent: "a\nb" }),
      RangeError,
    );
    for (const userAgent of ["a\u202eb", "a\u2029b", "a\u2066b", "a\u0085b"]) {
      assert.throws(() => ed25519Client({ secretKey: alice.secretKey, userAgent }), RangeError);
    }
    assert.throws(() => ed25519Client({ secretKey: alice.secretKey, userAgent: u(1) }), TypeError);
  });
  await t.step("ed25519Server()", () => {
    assert.throws(() => ed25519Server({ secretKey: "ab" }), RangeError);
    assert.throws(() => ed25519Server({ message: "a\nb" }), RangeError);
    assert.throws(() => ed25519Server({ message: "a\u2028b" }), RangeError);
    assert.throws(() => ed25519Server({ message: "a\u202eb" }), RangeError);
    assert.throws(() => ed25519Server({ message: "m".repeat(257) }), RangeError);
    assert.throws(() => ed25519Server({ message: u(5) }), TypeError);
    assert.throws(() => ed25519Server({ allow: ["ab".repeat(31)] }), RangeError);
    assert.throws(() => ed25519Server({ allow: u(42) }), TypeError);
    assert.throws(() => ed25519Server({ authorize: u("yes") }), TypeError);
  });
  await t.step("each factory makes one side only", async () => {
    const [c, s] = pipe();
    await assert.rejects(
      ed25519Client({ secretKey: alice.secretKey }).handshakeServer(s, timeout()),
      TypeError,
    );
    await assert.rejects(ed25519Server().handshakeClient(c, timeout()), TypeError);
  });
});
