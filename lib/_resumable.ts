/**
 * An optional, private capability of an authenticator: run the server side
 * of its handshake from saved state, so that a Cloudflare Durable Object
 * that hibernates between the handshake's messages can finish it in its next
 * life. `ed25519Server()` has it. Private.
 *
 * @module
 */

import type { APIConn, Authenticator, PeerIdentity } from "./message.ts";

/** Where a resumable handshake starts, and where it saves its progress. */
export interface HandshakeCheckpoint {
  /** State an earlier run saved; absent to start from the client's first message. */
  from?: unknown;
  /** Hears the handshake's progress (JSON) before each message it sends. */
  save(state: unknown): void;
}

/** The server side of a handshake, from a checkpoint. */
export type ResumeServer = (
  conn: APIConn,
  signal: AbortSignal,
  checkpoint: HandshakeCheckpoint,
) => Promise<PeerIdentity>;

/** The key under which an authenticator carries its {@linkcode ResumeServer}. */
export const resumeServer: unique symbol = Symbol("wsrpc.resumeServer");

/** Adds `resume` to `authenticator`, out of its public shape. */
export function withResume<T extends Authenticator>(authenticator: T, resume: ResumeServer): T {
  Object.defineProperty(authenticator, resumeServer, { value: resume });
  return authenticator;
}

/** The authenticator's resumable server side, if it has one. */
export function resumerOf(authenticator: Authenticator): ResumeServer | undefined {
  const resume = (authenticator as { [resumeServer]?: unknown })[resumeServer];
  return typeof resume === "function" ? resume as ResumeServer : undefined;
}
