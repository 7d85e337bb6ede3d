/**
 * The client's inbox: each incoming message is decoded against the API and
 * then settles its call or is queued as a push, in arrival order even when a
 * schema validates asynchronously.
 */

import type { API } from "./api.ts";
import type { CallTable } from "./_call_table.ts";
import type { PushQueue } from "./_push_queue.ts";
import { decodeMessage, type Incoming } from "./framing.ts";

/** Routes decoded messages to the call table, or else to the push queue. */
export class Inbox {
  readonly #api: API;
  readonly #calls: CallTable;
  readonly #pushes: PushQueue;
  /** Messages whose (asynchronous) validation is under way, and the chain that orders them. */
  #decoding = 0;
  #decoded: Promise<void> = Promise.resolve();

  constructor(api: API, calls: CallTable, pushes: PushQueue) {
    this.#api = api;
    this.#calls = calls;
    this.#pushes = pushes;
  }

  /**
   * One incoming message (its frame `length` long), delivered synchronously
   * from the socket's message event. While an asynchronous schema is
   * validating, later messages wait behind it.
   */
  receive(raw: unknown, length: number): void {
    let decoded: Incoming | Promise<Incoming> | undefined;
    let error: unknown;
    try {
      decoded = decodeMessage(this.#api, raw);
    } catch (e) {
      error = e;
    }
    if (this.#decoding === 0 && !(decoded instanceof Promise)) {
      this.#route(raw, length, decoded, error);
      return;
    }
    this.#decoding++;
    this.#decoded = this.#decoded
      .then(() => decoded)
      .then(
        (message) => this.#route(raw, length, message, error),
        (e) => this.#route(raw, length, undefined, e),
      )
      .finally(() => this.#decoding--);
  }

  #route(raw: unknown, length: number, message: Incoming | undefined, error: unknown): void {
    if (!this.#calls.settle(message, error)) this.#pushes.push(raw, length, message, error);
  }
}
