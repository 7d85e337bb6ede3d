/**
 * An in-memory pair of linked {@linkcode WebSocketLike} sockets for tests, so
 * that `WSConn`, `Conn` and `Server` can be tested without binding a port
 * (capnweb's `TestTransport`, coder's `wstest.Pipe`). What one end sends, the
 * other receives as a `message` event in a later task, in order; a close
 * reaches the peer after the messages sent before it, as on the wire.
 *
 * Hooks for what real sockets do to a program:
 * - `hold()` / `release()`: the peer stops / resumes reading this end's
 *   frames; held frames count in `bufferedAmount`, as unsent bytes do.
 * - `inject(data)`: a frame arrives from the peer as if it had sent it
 *   (text or binary), bypassing the peer.
 * - `drop()`: the connection dies without a close frame (1006 on both ends).
 * - `open()`: a pair made with `{ connecting: true }` opens.
 *
 * Use: `const [client, server] = socketPair(); server.serveSocket(server)` on
 * a `Server`, and `new Conn(url, { webSocket: () => client })`.
 */

import type { WebSocketLike } from "../lib/ws_conn.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const encoder = new TextEncoder();

type Frame = string | ArrayBuffer;

function sizeOf(frame: Frame): number {
  return typeof frame === "string" ? encoder.encode(frame).length : frame.byteLength;
}

/** One end of a {@linkcode socketPair}. */
export class TestSocket extends EventTarget implements WebSocketLike {
  /** Which end: `"client"` or `"server"`. */
  readonly side: "client" | "server";
  readyState: number;
  binaryType = "blob";
  /** Every frame this end sent, in order. */
  readonly sent: Frame[] = [];
  /** The close status this end received or sent, once closed. */
  closeStatus: { code: number; reason: string } | undefined;
  /** The close this end asked for (it reaches the peer after the frames sent before it). */
  closeSent: { code: number; reason: string } | undefined;
  peer!: TestSocket;
  #held = false;
  /** Frames sent and not yet delivered (held, or waiting for the next task). */
  readonly #outbox: Frame[] = [];
  #unsentBytes = 0;
  #scheduled = false;
  #closeAfterOutbox: { code: number; reason: string } | undefined;

  constructor(side: "client" | "server", connecting: boolean) {
    super();
    this.side = side;
    this.readyState = connecting ? CONNECTING : OPEN;
  }

  /** Bytes sent and not yet delivered to the peer. */
  get bufferedAmount(): number {
    return this.#unsentBytes;
  }

  send(data: string): void {
    if (this.readyState === CONNECTING) {
      throw new DOMException("Cannot send while connecting", "InvalidStateError");
    }
    if (this.readyState !== OPEN) return; // as browsers do: dropped once closing
    this.sent.push(data);
    this.#outbox.push(data);
    this.#unsentBytes += sizeOf(data);
    this.#schedule();
  }

  close(code?: number, reason = ""): void {
    if (code !== undefined && !closeCodeAllowed(this.side, code)) {
      throw new DOMException(`Invalid close code ${code}`, "InvalidAccessError");
    }
    this.closeFrame(code ?? 1005, reason);
  }

  /** Starts the closing handshake with any code (a server-side socket's freedom). */
  closeFrame(code: number, reason = ""): void {
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    this.closeSent = { code, reason };
    this.#closeAfterOutbox = { code, reason };
    this.#schedule();
  }

  /** The peer stops reading this end's frames: they stay in `bufferedAmount`. */
  hold(): void {
    this.#held = true;
  }

  /** The peer reads again: held frames are delivered. */
  release(): void {
    this.#held = false;
    this.#schedule();
  }

  /** A frame arrives on this end as if the peer had sent it. */
  inject(data: Frame): void {
    queueTask(() => this.#receive(data));
  }

  /** Opens a pair made with `{ connecting: true }`. */
  open(): void {
    for (const end of [this, this.peer]) {
      if (end.readyState !== CONNECTING) continue;
      end.readyState = OPEN;
      queueTask(() => end.dispatchEvent(new Event("open")));
    }
  }

  /** The connection dies: both ends close with 1006 and no reason, undelivered frames are lost. */
  drop(): void {
    for (const end of [this, this.peer]) {
      end.#outbox.length = 0;
      end.#unsentBytes = 0;
      end.#closeAfterOutbox = undefined;
      if (end.readyState === CLOSED) continue;
      end.readyState = CLOSED;
      queueTask(() => end.#closed(1006, ""));
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueTask(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    // One frame per task, as a runtime dispatches one message event per task
    // (with a microtask checkpoint after each).
    if (!this.#held && this.#outbox.length > 0) {
      const frame = this.#outbox.shift()!;
      this.#unsentBytes -= sizeOf(frame);
      this.peer.#receive(frame);
      if (this.#outbox.length > 0 || this.#closeAfterOutbox !== undefined) this.#schedule();
      return;
    }
    const close = this.#closeAfterOutbox;
    if (close === undefined || this.#outbox.length > 0) return;
    this.#closeAfterOutbox = undefined;
    // The peer answers the close frame with the same status (RFC 6455 §5.5.1).
    for (const end of [this.peer, this]) {
      if (end.readyState === CLOSED) continue;
      end.readyState = CLOSED;
      end.#closed(close.code, close.reason);
    }
  }

  #receive(frame: Frame): void {
    if (this.readyState !== OPEN) return;
    const data = typeof frame === "string" || this.binaryType === "arraybuffer"
      ? frame
      : new Blob([frame]);
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  #closed(code: number, reason: string): void {
    this.closeStatus = { code, reason };
    if (code === 1006) this.dispatchEvent(new Event("error"));
    this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
  }

  override addEventListener(type: string, listener: (event: Event) => void): void {
    super.addEventListener(type, listener);
  }
}

/**
 * A client socket allows only what the WHATWG `WebSocket.close` allows (1000,
 * 3000-4999); a server socket any code a close frame may carry (RFC 6455 §7.4).
 */
function closeCodeAllowed(side: "client" | "server", code: number): boolean {
  if (code === 1000 || (code >= 3000 && code <= 4999)) return true;
  return side === "server" && code >= 1001 && code <= 1014 && ![1004, 1005, 1006].includes(code);
}

function queueTask(task: () => void): void {
  setTimeout(task, 0);
}

/**
 * Makes two linked sockets.
 *
 * @param options `connecting`: both ends start CONNECTING until `open()`.
 * @returns `[client, server]`.
 */
export function socketPair(options: { connecting?: boolean } = {}): [TestSocket, TestSocket] {
  const connecting = options.connecting ?? false;
  const client = new TestSocket("client", connecting);
  const server = new TestSocket("server", connecting);
  client.peer = server;
  server.peer = client;
  return [client, server];
}
