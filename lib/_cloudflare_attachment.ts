/**
 * What a Durable Object keeps of each wsrpc session in its socket's
 * hibernation attachment (`serializeAttachment`), and how a session is
 * started from it: fresh, in the middle of its handshake, or admitted.
 * Private.
 *
 * @module
 */

import type { API } from "./api.ts";
import type { Authenticator, PeerIdentity } from "./message.ts";
import type { Server } from "./server.ts";
import type { ResumeState } from "./server_options.ts";
import { resumerOf } from "./_resumable.ts";
import { CloudflareSocket } from "./_cloudflare_socket.ts";
import type { CloudflareWebSocket } from "./_cloudflare_types.ts";

/** The attachment; structured-clonable and small (Cloudflare limits its size). */
export interface Attachment {
  /** Marks the socket as wsrpc's. */
  wsrpc: 1;
  /** The upgrade request's URL (its headers are not kept). */
  url: string;
  remoteAddr?: string;
  /** When the handshake began, ms since the epoch. */
  startedAt: number;
  /** Handshake, `authorize` and first ping are done. */
  admitted?: boolean;
  /** The identity the handshake established. */
  peer?: PeerIdentity;
  /** The handshake's progress (a resumable authenticator's checkpoint). */
  handshake?: unknown;
  /** Requests in flight when the object last settled (0 unless it was evicted mid-request). */
  inFlight: number;
  /** The extensions the client accepted in its hello, once it has sent one. */
  extensions?: string[];
  /** The topics the session is subscribed to, renewed on the bus of each new life. */
  topics?: string[];
}

/** The attachment of a socket, when it is one of wsrpc's. */
export function attachmentOf(ws: CloudflareWebSocket): Attachment | undefined {
  let value: unknown;
  try {
    value = ws.deserializeAttachment?.();
  } catch {
    return undefined;
  }
  const a = value as Partial<Attachment> | null | undefined;
  return a?.wsrpc === 1 && typeof a.url === "string" && typeof a.startedAt === "number"
    ? a as Attachment
    : undefined;
}

/** Stores `attachment` on `ws`; false when workerd refuses it (too large, socket gone). */
export function saveAttachment(ws: CloudflareWebSocket, attachment: Attachment): boolean {
  try {
    ws.serializeAttachment?.(attachment);
    return true;
  } catch {
    return false;
  }
}

/**
 * Serves `ws` on `server` from `attachment`: an admitted session is resumed
 * as it was; otherwise the handshake runs (from its checkpoint, when the
 * authenticator is resumable) within the time left since `startedAt`.
 * Progress is saved in the attachment as it is made.
 */
export function serveFromAttachment<A extends API>(
  server: Server<A>,
  ws: CloudflareWebSocket,
  attachment: Attachment,
  request: Request | undefined,
  onTopicsChange: (topics: readonly string[]) => void,
): { socket: CloudflareSocket; ended: Promise<void> } {
  const socket = new CloudflareSocket(ws);
  const info = {
    request: request ?? new Request(attachment.url),
    ...(attachment.remoteAddr === undefined ? {} : { remoteAddr: attachment.remoteAddr }),
  };
  const save = () => saveAttachment(ws, attachment);
  if (attachment.admitted) {
    const state: ResumeState = { admitted: true, onTopicsChange };
    if (attachment.peer !== undefined) state.peer = attachment.peer;
    if (attachment.extensions !== undefined) state.extensions = attachment.extensions;
    return { socket, ended: server.resumeSocket(socket, info, state) };
  }
  const authenticator = server.authenticator;
  if (authenticator === undefined) {
    attachment.admitted = true;
    save();
    return { socket, ended: server.resumeSocket(socket, info, { onTopicsChange }) };
  }
  const resume = resumerOf(authenticator);
  const checkpointed: Authenticator = {
    handshakeClient: (conn, signal) => authenticator.handshakeClient(conn, signal),
    async handshakeServer(conn, signal) {
      const peer = resume === undefined
        ? await authenticator.handshakeServer(conn, signal)
        : await resume(conn, signal, {
          ...(attachment.handshake === undefined ? {} : { from: attachment.handshake }),
          save: (progress) => {
            attachment.handshake = progress;
            save();
          },
        });
      delete attachment.handshake;
      attachment.admitted = true;
      attachment.peer = peer;
      save();
      return peer;
    },
  };
  const ended = server.resumeSocket(socket, info, {
    authenticator: checkpointed,
    handshakeStartedAt: attachment.startedAt,
    onTopicsChange,
  });
  return { socket, ended };
}
