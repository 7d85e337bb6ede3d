// The API of the server and router tests: the demo's commands and t-* ones
// (a schema-checked count, a handler that leaks a secret, a traced error, a
// handler that never answers), with handlers that record what they see.
import {
  defineAPI,
  errorf,
  type Handlers,
  type ServerOptions,
  type StandardSchemaV1,
  unchecked,
} from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";

const count: StandardSchemaV1<{ count: number }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (v) =>
      Number.isInteger((v as { count?: unknown })?.count)
        ? { value: v as { count: number } }
        : { issues: [{ message: "expected an integer", path: ["count"] }] },
  },
};

export const testAPI = defineAPI({
  ...demoAPI.definition,
  "t-count-request": count,
  "t-count-response": unchecked<{ doubled: number }>(),
  "t-secret-request": unchecked<null>(),
  "t-secret-response": unchecked<null>(),
  "t-traced-request": unchecked<null>(),
  "t-traced-response": unchecked<null>(),
  "t-hang-request": unchecked<null>(),
  "t-hang-response": unchecked<null>(),
  // A response no request of the API answers.
  "t-orphan-response": unchecked<null>(),
});

/** An error the server logged, and the session it came from. */
export interface Logged {
  error: Error;
  session: string;
}

/**
 * The handlers of {@linkcode testAPI} and an `onError` that logs to `logged`;
 * `hangs` collects the signals of the `t-hang-request`s, which never answer.
 */
export function testServerOptions(): {
  options: Pick<ServerOptions<typeof testAPI>, "handlers" | "onError">;
  logged: Logged[];
  hangs: AbortSignal[];
} {
  const logged: Logged[] = [];
  const hangs: AbortSignal[] = [];
  const handlers: Handlers<typeof testAPI> = {
    // The demo handlers serve the demo commands of this larger API.
    ...(demoHandlers as unknown as Handlers<typeof testAPI>),
    "t-count-request": ({ count }) => ({ doubled: count * 2 }),
    "t-secret-request": () => {
      throw new Error("database password is hunter2");
    },
    "t-traced-request": () => {
      throw errorf("disk %s is full", "sda");
    },
    "t-hang-request": (_payload, { signal }) => {
      hangs.push(signal);
      return new Promise<null>(() => {});
    },
  };
  return {
    options: { handlers, onError: (error, session) => logged.push({ error, session: session.id }) },
    logged,
    hangs,
  };
}
