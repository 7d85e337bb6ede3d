/** The Chromium page of tests/cloudflare_test.ts: runs the client on the URLs in `?urls=`. */
import { runClient } from "./client.ts";

const urls = new URLSearchParams(location.search).get("urls")!.split(",");
(globalThis as Record<string, unknown>).cloudflareResults = {
  userAgent: navigator.userAgent,
  results: await runClient(urls),
};
