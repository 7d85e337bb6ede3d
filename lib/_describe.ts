/**
 * The `describe` extension: a server's self-description, as gRPC reflection
 * gives grpcurl `list`/`describe`. Request (an id, answered by that id):
 * `{"header":{"command":"wsrpc-describe-request","id":"5"},"payload":{"command":"x-echo-request"}}`
 * (`command` optional); response: `wsrpc-describe-response` with
 * `{"commands":[{"command","kind","response"?,"schema"}]}`.
 */

import type { API, PayloadSchema } from "./api.ts";
import { InvalidCommandError, requestErrorf } from "./errors.ts";
import { encodeMessage } from "./framing.ts";
import type { ExtensionCommand, ExtensionFrame } from "./_extensions.ts";

/** The reserved commands. */
export const DESCRIBE_REQUEST = "wsrpc-describe-request";
export const DESCRIBE_RESPONSE = "wsrpc-describe-response";

/** One command of a described API. */
export interface CommandDescription {
  /** The command's name. */
  readonly command: string;
  /** By the name's suffix: `-request`, `-response`, else a notification. */
  readonly kind: "request" | "response" | "notification";
  /** For a request with a handler: the command that answers it. */
  readonly response?: string;
  /**
   * The payload's JSON Schema; `"unchecked"` for an `unchecked()` payload;
   * `null` for a validator that cannot produce one.
   */
  readonly schema: Record<string, unknown> | "unchecked" | null;
}

/**
 * The payload of a `wsrpc-describe-response` (what `Conn.describe` resolves with).
 *
 * @example The description of one command
 * ```ts
 * import type { Description } from "@wsrpc/protocol/types";
 * import assert from "node:assert/strict";
 *
 * const description: Description = {
 *   commands: [{ command: "x-echo-request", kind: "request", response: "x-echo-response", schema: "unchecked" }],
 * };
 * assert.equal(description.commands[0]?.kind, "request");
 * ```
 */
export interface Description {
  /** The commands, sorted by name. */
  readonly commands: readonly CommandDescription[];
}

/** Turns a validator into a JSON Schema (e.g. Zod 4's `z.toJSONSchema`); undefined when it cannot. */
export type JSONSchemaOf = (schema: unknown) => Record<string, unknown> | undefined;

function kindOf(command: string): CommandDescription["kind"] {
  if (command.endsWith("-request")) return "request";
  if (command.endsWith("-response")) return "response";
  return "notification";
}

/**
 * A payload schema's JSON Schema: `"unchecked"`; the Standard JSON Schema
 * interface (`~standard.jsonSchema.input`) when the validator has it; else
 * `jsonSchema` (the server's hook); else null.
 */
export function schemaOf(
  schema: PayloadSchema | undefined,
  jsonSchema?: JSONSchemaOf,
): CommandDescription["schema"] {
  if (schema === undefined || "~unchecked" in schema) return "unchecked";
  const standard = schema["~standard"] as {
    jsonSchema?: { input?: (options: { target: string }) => unknown };
  };
  for (
    const make of [
      () => standard.jsonSchema?.input?.({ target: "draft-2020-12" }),
      () => jsonSchema?.(schema),
    ]
  ) {
    try {
      const made = make();
      if (made !== null && typeof made === "object") return made as Record<string, unknown>;
    } catch {
      // This validator cannot describe this schema: try the next way, or null.
    }
  }
  return null;
}

/** The description of an API and its handlers' commands (a schemaless API lists the handlers only). */
export function describeAPI(
  api: API,
  handled: readonly string[],
  jsonSchema?: JSONSchemaOf,
): Description {
  const definition = api.definition as Record<string, PayloadSchema>;
  const names = [...new Set([...Object.keys(definition), ...handled])].sort();
  const handledSet = new Set(handled);
  return {
    commands: names.map((command) => {
      const kind = kindOf(command);
      const response = kind === "request" && handledSet.has(command)
        ? command.replace(/-request$/, "-response")
        : undefined;
      return {
        command,
        kind,
        ...(response === undefined ? {} : { response }),
        schema: schemaOf(definition[command], jsonSchema),
      };
    }),
  };
}

/**
 * The server's handler of `wsrpc-describe-request` on one session: answers
 * with the whole description, or one command's (an unknown one is an error
 * response).
 */
export function describeCommand(
  description: () => Description,
  reply: (text: string) => void,
): ExtensionCommand {
  return {
    handle(frame: ExtensionFrame): void {
      const wanted = (frame.payload as { command?: unknown } | null)?.command;
      if (frame.id === "" || (wanted !== undefined && typeof wanted !== "string")) {
        throw new InvalidCommandError(
          `${DESCRIBE_REQUEST}: needs an id, and "command" must be a string`,
          { command: DESCRIBE_REQUEST },
        );
      }
      const all = description().commands;
      const commands = wanted === undefined ? all : all.filter((c) => c.command === wanted);
      reply(encodeMessage(
        DESCRIBE_RESPONSE,
        frame.id,
        commands.length === 0
          ? { error: requestErrorf("unknown command %s", JSON.stringify(wanted)) }
          : { commands },
      ));
    },
  };
}
