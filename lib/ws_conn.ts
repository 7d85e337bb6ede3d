/**
 * `WSConn`: the protocol's `APIConn` over any standard `WebSocket`.
 *
 * @module
 */

import { ConnectionClosedError } from "./errors.ts";
import { nestsDeeperThan, parseJSON, stringifyJSON, utf8LongerThan } from "./_json.ts";
import { DEFAULT_READ_LIMIT } from "./message.ts";
import type { APIConn } from "./message.ts";
import { type FrameListener, frameListeners, roomWriters } from "./_frame_listener.ts";

/**
 * The part of the standard `WebSocket` that {@linkcode WSConn} uses, so that
 * adapters (Bun's `ServerWebSocket`, a test double) can supply their own.
 *
 * @example A test double: WSConn writes, reads and closes through it
 * ```ts
 * import { WSConn, type WebSocketLike } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the peer's end of the socket.
 * class FakeSocket extends EventTarget implements WebSocketLike {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(data: unknown): void { this.dispatchEvent(new MessageEvent("message", { data })); }
 * }
 * const socket = new FakeSocket();
 * const conn = new WSConn(socket);
 * await conn.writeJSON({ header: { command: "x-ping-request", id: "0" }, payload: {} });
 * assert.deepEqual(socket.sent, ['{"header":{"command":"x-ping-request","id":"0"},"payload":{}}']);
 * socket.receive('{"big":9007199254740993}');
 * assert.deepEqual(await conn.readJSON(), { big: 9007199254740993n }); // beyond 2^53: a bigint
 * conn.close(4000, "bye");
 * assert.deepEqual(await conn.closed, { code: 4000, reason: "bye" });
 * assert.equal(socket.readyState, 3);
 * ```
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet written to the network. */
  readonly bufferedAmount: number;
  /** How binary frames are delivered. */
  binaryType: string;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Listens for `open`, `message`, `close` and `error`. */
  addEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * Options for {@linkcode WSConn}.
 *
 * @example A message over the read limit closes the connection with 1009
 * ```ts
 * import { ConnectionClosedError, WSConn, type WSConnOptions } from "@wsrpc/protocol";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the peer's end of the socket.
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(data: unknown): void { this.dispatchEvent(new MessageEvent("message", { data })); }
 * }
 * const socket = new FakeSocket();
 * const options: WSConnOptions = { readLimit: 16 };
 * const conn = new WSConn(socket, options);
 * socket.receive('{"ok":1}'); // 8 bytes
 * socket.receive('{"text":"far too long"}'); // 23 bytes
 * assert.deepEqual(await conn.readJSON(), { ok: 1 }); // what came before is still read
 * await assert.rejects(conn.readJSON(), (e) => e instanceof ConnectionClosedError && e.code === 1009);
 * assert.deepEqual(await conn.closed, { code: 1009, reason: "read limited at 16 bytes" });
 * ```
 */
export interface WSConnOptions {
  /**
   * Largest incoming message, in UTF-8 bytes. A larger one closes the
   * connection with 1009.
   *
   * @default {512 * 1024}
   */
  readLimit?: number;
  /**
   * Deepest nesting of arrays and objects in an incoming message. Deeper
   * closes the connection with 1009.
   *
   * @default {64}
   */
  maxDepth?: number;
  /**
   * Outgoing bytes the socket may hold unsent before `writeJSON` waits for the
   * peer to read (backpressure). Each queued message counts as its size plus
   * 1 KiB: the runtime's own cost per queued message (measured on Deno 2.9:
   * about 0.9 KiB), which dominates for small messages.
   *
   * @default {4 * 1024 * 1024}
   */
  writeHighWaterMark?: number;
  /**
   * How long writes may wait while the outgoing buffer stays over the
   * high-water mark without draining (no byte of it sent) before the
   * connection is closed with 1008 (the peer is not reading). Waiting writes
   * go out in order as the buffer drains; a peer that keeps reading is never
   * timed out, however many writes wait.
   *
   * @default {30_000}
   */
  writeTimeoutMs?: number;
  /**
   * Received messages waiting to be read, in bytes (each counted as its
   * length plus 64 for bookkeeping). The runtime's `WebSocket` delivers
   * messages whether or not anyone reads them, so a peer that sends while
   * nobody reads would otherwise grow this queue without end. Past the limit
   * the connection is closed with 1008 `read queue full`. A message that
   * arrives to an empty queue is always accepted, however large (up to
   * `readLimit`).
   *
   * @default {4 * 1024 * 1024}
   */
  readQueueLimit?: number;
}

/**
 * The close status of a connection (RFC 6455 §7.1.5, §7.1.6).
 *
 * @example The status a binary frame closes with
 * ```ts
 * import { WSConn } from "@wsrpc/protocol";
 * import { type CloseInfo } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * // An in-memory stand-in for the peer's end of the socket.
 * class FakeSocket extends EventTarget {
 *   readyState = 1; bufferedAmount = 0; binaryType = ""; sent: string[] = [];
 *   send(frame: string): void { this.sent.push(frame); }
 *   close(code = 1000, reason = ""): void {
 *     this.readyState = 3;
 *     this.dispatchEvent(new CloseEvent("close", { code, reason }));
 *   }
 *   receive(data: unknown): void { this.dispatchEvent(new MessageEvent("message", { data })); }
 * }
 * const socket = new FakeSocket();
 * const conn = new WSConn(socket);
 * socket.receive(new Uint8Array([1, 2, 3])); // the protocol is text only
 * const status: CloseInfo = await conn.closed;
 * assert.deepEqual(status, { code: 1003, reason: "expected text message" });
 * ```
 */
export interface CloseInfo {
  /** Close code; 1006 when the connection dropped without a close frame. */
  code: number;
  /** Close reason. */
  reason: string;
}

const OPEN = 1;
const CLOSING = 2;
/** Bytes counted per queued message on top of its length (string header, queue slot). */
const QUEUED_MESSAGE_OVERHEAD = 64;
/** Bytes counted per unsent message on top of its length: the runtime's cost per queued frame. */
const SENT_MESSAGE_OVERHEAD = 1024;
/** How often waiting writes look for room in the outgoing buffer. */
const PUMP_INTERVAL_MS = 5;
const MAX_CLOSE_REASON_BYTES = 123; // RFC 6455 §5.5: control frame payload 125, minus the code

/**
 * An {@linkcode APIConn} over a standard `WebSocket` (Go `WSConn`): one JSON
 * document per text frame, with a read limit, a nesting limit and write
 * backpressure.
 *
 * Incoming frames are queued in arrival order until read; one reader at a
 * time. Writes may overlap: each is one `send`, so frames never interleave.
 * Writes made while the socket is still connecting are sent once it opens.
 *
 * Bad input closes the connection with a defined status, and the pending or
 * next `readJSON` rejects:
 * - a binary frame: 1003 `expected text message`, {@linkcode ConnectionClosedError};
 * - a message over the read limit: 1009 `read limited at N bytes`, {@linkcode ConnectionClosedError}
 *   (a client socket that may not send 1009, as in Deno and browsers, sends 4009 with that reason);
 * - nesting deeper than `maxDepth`: 1009, {@linkcode ConnectionClosedError};
 * - text that is not JSON: 1007 `failed to unmarshal JSON`, `SyntaxError`.
 *
 * Messages received before the socket closed are still read in order; after
 * them, reads reject with {@linkcode ConnectionClosedError}.
 *
 * @example Wrapping a server-side socket in Deno
 * ```ts ignore
 * import { WSConn } from "@wsrpc/protocol";
 *
 * Deno.serve((req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   const conn = new WSConn(socket, { readLimit: 1 << 20 });
 *   (async () => {
 *     for (;;) await conn.writeJSON(await conn.readJSON()); // echo
 *   })().catch(() => conn.close());
 *   return response;
 * });
 * ```
 */
export class WSConn implements APIConn, AsyncDisposable {
  readonly #socket: WebSocketLike;
  readonly #readLimit: number;
  readonly #maxDepth: number;
  readonly #highWater: number;
  readonly #writeTimeoutMs: number;
  readonly #readQueueLimit: number;
  readonly #frames: string[] = [];
  #head = 0;
  #queuedBytes = 0;
  /** Running average size of written messages, to estimate how many are queued. */
  #averageSize = 0;
  #waiter: ((frame: string | undefined) => void) | undefined;
  #listener: FrameListener | undefined;
  #unsent: string[] | undefined;
  /** Writes waiting for room in the outgoing buffer, sent in order by one timer. */
  #writes: (QueuedWrite | undefined)[] = [];
  #writeHead = 0;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the outgoing buffer last drained (or a waiting write went out), and its size then. */
  #progressAt = 0;
  #lastBuffered = 0;
  #failure: Error | undefined;
  #closeInfo: CloseInfo | undefined;
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;

  /**
   * Wraps a socket. Attach before the first message can arrive: right after
   * `new WebSocket(...)` or `Deno.upgradeWebSocket(...)`.
   *
   * @param socket A standard `WebSocket`, open or connecting.
   * @param options Limits.
   */
  constructor(socket: WebSocketLike, options: WSConnOptions = {}) {
    this.#socket = socket;
    this.#readLimit = options.readLimit ?? DEFAULT_READ_LIMIT;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#highWater = options.writeHighWaterMark ?? 4 * 1024 * 1024;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 30_000;
    this.#readQueueLimit = options.readQueueLimit ?? 4 * 1024 * 1024;
    this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
    socket.binaryType = "arraybuffer";
    if (socket.readyState < OPEN) {
      this.#unsent = [];
      socket.addEventListener("open", () => {
        // A server-side socket ignores close() until it opens (the upgrade
        // response is not sent yet): close it now if that was asked.
        const failure = this.#failure;
        if (failure instanceof ConnectionClosedError && this.#closeInfo === undefined) {
          this.#closeSocket(failure.code, failure.reason);
        } else this.#flush();
      });
    }
    socket.addEventListener("message", (e) => this.#onMessage(e as MessageEvent));
    frameListeners.set(this, (listener) => this.#listen(listener));
    roomWriters.set(this, (text, withdrawn, failed) => {
      if (this.#failure !== undefined) failed(this.#failure);
      else this.#queueWrite({ text, withdrawn, settle: (error) => error && failed(error) });
    });
    socket.addEventListener("close", (e) => this.#onClose(e as CloseEvent));
    if (socket.readyState >= CLOSING) {
      this.#onClose({ code: 1006, reason: "" } as CloseEvent);
    }
  }

  /** Resolves with the close status once the socket has closed. */
  get closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  /** Whether the socket is open (not connecting, closing or closed). */
  get isOpen(): boolean {
    return this.#socket.readyState === OPEN && this.#failure === undefined;
  }

  /** Bytes written and not yet sent. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /**
   * Milliseconds since writes waiting for room last made progress (the
   * outgoing buffer drained, or a waiting write went out); 0 when none wait.
   */
  get writeStalledMs(): number {
    if (this.#writeHead === this.#writes.length) return 0;
    if (this.#socket.bufferedAmount < this.#lastBuffered) return 0;
    return Date.now() - this.#progressAt;
  }

  /**
   * Reads the next JSON document. Integers beyond 2^53 - 1 decode as `bigint`.
   *
   * @param signal Cancels the wait; the frame stays queued for the next read.
   * @returns The decoded document.
   * @throws {ConnectionClosedError} When the socket has closed and every earlier message was read.
   * @throws {SyntaxError} When the frame was not JSON (the connection is closed with 1007).
   */
  async readJSON(signal?: AbortSignal): Promise<unknown> {
    if (this.#listener !== undefined) {
      throw new TypeError("Cannot read: frames are delivered to a listener");
    }
    const text = this.#head < this.#frames.length ? this.#shift() : await this.#nextFrame(signal);
    if (text === undefined) throw this.#failure;
    try {
      return this.#parse(text);
    } catch (error) {
      this.#fail(1007, "failed to unmarshal JSON");
      throw error;
    }
  }

  /** Decodes one frame. @throws {SyntaxError} When it is not JSON (the caller closes with 1007). */
  #parse(text: string): unknown {
    try {
      return parseJSON(text);
    } catch (error) {
      throw new SyntaxError(`Cannot decode frame: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Writes one JSON document as one text frame. `bigint` encodes as an
   * integer. Waits while the socket's outgoing buffer is over the high-water
   * mark (writes that wait go out in call order); closes the connection with
   * 1008 when the buffer does not drain for `writeTimeoutMs`.
   *
   * @param value The document.
   * @param signal Cancels a wait for buffer space.
   * @throws {ConnectionClosedError} When the socket is closed.
   */
  async writeJSON(value: unknown, signal?: AbortSignal): Promise<void> {
    await this.writeText(stringifyJSON(value), signal);
  }

  /**
   * Writes pre-encoded JSON text as one text frame, as `writeJSON` does.
   *
   * @param text JSON text.
   * @param signal Cancels a wait for buffer space.
   * @throws {ConnectionClosedError} When the socket is closed.
   */
  async writeText(text: string, signal?: AbortSignal): Promise<void> {
    if (this.sendText(text)) return;
    await this.#enqueue(text, signal);
  }

  /**
   * Sends pre-encoded JSON text as one text frame now, without waiting: the
   * synchronous fast path of `writeText`. Sends nothing and returns false
   * when the outgoing buffer is over the high-water mark or earlier writes
   * wait for room; then call `writeText`, which waits its turn.
   *
   * @param text JSON text.
   * @returns Whether the frame was sent (or queued until the socket opens).
   * @throws {ConnectionClosedError} When the socket is closed.
   */
  sendText(text: string): boolean {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#unsent !== undefined) {
      this.#unsent.push(text);
      return true;
    }
    this.#averageSize += (text.length - this.#averageSize) / 16;
    if (this.#writeHead < this.#writes.length || this.#pressure() > this.#highWater) return false;
    this.#socket.send(text);
    return true;
  }

  /**
   * Closes the connection (RFC 6455 §7.1.2); idempotent. The reason is cut to
   * 123 UTF-8 bytes. Pending reads reject with {@linkcode ConnectionClosedError}.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  close(code = 1000, reason = ""): void {
    this.#fail(code, reason);
  }

  /**
   * Closes with a status, as Go's `CloseStatus`; the same as `close`.
   *
   * @param code The close code.
   * @param reason The close reason.
   */
  closeStatus(code: number, reason: string): void {
    this.#fail(code, reason);
  }

  /** Closes with 1000 and waits until the socket has closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#closed;
  }

  #onMessage(event: MessageEvent): void {
    if (this.#failure !== undefined) return;
    const data = event.data;
    if (typeof data !== "string") {
      this.#fail(1003, "expected text message");
      return;
    }
    if (utf8LongerThan(data, this.#readLimit)) {
      this.#fail(1009, `read limited at ${this.#readLimit} bytes`);
      return;
    }
    if (nestsDeeperThan(data, this.#maxDepth)) {
      this.#fail(1009, `JSON nested deeper than ${this.#maxDepth} levels`);
      return;
    }
    if (this.#listener !== undefined) {
      this.#emit(data);
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(data);
    } else {
      const size = data.length + QUEUED_MESSAGE_OVERHEAD;
      if (this.#head < this.#frames.length && this.#queuedBytes + size > this.#readQueueLimit) {
        this.#fail(1008, "read queue full: peer sends faster than it reads");
        this.#frames.length = 0; // hostile or broken: drop what it queued
        this.#head = 0;
        this.#queuedBytes = 0;
        return;
      }
      this.#queuedBytes += size;
      this.#frames.push(data);
    }
  }

  #onClose(event: CloseEvent): void {
    if (this.#closeInfo !== undefined) return;
    const info = { code: event.code || 1005, reason: event.reason ?? "" };
    this.#closeInfo = info;
    this.#failure ??= new ConnectionClosedError(info.code, info.reason);
    this.#unsent = undefined;
    this.#rejectWrites();
    this.#wake();
    this.#resolveClosed(info);
  }

  /** Records why the connection ends, closes the socket and wakes a reader. */
  #fail(code: number, reason: string): void {
    if (this.#failure !== undefined) return;
    const cut = truncateReason(reason);
    this.#failure = new ConnectionClosedError(code, cut);
    this.#unsent = undefined;
    this.#closeSocket(code, cut);
    this.#rejectWrites();
    this.#wake();
  }

  #closeSocket(code: number, reason: string): void {
    if (this.#socket.readyState >= CLOSING) return;
    try {
      this.#socket.close(code, reason);
      return;
    } catch {
      // A browser-style client socket (Deno's, browsers') may only send 1000
      // and 3000-4999. Send 4000 + (code - 1000) with the same reason, so the
      // peer still learns why (1009 goes out as 4009); locally it stays `code`.
    }
    try {
      if (code > 1000 && code < 2000) {
        this.#socket.close(code + 3000, reason);
        return;
      }
    } catch {
      // fall through: no code at all
    }
    this.#socket.close();
  }

  /**
   * What the unsent messages cost: `bufferedAmount` counts only their bytes,
   * so add the per-message overhead for as many messages as those bytes hold
   * at the average message size.
   */
  #pressure(): number {
    const buffered = this.#socket.bufferedAmount;
    if (buffered === 0) return 0;
    return buffered + Math.ceil(buffered / Math.max(1, this.#averageSize)) * SENT_MESSAGE_OVERHEAD;
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
    const listener = this.#listener;
    if (listener !== undefined) {
      this.#listener = undefined;
      listener.end(this.#failure);
    }
  }

  /** Switches to synchronous delivery (see `_frame_listener.ts`). */
  #listen(listener: FrameListener): void {
    if (this.#waiter !== undefined || this.#listener !== undefined) {
      throw new TypeError("Cannot listen: the connection already has a reader");
    }
    this.#listener = listener;
    while (this.#listener === listener && this.#head < this.#frames.length) {
      this.#emit(this.#shift());
    }
    if (this.#listener === listener && this.#failure !== undefined) this.#wake();
  }

  /** Decodes one frame for the listener; text that is not JSON ends the connection with 1007. */
  #emit(text: string): void {
    const listener = this.#listener!;
    let value: unknown;
    try {
      value = this.#parse(text);
    } catch (error) {
      this.#listener = undefined; // it hears of the SyntaxError, not of the close it causes
      this.#fail(1007, "failed to unmarshal JSON");
      listener.end(error);
      return;
    }
    listener.value(value, text.length);
  }

  #shift(): string {
    const frame = this.#frames[this.#head]!;
    this.#frames[this.#head++] = "";
    this.#queuedBytes -= frame.length + QUEUED_MESSAGE_OVERHEAD;
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames.splice(0, this.#head);
      this.#head = 0;
    }
    return frame;
  }

  #nextFrame(signal?: AbortSignal): Promise<string | undefined> {
    if (this.#failure !== undefined) return Promise.resolve(undefined);
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError("Cannot read: another read is pending"));
    }
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      if (signal === undefined) {
        this.#waiter = resolve;
        return;
      }
      const onAbort = () => {
        this.#waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiter = (frame) => {
        signal.removeEventListener("abort", onAbort);
        resolve(frame);
      };
    });
  }

  #flush(): void {
    const unsent = this.#unsent;
    this.#unsent = undefined;
    if (unsent === undefined || this.#failure !== undefined) return;
    for (const text of unsent) this.#socket.send(text);
  }

  /** Queues a write until the outgoing buffer has room; `signal` withdraws it. */
  #enqueue(text: string, signal?: AbortSignal): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        write.withdrawn = () => true;
        write.settle(signal!.reason);
      };
      const write: QueuedWrite = {
        text,
        settle: (error) => {
          signal?.removeEventListener("abort", onAbort);
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queueWrite(write);
    });
  }

  #queueWrite(write: QueuedWrite): void {
    if (this.#writeHead === this.#writes.length) {
      // The wait starts now: the timeout counts from here, or from the last drain.
      this.#progressAt = Date.now();
      this.#lastBuffered = this.#socket.bufferedAmount;
    }
    this.#writes.push(write);
    this.#pumpTimer ??= setTimeout(() => this.#pump(), PUMP_INTERVAL_MS);
  }

  /**
   * Sends waiting writes, in order, while the outgoing buffer has room. A
   * peer whose buffer drains at all keeps its writes; one whose buffer has
   * not drained for `writeTimeoutMs` is closed with 1008.
   */
  #pump(): void {
    this.#pumpTimer = undefined;
    if (this.#failure !== undefined) return;
    const now = Date.now();
    if (this.#socket.bufferedAmount < this.#lastBuffered) this.#progressAt = now;
    const writes = this.#writes;
    while (this.#writeHead < writes.length && this.#pressure() <= this.#highWater) {
      const write = writes[this.#writeHead]!;
      writes[this.#writeHead++] = undefined;
      if (write.withdrawn?.()) continue;
      this.#socket.send(write.text);
      this.#progressAt = now;
      write.settle();
    }
    this.#lastBuffered = this.#socket.bufferedAmount;
    if (this.#writeHead === writes.length) {
      this.#writes = [];
      this.#writeHead = 0;
      return;
    }
    if (this.#writeHead > 1024 && this.#writeHead * 2 > writes.length) {
      writes.splice(0, this.#writeHead);
      this.#writeHead = 0;
    }
    if (now - this.#progressAt >= this.#writeTimeoutMs) {
      this.#fail(1008, "write timed out: peer is not reading");
      return;
    }
    // Draining: look again at once; stalled: poll.
    const wait = this.#progressAt === now ? 0 : PUMP_INTERVAL_MS;
    this.#pumpTimer = setTimeout(() => this.#pump(), wait);
  }

  /** Rejects every waiting write with the reason the connection ended. */
  #rejectWrites(): void {
    clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    const writes = this.#writes;
    const head = this.#writeHead;
    this.#writes = [];
    this.#writeHead = 0;
    for (let i = head; i < writes.length; i++) writes[i]?.settle(this.#failure);
  }
}

/** A write waiting for room in the outgoing buffer. */
interface QueuedWrite {
  text: string;
  settle(error?: unknown): void;
  /** True once nobody waits for the write: it is skipped. */
  withdrawn?: (() => boolean) | undefined;
}

/** Cuts a close reason to 123 UTF-8 bytes without splitting a character. */
function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let end = MAX_CLOSE_REASON_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to a character start
  return new TextDecoder().decode(bytes.subarray(0, end));
}
