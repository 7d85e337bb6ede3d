// A Server's sessions over in-memory pairs (tests/_socket_pair.ts): no port bound.
import type { WebSocketLike } from "../lib/ws_conn.ts";
import { socketPair, type TestSocket } from "./_socket_pair.ts";

/** What {@linkcode pairsServedBy} needs of a `Server`. */
interface Serving {
  serveSocket(socket: WebSocketLike): Promise<void>;
  shutdown(options: { graceMs: number }): Promise<void>;
}

/**
 * `pair()` makes an in-memory pair, has `server` serve its server end and
 * returns the client end (kept in `ends`); `close()` drops every client end,
 * shuts the server down and waits for its sessions to end.
 */
export function pairsServedBy(server: Serving): {
  ends: TestSocket[];
  pair: () => TestSocket;
  close: () => Promise<void>;
} {
  const ends: TestSocket[] = [];
  const served: Promise<void>[] = [];
  return {
    ends,
    pair: () => {
      const [client, serverEnd] = socketPair();
      ends.push(client);
      served.push(server.serveSocket(serverEnd));
      return client;
    },
    async close() {
      for (const end of ends) end.drop();
      await server.shutdown({ graceMs: 0 });
      await Promise.all(served);
    },
  };
}
