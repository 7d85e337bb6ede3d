/**
 * The JSON floor over wsrpc's frame layer (`FrameSocket`, lib/_frames.ts):
 * the floor's client and server logic unchanged, but every frame goes
 * through what wsrpc does per frame below its RPC layer: the read limit, the
 * nesting check before parsing, the lossless-int64 decode, the bounded write
 * queue. Between the JSON floor and wsrpc, it tells which layer an extra
 * cost comes from (bench/layers.ts).
 *
 * @module
 */

import { FrameSocket } from "../lib/_frames.ts";
import type { WebSocketLike } from "../lib/_socket.ts";
import type { Adapter } from "./_connectors.ts";
import { GREETING, jsonFloorAnswer } from "./_json_floor.mjs";

const READ_LIMIT = 4 * 1024 * 1024;

interface Message {
  header: { command: string; id?: string };
  payload: unknown;
}

/** Sends `text` at once, or once the write queue has room. */
function send(frames: FrameSocket, text: string): void {
  if (!frames.sendText(text)) frames.writeText(text).catch(() => {});
}

/** Serves one socket as the JSON floor's server does, through the frame layer. */
export function serveFrameFloor(socket: WebSocketLike): void {
  const frames = new FrameSocket(socket, { readLimit: READ_LIMIT });
  send(frames, GREETING);
  frames.listen({
    value: (message) => send(frames, jsonFloorAnswer(message)),
    end: () => {},
  });
}

/** The JSON floor's client, through the frame layer. */
export function frameFloorConnect(url: string): Promise<Adapter> {
  return new Promise((resolve, reject) => {
    const frames = new FrameSocket(new WebSocket(url) as WebSocketLike, {
      readLimit: READ_LIMIT,
    });
    const pending = new Map<string, (payload: unknown) => void>();
    let next = 0;
    let greeted = false;
    const call = (command: string, payload: unknown) =>
      new Promise<unknown>((settle) => {
        const id = String(++next);
        pending.set(id, settle);
        send(frames, JSON.stringify({ header: { command, id }, payload }));
      });
    const adapter: Adapter = {
      ping: () => call("demo-ping-request", { timestamp: 1 }),
      echo: (text) => call("demo-echo-request", text),
      close: async () => {
        frames.close();
        await frames.closed;
      },
    };
    frames.listen({
      value: (value) => {
        const message = value as Message;
        const id = message.header.id;
        const settle = id === undefined ? undefined : pending.get(id);
        if (settle !== undefined) {
          pending.delete(id!);
          settle(message.payload);
        } else if (!greeted) {
          greeted = true;
          resolve(adapter);
        }
      },
      end: (error) => reject(new Error(`frame floor: connection ended: ${error}`)),
    });
  });
}
