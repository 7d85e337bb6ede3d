/**
 * Scenario 3, client death: clients vanish (TCP dropped, no close frame)
 * mid-upgrade, mid-handshake, mid-request and mid-frame. Sessions, requests
 * in flight and running handlers are counted before and after; all must
 * return to zero, and every abandoned handler must see its signal abort.
 *
 * @module
 */

import { messageOf } from "../lib/framing.ts";
import { ed25519Server } from "../lib/ed25519_authenticator.ts";
import { generateKeyPair } from "../lib/ed25519_keys.ts";
import { RawClient, sleep, startServer, type TestServer, waitFor } from "./_util.ts";

/** Parameters of {@linkcode clientDeath}. */
export interface ClientDeathOptions {
  /** Clients per way of dying. */
  clients: number;
  /** Requests each mid-request client leaves in flight. */
  requestsEach: number;
}

/** Counts for one way of dying. */
export interface DeathCase {
  /** Sessions open on the server just before the clients vanished. */
  sessionsBefore: number;
  /** Requests in flight just before. */
  inFlightBefore: number;
  /** Handlers running just before. */
  runningBefore: number;
  /** Requests the scenario put in flight: what `inFlightBefore` must be. */
  expectedInFlight: number;
  /** After the clients vanished, once settled (must be 0). */
  sessionsAfter: number;
  inFlightAfter: number;
  runningHandlersAfter: number;
  /** Handlers whose signal aborted. */
  handlersAborted: number;
  /** Time until every session was gone, ms. */
  freedMs: number;
}

/** What {@linkcode clientDeath} measured, by way of dying. */
export type ClientDeathResult = Record<
  "midUpgrade" | "midHandshake" | "midRequest" | "midFrame" | "midFrameWithRequests",
  DeathCase
>;

function inFlight(srv: TestServer): number {
  let n = 0;
  for (const s of srv.server.sessions.values()) n += s.inFlight;
  return n;
}

/** Throws when a scenario's precondition did not come about, so the case cannot pass empty. */
function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`client-death: precondition not met: ${what}`);
}

async function measure(
  srv: TestServer,
  clients: RawClient[],
  expectedInFlight: number,
): Promise<DeathCase> {
  const sessionsBefore = srv.server.sessions.size;
  const inFlightBefore = inFlight(srv);
  const runningBefore = srv.counters.running;
  const abortedBefore = srv.counters.aborted;
  const start = performance.now();
  for (const c of clients) c.close();
  await waitFor(() => srv.server.sessions.size === 0 && srv.counters.running === 0, 10_000);
  const freedMs = Math.round(performance.now() - start);
  await sleep(20);
  return {
    sessionsBefore,
    inFlightBefore,
    runningBefore,
    expectedInFlight,
    sessionsAfter: srv.server.sessions.size,
    inFlightAfter: inFlight(srv),
    runningHandlersAfter: srv.counters.running,
    handlersAborted: srv.counters.aborted - abortedBefore,
    freedMs,
  };
}

function request(id: number, ms: number): string {
  return JSON.stringify(messageOf("demo-sleep-request", String(id), { ms }));
}

/** Runs the scenario; see the module doc. */
export async function clientDeath(options: ClientDeathOptions): Promise<ClientDeathResult> {
  const n = options.clients;
  const plain = startServer({ maxInFlight: Math.max(64, options.requestsEach) });
  const authed = startServer({
    authenticator: ed25519Server(),
    handshakeTimeoutMs: 30_000, // so that only the disconnect can free the session
  });
  try {
    const result = {} as ClientDeathResult;

    // Mid-upgrade: half an HTTP request, then gone. No session may appear.
    {
      const clients = await Promise.all(
        Array.from({ length: n }, () => RawClient.connect(plain.port, { upgrade: false })),
      );
      await Promise.all(
        clients.map((c) =>
          c.write(new TextEncoder().encode("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr"))
        ),
      );
      await sleep(50);
      result.midUpgrade = await measure(plain, clients, 0);
    }

    // Mid-handshake: upgraded on an authenticating server, hello sent, then gone.
    {
      const clients = await Promise.all(
        Array.from({ length: n }, () => RawClient.connect(authed.port)),
      );
      // Half send a valid hello, so the server has sent its challenge and
      // waits for the signature; the other half send nothing.
      const { publicKey } = await generateKeyPair();
      const hello = JSON.stringify(messageOf("ed25519-hello", "", {
        userAgent: "x",
        publickey: publicKey.toHex(),
        nonce: "01".repeat(16),
      }));
      await Promise.all(clients.map((c, i) => i % 2 === 0 ? Promise.resolve() : c.sendText(hello)));
      must(await waitFor(() => authed.server.sessions.size >= n, 5_000), `${n} sessions`);
      // Each hello must have been answered with a challenge: the server is
      // then mid-handshake, waiting for the signature, when the client dies.
      const answers = await Promise.all(
        clients.map((c, i) => i % 2 === 0 ? undefined : c.readFrame()),
      );
      const challenged = answers.filter((f) =>
        f !== undefined &&
        new TextDecoder().decode(f.payload).includes('"command":"ed25519-hello-challenge"')
      ).length;
      must(challenged === Math.floor(n / 2), `${challenged} of ${Math.floor(n / 2)} challenged`);
      result.midHandshake = await measure(authed, clients, 0);
    }

    // Mid-request: requests in flight on handlers that would run 30 s.
    {
      const clients = await Promise.all(
        Array.from({ length: n }, () => RawClient.connect(plain.port)),
      );
      await Promise.all(clients.map(async (c) => {
        for (let i = 1; i <= options.requestsEach; i++) {
          await c.sendText(request(i, 30_000));
        }
      }));
      must(
        await waitFor(() => plain.counters.running >= n * options.requestsEach, 10_000),
        `${n * options.requestsEach} handlers running`,
      );
      result.midRequest = await measure(plain, clients, n * options.requestsEach);
    }

    // Mid-frame: a frame header promising more bytes than ever come.
    {
      const clients = await Promise.all(
        Array.from({ length: n }, () => RawClient.connect(plain.port)),
      );
      await Promise.all(clients.map((c) => c.sendPartialText(request(1, 1).padEnd(1000), 20)));
      must(await waitFor(() => plain.server.sessions.size >= n, 5_000), `${n} sessions`);
      result.midFrame = await measure(plain, clients, 0);
    }

    // Mid-frame with requests in flight.
    {
      const clients = await Promise.all(
        Array.from({ length: n }, () => RawClient.connect(plain.port)),
      );
      await Promise.all(clients.map(async (c) => {
        for (let i = 1; i <= options.requestsEach; i++) await c.sendText(request(i, 30_000));
        await c.sendPartialText(request(99, 1).padEnd(70_000), 100);
      }));
      must(
        await waitFor(() => plain.counters.running >= n * options.requestsEach, 10_000),
        `${n * options.requestsEach} handlers running`,
      );
      result.midFrameWithRequests = await measure(plain, clients, n * options.requestsEach);
    }
    return result;
  } finally {
    await plain.close();
    await authed.close();
  }
}
