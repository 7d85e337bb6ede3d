// The JSON floor: a hand-written minimal RPC doing only what every JSON RPC
// over this wire format must do, and nothing else (no validation, limits,
// timers or backpressure). Client: stringify `{header:{command,id},payload}`,
// send, parse each answer, match its id in a Map. Server: parse, build the
// response, stringify, send. Plain JavaScript, runtime-neutral (Deno, Bun,
// Node), so that every runtime's floor runs the same code.

/** The server's first message, as a wsrpc server greets (a ping with id "0"). */
export const GREETING =
  '{"header":{"command":"demo-ping-request","id":"0"},"payload":{"timestamp":1}}';

const RESPONSE = {
  "demo-ping-request": "demo-ping-response",
  "demo-echo-request": "demo-echo-response",
};

/**
 * Busy-waits `us` microseconds, touching no memory: extra per-message work of
 * a known size, for bench/amplify.ts (the `FLOOR_SPIN_US` variable of the
 * benchmark servers' `json` mode).
 */
export function spin(us) {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** The server's whole work for one frame: parse, answer, stringify. */
export function jsonFloorReply(text) {
  return jsonFloorAnswer(JSON.parse(text));
}

/** The answer to a decoded request, stringified. */
export function jsonFloorAnswer(message) {
  const { command, id } = message.header;
  const payload = command === "demo-ping-request"
    ? {
      origintimestamp: message.payload.timestamp,
      timestamp: Math.floor(Date.now() / 1000),
    }
    : message.payload;
  return JSON.stringify({
    header: { command: RESPONSE[command], id },
    payload,
  });
}

/**
 * The client: `(url) => Promise<adapter>` (see _scenarios.mjs), connected
 * once the server's greeting (id "0") has arrived, as a wsrpc client is.
 */
export function jsonFloorConnect(makeSocket) {
  return (url) =>
    new Promise((resolve, reject) => {
      const ws = makeSocket(url);
      const pending = new Map();
      let next = 0;
      let greeted = false;
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        const id = message.header.id;
        const settle = pending.get(id);
        if (settle !== undefined) {
          pending.delete(id);
          settle(message.payload);
        } else if (!greeted) {
          greeted = true;
          resolve(adapter);
        }
      };
      const call = (command, payload) =>
        new Promise((settle) => {
          const id = String(++next);
          pending.set(id, settle);
          ws.send(JSON.stringify({ header: { command, id }, payload }));
        });
      const closed = new Promise((res) => ws.onclose = res);
      ws.onerror = (e) => reject(new Error(`json floor socket error: ${e.message ?? e}`));
      const adapter = {
        ping: () => call("demo-ping-request", { timestamp: 1 }),
        echo: (text) => call("demo-echo-request", text),
        close: async () => {
          ws.close();
          await closed;
        },
      };
    });
}
