/**
 * The frame layer below `WSConn`, `Conn` and `Server`: one JSON document per
 * text frame over a {@linkcode WebSocketLike}, with the read limit, the
 * nesting limit, the read queue, write backpressure, writes made while
 * connecting, and the close-code fallback of client sockets. Frames are
 * delivered by pull (`readJSON`) or pushed to a listener (`listen`), which is
 * how `Conn` and `Server` take them: synchronously, in the socket's own
 * message event, without a promise per message.
 *
 * @module
 */

import { CloseCode } from "./close_code.ts";
import { ConnectionClosedError } from "./errors.ts";
import { nestsDeeperThan, parseJSON, stringifyJSON, utf8LongerThan } from "./_json.ts";
import { type APIConn, DEFAULT_READ_LIMIT } from "./message.ts";
import type { CloseInfo, WebSocketLike, WSConnOptions } from "./_socket.ts";
import { WriteQueue } from "./_write_queue.ts";

/**
 * What a listener gets: each decoded JSON document with its frame's length
 * (UTF-16 code units, as the read queue counts it), then once the reason it ended.
 */
export interface FrameListener {
  value(value: unknown, length: number): void;
  end(error: unknown): void;
}

const OPEN = 1;
const CLOSING = 2;
/** Bytes counted per queued message on top of its length (string header, queue slot). */
const QUEUED_MESSAGE_OVERHEAD = 64;
const MAX_CLOSE_REASON_BYTES = 123; // RFC 6455 §5.5: control frame payload 125, minus the code

/**
 * One JSON document per text frame over a socket (the engine of the public
 * `WSConn`). Incoming frames queue in arrival order until read, one reader at
 * a time, or go to one listener. Writes may overlap: each is one `send`.
 * Bad input closes the connection: a binary frame with 1003, a message over
 * `readLimit` or nested deeper than `maxDepth` with 1009, text that is not
 * JSON with 1007, a peer that sends past `readQueueLimit` while nobody reads
 * with 1008, a peer that does not read for `writeTimeoutMs` with 1008.
 */
export class FrameSocket implements APIConn {
  readonly #socket: WebSocketLike;
  readonly #readLimit: number;
  readonly #maxDepth: number;
  readonly #readQueueLimit: number;
  readonly #frames: string[] = [];
  #head = 0;
  #queuedBytes = 0;
  #waiter: ((frame: string | undefined) => void) | undefined;
  #listener: FrameListener | undefined;
  #unsent: string[] | undefined;
  readonly #out: WriteQueue;
  #failure: Error | undefined;
  #closeInfo: CloseInfo | undefined;
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;

  /** Wraps a socket, open or connecting, before its first message can arrive. */
  constructor(socket: WebSocketLike, options: WSConnOptions = {}) {
    this.#socket = socket;
    this.#readLimit = options.readLimit ?? DEFAULT_READ_LIMIT;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#readQueueLimit = options.readQueueLimit ?? 4 * 1024 * 1024;
    this.#out = new WriteQueue(
      socket,
      options.writeHighWaterMark ?? 4 * 1024 * 1024,
      options.writeTimeoutMs ?? 30_000,
      () => this.#fail(CloseCode.PolicyViolation, "write timed out: peer is not reading"),
    );
    this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
    socket.binaryType = "arraybuffer";
    if (socket.readyState < OPEN) {
      this.#unsent = [];
      socket.addEventListener("open", () => {
        // A server-side socket ignores close() until it opens (the upgrade
        // response is not sent yet): close it now if that was asked.
        const failure = this.#failure;
        if (failure instanceof ConnectionClosedError && this.#closeInfo === undefined) {
          closeSocket(socket, failure.code, failure.reason);
        } else this.#flush();
      });
    }
    socket.addEventListener("message", (e) => this.#onMessage(e as MessageEvent));
    socket.addEventListener("close", (e) => this.#onClose(e as CloseEvent));
    if (socket.readyState >= CLOSING) {
      this.#onClose({ code: CloseCode.AbnormalClosure, reason: "" } as CloseEvent);
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

  /** Milliseconds since waiting writes last made progress; 0 when none wait. */
  get writeStalledMs(): number {
    return this.#out.stalledMs;
  }

  /** Reads the next JSON document; text that is not JSON closes with 1007 and throws `SyntaxError`. */
  async readJSON(signal?: AbortSignal): Promise<unknown> {
    if (this.#listener !== undefined) {
      throw new TypeError("Cannot read: frames are delivered to a listener");
    }
    const text = this.#head < this.#frames.length ? this.#shift() : await this.#nextFrame(signal);
    if (text === undefined) throw this.#failure;
    try {
      return parseFrame(text);
    } catch (error) {
      this.#fail(CloseCode.InvalidPayload, "failed to unmarshal JSON");
      throw error;
    }
  }

  /**
   * Delivers frames to `listener` from now on: first those already queued,
   * then each as it arrives, in the socket's message event; then, once, why
   * the connection ended (a `SyntaxError` for text that is not JSON, which
   * also closes with 1007). `readJSON` may not be used meanwhile.
   */
  listen(listener: FrameListener): void {
    if (this.#waiter !== undefined || this.#listener !== undefined) {
      throw new TypeError("Cannot listen: the connection already has a reader");
    }
    this.#listener = listener;
    while (this.#listener === listener && this.#head < this.#frames.length) {
      this.#emit(this.#shift());
    }
    if (this.#listener === listener && this.#failure !== undefined) this.#wake();
  }

  /** Writes one JSON document as one text frame (see `writeText`). */
  async writeJSON(value: unknown, signal?: AbortSignal): Promise<void> {
    await this.writeText(stringifyJSON(value), signal);
  }

  /**
   * Writes JSON text as one text frame; waits in call order while the
   * outgoing buffer is over the high-water mark. `signal` withdraws the wait.
   */
  async writeText(text: string, signal?: AbortSignal): Promise<void> {
    if (this.sendText(text)) return;
    await this.#out.wait(text, signal);
  }

  /**
   * Sends now, without waiting; false (nothing sent) when the outgoing buffer
   * is over the high-water mark or earlier writes wait for room.
   * @throws {ConnectionClosedError} When the connection has ended.
   */
  sendText(text: string): boolean {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#unsent !== undefined) {
      this.#unsent.push(text);
      return true;
    }
    return this.#out.trySend(text);
  }

  /**
   * Queues `text` behind earlier waiting writes, to be sent once the outgoing
   * buffer has room, unless `withdrawn()` is true by then; `failed` hears why
   * if the connection ends first. The cheap form of `writeText(text, signal)`
   * for many writes: no signal and no promise each.
   */
  queueText(text: string, withdrawn: () => boolean, failed: (error: unknown) => void): void {
    if (this.#failure !== undefined) failed(this.#failure);
    else this.#out.add({ text, withdrawn, settle: (error) => error && failed(error) });
  }

  /** Closes (idempotent); the reason is cut to 123 UTF-8 bytes. Reads then reject. */
  close(code: number = CloseCode.Normal, reason = ""): void {
    this.#fail(code, reason);
  }

  #onMessage(event: MessageEvent): void {
    if (this.#failure !== undefined) return;
    const data = event.data;
    if (typeof data !== "string") {
      this.#fail(CloseCode.UnsupportedData, "expected text message");
      return;
    }
    if (utf8LongerThan(data, this.#readLimit)) {
      this.#fail(CloseCode.MessageTooBig, `read limited at ${this.#readLimit} bytes`);
      return;
    }
    if (nestsDeeperThan(data, this.#maxDepth)) {
      this.#fail(CloseCode.MessageTooBig, `JSON nested deeper than ${this.#maxDepth} levels`);
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
        this.#fail(CloseCode.PolicyViolation, "read queue full: peer sends faster than it reads");
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
    const info = { code: event.code || CloseCode.NoStatusReceived, reason: event.reason ?? "" };
    this.#closeInfo = info;
    this.#failure ??= new ConnectionClosedError(info.code, info.reason);
    this.#unsent = undefined;
    this.#out.fail(this.#failure);
    this.#wake();
    this.#resolveClosed(info);
  }

  /** Records why the connection ends, closes the socket and wakes a reader. */
  #fail(code: number, reason: string): void {
    if (this.#failure !== undefined) return;
    const cut = truncateReason(reason);
    this.#failure = new ConnectionClosedError(code, cut);
    this.#unsent = undefined;
    closeSocket(this.#socket, code, cut);
    this.#out.fail(this.#failure);
    this.#wake();
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

  /** Decodes one frame for the listener; text that is not JSON ends the connection with 1007. */
  #emit(text: string): void {
    const listener = this.#listener!;
    let value: unknown;
    try {
      value = parseFrame(text);
    } catch (error) {
      this.#listener = undefined; // it hears of the SyntaxError, not of the close it causes
      this.#fail(CloseCode.InvalidPayload, "failed to unmarshal JSON");
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
    for (const text of unsent) this.#out.sendNow(text);
  }
}

/** Decodes one frame. @throws {SyntaxError} When it is not JSON (the caller closes with 1007). */
function parseFrame(text: string): unknown {
  try {
    return parseJSON(text);
  } catch (error) {
    throw new SyntaxError(`Cannot decode frame: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Closes `socket` with `code`. A browser-style client socket (Deno's,
 * browsers') may only send 1000 and 3000-4999: it sends 4000 + (code - 1000)
 * with the same reason instead, so the peer still learns why (1009 goes out
 * as 4009), and failing that no code at all.
 */
function closeSocket(socket: WebSocketLike, code: number, reason: string): void {
  if (socket.readyState >= CLOSING) return;
  try {
    socket.close(code, reason);
    return;
  } catch {
    // not a code this socket may send: try the 4000 + n form
  }
  try {
    if (code > 1000 && code < 2000) {
      socket.close(code + 3000, reason);
      return;
    }
  } catch {
    // fall through: no code at all
  }
  socket.close();
}

/** Cuts a close reason to 123 UTF-8 bytes without splitting a character. */
export function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  let end = MAX_CLOSE_REASON_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to a character start
  return new TextDecoder().decode(bytes.subarray(0, end));
}
