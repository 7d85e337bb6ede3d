/**
 * Type-level helpers for code that is generic over an API, and the types that
 * name parts of the root's options and results. Nothing here exists at run
 * time; the everyday types (`ConnOptions`, `Message`, `API`, …) are exported
 * from the package root.
 *
 * @example Naming a command's payload type
 * ```ts
 * import { defineAPI, unchecked } from "@wsrpc/protocol";
 * import type { PayloadOf, RequestCommandOf } from "@wsrpc/protocol/types";
 *
 * const api = defineAPI({
 *   "shop-item-request": unchecked<{ id: string }>(),
 *   "shop-item-response": unchecked<{ price: number }>(),
 * });
 * const request: RequestCommandOf<typeof api> = "shop-item-request";
 * const payload: PayloadOf<typeof api, typeof request> = { id: "a1" };
 * ```
 *
 * @module
 */

export type {
  APIDefinition,
  CommandOf,
  Infer,
  PayloadOf,
  PayloadSchema,
  RequestCommandOf,
  ResponseCommandOf,
  StandardResult,
  Unchecked,
} from "./api.ts";
export type { FramingOptions, Incoming } from "./framing.ts";
export type { Command, Header, TraceContext } from "./message.ts";
export type { WebSocketFactory } from "./conn.ts";
export type { CloseInfo } from "./ws_conn.ts";
export type { ConnectionInfo, ResumeState } from "./server.ts";
export type { CommandDescription, Description } from "./_describe.ts";
