// Drives headless Chromium with playwright-core (run by Node, spawned by
// tests/browser_test.ts): opens each page, waits for the global variable it
// publishes its results in, and prints all results as one JSON line.
//
// Usage: node driver.mjs <playwright-core dir> <chromium path> (<page URL> <global name>)...
import { createRequire } from "node:module";
import process from "node:process";

const [playwrightDir, executablePath, ...pages] = process.argv.slice(2);
if (!playwrightDir || !executablePath || pages.length === 0 || pages.length % 2 !== 0) {
  console.error("usage: node driver.mjs <playwright-core dir> <chromium path> (<url> <global>)...");
  process.exit(2);
}
const { chromium } = createRequire(`${playwrightDir}/`)("./index.js");

const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout: 60_000,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const results = { browserVersion: browser.version() };
  for (let i = 0; i < pages.length; i += 2) {
    const [url, name] = [pages[i], pages[i + 1]];
    const page = await browser.newPage();
    page.on("console", (m) => console.error(`[${name} console.${m.type()}] ${m.text()}`));
    page.on("pageerror", (error) => console.error(`[${name} error] ${error.message}`));
    await page.goto(url, { timeout: 30_000 });
    await page.waitForFunction((n) => globalThis[n] !== undefined, name, { timeout: 60_000 });
    results[name] = await page.evaluate((n) => globalThis[n], name);
    await page.close();
  }
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
