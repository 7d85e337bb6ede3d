/**
 * The client side of tests/cloudflare_test.ts, for any runtime with a global
 * `WebSocket` (run with Bun there; bundled for Chromium): for each URL, a
 * `Conn` calls ping, echo (a big integer), notify with its pushes and fail.
 * `runClient` resolves with one result per URL.
 */
import { Conn, ProtocolError } from "../../mod.ts";
import { demoAPI } from "../../lib/demo.ts";

/** What one URL answered. */
export interface ClientResult {
  url: string;
  pong?: number;
  echoBig?: string;
  pushes?: number[];
  failure?: string;
  error?: string;
}

export async function runClient(urls: string[]): Promise<ClientResult[]> {
  const results: ClientResult[] = [];
  for (const url of urls) {
    const result: ClientResult = { url };
    const conn = new Conn(url, { api: demoAPI });
    try {
      await conn.connect();
      result.pong = (await conn.call("demo-ping-request", { timestamp: 1234 })).origintimestamp;
      const echo = await conn.call("demo-echo-request", { big: 2n ** 63n + 1n }) as { big: bigint };
      result.echoBig = `${echo.big}`;
      await conn.call("demo-notify-request", { count: 3 });
      result.pushes = [];
      for (let i = 0; i < 3; i++) {
        result.pushes.push(((await conn.read()).payload as { seq: number }).seq);
      }
      try {
        await conn.call("demo-fail-request", {});
      } catch (error) {
        if (error instanceof ProtocolError) result.failure = error.message;
        else throw error;
      }
    } catch (error) {
      result.error = String(error);
    } finally {
      await conn.close();
    }
    results.push(result);
  }
  return results;
}

// Bun: `bun tests/cloudflare/client.ts URL...` prints the results as one JSON line.
if ((import.meta as { main?: boolean }).main && "Bun" in globalThis) {
  const args = (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
  console.log(JSON.stringify(await runClient(args)));
}
