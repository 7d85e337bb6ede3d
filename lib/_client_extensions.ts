/**
 * The client's side of the wsrpc extensions, for `Conn`: accepting an offer
 * with the hello, the trace context on requests, cancels and the late
 * responses they leave, and describe responses. Conn calls it at four
 * points: after the first message (`negotiate`), when encoding a request
 * (`encode`), on each incoming frame (`intercept`), and when a call is
 * abandoned (`cancel`).
 */

import type { CallTable } from "./_call_table.ts";
import type { CallOptions } from "./conn_options.ts";
import {
  clientAccept,
  encodeHello,
  type ExtensionName,
  offerOf,
  reservedCommand,
} from "./_extensions.ts";
import { CancelledIDs, encodeCancel } from "./_cancel.ts";
import { DESCRIBE_RESPONSE } from "./_describe.ts";
import { encodeTraced, validTrace } from "./_trace.ts";
import { encodeMessage } from "./framing.ts";
import { stringifyJSON } from "./_json.ts";
import type { TraceContext } from "./message.ts";
import type { FrameSocket } from "./_frames.ts";
import { TopicPositions } from "./_topic_client.ts";
import type { TopicGap } from "./topics.ts";

/** The extensions this client can use when a server offers them. */
const IMPLEMENTED: readonly ExtensionName[] = ["cancel", "describe", "trace", "topics"];

/** One Conn's extension state; `accepted` is per connection. */
export class ClientExtensions {
  /** The extensions negotiated on the current connection (none with a Go server). */
  accepted: readonly ExtensionName[] = [];
  /** Whether `trace` was negotiated (read on every call). */
  tracing = false;
  /** The last position seen per topic, kept across connections for `wsrpc-resume`. */
  readonly topics: TopicPositions;
  /** Whether the current connection negotiated "topics" (its pushes carry positions). */
  #topicKeys = false;
  readonly #wanted: readonly string[] | undefined;
  readonly #trace: (() => TraceContext | undefined) | undefined;
  readonly #calls: CallTable;
  /** Calls cancelled on the server whose late response is dropped. */
  readonly #cancelled = new CancelledIDs();
  #describes = 0;

  constructor(
    wanted: readonly string[] | undefined,
    trace: (() => TraceContext | undefined) | undefined,
    calls: CallTable,
    onTopicGap: ((gap: TopicGap) => void) | undefined,
  ) {
    this.#wanted = wanted;
    this.#trace = trace;
    this.#calls = calls;
    this.topics = new TopicPositions(onTopicGap);
  }

  /** After the server's first message: accepts its offer with a hello on `ws` (nothing when none). */
  negotiate(first: unknown, ws: FrameSocket): void {
    const accepted = clientAccept(offerOf(first), this.#wanted, IMPLEMENTED);
    if (accepted.length > 0) ws.writeText(encodeHello(accepted)).catch(() => {});
    this.accepted = accepted;
    this.tracing = accepted.includes("trace");
    this.#topicKeys = accepted.includes("topics");
    // After a reconnect, the server replays what this client missed of its topics.
    const resume = this.#topicKeys ? this.topics.resumeFrame() : undefined;
    if (resume !== undefined) ws.writeText(resume).catch(() => {});
  }

  /** The connection ended: nothing is negotiated until the next one. */
  reset(): void {
    this.accepted = [];
    this.tracing = false;
    this.#topicKeys = false;
  }

  /** A request frame, with the call's (or the hook's) trace context when `trace` is on and it is valid. */
  encode(command: string, id: string, payload: unknown, options: CallOptions): string {
    if (!this.tracing) return encodeMessage(command, id, payload);
    const trace = options.trace ?? this.#trace?.();
    const valid = trace && validTrace(trace.traceparent, trace.tracestate);
    return valid
      ? encodeTraced(command, id, stringifyJSON(payload), valid)
      : encodeMessage(command, id, payload);
  }

  /** An id for a describe request, apart from the user's "1", "2", ... */
  describeID(): string {
    return `describe-${++this.#describes}`;
  }

  /**
   * An incoming frame, before the inbox: true when it was the extensions'
   * (a topic gap, reported; a late response to a cancelled call, dropped; a
   * describe response, settled without decoding against the API). A topic
   * push has its position recorded and goes on to the inbox.
   */
  intercept(raw: unknown): boolean {
    if (this.#topicKeys && this.topics.receive(raw)) return true;
    if (this.#cancelled.size > 0 && this.#cancelled.drop(raw)) return true;
    if (this.accepted.length === 0 || reservedCommand(raw) !== DESCRIBE_RESPONSE) return false;
    const { header, payload } = raw as { header: { id?: unknown }; payload?: unknown };
    const id = typeof header.id === "string" ? header.id : "";
    this.#calls.settle({ command: DESCRIBE_RESPONSE, id, payload: payload ?? null }, undefined);
    return true;
  }

  /** Tells the server, when it took `cancel`, that call `id` sent on `ws` (still current) is abandoned. */
  cancel(ws: FrameSocket, id: string): void {
    if (!this.accepted.includes("cancel")) return;
    this.#cancelled.add(id);
    const text = encodeCancel(id);
    try {
      if (!ws.sendText(text)) ws.writeText(text).catch(() => {});
    } catch {
      // closed: the server aborts every handler of the session anyway
    }
  }
}
