/**
 * The extension negotiation between a wsrpc client and a wsrpc server, kept
 * off the wire for Go peers (docs/wire-format.md, "Extensions"):
 *
 * 1. the server offers: one header key on its first message, the ping with
 *    id "0": `"wsrpc":["cancel","describe","trace","topics"]` (Go clients
 *    read and discard that message, and ignore unknown header keys);
 * 2. a client that saw the offer accepts with its first frame after the
 *    ping, `{"header":{"command":"wsrpc-hello"},"payload":{"extensions":[...]}}`,
 *    naming the offered extensions it will use; a client that saw no offer
 *    (a Go server) never sends anything new;
 * 3. the server handles `wsrpc-*` frames before routing only on a session
 *    that offered, and uses an extension on a session only once its hello
 *    named it.
 *
 * Each extension's frames are handled by its own module; this one parses the
 * offer and the hello and dispatches reserved commands.
 */

import { InvalidCommandError } from "./errors.ts";
import { stringifyJSON } from "./_json.ts";

/** Every extension name, in the fixed order a server offers them. */
export const EXTENSION_NAMES = ["cancel", "describe", "trace", "topics"] as const;

/** The name of an extension. */
export type ExtensionName = typeof EXTENSION_NAMES[number];

/** The header key of the server's offer on its first message. */
export const OFFER_KEY = "wsrpc";
/** The client's acceptance. */
export const HELLO_COMMAND = "wsrpc-hello";
/** Commands with this prefix are reserved for extensions. */
export const RESERVED_PREFIX = "wsrpc-";
/** At most this many names in an offer or a hello: more is hostile, not a future version. */
export const MAX_NAMES = 32;

/** Whether `name` is an extension this library knows. */
export function isExtensionName(name: unknown): name is ExtensionName {
  return (EXTENSION_NAMES as readonly unknown[]).includes(name);
}

/** The known names of `names`, deduplicated, in the fixed order. */
export function normalizeNames(names: Iterable<unknown>): ExtensionName[] {
  const set = new Set<unknown>(names);
  return EXTENSION_NAMES.filter((name) => set.has(name));
}

/**
 * The server's first message: the ping with id "0", with the offer as a
 * header key when `offered` is not empty (byte for byte the old frame when it is).
 */
export function encodeFirstMessage(
  pingCommand: string,
  timestamp: number,
  offered: readonly ExtensionName[],
): string {
  const offer = offered.length === 0
    ? ""
    : `,${JSON.stringify(OFFER_KEY)}:${JSON.stringify(offered)}`;
  return `{"header":{"command":${JSON.stringify(pingCommand)},"id":"0"${offer}},"payload":${
    stringifyJSON({ timestamp })
  }}`;
}

/**
 * The extensions a server's first message offers: the known names of its
 * `wsrpc` header key. Anything else (no key, not an array of strings, too
 * long) offers nothing: the client then behaves as with a Go server.
 */
export function offerOf(first: unknown): ExtensionName[] {
  const header = (first as { header?: unknown } | null)?.header;
  if (header === null || typeof header !== "object") return [];
  const list = (header as Record<string, unknown>)[OFFER_KEY];
  if (!Array.isArray(list) || list.length > MAX_NAMES) return [];
  if (!list.every((name) => typeof name === "string")) return [];
  return normalizeNames(list);
}

/** The client's hello frame accepting `accepted`. */
export function encodeHello(accepted: readonly ExtensionName[]): string {
  return `{"header":{"command":"${HELLO_COMMAND}"},"payload":${
    JSON.stringify({ extensions: accepted })
  }}`;
}

/** The command of a frame, when it is a reserved `wsrpc-*` one; else undefined. Cheap on other frames. */
export function reservedCommand(raw: unknown): string | undefined {
  const header = (raw as { header?: { command?: unknown } } | null)?.header;
  const command = header?.command;
  return typeof command === "string" && command.startsWith(RESERVED_PREFIX) ? command : undefined;
}

/** Which extension each reserved command belongs to (the hello belongs to none). */
export const EXTENSION_COMMANDS: Readonly<Record<string, ExtensionName>> = {
  "wsrpc-cancel": "cancel",
  "wsrpc-describe-request": "describe",
  "wsrpc-resume": "topics",
};

/** An extension frame as its handler gets it. */
export interface ExtensionFrame {
  readonly command: string;
  /** The header id, `""` when absent. */
  readonly id: string;
  readonly payload: unknown;
}

/** A reserved command's handler on a session (its extension is in {@linkcode EXTENSION_COMMANDS}). */
export interface ExtensionCommand {
  /** Handles the frame; throws an {@linkcode InvalidCommandError} to close the session with 1008. */
  handle(frame: ExtensionFrame): void;
}

/**
 * The negotiation state of one server session that offered extensions:
 * what it offered, what the client's hello accepted, and the reserved
 * commands it handles.
 */
export class SessionExtensions {
  readonly offered: readonly ExtensionName[];
  #accepted: ReadonlySet<ExtensionName> | undefined;
  readonly #commands = new Map<string, ExtensionCommand>();

  constructor(offered: readonly ExtensionName[]) {
    this.offered = offered;
  }

  /** Adds the handler of a reserved command (an extension module calls it). */
  on(command: string, handler: ExtensionCommand): void {
    this.#commands.set(command, handler);
  }

  /** Whether the client's hello accepted `name`. */
  has(name: ExtensionName): boolean {
    return this.#accepted?.has(name) ?? false;
  }

  /** The accepted extensions, in the fixed order (empty before the hello). */
  get accepted(): ExtensionName[] {
    return this.#accepted === undefined ? [] : [...this.#accepted];
  }

  /** The accepted extensions, or `undefined` before the client's hello. */
  get negotiated(): ExtensionName[] | undefined {
    return this.#accepted === undefined ? undefined : [...this.#accepted];
  }

  /** Takes the hello of an earlier life of the session (a woken Durable Object): `accepted`, as offered. */
  restore(accepted: readonly string[]): void {
    const offered = new Set(this.offered);
    this.#accepted = new Set(normalizeNames(accepted).filter((name) => offered.has(name)));
  }

  /**
   * One incoming frame, before routing: false when it is not reserved
   * (route it as usual), true when it was an extension frame and handled.
   *
   * @throws {InvalidCommandError} For a hostile or out-of-turn frame: a
   * second hello, a malformed hello, a reserved command that is unknown or
   * whose extension the hello did not accept. The caller closes with 1008.
   */
  receive(raw: unknown): boolean {
    const command = reservedCommand(raw);
    if (command === undefined) return false;
    const { header, payload } = raw as { header: { id?: unknown }; payload?: unknown };
    if (command === HELLO_COMMAND) {
      this.#hello(payload);
      return true;
    }
    const extension = Object.hasOwn(EXTENSION_COMMANDS, command)
      ? EXTENSION_COMMANDS[command]!
      : undefined;
    const handler = this.#commands.get(command);
    if (extension !== undefined && !this.has(extension)) {
      throw new InvalidCommandError(
        `${JSON.stringify(command)} before extension ${JSON.stringify(extension)} was negotiated`,
        { command },
      );
    }
    if (extension === undefined || handler === undefined) {
      throw new InvalidCommandError(`unknown command ${JSON.stringify(command)}`, { command });
    }
    const id = typeof header.id === "string" ? header.id : "";
    handler.handle({ command, id, payload: payload ?? null });
    return true;
  }

  #hello(payload: unknown): void {
    if (this.#accepted !== undefined) {
      throw new InvalidCommandError(`second ${HELLO_COMMAND}`, { command: HELLO_COMMAND });
    }
    const list = (payload as { extensions?: unknown } | null)?.extensions;
    if (
      !Array.isArray(list) || list.length > MAX_NAMES ||
      !list.every((name) => typeof name === "string")
    ) {
      throw new InvalidCommandError(
        `${HELLO_COMMAND}: "extensions" must be an array of at most ${MAX_NAMES} strings`,
        { command: HELLO_COMMAND },
      );
    }
    // Names not offered (unknown, or from a newer client) are ignored.
    const offered = new Set(this.offered);
    this.#accepted = new Set(normalizeNames(list).filter((name) => offered.has(name)));
  }
}

/**
 * What a server offers: none by default; `true` for the extensions that
 * disclose nothing (`cancel`, `trace`, `topics`); or the named ones. Only extensions
 * in `implemented` are ever offered.
 */
export function serverOffer(
  option: boolean | readonly string[] | undefined,
  implemented: readonly ExtensionName[],
): ExtensionName[] {
  if (option === undefined || option === false) return [];
  const wanted: readonly string[] = option === true ? DEFAULT_SERVER_EXTENSIONS : option;
  return normalizeNames(wanted).filter((name) => implemented.includes(name));
}

/** What `extensions: true` offers: the extensions that reveal nothing about the server. */
export const DEFAULT_SERVER_EXTENSIONS: readonly ExtensionName[] = ["cancel", "trace", "topics"];

/** What a client accepts: the offered ones it wants (by default every one it implements). */
export function clientAccept(
  offered: readonly ExtensionName[],
  wanted: readonly string[] | undefined,
  implemented: readonly ExtensionName[],
): ExtensionName[] {
  return offered.filter((name) =>
    implemented.includes(name) && (wanted === undefined || wanted.includes(name))
  );
}
