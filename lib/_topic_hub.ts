/**
 * A server's side of its bus: which of its sessions are subscribed to which
 * topic, fan-out of the bus's messages to them through each session's
 * bounded write path, broadcast, and replay of a topic's missed messages to
 * a session that resumes it (the "topics" extension).
 */

import { InvalidCommandError } from "./errors.ts";
import type { ExtensionCommand } from "./_extensions.ts";
import { stringifyJSON } from "./_json.ts";
import { MAX_RESUME_TOPICS, RESUME_COMMAND } from "./_topic_client.ts";
import type { Bus, BusListener, BusMessage, BusPosition } from "./topics.ts";

/** The topic every instance listens on for `broadcast`: not a name a user can pass. */
export const BROADCAST_TOPIC = "\u0000broadcast";
/** Longest topic name, in UTF-16 units. */
export const MAX_TOPIC_LENGTH = 1024;
/** Live messages held for a session while its replay is read, before it is told of a gap instead. */
const CATCH_UP_LIMIT = 10_000;

/** What the hub needs of a served session. */
export interface TopicSubscriber {
  /** Its topics; made by the hub on the first subscribe. */
  topics: Set<string> | undefined;
  /** Whether it negotiated the "topics" extension: its pushes carry topic, seq and epoch. */
  readonly topicKeys: boolean;
  /** Sends one frame through the session's bounded write path; ignores a closed session. */
  deliver(text: string): void;
}

/** Why a session is told of a gap (`wsrpc-gap`'s `reason`). */
export type GapReason = "expired" | "refused" | "lost" | "overflow";

/** The frame of a topic push for a session that negotiated "topics". */
export function keyedPush(message: BusMessage): string {
  return `{"header":{"command":${JSON.stringify(message.command)},"topic":${
    JSON.stringify(message.topic)
  },"seq":${message.seq},"epoch":${JSON.stringify(message.epoch)}},"payload":${message.payload}}`;
}

/** The frame of a push for a session that did not negotiate "topics" (what Go peers read). */
export function plainPush(command: string, payload: string): string {
  return `{"header":{"command":${JSON.stringify(command)}},"payload":${payload}}`;
}

/** The `wsrpc-gap` frame: messages of `topic` before `epoch`'s next one may be missing. */
export function gapFrame(topic: string, epoch: string, reason: GapReason): string {
  return `{"header":{"command":"wsrpc-gap"},"payload":${JSON.stringify({ topic, epoch, reason })}}`;
}

/** Checks a topic name a user passed; throws a TypeError naming the problem. */
export function checkTopic(topic: unknown): string {
  if (typeof topic !== "string" || topic === "" || topic.length > MAX_TOPIC_LENGTH) {
    throw new TypeError(
      `Invalid topic: a non-empty string of at most ${MAX_TOPIC_LENGTH} characters`,
    );
  }
  if (topic.includes("\u0000")) throw new TypeError("Invalid topic: contains U+0000");
  return topic;
}

/** The server's subscriptions on its bus. */
export class TopicHub implements BusListener {
  readonly bus: Bus;
  readonly #subscribers = new Map<string, Set<TopicSubscriber>>();
  /** Sessions whose replay of a topic is being read: the live messages they wait for. */
  readonly #catchingUp = new Map<string, Map<TopicSubscriber, BusMessage[]>>();
  readonly #all = new Set<TopicSubscriber>();
  /** Per topic: sessions holding the bus's subscription, and when it delivers. */
  readonly #holds = new Map<string, { count: number; ready: Promise<void> }>();
  /** Who keeps a session's subscriptions elsewhere (a Durable Object's attachment). */
  readonly #watchers = new WeakMap<TopicSubscriber, (topics: readonly string[]) => void>();
  #stop: (() => void) | undefined;
  #onHealth: ((state: "up" | "down", error?: unknown) => void) | undefined;

  constructor(bus: Bus, onHealth?: (state: "up" | "down", error?: unknown) => void) {
    this.bus = bus;
    this.#onHealth = onHealth;
  }

  /** Starts listening (on the first session): every instance hears broadcasts. */
  attach(): void {
    if (this.#stop !== undefined) return;
    this.#stop = this.bus.listen(this);
    this.bus.subscribe(BROADCAST_TOPIC).catch((error) => this.health("down", error));
  }

  /** Stops listening (on shutdown). */
  detach(): void {
    if (this.#stop === undefined) return;
    this.#stop();
    this.#stop = undefined;
    this.bus.unsubscribe(BROADCAST_TOPIC);
    for (const topic of [...this.#holds.keys()]) {
      this.#holds.get(topic)!.count = 1;
      this.#release(topic);
    }
    this.#catchingUp.clear();
  }

  /** A session that may receive pushes (after its ping). */
  add(session: TopicSubscriber): void {
    this.#all.add(session);
  }

  /** Calls `onChange` with a session's topics each time they change. */
  watch(session: TopicSubscriber, onChange: (topics: readonly string[]) => void): void {
    this.#watchers.set(session, onChange);
  }

  /** A session that ended: its subscriptions end with it. */
  remove(session: TopicSubscriber): void {
    this.#all.delete(session);
    this.#watchers.delete(session);
    for (const topic of session.topics ?? []) this.unsubscribe(session, topic);
  }

  /** Subscribes a session; resolves once the bus delivers the topic. */
  async subscribe(session: TopicSubscriber, topic: string): Promise<void> {
    checkTopic(topic);
    if (session.topics?.has(topic)) return;
    const topics = await this.#join(session, topic);
    // It may have unsubscribed, or ended, while the bus subscribed.
    if (topics.has(topic) && this.#all.has(session)) {
      this.#subscribers.get(topic)?.add(session);
    } else {
      this.#release(topic);
    }
  }

  /**
   * Adds `topic` to the session's set and makes sure the bus delivers it;
   * if the bus cannot, takes it out again and throws. Returns the set.
   */
  async #join(session: TopicSubscriber, topic: string): Promise<Set<string>> {
    const topics = session.topics ??= new Set();
    topics.add(topic);
    this.#changed(session);
    try {
      await this.#listenTo(topic);
    } catch (error) {
      topics.delete(topic);
      this.#changed(session);
      throw error;
    }
    return topics;
  }

  /** Ends a session's subscription; harmless when it has none. */
  unsubscribe(session: TopicSubscriber, topic: string): void {
    if (!session.topics?.delete(topic)) return;
    this.#changed(session);
    const live = this.#subscribers.get(topic);
    const waiting = this.#catchingUp.get(topic);
    if (live?.delete(session) || waiting?.delete(session)) this.#release(topic);
  }

  /** Publishes a push to every subscriber of `topic` on every instance. */
  publish(topic: string, command: string, payload: unknown): Promise<BusPosition> {
    return this.bus.publish(checkTopic(topic), command, stringifyJSON(payload ?? null));
  }

  /** Publishes a push to every session of every instance. */
  broadcast(command: string, payload: unknown): Promise<BusPosition> {
    return this.bus.publish(BROADCAST_TOPIC, command, stringifyJSON(payload ?? null));
  }

  /**
   * Subscribes a session to `topic` and sends it what it missed after
   * `after`, in order and once each, then the live messages; or a gap
   * (`reason` "expired") before what is left when some are gone.
   */
  async resume(session: TopicSubscriber, topic: string, after: BusPosition): Promise<void> {
    if (session.topics?.has(topic)) return;
    let topics: Set<string>;
    try {
      topics = await this.#join(session, topic);
    } catch {
      session.deliver(gapFrame(topic, after.epoch, "lost"));
      return;
    }
    if (!topics.has(topic) || !this.#all.has(session)) {
      this.#release(topic);
      return;
    }
    let waiting = this.#catchingUp.get(topic);
    if (waiting === undefined) this.#catchingUp.set(topic, waiting = new Map());
    const pending: BusMessage[] = [];
    waiting.set(session, pending);
    let last: BusPosition = { seq: 0, epoch: "" };
    try {
      const history = await this.bus.history(topic, after);
      if (waiting.get(session) !== pending) return; // unsubscribed or ended meanwhile
      if (!history.complete) session.deliver(gapFrame(topic, history.epoch, "expired"));
      for (const message of history.messages) session.deliver(keyedPush(message));
      last = history.messages.at(-1) ??
        (history.complete ? after : { seq: 0, epoch: history.epoch });
    } catch {
      if (waiting.get(session) !== pending) return;
      session.deliver(gapFrame(topic, after.epoch, "lost"));
    }
    waiting.delete(session);
    if (waiting.size === 0) this.#catchingUp.delete(topic);
    if (pending.length > CATCH_UP_LIMIT) {
      session.deliver(gapFrame(topic, pending[0]!.epoch, "overflow"));
      pending.length = 0;
    }
    for (const message of pending) {
      // Live messages the history already held are not sent twice.
      if (message.epoch !== last.epoch || message.seq > last.seq) {
        session.deliver(keyedPush(message));
      }
    }
    this.#subscribers.get(topic)?.add(session);
  }

  /** The bus's message: fanned out to this instance's subscribers. */
  message(message: BusMessage): void {
    if (message.topic === BROADCAST_TOPIC) {
      const text = plainPush(message.command, message.payload);
      for (const session of this.#all) session.deliver(text);
      return;
    }
    const waiting = this.#catchingUp.get(message.topic);
    if (waiting !== undefined) {
      for (const pending of waiting.values()) {
        if (pending.length <= CATCH_UP_LIMIT) pending.push(message);
      }
    }
    const subscribers = this.#subscribers.get(message.topic);
    if (subscribers === undefined) return;
    let plain: string | undefined;
    let keyed: string | undefined;
    for (const session of subscribers) {
      session.deliver(
        session.topicKeys
          ? keyed ??= keyedPush(message)
          : plain ??= plainPush(message.command, message.payload),
      );
    }
  }

  /** The bus lost messages of a topic: sessions that can hear it are told. */
  gap(topic: string, epoch: string): void {
    const text = gapFrame(topic, epoch, "lost");
    for (const session of this.#subscribers.get(topic) ?? []) {
      if (session.topicKeys) session.deliver(text);
    }
  }

  /** The bus's broker went away or came back. */
  health(state: "up" | "down", error?: unknown): void {
    this.#onHealth?.(state, error);
  }

  #changed(session: TopicSubscriber): void {
    this.#watchers.get(session)?.([...session.topics ?? []]);
  }

  /** Holds the bus's subscription of `topic` for one more session. */
  async #listenTo(topic: string): Promise<void> {
    let hold = this.#holds.get(topic);
    if (hold === undefined) {
      hold = { count: 0, ready: this.bus.subscribe(topic) };
      this.#holds.set(topic, hold);
      this.#subscribers.set(topic, new Set());
    }
    hold.count++;
    try {
      await hold.ready;
    } catch (error) {
      this.#release(topic);
      throw error;
    }
  }

  /** Lets go of one session's hold; the last one ends the bus's subscription. */
  #release(topic: string): void {
    const hold = this.#holds.get(topic);
    if (hold === undefined || --hold.count > 0) return;
    this.#holds.delete(topic);
    this.#subscribers.delete(topic);
    hold.ready.then(() => this.bus.unsubscribe(topic), () => {});
  }
}

/**
 * The `wsrpc-resume` handler of one session: `{"topics":[{"topic","seq","epoch"}]}`.
 * Each topic the `canResume` hook allows is resumed (subscribed, and what
 * the session missed replayed); any other gets a `wsrpc-gap` with reason
 * "refused". Without the hook nothing is resumable: a topic's name says
 * nothing of who may read it (a private per-user topic must not be
 * resumable by anyone who names it). A malformed payload closes the
 * session with 1008 (`InvalidCommandError`).
 */
export function resumeCommand(
  hub: TopicHub,
  session: TopicSubscriber,
  canResume: ((topic: string) => boolean | Promise<boolean>) | undefined,
): ExtensionCommand {
  return {
    handle({ payload }) {
      for (const { topic, seq, epoch } of parseResume(payload)) {
        const allowed = canResume === undefined ? false : canResume(topic);
        Promise.resolve(allowed).then(
          (ok) =>
            ok
              ? hub.resume(session, topic, { seq, epoch })
              : session.deliver(gapFrame(topic, epoch, "refused")),
          () => session.deliver(gapFrame(topic, epoch, "refused")),
        );
      }
    },
  };
}

function parseResume(payload: unknown): { topic: string; seq: number; epoch: string }[] {
  const topics = (payload as { topics?: unknown } | null)?.topics;
  const fail = (detail: string) =>
    new InvalidCommandError(`${RESUME_COMMAND}: ${detail}`, { command: RESUME_COMMAND });
  if (!Array.isArray(topics) || topics.length > MAX_RESUME_TOPICS) {
    throw fail(`"topics" must be an array of at most ${MAX_RESUME_TOPICS}`);
  }
  return topics.map((entry) => {
    const { topic, seq, epoch } = (entry ?? {}) as Record<string, unknown>;
    if (
      typeof topic !== "string" || !Number.isSafeInteger(seq) || (seq as number) < 0 ||
      typeof epoch !== "string" || epoch.length > MAX_TOPIC_LENGTH
    ) {
      throw fail("each topic must be {topic: string, seq: integer >= 0, epoch: string}");
    }
    try {
      checkTopic(topic);
    } catch (error) {
      throw fail((error as Error).message);
    }
    return { topic, seq: seq as number, epoch };
  });
}
