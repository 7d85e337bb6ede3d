/**
 * The `cancel` extension over real sockets: a call's abort or timeout aborts
 * the handler's signal on a server that offered it; no response is owed, a
 * late one is dropped; a cancel for an unknown id is harmless; nothing is
 * sent when not negotiated.
 */
import assert from "node:assert/strict";
import { Conn, defineAPI, type Handlers, unchecked } from "../mod.ts";
import { delay, rawConnect, startServer, waitFor } from "./_server.ts";

const api = defineAPI({
  "t-ping-request": unchecked<{ timestamp: number }>(),
  "t-ping-response": unchecked<unknown>(),
  "t-wait-request": unchecked<{ ms: number }>(),
  "t-wait-response": unchecked<{ aborted: boolean }>(),
});

/** A server whose `t-wait` handler waits `ms` or for its signal; records how each one ended. */
function start(extensions: boolean) {
  const ended: { id: string; reason: unknown }[] = [];
  const handlers: Handlers<typeof api> = {
    "t-wait-request": ({ ms }, { id, signal }) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          ended.push({ id, reason: "done" });
          resolve({ aborted: false });
        }, ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          ended.push({ id, reason: signal.reason });
          resolve({ aborted: true });
        });
      }),
  };
  return { ts: startServer(api, { handlers, extensions }), ended };
}

function isCancelled(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === "AbortError" &&
    reason.message === "Request cancelled by the client";
}

Deno.test("cancel: a call's signal aborting aborts the handler's signal; no response comes", async () => {
  const { ts, ended } = start(true);
  await using _ = ts;
  const received: unknown[] = [];
  const conn = new Conn(ts.url, { api, onMessage: (d, m) => d === "receive" && received.push(m) });
  await conn.connect();
  const abort = new AbortController();
  const call = conn.call("t-wait-request", { ms: 10_000 }, { signal: abort.signal });
  await waitFor(() => ts.server.sessions.values().next().value?.inFlight === 1);
  abort.abort(new Error("user gave up"));
  await assert.rejects(call, /user gave up/);
  await waitFor(() => ended.length === 1);
  assert.equal(ended[0]!.id, "1");
  assert.ok(isCancelled(ended[0]!.reason), String(ended[0]!.reason));
  // The session goes on; nothing answered call 1.
  assert.deepEqual(await conn.call("t-wait-request", { ms: 0 }), { aborted: false });
  assert.equal(
    received.filter((m) => (m as { header: { id?: string } }).header.id === "1").length,
    0,
  );
  await conn.close();
});

Deno.test("cancel: a call's timeout (the shared timer's fast path) aborts the handler", async () => {
  const { ts, ended } = start(true);
  await using _ = ts;
  const conn = new Conn(ts.url, { api });
  await conn.connect();
  await assert.rejects(conn.call("t-wait-request", { ms: 10_000 }, { timeoutMs: 50 }), {
    name: "TimeoutError",
  });
  await waitFor(() => ended.length === 1);
  assert.ok(isCancelled(ended[0]!.reason));
  await conn.close();
});

Deno.test("cancel: not negotiated (the client declines), the handler runs on", async () => {
  const { ts, ended } = start(true);
  await using _ = ts;
  const conn = new Conn(ts.url, { api, extensions: [] });
  await conn.connect();
  await assert.rejects(conn.call("t-wait-request", { ms: 150 }, { timeoutMs: 20 }));
  await waitFor(() => ended.length === 1);
  assert.equal(ended[0]!.reason, "done");
  await conn.close();
});

Deno.test("cancel: for an unknown or finished id it is harmless; a malformed one is 1008", async () => {
  const { ts } = start(true);
  await using _ = ts;
  const raw = await rawConnect(ts.url);
  raw.send('{"header":{"command":"wsrpc-hello"},"payload":{"extensions":["cancel"]}}');
  raw.send('{"header":{"command":"t-wait-request","id":"1"},"payload":{"ms":0}}');
  assert.deepEqual((await raw.next()).payload, { aborted: false });
  raw.send('{"header":{"command":"wsrpc-cancel"},"payload":{"id":"1"}}'); // finished
  raw.send('{"header":{"command":"wsrpc-cancel"},"payload":{"id":"404"}}'); // unknown
  raw.send('{"header":{"command":"t-wait-request","id":"2"},"payload":{"ms":0}}');
  assert.deepEqual(await raw.next(), {
    header: { command: "t-wait-response", id: "2" },
    payload: { aborted: false },
  });
  raw.send('{"header":{"command":"wsrpc-cancel"},"payload":{"id":2}}');
  assert.deepEqual(await raw.closed, {
    code: 1008,
    reason: 'invalid command: wsrpc-cancel: "id" must be a string',
  });
});

/**
 * A scripted wsrpc server on a real socket: offers `offer`, records every
 * frame, and answers `t-wait` only after it has seen that call's cancel (or
 * after 100 ms when no cancel comes).
 */
function scriptedServer(offer: string[] | undefined) {
  const frames: string[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => {
      const header = offer === undefined
        ? { command: "t-ping-request", id: "0" }
        : { command: "t-ping-request", id: "0", wsrpc: offer };
      socket.send(JSON.stringify({ header, payload: { timestamp: 1 } }));
    };
    socket.onmessage = async (e) => {
      frames.push(e.data);
      const { header } = JSON.parse(e.data);
      if (header.command !== "t-wait-request") return;
      const until = Date.now() + 100;
      while (!frames.some((f) => f.includes("wsrpc-cancel")) && Date.now() < until) await delay(5);
      if (socket.readyState !== WebSocket.OPEN) return;
      // The late response a cancelled call must not turn into a push.
      socket.send(JSON.stringify({
        header: { command: "t-wait-response", id: header.id },
        payload: { aborted: false },
      }));
      socket.send('{"header":{"command":"t-ping-response","id":"77"},"payload":"marker"}');
    };
    return response;
  });
  return { http, frames, url: `ws://127.0.0.1:${http.addr.port}/` };
}

Deno.test("cancel: a late response to a cancelled call is dropped, not queued as a push", async () => {
  const peer = scriptedServer(["cancel"]);
  const conn = new Conn(peer.url, { api });
  try {
    await conn.connect();
    const abort = new AbortController();
    const call = conn.call("t-wait-request", { ms: 0 }, { signal: abort.signal });
    await waitFor(() => peer.frames.length === 2); // hello, request
    abort.abort();
    await assert.rejects(call);
    // The first push read is the marker sent after the late response: that one was dropped.
    const push = await conn.read({ signal: AbortSignal.timeout(2_000) });
    assert.deepEqual(push.payload, "marker");
    assert.deepEqual(peer.frames.map((f) => JSON.parse(f).header.command), [
      "wsrpc-hello",
      "t-wait-request",
      "wsrpc-cancel",
    ]);
    assert.deepEqual(JSON.parse(peer.frames[2]!).payload, { id: "1" });
  } finally {
    await conn.close();
    await peer.http.shutdown();
  }
});

Deno.test("cancel: a server that offers nothing (as a Go one) gets no wsrpc frame", async () => {
  const peer = scriptedServer(undefined);
  const conn = new Conn(peer.url, { api });
  try {
    await conn.connect();
    const abort = new AbortController();
    const call = conn.call("t-wait-request", { ms: 0 }, { signal: abort.signal });
    await waitFor(() => peer.frames.length === 1);
    abort.abort();
    await assert.rejects(call);
    await assert.rejects(conn.call("t-wait-request", { ms: 0 }, { timeoutMs: 10 }), {
      name: "TimeoutError",
    });
    await delay(150); // the peer answers both; the answers are pushes, as before
    assert.deepEqual(peer.frames.map((f) => JSON.parse(f).header.command), [
      "t-wait-request",
      "t-wait-request",
    ]);
    assert.equal((await conn.read()).command, "t-wait-response");
  } finally {
    await conn.close();
    await peer.http.shutdown();
  }
});
