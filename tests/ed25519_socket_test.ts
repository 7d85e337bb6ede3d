/**
 * The ed25519 handshake over real sockets: a `Conn` client and a `Server`
 * under `Deno.serve` on 127.0.0.1, and raw WebSocket clients that speak the
 * handshake by hand to attack it. Each attack must end in close 4100 (or the
 * documented 1009/1007/1003 of the framing layer), with an `ed25519-error`
 * that says what went wrong, and never with the initial ping or an answer to
 * a request (no bypass); after each one the server keeps serving both an
 * established connection and new ones.
 */
import assert from "node:assert/strict";
import {
  Conn,
  ConnectionClosedError,
  defineAPI,
  ed25519Client,
  ed25519Server,
  type Handlers,
  HandshakeError,
  type ServerOptions,
  unchecked,
} from "../mod.ts";
import {
  type Ed25519ClientOptions,
  type Ed25519KeyPair,
  type Ed25519ServerOptions,
  generateKeyPair,
  sign,
} from "../lib/ed25519.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { RawClient, startServer, type TestServer } from "./_server.ts";
import { concat } from "../lib/_bytes.ts";

// Fixtures.

const encoder = new TextEncoder();
const SERVER_DOMAIN = encoder.encode("wsrpc-ed25519-v1 server\n");
const CLIENT_DOMAIN = encoder.encode("wsrpc-ed25519-v1 client\n");
/** RFC 8032 §5.1: the group order L (S + L makes a malleated signature). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/** The allowed client. */
const alice = await generateKeyPair();
/** A client that can sign but is not on the allow-list. */
const mallory = await generateKeyPair();
/** Two server keys. */
const serverA = await generateKeyPair();
const serverB = await generateKeyPair();

const api = defineAPI({
  ...demoAPI.definition,
  "t-whoami-request": unchecked<null>(),
  "t-whoami-response": unchecked<{ publicKey: string; userAgent: string } | null>(),
});

const handlers: Handlers<typeof api> = {
  ...(demoHandlers as unknown as Handlers<typeof api>),
  "t-whoami-request": (_payload, { session }) => session.peer ?? null,
};

interface AuthServer extends TestServer<typeof api> {
  /** Public keys (hex) of the sessions that passed the handshake, in order. */
  opened: string[];
}

function startAuth(
  auth: Ed25519ServerOptions,
  options: Partial<ServerOptions<typeof api>> = {},
): AuthServer {
  const opened: string[] = [];
  const server = startServer(api, {
    handlers,
    authenticator: ed25519Server(auth),
    onSessionOpen: (session) => opened.push(session.peer?.publicKey ?? "<none>"),
    ...options,
  });
  return Object.assign(server, { opened });
}

function clientAuth(
  key: Ed25519KeyPair,
  extra: Partial<Ed25519ClientOptions> = {},
): ReturnType<typeof ed25519Client> {
  return ed25519Client({ secretKey: key.secretKey, ...extra });
}

function frame(command: string, payload: unknown, id = ""): string {
  return JSON.stringify({ header: id === "" ? { command } : { command, id }, payload });
}

/** Settles as `promise` does, or rejects after `ms` (and leaves no timer behind). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** S + L: the same signature with a non-canonical scalar (RFC 8032 §5.1.7 rejects it). */
function malleate(signature: Uint8Array): Uint8Array {
  const s = signature.subarray(32).toReversed().toHex();
  const bumped = (BigInt(`0x${s}`) + GROUP_ORDER).toString(16).padStart(64, "0");
  return concat(signature.subarray(0, 32), Uint8Array.fromHex(bumped).toReversed());
}

/** A correct client signature of `challenge`. */
function clientSignature(
  key: Ed25519KeyPair,
  challenge: Uint8Array,
  serverKey?: Uint8Array,
): Promise<Uint8Array> {
  const signed = serverKey === undefined
    ? concat(CLIENT_DOMAIN, challenge)
    : concat(CLIENT_DOMAIN, challenge, serverKey);
  return sign(signed, key.secretKey);
}

interface Challenge {
  /** The challenge bytes. */
  bytes: Uint8Array;
  payload: Record<string, unknown>;
}

/** A raw WebSocket that speaks the handshake by hand and keeps every frame the server sent. */
class RawPeer implements AsyncDisposable {
  readonly raw: RawClient;
  /** Every frame received, parsed, in order (`next()` does not remove them from here). */
  readonly seen: { header: { command: string; id?: string }; payload: unknown }[] = [];
  nonce: Uint8Array = crypto.getRandomValues(new Uint8Array(16));

  private constructor(url: string) {
    this.raw = new RawClient(url);
    this.raw.socket.addEventListener("message", (e) => {
      this.seen.push(typeof e.data === "string" ? JSON.parse(e.data) : { header: { command: "" } });
    });
  }

  static async open(url: string): Promise<RawPeer> {
    const peer = new RawPeer(url);
    await peer.raw.opened;
    return peer;
  }

  send(command: string, payload: unknown, id = ""): void {
    this.raw.send(frame(command, payload, id));
  }

  hello(key: Ed25519KeyPair | Uint8Array, userAgent = "raw/1"): void {
    const publicKey = key instanceof Uint8Array ? key : key.publicKey;
    this.send("ed25519-hello", {
      userAgent,
      publickey: publicKey.toHex(),
      nonce: this.nonce.toHex(),
    });
  }

  /** The next frame from the server. */
  async next(): Promise<{ header: { command: string; id?: string }; payload: unknown }> {
    return await this.raw.next() as { header: { command: string; id?: string }; payload: unknown };
  }

  async challenge(): Promise<Challenge> {
    const message = await this.raw.next();
    const header = message.header as { command: string };
    assert.equal(header.command, "ed25519-hello-challenge", JSON.stringify(message));
    const payload = message.payload as Record<string, unknown>;
    return { bytes: Uint8Array.fromHex(payload.message as string), payload };
  }

  accept(signature: Uint8Array | string): void {
    this.send("ed25519-hello-challenge-accepted", {
      signature: typeof signature === "string" ? signature : signature.toHex(),
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.raw[Symbol.asyncDispose]();
  }
}

/**
 * Waits for the server to close `peer` and checks how: `code`, `reason`, the
 * `ed25519-error` it sent (or that it sent none), and that nothing but
 * handshake messages came first: no `ed25519-hello-complete`, no initial ping
 * (id "0"), no response.
 */
async function assertRefused(
  peer: RawPeer,
  expected: { code?: number; reason: string | RegExp; error: string | RegExp | null },
): Promise<void> {
  const status = await within(peer.raw.closed, 10_000, "server close");
  assert.equal(status.code, expected.code ?? 4100, `close reason ${JSON.stringify(status.reason)}`);
  if (typeof expected.reason === "string") assert.equal(status.reason, expected.reason);
  else assert.match(status.reason, expected.reason);
  for (const message of peer.seen) {
    assert.match(message.header.command, /^ed25519-(?:hello-challenge|error)$/, "no bypass");
    assert.equal(message.header.id, undefined, "no ping, no response");
  }
  const errors = peer.seen.filter((m) => m.header.command === "ed25519-error");
  if (expected.error === null) {
    assert.equal(errors.length, 0, "no ed25519-error");
    return;
  }
  assert.equal(errors.length, 1, "one ed25519-error");
  const error = (errors[0]!.payload as { error: { message: string; timestamp: number } }).error;
  assert.equal(typeof error.timestamp, "number");
  if (typeof expected.error === "string") assert.equal(error.message, expected.error);
  else assert.match(error.message, expected.error);
}

/** The close reason the server sends for a handshake failure with `message` (cut to 123 bytes). */
function failed(message: string): string {
  return `handshake failed: ${message}`.slice(0, 123);
}

/** A new authenticated connection is served: the handshake passes and `demo-echo-request` answers. */
async function assertServes(url: string, serverKey?: Ed25519KeyPair): Promise<void> {
  await using conn = new Conn(url, {
    api,
    authenticator: clientAuth(alice, serverKey ? { serverPublicKey: serverKey.publicKey } : {}),
  });
  await conn.connect();
  await assertEcho(conn);
}

async function assertEcho(conn: Conn<typeof api>): Promise<void> {
  const token = crypto.randomUUID();
  assert.deepEqual(await conn.call("demo-echo-request", { token }), { token });
}

/** What `conn.connect()` rejects with; fails when it connects. */
async function connectError(conn: Conn<typeof api>): Promise<Error> {
  try {
    await conn.connect();
  } catch (error) {
    return error as Error;
  }
  assert.fail("connect() resolved");
}

/**
 * Runs each attack as a step on one server, with a bystander connection
 * established before the first: after each attack the bystander and a new
 * connection are both still served. An attack returns how many sessions it
 * opened legitimately (a captured exchange), if any.
 */
async function attacks(
  t: Deno.TestContext,
  server: AuthServer,
  serverKey: Ed25519KeyPair | undefined,
  cases: [string, (url: string) => Promise<number | void>][],
): Promise<void> {
  await using bystander = new Conn(server.url, {
    api,
    authenticator: clientAuth(alice, serverKey ? { serverPublicKey: serverKey.publicKey } : {}),
  });
  await bystander.connect();
  for (const [name, attack] of cases) {
    await t.step(name, async () => {
      const before = server.opened.length;
      const legitimate = await attack(server.url) ?? 0;
      assert.equal(server.opened.length, before + legitimate, "the attack opened no session");
      await assertEcho(bystander);
      await assertServes(server.url, serverKey);
    });
  }
}

// Interop.

Deno.test("Conn and Server complete the ed25519 handshake over a socket", async (t) => {
  const combos: { name: string; key?: Ed25519KeyPair; pin?: Ed25519KeyPair }[] = [
    { name: "a server without a key" },
    { name: "a server with a key, client not pinning", key: serverA },
    { name: "a server with a key, client pinning it", key: serverA, pin: serverA },
  ];
  for (const { name, key, pin } of combos) {
    await t.step(name, async () => {
      await using server = startAuth({
        ...(key ? { secretKey: key.secretKey } : {}),
        allow: [alice.publicKey],
        message: "interop",
      });
      await using conn = new Conn(server.url, {
        api,
        authenticator: clientAuth(alice, {
          userAgent: "interop-test/1.0 (deno)",
          ...(pin ? { serverPublicKey: pin.publicKey.toHex() } : {}),
        }),
      });
      await conn.connect();
      assert.deepEqual(await conn.call("t-whoami-request", null), {
        publicKey: alice.publicKey.toHex(),
        userAgent: "interop-test/1.0 (deno)",
      });
      await assertEcho(conn);
      assert.deepEqual(server.opened, [alice.publicKey.toHex()]);
    });
  }

  await t.step("client and server on different backends", async () => {
    for (const [client, server] of [["noble", "webcrypto"], ["webcrypto", "noble"]] as const) {
      await using http = startAuth({ secretKey: serverA.secretKey, backend: server });
      await using conn = new Conn(http.url, {
        api,
        authenticator: clientAuth(alice, { serverPublicKey: serverA.publicKey, backend: client }),
      });
      await conn.connect();
      assert.equal(
        (await conn.call("t-whoami-request", null))?.publicKey,
        alice.publicKey.toHex(),
      );
    }
  });

  await t.step("the default user agent, and concurrent clients with their own keys", async () => {
    await using server = startAuth({ secretKey: serverB.secretKey });
    const keys = [alice, mallory, await generateKeyPair(), await generateKeyPair()];
    const conns = keys.map((key) =>
      new Conn(server.url, {
        api,
        authenticator: clientAuth(key, { serverPublicKey: serverB.publicKey }),
      })
    );
    try {
      await Promise.all(conns.map((conn) => conn.connect()));
      const peers = await Promise.all(conns.map((conn) => conn.call("t-whoami-request", null)));
      assert.deepEqual(
        peers,
        keys.map((key) => ({ publicKey: key.publicKey.toHex(), userAgent: "wsrpc" })),
      );
    } finally {
      await Promise.all(conns.map((conn) => conn.close()));
    }
  });

  await t.step("the server's authorize option sees the proven peer", async () => {
    const asked: unknown[] = [];
    await using server = startAuth({}, {
      authorize: (session) => {
        asked.push(session.peer);
        return true;
      },
    });
    await using conn = new Conn(server.url, {
      api,
      authenticator: clientAuth(alice, { userAgent: "ua" }),
    });
    await conn.connect();
    assert.deepEqual(asked, [{ publicKey: alice.publicKey.toHex(), userAgent: "ua" }]);
  });

  await t.step("a client pinning another key: HandshakeError server key mismatch", async () => {
    await using server = startAuth({ secretKey: serverA.secretKey });
    await using conn = new Conn(server.url, {
      api,
      authenticator: clientAuth(alice, { serverPublicKey: serverB.publicKey }),
    });
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(
      error.message,
      `failed to handshake with server: server key mismatch: expected ${
        serverB.publicKey.toHex().slice(0, 8)
      }…, got ${serverA.publicKey.toHex().slice(0, 8)}…`,
    );
    assert.deepEqual(server.opened, []);
    await assertServes(server.url, serverA);
  });

  await t.step("a client pinning a key, server without one: HandshakeError", async () => {
    await using server = startAuth({});
    await using conn = new Conn(server.url, {
      api,
      authenticator: clientAuth(alice, { serverPublicKey: serverA.publicKey }),
    });
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(
      error.message,
      `failed to handshake with server: server did not prove its key: expected ${
        serverA.publicKey.toHex().slice(0, 8)
      }…`,
    );
    assert.deepEqual(server.opened, []);
  });
});

// Refused keys: what the server closes with and what the client is told.

Deno.test("Server refuses a proven key outside the allow-list with 4100", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey, allow: [alice.publicKey] });
  await attacks(t, server, serverA, [
    ["raw client: ed25519-error and close 4100 invalid public key", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(mallory);
      const { bytes } = await peer.challenge();
      peer.accept(await clientSignature(mallory, bytes, serverA.publicKey));
      await assertRefused(peer, { reason: "invalid public key", error: "invalid public key" });
    }],
    ["Conn: HandshakeError server refused: invalid public key", async (url) => {
      await using conn = new Conn(url, {
        api,
        authenticator: clientAuth(mallory, { serverPublicKey: serverA.publicKey }),
      });
      const error = await connectError(conn);
      assert.ok(error instanceof HandshakeError, String(error));
      assert.equal(
        error.message,
        "failed to handshake with server: server refused: invalid public key",
      );
    }],
  ]);
});

Deno.test("Server refuses through its authorize callbacks with 4100", async (t) => {
  await t.step("ed25519Server({authorize}) says no", async () => {
    await using server = startAuth({
      authorize: ({ publicKey }) => publicKey !== mallory.publicKey.toHex(),
    });
    await using conn = new Conn(server.url, { api, authenticator: clientAuth(mallory) });
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(
      error.message,
      "failed to handshake with server: server refused: invalid public key",
    );
    await assertServes(server.url);
  });

  await t.step(
    "ed25519Server({authorize}) throws: only internal error reaches the wire",
    async () => {
      // Regression: the close reason used to carry the thrown error's text.
      const logged: Error[] = [];
      await using server = startAuth({
        authorize: ({ publicKey }) => {
          if (publicKey === mallory.publicKey.toHex()) throw new Error("db password hunter2");
          return true;
        },
      }, { onError: (error) => logged.push(error) });
      await using peer = await RawPeer.open(server.url);
      peer.hello(mallory);
      const { bytes } = await peer.challenge();
      peer.accept(await clientSignature(mallory, bytes));
      await assertRefused(peer, {
        reason: /^handshake failed: internal error \[[0-9a-f]{16}:\d+\]$/,
        error: "internal error",
      });
      const sent = peer.seen.at(-1)!.payload as { error: { trace: string } };
      assert.match(sent.error.trace, /^[0-9a-f]{16}$/);
      assert.ok(!JSON.stringify(peer.seen).includes("hunter2"));
      // The operator sees the cause, with the trace the client got.
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!.name, "InternalError");
      assert.match(logged[0]!.message, /db password hunter2/);
      assert.ok(logged[0]!.message.includes(sent.error.trace));

      await using conn = new Conn(server.url, { api, authenticator: clientAuth(mallory) });
      const error = await connectError(conn);
      assert.ok(error instanceof HandshakeError, String(error));
      assert.match(
        error.message,
        /^failed to handshake with server: server refused: internal error \[[0-9a-f]{16}:\d+\]$/,
      );
      await assertServes(server.url);
    },
  );

  await t.step("ServerOptions.authorize says no after the handshake", async () => {
    await using server = startAuth({}, {
      authorize: (session) => session.peer?.publicKey !== mallory.publicKey.toHex(),
    });
    await using peer = await RawPeer.open(server.url);
    peer.hello(mallory);
    const { bytes } = await peer.challenge();
    peer.accept(await clientSignature(mallory, bytes));
    const status = await within(peer.raw.closed, 10_000, "server close");
    assert.deepEqual(status, { code: 4100, reason: "invalid public key" });
    assert.deepEqual(
      peer.seen.map((m) => [m.header.command, m.header.id]),
      [["ed25519-hello-challenge", undefined], ["ed25519-hello-complete", undefined]],
      "no ping, no response",
    );

    // Regression: Conn used to reject with a bare ConnectionClosedError here,
    // since the refusal comes after the handshake, in place of the first message.
    await using conn = new Conn(server.url, { api, authenticator: clientAuth(mallory) });
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(
      error.message,
      'failed to handshake with server: Connection closed: 4100 "invalid public key"',
    );
    assert.ok(error.cause instanceof ConnectionClosedError);
    assert.equal(error.cause.code, 4100);
    assert.equal(conn.isOnline, false);
    await assertServes(server.url);
  });
});

// Signatures that must not verify.

Deno.test("Server rejects a bad client signature with 4100 invalid signature", async (t) => {
  for (const key of [undefined, serverA]) {
    await t.step(key ? "server with a key" : "server without a key", async (t) => {
      await using server = startAuth({
        ...(key ? { secretKey: key.secretKey } : {}),
        allow: [alice.publicKey],
      });
      const serverKey = key?.publicKey;
      const refusedFor = (
        makeSignature: (challenge: Uint8Array) => Promise<Uint8Array | string>,
      ) =>
      async (url: string) => {
        await using peer = await RawPeer.open(url);
        peer.hello(alice);
        const { bytes } = await peer.challenge();
        peer.accept(await makeSignature(bytes));
        await assertRefused(peer, {
          reason: failed("invalid signature"),
          error: "invalid signature",
        });
      };
      await attacks(t, server, key, [
        ["a signature by another key", refusedFor((c) => clientSignature(mallory, c, serverKey))],
        ["a signature over other bytes", refusedFor((c) => sign(c, alice.secretKey))],
        [
          "a signature without the domain prefix",
          refusedFor((c) => sign(serverKey ? concat(c, serverKey) : c, alice.secretKey)),
        ],
        [
          "a signature with the server's domain prefix",
          refusedFor((c) =>
            sign(concat(SERVER_DOMAIN, c, ...(serverKey ? [serverKey] : [])), alice.secretKey)
          ),
        ],
        [
          "a flipped bit",
          refusedFor(async (c) => {
            const signature = await clientSignature(alice, c, serverKey);
            signature[10]! ^= 1;
            return signature;
          }),
        ],
        [
          "a malleated signature (S + L)",
          refusedFor(async (c) => malleate(await clientSignature(alice, c, serverKey))),
        ],
        ["all zeros", refusedFor(() => Promise.resolve("00".repeat(64)))],
        [
          "a signature bound to another server key (a relay)",
          refusedFor((c) =>
            clientSignature(alice, c, serverKey ? serverB.publicKey : serverA.publicKey)
          ),
        ],
        [
          "a signature for the other server mode",
          refusedFor((c) =>
            sign(
              concat(CLIENT_DOMAIN, c, ...(serverKey ? [] : [serverB.publicKey])),
              alice.secretKey,
            )
          ),
        ],
      ]);
    });
  }
});

Deno.test("Server rejects a signature replayed on a new connection", async (t) => {
  for (const key of [undefined, serverA]) {
    await t.step(key ? "server with a key" : "server without a key", async (t) => {
      await using server = startAuth({ ...(key ? { secretKey: key.secretKey } : {}) });
      await attacks(t, server, key, [
        ["the accepted signature of a captured exchange", async (url) => {
          // Connection 1: a full, successful exchange, captured.
          await using first = await RawPeer.open(url);
          first.hello(alice);
          const captured = await first.challenge();
          const signature = await clientSignature(alice, captured.bytes, key?.publicKey);
          first.accept(signature);
          assert.equal((await first.next()).header.command, "ed25519-hello-complete");
          assert.equal((await first.next()).header.id, "0", "connection 1 is served");

          // Connection 2: the same hello (same nonce), the captured answer.
          await using second = await RawPeer.open(url);
          second.nonce = first.nonce;
          second.hello(alice);
          const fresh = await second.challenge();
          assert.notDeepEqual(fresh.bytes, captured.bytes, "a fresh challenge");
          assert.deepEqual(
            fresh.bytes.subarray(16),
            captured.bytes.subarray(16),
            "only the random prefix differs",
          );
          second.accept(signature);
          await assertRefused(second, {
            reason: failed("invalid signature"),
            error: "invalid signature",
          });
          return 1;
        }],
      ]);
    });
  }
});

// A relay: a man in the middle that poses as a server with its own key and
// forwards to the real one.

interface Relay extends AsyncDisposable {
  url: string;
}

/**
 * Relays each client connection to `target`. In `resign` mode it replaces the
 * server's key and signature in the challenge with its own (it knows the
 * client's nonce and the challenge, so its signature is valid); in `forward`
 * mode it passes every frame through unchanged.
 */
function startRelay(target: string, relayKey: Ed25519KeyPair, mode: "resign" | "forward"): Relay {
  const closed: Promise<unknown>[] = [];
  const sockets: WebSocket[] = [];
  const track = (socket: WebSocket) => {
    sockets.push(socket);
    closed.push(new Promise((resolve) => socket.addEventListener("close", resolve)));
  };
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket: down, response } = Deno.upgradeWebSocket(request);
    const up = new WebSocket(target);
    track(down);
    track(up);
    let nonce = new Uint8Array(0);
    const early: string[] = [];
    up.addEventListener("open", () => early.splice(0).forEach((data) => up.send(data)));
    down.addEventListener("message", (e) => {
      const message = JSON.parse(e.data);
      if (message.header.command === "ed25519-hello") {
        nonce = Uint8Array.fromHex(message.payload.nonce);
      }
      if (up.readyState === WebSocket.OPEN) up.send(e.data);
      else early.push(e.data);
    });
    let order = Promise.resolve();
    up.addEventListener("message", (e) => {
      order = order.then(async () => {
        const message = JSON.parse(e.data);
        let data: string = e.data;
        if (mode === "resign" && message.header.command === "ed25519-hello-challenge") {
          const challenge = Uint8Array.fromHex(message.payload.message);
          const signature = await sign(concat(SERVER_DOMAIN, nonce, challenge), relayKey.secretKey);
          data = frame("ed25519-hello-challenge", {
            message: message.payload.message,
            publickey: relayKey.publicKey.toHex(),
            signature: signature.toHex(),
          });
        }
        if (down.readyState === WebSocket.OPEN) down.send(data);
      });
    });
    up.addEventListener("close", (e) => {
      void order.then(() => {
        if (down.readyState <= WebSocket.OPEN) {
          down.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, e.reason);
        }
      });
    });
    down.addEventListener("close", () => {
      if (up.readyState <= WebSocket.OPEN) up.close();
    });
    return response;
  });
  return {
    url: `ws://127.0.0.1:${http.addr.port}/`,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) if (socket.readyState <= WebSocket.OPEN) socket.close();
      await Promise.all(closed);
      await http.shutdown();
    },
  };
}

Deno.test("ed25519 handshake through a relay to another server key", async (t) => {
  // The real server B, with key B; the relay poses as server A.
  await using server = startAuth({ secretKey: serverB.secretKey, allow: [alice.publicKey] });

  await t.step("relay re-signs as A, client not pinning: B rejects the signature", async () => {
    await using relay = startRelay(server.url, serverA, "resign");
    await using conn = new Conn(relay.url, { api, authenticator: clientAuth(alice) });
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(
      error.message,
      "failed to handshake with server: server refused: invalid signature",
    );
  });

  await t.step("relay re-signs as A, client pinning B: the client refuses", async () => {
    await using relay = startRelay(server.url, serverA, "resign");
    await using conn = new Conn(relay.url, {
      api,
      authenticator: clientAuth(alice, { serverPublicKey: serverB.publicKey }),
    });
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.match(error.message, /^failed to handshake with server: server key mismatch: /);
  });

  await t.step(
    "transparent relay, client pinning A (whom it meant to reach): refused",
    async () => {
      await using relay = startRelay(server.url, serverA, "forward");
      await using conn = new Conn(relay.url, {
        api,
        authenticator: clientAuth(alice, { serverPublicKey: serverA.publicKey }),
      });
      const error = await connectError(conn);
      assert.ok(error instanceof HandshakeError, String(error));
      assert.equal(
        error.message,
        `failed to handshake with server: server key mismatch: expected ${
          serverA.publicKey.toHex().slice(0, 8)
        }…, got ${serverB.publicKey.toHex().slice(0, 8)}…`,
      );
    },
  );

  assert.deepEqual(server.opened, [], "no relayed session opened");

  await t.step(
    "transparent relay, client not pinning: relayed (why clients should pin)",
    async () => {
      // The documented limit: a client that accepts any server key cannot tell a
      // relay from the server it meant, so the relay gets a session at B in the
      // client's name (and, over ws:, sees the traffic).
      await using relay = startRelay(server.url, serverA, "forward");
      await using conn = new Conn(relay.url, { api, authenticator: clientAuth(alice) });
      await conn.connect();
      assert.equal((await conn.call("t-whoami-request", null))?.publicKey, alice.publicKey.toHex());
      assert.deepEqual(server.opened, [alice.publicKey.toHex()]);
    },
  );

  await assertServes(server.url, serverB);
});

// Malformed, out-of-order and early messages.

Deno.test("Server closes a malformed hello with 4100", async (t) => {
  await using server = startAuth({ allow: [alice.publicKey] });
  const key = alice.publicKey.toHex();
  const nonce = "01".repeat(16);
  const hello = (fields: Record<string, unknown>) => ({
    userAgent: "raw",
    publickey: key,
    nonce,
    ...fields,
  });
  const identity = `01${"00".repeat(31)}`;
  const table: [string, unknown, string][] = [
    [
      "uppercase key hex",
      hello({ publickey: key.toUpperCase() }),
      'field "publickey" is not lowercase hex',
    ],
    [
      "non-hex key",
      hello({ publickey: "zz".repeat(32) }),
      'field "publickey" is not lowercase hex',
    ],
    [
      "a 31-byte key",
      hello({ publickey: key.slice(2) }),
      'field "publickey" must be 32 bytes (64 hex characters), got 62 characters',
    ],
    [
      "a 33-byte key",
      hello({ publickey: `${key}00` }),
      'field "publickey" must be 32 bytes (64 hex characters), got 66 characters',
    ],
    ["a numeric key", hello({ publickey: 7 }), 'field "publickey" is a number, not a string'],
    ["no key", hello({ publickey: undefined }), 'field "publickey" is missing, not a string'],
    [
      "the identity point as key",
      hello({ publickey: identity }),
      'field "publickey" is not a valid ed25519 public key',
    ],
    ["a zero nonce", hello({ nonce: "00".repeat(16) }), 'field "nonce" is all zeros'],
    [
      "a 15-byte nonce",
      hello({ nonce: "01".repeat(15) }),
      'field "nonce" must be 16 bytes (32 hex characters), got 30 characters',
    ],
    ["a non-hex nonce", hello({ nonce: "0g".repeat(16) }), 'field "nonce" is not lowercase hex'],
    [
      "a numeric user agent",
      hello({ userAgent: 1 }),
      'field "userAgent" is a number, not a string',
    ],
    [
      "a newline in the user agent",
      hello({ userAgent: "a\nb" }),
      'field "userAgent" holds a control character',
    ],
    [
      "a right-to-left override in the user agent",
      hello({ userAgent: "a\u202eb" }),
      'field "userAgent" holds a bidi or line-separator character (U+202E)',
    ],
  ];
  await attacks(t, server, undefined, [
    ...table.map(([name, payload, message]): [string, (url: string) => Promise<void>] => [
      name,
      async (url) => {
        await using peer = await RawPeer.open(url);
        peer.send("ed25519-hello", payload);
        await assertRefused(peer, {
          reason: failed(`invalid hello: ${message}`),
          error: `invalid hello: ${message}`,
        });
      },
    ]),
    ...([
      [
        "a null payload",
        frame("ed25519-hello", null),
        "invalid ed25519-hello: payload is null, not an object",
      ],
      [
        "an array payload",
        frame("ed25519-hello", []),
        "invalid ed25519-hello: payload is an array, not an object",
      ],
      [
        "no header",
        JSON.stringify({ payload: {} }),
        'invalid message: expected "ed25519-hello", got no command',
      ],
    ] as const).map(([name, data, message]): [string, (url: string) => Promise<void>] => [
      name,
      async (url) => {
        await using peer = await RawPeer.open(url);
        peer.raw.send(data);
        await assertRefused(peer, { reason: failed(message), error: message });
      },
    ]),
    ["text that is not JSON: 1007", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.raw.send("{not json");
      await assertRefused(peer, { code: 1007, reason: "failed to unmarshal JSON", error: null });
    }],
    ["a binary frame: 1003", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.raw.send(encoder.encode(frame("ed25519-hello", hello({}))));
      await assertRefused(peer, { code: 1003, reason: "expected text message", error: null });
    }],
  ]);
});

Deno.test("Server closes a malformed answer with 4100", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey });
  const answer = (payload: unknown, message: string) => async (url: string) => {
    await using peer = await RawPeer.open(url);
    peer.hello(alice);
    const { bytes } = await peer.challenge();
    const good = (await clientSignature(alice, bytes, serverA.publicKey)).toHex();
    peer.send(
      "ed25519-hello-challenge-accepted",
      typeof payload === "function" ? payload(good) : payload,
    );
    await assertRefused(peer, { reason: failed(message), error: message });
  };
  const sig = (f: (good: string) => unknown) => (good: string) => ({ signature: f(good) });
  await attacks(t, server, serverA, [
    [
      "a 63-byte signature",
      answer(
        sig((g) => g.slice(2)),
        'invalid answer: field "signature" must be 64 bytes (128 hex characters), got 126 characters',
      ),
    ],
    [
      "a 65-byte signature",
      answer(
        sig((g) => `${g}00`),
        'invalid answer: field "signature" must be 64 bytes (128 hex characters), got 130 characters',
      ),
    ],
    [
      "an uppercase signature",
      answer(sig((g) => g.toUpperCase()), 'invalid answer: field "signature" is not lowercase hex'),
    ],
    [
      "a non-hex signature",
      answer(
        sig((g) => `x${g.slice(1)}`),
        'invalid answer: field "signature" is not lowercase hex',
      ),
    ],
    [
      "an empty signature",
      answer(
        { signature: "" },
        'invalid answer: field "signature" must be 64 bytes (128 hex characters), got 0 characters',
      ),
    ],
    ["no signature", answer({}, 'invalid answer: field "signature" is missing, not a string')],
    [
      "signature as bytes",
      answer(
        sig((g) => [...Uint8Array.fromHex(g)]),
        'invalid answer: field "signature" is an array, not a string',
      ),
    ],
    [
      "a null payload",
      answer(null, "invalid ed25519-hello-challenge-accepted: payload is null, not an object"),
    ],
  ]);
});

Deno.test("Server closes on handshake messages out of order or repeated", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey });
  const unexpected = (command: string, expected: string) =>
    `unexpected message "${command}", expected "${expected}"`;
  await attacks(t, server, serverA, [
    ["accepted before hello", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.accept("11".repeat(64));
      const message = unexpected("ed25519-hello-challenge-accepted", "ed25519-hello");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["complete sent by the client first", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.send("ed25519-hello-complete", {});
      const message = unexpected("ed25519-hello-complete", "ed25519-hello");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["a challenge sent by the client", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.send("ed25519-hello-challenge", { message: "00" });
      const message = unexpected("ed25519-hello-challenge", "ed25519-hello");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["two hellos, the second after the challenge", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      await peer.challenge();
      peer.hello(alice);
      const message = unexpected("ed25519-hello", "ed25519-hello-challenge-accepted");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["two hellos back to back", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      peer.hello(mallory);
      const message = unexpected("ed25519-hello", "ed25519-hello-challenge-accepted");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["the client gives up with ed25519-error", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      await peer.challenge();
      peer.send("ed25519-error", { error: { timestamp: 1, message: "bad\nserver" } });
      // The client's own report is quoted (control characters replaced), not echoed back.
      await assertRefused(peer, { reason: failed("client refused: bad\uFFFDserver"), error: null });
    }],
    ["a repeated answer after the handshake is an invalid command: 1008", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      const { bytes } = await peer.challenge();
      const signature = await clientSignature(alice, bytes, serverA.publicKey);
      peer.accept(signature);
      assert.equal((await peer.next()).header.command, "ed25519-hello-complete");
      assert.equal((await peer.next()).header.id, "0");
      peer.accept(signature);
      const status = await within(peer.raw.closed, 10_000, "server close");
      assert.equal(status.code, 1008);
      assert.match(status.reason, /^invalid command: .*ed25519-hello-challenge-accepted/);
      return 1;
    }],
  ]);
});

Deno.test("Server never answers normal traffic before the handshake ends", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey });
  const early = (expected: string) =>
    `unexpected message "demo-echo-request", expected "${expected}"`;
  await attacks(t, server, serverA, [
    ["a request instead of the hello", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.send("demo-echo-request", { secret: 1 }, "1");
      const message = early("ed25519-hello");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["a request instead of the answer", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      await peer.challenge();
      peer.send("demo-echo-request", { secret: 2 }, "1");
      const message = early("ed25519-hello-challenge-accepted");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["a request pipelined right after the hello", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      peer.send("demo-echo-request", { secret: 3 }, "1");
      const message = early("ed25519-hello-challenge-accepted");
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["a ping with id 0 instead of the hello", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.send("demo-ping-request", { timestamp: 1 }, "0");
      const message = 'unexpected message "demo-ping-request", expected "ed25519-hello"';
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
  ]);
});

// Timeouts.

Deno.test("Server closes a client that never finishes the handshake", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey }, { handshakeTimeoutMs: 200 });
  const timedOut = failed("Handshake timed out after 200 ms");
  await attacks(t, server, serverA, [
    ["a client that says nothing", async (url) => {
      await using peer = await RawPeer.open(url);
      const start = performance.now();
      await assertRefused(peer, { reason: timedOut, error: null });
      // Far below the 15 s default: the option is what closed it.
      assert.ok(performance.now() - start < 10_000);
    }],
    ["a client that never answers the challenge", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      await peer.challenge();
      await assertRefused(peer, { reason: timedOut, error: null });
    }],
    ["a bad hello followed by requests: none is answered", async (url) => {
      await using peer = await RawPeer.open(url);
      // Only the first message is read: the rest never reach a handler.
      peer.send("ed25519-hello", { userAgent: "x", publickey: "zz", nonce: "00" });
      for (let i = 0; i < 5; i++) peer.send("demo-echo-request", { i }, String(i + 1));
      await assertRefused(peer, {
        reason: failed(
          'invalid hello: field "publickey" must be 32 bytes (64 hex characters), got 2 characters',
        ),
        error: /^invalid hello: /,
      });
    }],
  ]);
});

/** A WebSocket server that accepts and then does `onMessage` (by default nothing). */
function startQuietServer(
  onMessage: (socket: WebSocket, data: string) => void = () => {},
): AsyncDisposable & { url: string; received: string[] } {
  const sockets: WebSocket[] = [];
  const closed: Promise<unknown>[] = [];
  const received: string[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    sockets.push(socket);
    closed.push(new Promise((resolve) => socket.addEventListener("close", resolve)));
    socket.addEventListener("message", (e) => {
      received.push(e.data);
      onMessage(socket, e.data);
    });
    return response;
  });
  return {
    url: `ws://127.0.0.1:${http.addr.port}/`,
    received,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) if (socket.readyState <= WebSocket.OPEN) socket.close();
      await Promise.all(closed);
      await http.shutdown();
    },
  };
}

Deno.test("Conn gives up on a server that never finishes the handshake", async (t) => {
  const expectTimeout = async (url: string) => {
    await using conn = new Conn(url, {
      api,
      authenticator: clientAuth(alice),
      handshakeTimeoutMs: 200,
    });
    const start = performance.now();
    const error = await connectError(conn);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(
      error.message,
      "failed to handshake with server: Handshake timed out after 200 ms",
    );
    assert.equal((error.cause as DOMException).name, "TimeoutError");
    assert.ok(performance.now() - start < 10_000, "well before the 15 s default");
  };

  await t.step("a server that never answers the hello", async () => {
    await using quiet = startQuietServer();
    await expectTimeout(quiet.url);
    assert.equal(JSON.parse(quiet.received[0]!).header.command, "ed25519-hello");
  });

  await t.step("a server that sends the challenge and never completes", async () => {
    await using quiet = startQuietServer((socket, data) => {
      const message = JSON.parse(data);
      if (message.header.command !== "ed25519-hello") return;
      const text = encoder.encode(`Hello: ${message.payload.publickey}\nMessage: \n`);
      const challenge = concat(crypto.getRandomValues(new Uint8Array(16)), text);
      socket.send(frame("ed25519-hello-challenge", { message: challenge.toHex() }));
    });
    await expectTimeout(quiet.url);
    assert.deepEqual(
      quiet.received.map((data) => JSON.parse(data).header.command),
      ["ed25519-hello", "ed25519-hello-challenge-accepted"],
    );
  });
});

// Size limits.

Deno.test("Server closes an oversized hello", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey });
  await attacks(t, server, serverA, [
    ["a 100 KB user agent, under the read limit: 4100", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice, "a".repeat(100 * 1024));
      const message = 'invalid hello: field "userAgent" is 102400 characters, over 256';
      await assertRefused(peer, { reason: failed(message), error: message });
    }],
    ["a 600 KB hello, over the 512 KiB read limit: 1009", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice, "a".repeat(600 * 1024));
      await assertRefused(peer, {
        code: 1009,
        reason: "read limited at 524288 bytes",
        error: null,
      });
    }],
    ["a hello nested too deep: 1009", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.send("ed25519-hello", { userAgent: JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`) });
      await assertRefused(peer, {
        code: 1009,
        reason: /^JSON nested deeper than 64 levels$/,
        error: null,
      });
    }],
  ]);
});

Deno.test("Server keeps serving good clients during many bad handshakes at once", async () => {
  await using server = startAuth({ secretKey: serverA.secretKey, allow: [alice.publicKey] });
  const attack = async (i: number) => {
    await using peer = await RawPeer.open(server.url);
    if (i % 3 === 0) {
      peer.send("demo-echo-request", { i }, "1");
      await assertRefused(peer, {
        reason: /^handshake failed: unexpected message/,
        error: /^unexpected/,
      });
      return;
    }
    const key = i % 3 === 1 ? mallory : alice;
    peer.hello(key);
    const { bytes } = await peer.challenge();
    if (key === mallory) {
      peer.accept(await clientSignature(mallory, bytes, serverA.publicKey));
      await assertRefused(peer, { reason: "invalid public key", error: "invalid public key" });
    } else {
      peer.accept(await clientSignature(alice, bytes)); // signed as if the server had no key
      await assertRefused(peer, {
        reason: failed("invalid signature"),
        error: "invalid signature",
      });
    }
  };
  const good = async () => {
    await using conn = new Conn(server.url, {
      api,
      authenticator: clientAuth(alice, { serverPublicKey: serverA.publicKey }),
    });
    await conn.connect();
    for (let i = 0; i < 5; i++) await assertEcho(conn);
  };
  await Promise.all([
    ...Array.from({ length: 30 }, (_, i) => attack(i)),
    ...Array.from({ length: 5 }, good),
  ]);
  assert.equal(server.opened.length, 5);
  assert.ok(server.opened.every((key) => key === alice.publicKey.toHex()));
});

Deno.test("Server serves a request pipelined right after the answer only once the handshake has ended", async (t) => {
  await using server = startAuth({ secretKey: serverA.secretKey, allow: [alice.publicKey] });
  await attacks(t, server, serverA, [
    ["an allowed key: hello-complete, the ping, then the response", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(alice);
      const { bytes } = await peer.challenge();
      peer.accept(await clientSignature(alice, bytes, serverA.publicKey));
      peer.send("demo-echo-request", { early: 1 }, "1"); // before hello-complete can arrive
      assert.equal((await peer.next()).header.command, "ed25519-hello-complete");
      assert.deepEqual((await peer.next()).header, { command: "demo-ping-request", id: "0" });
      assert.deepEqual(await peer.next(), {
        header: { command: "demo-echo-response", id: "1" },
        payload: { early: 1 },
      });
      return 1;
    }],
    ["a refused key: 4100, and the request is never served", async (url) => {
      await using peer = await RawPeer.open(url);
      peer.hello(mallory);
      const { bytes } = await peer.challenge();
      peer.accept(await clientSignature(mallory, bytes, serverA.publicKey));
      peer.send("demo-echo-request", { early: 2 }, "1");
      await assertRefused(peer, { reason: "invalid public key", error: "invalid public key" });
    }],
  ]);
});
