/**
 * The client's own JavaScript cost per pipelined call, in process: `Conn`
 * against the JSON floor's client (`bench/_json_floor.mjs`), both over the
 * same fake socket that answers every ping at once. No network, no event
 * loop turns between frames: what is left is each client's work per call
 * (plus the fake server's parse and stringify, the same for both).
 *
 * `deno run -A bench/client_cost.ts` or `bun bench/client_cost.ts`; prints
 * µs per call for 5 rounds of 200,000 calls, 256 in flight.
 *
 * @module
 */

import { Conn } from "../lib/conn.ts";
import { demoAPI } from "../lib/demo.ts";
import { GREETING, jsonFloorConnect } from "./_json_floor.mjs";

type Listener = (event: { data: string }) => void;

/** A socket that records what is sent and delivers what the test hands it. */
class FakeSocket {
  readyState = 1;
  bufferedAmount = 0;
  binaryType = "";
  protocol = "";
  onmessage: Listener | null = null;
  readonly sent: string[] = [];
  readonly #listeners = new Map<string, Listener[]>();

  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, (this.#listeners.get(type) ?? []).filter((l) => l !== listener));
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(): void {}
  emit(type: string, data = ""): void {
    if (type === "message") this.onmessage?.({ data });
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
  /** Answers every ping sent so far, in order. */
  answer(): void {
    for (const text of this.sent.splice(0)) {
      const { header } = JSON.parse(text);
      this.emit(
        "message",
        JSON.stringify({
          header: { command: "demo-ping-response", id: header.id },
          payload: { origintimestamp: 1, timestamp: 1764631000 },
        }),
      );
    }
  }
}

const CALLS = 200_000;
const IN_FLIGHT = 256;

async function timeCalls(ping: () => Promise<unknown>, socket: FakeSocket): Promise<number> {
  const start = performance.now();
  for (let done = 0; done < CALLS; done += IN_FLIGHT) {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < IN_FLIGHT; i++) calls.push(ping());
    socket.answer();
    await Promise.all(calls);
  }
  return (performance.now() - start) * 1000 / CALLS;
}

async function floorClient(): Promise<number> {
  const socket = new FakeSocket();
  const connecting = jsonFloorConnect(() => socket)("ws://in-process/");
  socket.emit("message", GREETING);
  const adapter = await connecting;
  return await timeCalls(() => adapter.ping(), socket);
}

async function wsrpcClient(): Promise<number> {
  const socket = new FakeSocket();
  const conn = new Conn("ws://in-process/", { api: demoAPI, webSocket: () => socket as never });
  const connecting = conn.connect();
  await Promise.resolve();
  socket.emit("open");
  socket.emit("message", GREETING);
  await connecting;
  const us = await timeCalls(() => conn.call("demo-ping-request", { timestamp: 1 }), socket);
  await conn.close();
  return us;
}

for (let round = 1; round <= 5; round++) {
  const floor = await floorClient();
  const wsrpc = await wsrpcClient();
  console.log(
    `round ${round}: JSON floor client ${floor.toFixed(2)} µs/call, wsrpc Conn ${
      wsrpc.toFixed(2)
    } µs/call`,
  );
}
