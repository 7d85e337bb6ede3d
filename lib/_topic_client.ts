/**
 * The client's side of the "topics" extension: the last position seen per
 * topic (from the topic, seq and epoch header keys of topic pushes), the
 * `wsrpc-resume` frame sent after a reconnect, and `wsrpc-gap` frames handed
 * to the user's `onTopicGap`. Only used on a connection whose hello accepted
 * "topics": against a Go server nothing here runs.
 */

import type { BusPosition, TopicGap } from "./topics.ts";

/** The client's resume frame command. */
export const RESUME_COMMAND = "wsrpc-resume";
/** The server's gap frame command. */
export const GAP_COMMAND = "wsrpc-gap";
/** Topics one resume may name; the server refuses more. */
export const MAX_RESUME_TOPICS = 1024;

/** Positions per topic, kept across reconnects by one Conn. */
export class TopicPositions {
  readonly #positions = new Map<string, BusPosition>();
  readonly #onGap: ((gap: TopicGap) => void) | undefined;

  constructor(onGap: ((gap: TopicGap) => void) | undefined) {
    this.#onGap = onGap;
  }

  /** The last position seen per topic. */
  get positions(): ReadonlyMap<string, BusPosition> {
    return this.#positions;
  }

  /**
   * One incoming frame on a connection that negotiated "topics": true when
   * it was a `wsrpc-gap` (consumed here), false for every other frame (a
   * topic push updates its topic's position and goes on as a push).
   */
  receive(raw: unknown): boolean {
    const header = (raw as { header?: Record<string, unknown> } | null)?.header;
    if (header === undefined || header === null) return false;
    const { topic, seq, epoch } = header;
    if (typeof topic === "string" && typeof seq === "number" && typeof epoch === "string") {
      this.#positions.set(topic, { seq, epoch });
      return false;
    }
    if (header.command !== GAP_COMMAND) return false;
    const gap = (raw as { payload?: unknown }).payload as Partial<TopicGap> | null;
    if (typeof gap?.topic !== "string" || typeof gap.epoch !== "string") return true;
    const reason = gap.reason ?? "lost";
    // After a gap, the topic goes on from the start of the epoch named;
    // a refused topic is no longer subscribed: forget it.
    if (reason === "refused") this.#positions.delete(gap.topic);
    else this.#positions.set(gap.topic, { seq: 0, epoch: gap.epoch });
    this.#onGap?.({ topic: gap.topic, epoch: gap.epoch, reason });
    return true;
  }

  /** Forgets a topic: it is not resumed on the next reconnect. */
  forget(topic: string): void {
    this.#positions.delete(topic);
  }

  /** The `wsrpc-resume` frame for every known topic, or undefined for none. */
  resumeFrame(): string | undefined {
    if (this.#positions.size === 0) return undefined;
    const topics = [...this.#positions].slice(-MAX_RESUME_TOPICS)
      .map(([topic, { seq, epoch }]) => ({ topic, seq, epoch }));
    return `{"header":{"command":"${RESUME_COMMAND}"},"payload":${JSON.stringify({ topics })}}`;
  }
}
