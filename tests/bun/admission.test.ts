/**
 * Admission on Bun, the same checks as tests/admission_test.ts on Deno: the
 * DNS-rebinding refusal (421), a half-formed upgrade (400, nothing logged),
 * and the example server under a flood of silent TCP connections past a
 * lowered descriptor limit. Run with `bun test tests/bun`.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Conn, Server } from "../../mod.ts";
import { createHandler } from "../../lib/bun.ts";
import { demoAPI, demoHandlers } from "../../lib/demo.ts";
import { afterEach, Bun, describe, test } from "./_harness.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends one raw HTTP request; resolves with the response head. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(head));
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response head in 5 s: ${JSON.stringify(text)}`));
    }, 5_000);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.includes("\r\n\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("error", (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function upgradeHead(host: string, extra = ""): string {
  return `GET /v1/ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;
}

const status = (head: string): number => Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);

function start(options: { allowedHosts?: string[]; onError?: (error: Error) => void } = {}) {
  const server = new Server(demoAPI, { handlers: demoHandlers, ...options });
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    ...createHandler(server, { path: "/v1/ws" }),
  });
  cleanups.push(async () => {
    await server.shutdown({ graceMs: 0 });
    await http.stop(true);
  });
  return { server, port: http.port };
}

describe("admission on Bun", () => {
  test("a DNS-rebinding upgrade gets 421 with allowedHosts", async () => {
    const { server, port } = start({ allowedHosts: ["localhost", "127.0.0.1", "[::1]"] });
    const rebind = `rebind.example:${port}`;
    const refused = await rawRequest(port, upgradeHead(rebind, `Origin: http://${rebind}\r\n`));
    assert.equal(status(refused), 421, refused);
    assert.equal(server.sessions.size, 0);
    const accepted = await rawRequest(port, upgradeHead(`localhost:${port}`));
    assert.equal(status(accepted), 101, accepted);
  });

  test("a half-formed upgrade gets 400 and logs nothing", async () => {
    const logged: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      const { server, port } = start({ onError: (error) => logged.push(error) });
      const host = `127.0.0.1:${port}`;
      for (
        const head of [
          `GET /v1/ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n\r\n`,
          upgradeHead(host).replace(/Sec-WebSocket-Key: .*\r\n/, ""),
        ]
      ) {
        const response = await rawRequest(port, head);
        assert.equal(status(response), 400, response);
      }
      assert.equal(server.sessions.size, 0);
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(logged, []);
  });

  test("the example server survives silent TCP connections past its descriptor limit", async () => {
    const NOFILE = 64;
    const example = new URL("../../examples/bun/server.ts", import.meta.url).pathname;
    const child = Bun.spawn(
      ["sh", "-c", `ulimit -n ${NOFILE} && exec "$0" "${example}" --port 0`, process.execPath],
      { stdout: "pipe", stderr: "pipe" },
    );
    cleanups.push(async () => {
      child.kill("SIGKILL");
      await child.exited;
    });
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the example server printed no URL");
      out += value;
    }
    const url = out.split("\n")[0]!;
    const port = Number(new URL(url).port);
    // Twice the limit of connections that never send a byte.
    const flood = await Promise.all(
      Array.from({ length: NOFILE * 2 }, () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
          socket.on("error", () => resolve(socket));
        })),
    );
    cleanups.push(() => {
      for (const socket of flood) socket.destroy();
    });
    // Bun closes the ones it accepted after its idle timeout (about 10 s).
    const closedAt: number[] = [];
    const t0 = Date.now();
    for (const socket of flood) socket.on("close", () => closedAt.push(Date.now() - t0));
    while (closedAt.length < NOFILE - 16 && Date.now() - t0 < 20_000) await delay(100);
    assert.ok(closedAt.length >= NOFILE - 16, `only ${closedAt.length} closed in 20 s`);
    for (const socket of flood) socket.destroy();
    const conn = new Conn(url, { api: demoAPI, connectTimeoutMs: 10_000 });
    cleanups.push(() => conn.close());
    await conn.connect();
    assert.deepEqual(await conn.call("demo-echo-request", { after: "flood" }), { after: "flood" });
  }, 40_000);
});
