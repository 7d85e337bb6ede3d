/**
 * The server's side of the wsrpc extensions, for `Server`: what it offers
 * (`ServerOptions.extensions`), the first message that carries the offer, and
 * each session's handlers of the extensions' frames: `wsrpc-resume` (topics),
 * `wsrpc-cancel`, and `wsrpc-describe-request`, answered from a description
 * made on first use. The mirror of `_client_extensions.ts`.
 */

import type { API } from "./api.ts";
import { CANCEL_COMMAND, InFlightRequests } from "./_cancel.ts";
import { DESCRIBE_REQUEST, describeAPI, describeCommand, type Description } from "./_describe.ts";
import {
  encodeFirstMessage,
  type ExtensionName,
  serverOffer,
  SessionExtensions,
} from "./_extensions.ts";
import { encodeMessage } from "./framing.ts";
import type { ServedSession } from "./_router.ts";
import { resumeCommand, type TopicHub } from "./_topic_hub.ts";
import { RESUME_COMMAND } from "./_topic_client.ts";
import type { ServerOptions } from "./server_options.ts";

/** The extensions this server can offer (`ServerOptions.extensions`). */
const IMPLEMENTED: readonly ExtensionName[] = ["cancel", "describe", "trace", "topics"];

/** The server options the extensions read. */
export type ServerExtensionOptions<A extends API> = Pick<
  ServerOptions<A>,
  "extensions" | "handlers" | "canResume" | "describeSchema"
>;

/** One server's extensions: its offer, and the state of each session it serves. */
export class ServerExtensions<A extends API> {
  /** The extensions offered on every session's first message (none by default). */
  readonly offered: readonly ExtensionName[];
  readonly #api: A;
  readonly #options: ServerExtensionOptions<A>;
  readonly #hub: TopicHub;
  /** The `describe` answer, made on first use. */
  #description: Description | undefined;

  constructor(api: A, options: ServerExtensionOptions<A>, hub: TopicHub) {
    this.#api = api;
    this.#options = options;
    this.#hub = hub;
    this.offered = serverOffer(options.extensions, IMPLEMENTED);
  }

  /** The first message: the ping with id "0", with the offer (without one, what Go servers send). */
  firstMessage(pingCommand: string, timestamp: number): string {
    return this.offered.length > 0
      ? encodeFirstMessage(pingCommand, timestamp, this.offered)
      : encodeMessage(pingCommand, "0", { timestamp });
  }

  /**
   * A session's extension state: what it offers, and the handlers of the
   * extensions' frames; `undefined` when nothing is offered.
   */
  of(served: ServedSession<A>): SessionExtensions | undefined {
    if (this.offered.length === 0) return undefined;
    const extensions = new SessionExtensions(this.offered);
    const { canResume } = this.#options;
    extensions.on(
      RESUME_COMMAND,
      resumeCommand(
        this.#hub,
        served,
        canResume && ((topic) => canResume(served.session, topic)),
      ),
    );
    if (this.offered.includes("cancel")) {
      extensions.on(CANCEL_COMMAND, served.cancellable = new InFlightRequests());
    }
    if (this.offered.includes("describe")) {
      extensions.on(
        DESCRIBE_REQUEST,
        describeCommand(() => this.#describe(), (text) => {
          try {
            if (!served.sendText(text)) served.write(text).catch(() => {});
          } catch {
            // closed: nobody to answer
          }
        }),
      );
    }
    return extensions;
  }

  #describe(): Description {
    const handlers = this.#options.handlers as Record<string, unknown>;
    return this.#description ??= describeAPI(
      this.#api,
      Object.keys(handlers).filter((c) => typeof handlers[c] === "function"),
      this.#options.describeSchema,
    );
  }
}
