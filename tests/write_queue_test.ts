// WriteQueue (lib/_write_queue.ts): direct sends within the high-water mark,
// with `bufferedAmount` read only when the bound on the pressure nears it.
import assert from "node:assert/strict";
import { WriteQueue } from "../lib/_write_queue.ts";
import type { WebSocketLike } from "../lib/_socket.ts";

/** A socket that never drains; counts reads of `bufferedAmount`. */
function stuckSocket() {
  const socket = {
    held: 0,
    reads: 0,
    sent: [] as string[],
    readyState: 1,
    binaryType: "arraybuffer",
    get bufferedAmount() {
      socket.reads++;
      return socket.held;
    },
    send(text: string) {
      socket.sent.push(text);
      socket.held += new TextEncoder().encode(text).length;
    },
    close() {},
    addEventListener() {},
  };
  return socket;
}

Deno.test("WriteQueue: refuses once the unsent bytes pass the mark, reading the buffer rarely", () => {
  const socket = stuckSocket();
  const queue = new WriteQueue(socket as unknown as WebSocketLike, 1_000_000, 30_000, () => {});
  const text = "x".repeat(1000);
  let sent = 0;
  while (queue.trySend(text)) sent++;
  // The pressure counts bytes plus 1 KiB per message: 1,000,000 / 2,024 ≈ 494 fit.
  assert.ok(sent >= 480 && sent <= 500, `sent ${sent}`);
  assert.equal(socket.sent.length, sent);
  // The bound grows by 3 bytes per unit + 1 KiB per send: about 4,000 per
  // message, so the buffer is read about every 250 sends early on, and on
  // each send only near the mark.
  assert.ok(socket.reads < sent / 4, `${socket.reads} reads for ${sent} sends`);
  assert.equal(queue.trySend(text), false, "still full");
});

Deno.test("WriteQueue: multibyte text is bounded by its UTF-8 size, never under-counted", () => {
  const socket = stuckSocket();
  const queue = new WriteQueue(socket as unknown as WebSocketLike, 100_000, 30_000, () => {});
  const text = "€".repeat(1000); // 3,000 UTF-8 bytes per message
  while (queue.trySend(text));
  // Refused only once the real pressure (bytes + 1 KiB per message) passed the mark.
  const messages = socket.sent.length;
  assert.ok(socket.held + messages * 1024 > 100_000 - 4096, `held ${socket.held}`);
  assert.ok(socket.held <= 100_000, `over the mark: ${socket.held}`);
});

Deno.test("WriteQueue: writes sent while connecting count toward the bound", () => {
  const socket = stuckSocket();
  const queue = new WriteQueue(socket as unknown as WebSocketLike, 50_000, 30_000, () => {});
  for (let i = 0; i < 20; i++) queue.sendNow("y".repeat(5_000)); // 100 kB, past the mark
  assert.equal(queue.trySend("z"), false, "the bound includes the connecting writes");
});
