// Benchmark client for Node (20+): `node bench/_client_node.mjs '<spec>'`.
// `spec.impl`: `raw` (`ws`, no RPC layer), `json` (the JSON floor on `ws`) or
// `rpc-websockets`. Prints one JSON line.

import process from "node:process";
import WebSocket from "ws";
import { rawConnect, runScenario } from "./_scenarios.mjs";
import { jsonFloorConnect } from "./_json_floor.mjs";

const spec = JSON.parse(process.argv[2] ?? "{}");

async function rpcWebsocketsConnect() {
  const { Client } = await import("rpc-websockets");
  return async (url) => {
    const client = new Client(url, { reconnect: false, max_reconnects: 0 });
    await new Promise((resolve, reject) => {
      client.once("open", resolve);
      client.once("error", reject);
    });
    const closed = new Promise((resolve) => client.once("close", resolve));
    return {
      ping: () => client.call("ping", { timestamp: 1 }, 60_000),
      // rpc-websockets takes params as an object or array: wrap the string.
      echo: (text) => client.call("echo", [text], 60_000),
      close: async () => {
        client.close();
        await closed;
      },
    };
  };
}

const socket = (url) => new WebSocket(url, { maxPayload: 16 * 1024 * 1024 });
const connect = spec.impl === "raw"
  ? rawConnect(socket)
  : spec.impl === "json"
  ? jsonFloorConnect(socket)
  : spec.impl === "rpc-websockets"
  ? await rpcWebsocketsConnect()
  : undefined;
if (connect === undefined) throw new Error(`unknown impl ${spec.impl}`);
const result = await runScenario(spec, connect);
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
