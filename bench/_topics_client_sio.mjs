// A socket.io client process of the fan-out benchmark, on Node:
// `node bench/_topics_client_sio.mjs`. The protocol on stdin and stdout is
// bench/_topics_core.mjs's; each subscriber is one socket.io-client 4.8 socket
// (WebSocket transport, no reconnection) that joined the topic's room.

import { createRequire } from "node:module";
import { runClient } from "./_topics_core.mjs";

const require = createRequire(
  new URL("../examples/cluster/package.json", import.meta.url),
);
const { io } = require("socket.io-client");

await runClient(async (url, onEvent) => {
  const socket = io(url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
  });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  socket.on("event", onEvent);
  return {
    subscribe: (topic) => socket.timeout(60_000).emitWithAck("watch", topic),
    // Acknowledged, as a wsrpc publish is a call with a response.
    publish: (topic, event) => socket.emit("publish", topic, event, () => {}),
    close: () => {
      socket.disconnect();
      return Promise.resolve();
    },
  };
});
