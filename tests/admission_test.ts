/**
 * Admission on Deno: which upgrade requests the server refuses, and that it
 * stays up and serves again when a flood of silent TCP connections exhausts
 * its file descriptors. Every refusal is checked over a real socket; the
 * flood runs against a `wsrpc serve` subprocess whose descriptor limit is
 * lowered, not against the machine.
 */
import assert from "node:assert/strict";
import { Conn, Server } from "../mod.ts";
import { demoAPI, demoHandlers } from "../lib/demo.ts";
import { delay, startServer } from "./_server.ts";
import {
  type AdmissionOptions,
  type AdmissionState,
  checkUpgrade,
  hostName,
  selectProtocol,
} from "../lib/_admission.ts";

const CLI = new URL("../lib/cli/main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends one raw HTTP request and returns the response head (status line and headers). */
async function rawRequest(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(head));
    const buf = new Uint8Array(4096);
    let text = "";
    const until = Date.now() + 5_000;
    while (!text.includes("\r\n\r\n")) {
      if (Date.now() > until) throw new Error(`no response head in 5 s: ${JSON.stringify(text)}`);
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

function upgradeHead(host: string, headers: Record<string, string> = {}): string {
  const all = {
    Host: host,
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `GET /v1/ws HTTP/1.1\r\n${lines}\r\n`;
}

/** The status code of a response head. */
function status(head: string): number {
  return Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
}

interface ServeProcess {
  url: string;
  port: number;
  child: Deno.ChildProcess;
  /** SIGTERM, then the exit code and all of stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

/** Starts `wsrpc serve --port 0 ARGS...`, under `ulimit -n` when `nofile` is given. */
async function serve(args: string[] = [], nofile?: number): Promise<ServeProcess> {
  const command = [Deno.execPath(), "run", "-A", CLI, "serve", "--port", "0", ...args];
  const child = new Deno.Command(nofile === undefined ? command[0]! : "sh", {
    args: nofile === undefined
      ? command.slice(1)
      : ["-c", `ulimit -n ${nofile} && exec "$@"`, "sh", ...command],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const until = Date.now() + 20_000;
  while (!out.includes("\n") && Date.now() < until) {
    const { value, done } = await Promise.race([
      reader.read(),
      delay(until - Date.now()).then(() => ({ value: "", done: true })),
    ]);
    if (done) break;
    out += value;
  }
  const rest = (async () => {
    while (!(await reader.read()).done);
  })();
  if (!out.includes("\n")) {
    child.kill("SIGKILL");
    await child.status;
    await rest;
    throw new Error(`wsrpc serve printed no URL: ${await stderr}`);
  }
  const url = out.split("\n")[0]!;
  return {
    url,
    port: Number(new URL(url).port),
    child,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const { code } = await child.status;
      await rest;
      return { code, stderr: await stderr };
    },
  };
}

Deno.test("allowedHosts: the Host check, table", async () => {
  const server = new Server(demoAPI, {
    handlers: demoHandlers,
    allowedHosts: ["localhost", "127.0.0.1", "::1", "Example.COM"],
  });
  const cases: [host: string, expected: number | undefined][] = [
    ["localhost:8080", undefined],
    ["LOCALHOST", undefined],
    ["127.0.0.1:1", undefined],
    ["[::1]:8080", undefined],
    ["[::1]", undefined],
    ["example.com", undefined],
    ["rebind.example:8080", 421],
    ["localhost.rebind.example", 421],
    ["127.0.0.2", 421],
    ["evil.example@localhost", 421], // user info: not a plain host
    ["localhost/evil.example", 421],
    ["localhost#evil.example", 421],
    ["", 421],
  ];
  for (const [host, expected] of cases) {
    const request = new Request("http://127.0.0.1/v1/ws", {
      headers: { host, upgrade: "websocket" },
    });
    assert.equal(server.checkRequest(request)?.status, expected, `Host ${JSON.stringify(host)}`);
  }
  // Without the option, any host (and the Origin check alone) as before.
  const open = new Server(demoAPI, { handlers: demoHandlers });
  const rebinding = new Request("http://127.0.0.1/v1/ws", {
    headers: {
      host: "rebind.example:8080",
      upgrade: "websocket",
      origin: "http://rebind.example:8080",
    },
  });
  assert.equal(open.checkRequest(rebinding), undefined);
  await server.shutdown();
  await open.shutdown();
});

Deno.test("allowedHosts: a DNS-rebinding upgrade gets 421 over a real socket", async () => {
  await using s = startServer(demoAPI, {
    handlers: demoHandlers,
    allowedHosts: ["localhost", "127.0.0.1", "[::1]"],
  });
  const host = `rebind.example:${s.port}`;
  const refused = await rawRequest(s.port, upgradeHead(host, { Origin: `http://${host}` }));
  assert.equal(status(refused), 421, refused);
  assert.equal(s.server.sessions.size, 0);
  const local = `127.0.0.1:${s.port}`;
  const accepted = await rawRequest(s.port, upgradeHead(local, { Origin: `http://${local}` }));
  assert.equal(status(accepted), 101, accepted);
});

Deno.test("wsrpc serve on loopback refuses a DNS-rebinding Host with 421, --allow-host adds names", async () => {
  const server = await serve(["--allow-host", "wsrpc.test"]);
  try {
    const rebind = `rebind.example:${server.port}`;
    const refused = await rawRequest(
      server.port,
      upgradeHead(rebind, { Origin: `http://${rebind}` }),
    );
    assert.equal(status(refused), 421, refused);
    for (const host of ["localhost", "127.0.0.1", "[::1]", "wsrpc.test"]) {
      const head = await rawRequest(server.port, upgradeHead(`${host}:${server.port}`));
      assert.equal(status(head), 101, `${host}: ${head}`);
    }
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0);
  }
});

Deno.test("Deno adapter: a half-formed upgrade gets 400 and logs nothing", async () => {
  // In process: the server's onError hook and Deno.serve's own log (console.error).
  const logged: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    await using s = startServer(demoAPI, {
      handlers: demoHandlers,
      onError: (error) => logged.push(error),
    });
    const host = `127.0.0.1:${s.port}`;
    for (
      const head of [
        `GET /v1/ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n\r\n`, // curl -H 'Upgrade: websocket'
        upgradeHead(host).replace(/Sec-WebSocket-Key: .*\r\n/, ""), // no key
        upgradeHead(host, { Connection: "keep-alive" }),
      ]
    ) {
      const response = await rawRequest(s.port, head);
      assert.equal(status(response), 400, response);
    }
    assert.equal(s.server.sessions.size, 0);
  } finally {
    console.error = consoleError;
  }
  assert.deepEqual(logged, []);
});

Deno.test("wsrpc serve: a half-formed upgrade gets 400 and nothing on stderr", async () => {
  const server = await serve();
  let stderr = "";
  try {
    for (let i = 0; i < 3; i++) {
      const head = await rawRequest(
        server.port,
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n\r\n`,
      );
      assert.equal(status(head), 400, head);
    }
  } finally {
    ({ stderr } = await server.stop());
  }
  assert.equal(stderr.trim(), "SIGTERM: shutting down");
});

Deno.test({
  name: "wsrpc serve survives a flood of silent TCP connections past its descriptor limit",
  ignore: Deno.build.os === "windows",
  async fn() {
    const NOFILE = 64;
    const server = await serve([], NOFILE);
    const flood: Deno.Conn[] = [];
    let stderr = "";
    try {
      // A session opened before the flood: its listener keeps serving it.
      await using before = new Conn(server.url, { api: demoAPI });
      await before.connect();
      // Twice the limit of connections that never send a byte; the server
      // refuses some (its listener is down while it recovers).
      for (let i = 0; i < NOFILE * 2; i++) {
        try {
          flood.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
        } catch {
          await delay(20);
        }
      }
      // How many get through depends on when the listener fails and for how
      // long it refuses; that it did fail is pinned by the log line below.
      assert.ok(flood.length >= NOFILE / 2, `only ${flood.length} flood connections opened`);
      const echoed = await before.call("demo-echo-request", { during: "flood" });
      assert.deepEqual(echoed, { during: "flood" });

      // The failed listener is shed within shedAfterMs (10 s): the server
      // closes the flood connections it had accepted (read sees EOF or a reset).
      const closedByServer = await Promise.all(flood.map(async (conn) => {
        const timer = delay(15_000).then(() => "open");
        const read = conn.read(new Uint8Array(16)).then(
          (n) => n === null ? "eof" : "data",
          () => "reset",
        );
        return await Promise.race([read, timer]);
      }));
      assert.ok(
        closedByServer.filter((r) => r !== "open").length >= flood.length - 16,
        `flood connections still open after 15 s: ${closedByServer.join(",")}`,
      );

      // Still alive, listening again, and serving a new client.
      assert.equal(
        await Promise.race([server.child.status.then(() => "exited"), delay(0)]),
        undefined,
      );
      await using after = new Conn(server.url, { api: demoAPI, connectTimeoutMs: 10_000 });
      await after.connect();
      assert.deepEqual(await after.call("demo-echo-request", { after: "flood" }), {
        after: "flood",
      });
    } finally {
      for (const conn of flood) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      ({ stderr } = await server.stop());
    }
    assert.doesNotMatch(stderr, /Uncaught/);
    assert.match(stderr, /the listener on 127\.0\.0\.1:\d+ failed \(.*Too many open files/);
  },
});

// The pure admission rules of lib/_admission.ts, as tables: no server, no socket.

const upgradeHeaders = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-version": "13",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
};

Deno.test("checkUpgrade() refuses what it should, in order, and lets the rest upgrade", () => {
  const open = { accepting: true, connections: 0 };
  const cases: [
    name: string,
    headers: Record<string, string>,
    options: AdmissionOptions,
    state: AdmissionState,
    expected: number | undefined,
  ][] = [
    ["a plain HTTP request", { host: "a.example" }, {}, open, 426],
    [
      "upgrade: WebSocket (any case)",
      { ...upgradeHeaders, upgrade: "WebSocket" },
      {},
      open,
      undefined,
    ],
    ["shutting down", upgradeHeaders, {}, { accepting: false, connections: 0 }, 503],
    ["shutting down comes after 426", { host: "a" }, {}, { accepting: false, connections: 0 }, 426],
    ["at maxConnections", upgradeHeaders, { maxConnections: 2 }, {
      accepting: true,
      connections: 2,
    }, 503],
    ["just under maxConnections", upgradeHeaders, { maxConnections: 2 }, {
      accepting: true,
      connections: 1,
    }, undefined],
    ["the default maxConnections is 10 000", upgradeHeaders, {}, {
      accepting: true,
      connections: 10_000,
    }, 503],
    [
      "a Host outside allowedHosts",
      { ...upgradeHeaders, host: "evil.example" },
      { allowedHosts: ["localhost"] },
      open,
      421,
    ],
    [
      "Host is checked before Origin",
      { ...upgradeHeaders, host: "evil.example", origin: "https://evil.example" },
      { allowedHosts: ["localhost"], origins: ["https://app.example"] },
      open,
      421,
    ],
    [
      "an Origin outside origins",
      { ...upgradeHeaders, origin: "https://evil.example" },
      { origins: ["https://app.example"] },
      open,
      403,
    ],
    [
      "an Origin in origins",
      { ...upgradeHeaders, origin: "https://app.example" },
      { origins: ["https://app.example"] },
      open,
      undefined,
    ],
    [
      'origins: ["*"]',
      { ...upgradeHeaders, origin: "https://any.example" },
      { origins: ["*"] },
      open,
      undefined,
    ],
    [
      "no origins: same-origin accepted",
      { ...upgradeHeaders, host: "a.example:8080", origin: "http://a.example:8080" },
      {},
      open,
      undefined,
    ],
    [
      "no origins: cross-origin refused",
      { ...upgradeHeaders, host: "a.example", origin: "https://b.example" },
      {},
      open,
      403,
    ],
    ["an unparsable Origin", { ...upgradeHeaders, origin: "not a url" }, {}, open, 403],
    [
      "insecureSkipOriginCheck",
      { ...upgradeHeaders, origin: "https://evil.example" },
      { insecureSkipOriginCheck: true, origins: [] },
      open,
      undefined,
    ],
    [
      "no Origin (not a browser)",
      upgradeHeaders,
      { origins: ["https://app.example"] },
      open,
      undefined,
    ],
  ];
  for (const [name, headers, options, state, expected] of cases) {
    const response = checkUpgrade(
      new Request("http://a.example/v1/ws", { headers }),
      options,
      state,
    );
    assert.equal(response?.status, expected, name);
  }
  const refused = checkUpgrade(new Request("http://a.example/"), {}, open);
  assert.equal(refused?.headers.get("upgrade"), "websocket", "426 names the upgrade it expects");
});

Deno.test("selectProtocol() picks the server's first choice among the offered", () => {
  const cases: [
    supported: string[] | undefined,
    offered: string | undefined,
    expected: string | undefined,
  ][] = [
    [["wsrpc.v2", "wsrpc.v1"], "wsrpc.v1, wsrpc.v2", "wsrpc.v2"],
    [["wsrpc.v2", "wsrpc.v1"], "chat,wsrpc.v1", "wsrpc.v1"],
    [["wsrpc.v2", "wsrpc.v1"], "chat", undefined],
    [["wsrpc.v2"], undefined, undefined],
    [[], "wsrpc.v2", undefined],
    [undefined, "wsrpc.v2", undefined],
  ];
  for (const [supported, offered, expected] of cases) {
    const headers: Record<string, string> = offered === undefined
      ? {}
      : { "sec-websocket-protocol": offered };
    const request = new Request("http://a.example/", { headers });
    assert.equal(selectProtocol(request, supported), expected, `${supported} / ${offered}`);
  }
});

Deno.test("hostName() normalises a Host value, or refuses one that is not a plain host", () => {
  const cases: [host: string, expected: string | undefined][] = [
    ["Example.COM:80", "example.com"],
    ["::1", "[::1]"],
    ["[::1]:8080", "[::1]"],
    ["127.0.0.1:1", "127.0.0.1"],
    ["", undefined],
    ["evil.example@localhost", undefined],
    ["localhost/evil", undefined],
    ["localhost?x", undefined],
    ["localhost#x", undefined],
    ["local host", undefined],
    ["local\\host", undefined],
  ];
  for (const [host, expected] of cases) assert.equal(hostName(host), expected, host);
});
