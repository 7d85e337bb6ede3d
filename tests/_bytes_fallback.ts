/** Run by bytes_test.ts in its own process: hides the native Uint8Array hex/base64 methods first. */
// Runs the fallbacks by hiding the native methods, as on Node 22.
const proto = Uint8Array.prototype as unknown as Record<string, unknown>;
const ctor = Uint8Array as unknown as Record<string, unknown>;
delete proto.toHex;
delete ctor.fromHex;
delete ctor.fromBase64;
const { toHex, fromHex, fromBase64url } = await import("../lib/_bytes.ts");
const b = crypto.getRandomValues(new Uint8Array(300));
const h = toHex(b);
if (fromHex(h).join() !== b.join() || fromHex(h.toUpperCase()).join() !== b.join()) {
  throw new Error("hex");
}
if (!/^[0-9a-f]+$/.test(h)) throw new Error("lower");
let threw = false;
try {
  fromHex("abc");
} catch (e) {
  threw = e instanceof SyntaxError;
}
if (!threw) throw new Error("odd");
const s = btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(
  /=+$/,
  "",
);
if (fromBase64url(s).join() !== b.join()) throw new Error("b64");
const mod = await import("../lib/ed25519.ts");
const kp = await mod.generateKeyPair();
const signature = await mod.sign(new TextEncoder().encode("m"), kp.secretKey);
if (!await mod.verify(signature, new TextEncoder().encode("m"), kp.publicKey)) {
  throw new Error("verify");
}
console.log("fallback ok", toHex(kp.publicKey).length);
