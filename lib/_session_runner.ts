/**
 * One session's life on the server, from its socket to its end: the
 * authenticator's handshake and `authorize` (neither for a session resumed
 * as admitted), the first message (the ping with id "0"), then serving its
 * frames (extension frames first, the rest to the router) under the idle
 * timeout until the connection ends. `Server` keeps the sessions, their
 * bookkeeping and shutdown.
 */

import type { API } from "./api.ts";
import { abortable, deadline } from "./_deadline.ts";
import {
  CloseCode,
  ConnectionClosedError,
  InvalidCommandError,
  PUBLIC_KEY_AUTH_ERROR,
} from "./errors.ts";
import { WS_HANDSHAKE_TIMEOUT_MS } from "./message.ts";
import type { FrameListener } from "./_frames.ts";
import { handshakeRefusal } from "./_redact.ts";
import type { Router, ServedSession } from "./_router.ts";
import type { ServerExtensions } from "./_server_extensions.ts";
import type { TopicHub } from "./_topic_hub.ts";
import type { ResumeState, ServerOptions } from "./server_options.ts";

/** The server options a session's run reads. */
export type SessionRunnerOptions<A extends API> = Pick<
  ServerOptions<A>,
  "authenticator" | "authorize" | "handshakeTimeoutMs" | "idleTimeoutMs" | "onSessionOpen"
>;

/** Runs each session of one server. */
export class SessionRunner<A extends API> {
  readonly #router: Router<A>;
  readonly #hub: TopicHub;
  readonly #extensions: ServerExtensions<A>;
  readonly #pingCommand: string;
  readonly #options: SessionRunnerOptions<A>;

  constructor(
    router: Router<A>,
    hub: TopicHub,
    extensions: ServerExtensions<A>,
    pingCommand: string,
    options: SessionRunnerOptions<A>,
  ) {
    this.#router = router;
    this.#hub = hub;
    this.#extensions = extensions;
    this.#pingCommand = pingCommand;
    this.#options = options;
  }

  /**
   * Runs a session until its connection ends (or it is refused); never
   * rejects: a failure other than the connection closing goes to the
   * router's `fault`. The caller closes the session and cleans up after.
   */
  async run(served: ServedSession<A>, resume: ResumeState | undefined): Promise<void> {
    const { session, conn } = served;
    try {
      if (resume?.admitted) {
        if (resume.peer !== undefined) served.peer = resume.peer;
        served.extensions = this.#extensions.of(served);
        if (resume.extensions !== undefined) served.extensions?.restore(resume.extensions);
        // Its ping went out in an earlier life: it hears broadcasts and may subscribe.
        this.#hub.add(served);
        await this.#serve(served);
      } else if (await this.#admit(served, resume)) {
        this.#options.onSessionOpen?.(session);
        const timestamp = Math.floor(Date.now() / 1000);
        served.extensions = this.#extensions.of(served);
        await conn.writeText(this.#extensions.firstMessage(this.#pingCommand, timestamp));
        this.#hub.add(served);
        await this.#serve(served);
      }
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) this.#router.fault(session, error);
    }
  }

  /** Handshake and authorization; false when the session was refused and closed. */
  async #admit(served: ServedSession<A>, resume: ResumeState | undefined): Promise<boolean> {
    const { session, conn } = served;
    const { authorize } = this.#options;
    const authenticator = resume?.authenticator ?? this.#options.authenticator;
    if (authenticator) {
      const timeoutMs = this.#options.handshakeTimeoutMs ?? WS_HANDSHAKE_TIMEOUT_MS;
      const timeout = deadline(
        resume?.handshakeStartedAt === undefined || !(timeoutMs > 0 && timeoutMs < Infinity)
          ? timeoutMs // none to shorten (0 or Infinity: no timeout)
          : Math.max(1, Math.min(timeoutMs, resume.handshakeStartedAt + timeoutMs - Date.now())),
        "Handshake",
        session.signal,
      );
      try {
        served.peer = await abortable(
          authenticator.handshakeServer(conn, timeout.signal),
          timeout.signal,
        );
      } catch (error) {
        const { reason, log } = handshakeRefusal(error, conn.isOpen);
        if (log !== undefined) this.#router.log(log, session);
        session.close(CloseCode.HandshakeError, reason);
        return false;
      } finally {
        timeout.clear();
      }
    }
    if (authorize && !(await authorize(session))) {
      session.close(PUBLIC_KEY_AUTH_ERROR.code, PUBLIC_KEY_AUTH_ERROR.reason);
      return false;
    }
    return !session.signal.aborted;
  }

  /**
   * Serves requests until the connection ends. Frames are delivered
   * synchronously from the socket's message event; a synchronous handler's
   * response goes out in the same turn. When the outgoing buffer is full,
   * responses wait in order for room, within `writeQueueLimit` (see
   * `Router.queueWrite`). The session's signal aborts as soon as the
   * connection ends.
   */
  #serve(served: ServedSession<A>): Promise<void> {
    const { session, conn } = served;
    const router = this.#router;
    const extensions = served.extensions;
    const idleMs = this.#options.idleTimeoutMs ?? 0;
    let lastSeen = Date.now();
    // Set per frame, read by the idle timer: no clock read per message. A
    // session is closed after idleMs to idleMs + two timer periods of silence.
    let seen = false;
    // One timer per session, not one per message.
    const idleTimer = idleMs > 0
      ? setInterval(() => {
        const now = Date.now();
        if (seen) {
          seen = false;
          lastSeen = now;
        } else if (now - lastSeen >= idleMs) {
          session.close(CloseCode.PolicyViolation, "idle timeout");
        }
      }, Math.max(5, Math.floor(idleMs / 4)))
      : undefined;
    return new Promise<void>((resolve) => {
      const listener: FrameListener = {
        value: (raw) => {
          seen = true;
          try {
            // Extension frames first, only on a session that offered any.
            if (extensions === undefined || !extensions.receive(raw)) router.receive(served, raw);
          } catch (error) {
            // never throw into the socket's event handler
            if (error instanceof InvalidCommandError) {
              session.close(CloseCode.PolicyViolation, error.message);
            } else router.fault(session, error);
          }
        },
        end: (error) => {
          clearInterval(idleTimer);
          // Abort handlers and fail pushes now, not after the session's cleanup.
          if (error instanceof ConnectionClosedError) session.close(error.code, error.reason);
          else session.close(CloseCode.Normal, "");
          resolve();
        },
      };
      conn.listen(listener);
    });
  }
}
