/**
 * The `cancel` extension: a client whose call's signal aborts or whose
 * timeout passes sends `{"header":{"command":"wsrpc-cancel"},"payload":{"id":"17"}}`;
 * the server aborts that request's handler `signal`. No response is owed
 * for a cancelled call, and the client drops one that comes late.
 */

import { InvalidCommandError } from "./errors.ts";
import type { ExtensionCommand, ExtensionFrame } from "./_extensions.ts";

/** The reserved command. */
export const CANCEL_COMMAND = "wsrpc-cancel";
/** Ids longer than this cannot be in flight (the server bounds nothing else). */
const MAX_ID_LENGTH = 256;

/** The cancel frame for request `id`. */
export function encodeCancel(id: string): string {
  return `{"header":{"command":"${CANCEL_COMMAND}"},"payload":{"id":${JSON.stringify(id)}}}`;
}

/** The reason a cancelled handler's signal carries. */
export function cancelledError(): DOMException {
  return new DOMException("Request cancelled by the client", "AbortError");
}

/** A server session's cancellable requests in flight, by id. */
export class InFlightRequests implements ExtensionCommand {
  readonly #byID = new Map<string, AbortController>();

  /** Registers the request `id`, in flight past its synchronous part. */
  add(id: string, controller: AbortController): void {
    this.#byID.set(id, controller);
  }

  /** Forgets `id` if `controller` is still the one registered under it. */
  delete(id: string, controller: AbortController): void {
    if (this.#byID.get(id) === controller) this.#byID.delete(id);
  }

  /**
   * A `wsrpc-cancel` frame: aborts the request under `payload.id`; an
   * unknown or finished id is ignored.
   *
   * @throws {InvalidCommandError} When the payload has no string `id` (1008).
   */
  handle(frame: ExtensionFrame): void {
    const id = (frame.payload as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || id.length > MAX_ID_LENGTH) {
      throw new InvalidCommandError(`${CANCEL_COMMAND}: "id" must be a string`, {
        command: CANCEL_COMMAND,
      });
    }
    const controller = this.#byID.get(id);
    if (controller === undefined) return;
    this.#byID.delete(id);
    controller.abort(cancelledError());
  }
}

/**
 * The ids a client cancelled whose late response it must drop (not queue
 * as a push), bounded: the oldest are forgotten past `limit`.
 */
export class CancelledIDs {
  readonly #ids = new Set<string>();
  readonly #limit: number;

  constructor(limit = 1024) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#ids.size;
  }

  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > this.#limit) this.#ids.delete(this.#ids.values().next().value!);
  }

  /** Whether `raw` is the late response to a cancelled call (forgotten once seen). */
  drop(raw: unknown): boolean {
    const id = (raw as { header?: { id?: unknown } } | null)?.header?.id;
    return typeof id === "string" && this.#ids.delete(id);
  }

  clear(): void {
    this.#ids.clear();
  }
}
