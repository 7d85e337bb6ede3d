import assert from "node:assert/strict";
import * as ed from "@noble/ed25519";
import {
  type Ed25519Backend,
  Ed25519Signer,
  encodeHex,
  generateKeyPair,
  isValidPublicKey,
  publicKeyFromSecret,
  sign,
  verify,
} from "../lib/ed25519_keys.ts";
import { resolveEd25519Backend } from "../lib/_ed25519_backend.ts";

interface Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

const file = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/rfc8032_ed25519.json", import.meta.url)),
) as { source: string; vectors: Vector[] };

const BACKENDS = ["webcrypto", "noble"] as const;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

const hex = (s: string): Uint8Array => Uint8Array.fromHex(s);
const le32 = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, "0")).toReversed();
const fromLE = (b: Uint8Array): bigint => BigInt("0x" + b.toReversed().toHex());
const flip = (b: Uint8Array, i: number): Uint8Array => {
  const c = b.slice();
  c[i]! ^= 1;
  return c;
};
const sha512 = async (...parts: Uint8Array[]): Promise<Uint8Array> => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) all.set(p, (o += p.length) - p.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-512", all));
};
/** A raw signature (R, S) made with scalar `a` and nonce `r` for key bytes `A`: R may be any point. */
const rawSign = async (R: ed.Point, r: bigint, a: bigint, A: Uint8Array, msg: Uint8Array) => {
  const Rb = R.is0() ? Uint8Array.of(1, ...new Uint8Array(31)) : R.toBytes();
  const k = fromLE(await sha512(Rb, A, msg)) % L;
  return Uint8Array.of(...Rb, ...le32((r + k * a) % L));
};
/** The point of order 8 from RFC 8032's small-order list; its multiples are all 8 torsion points. */
const T8 = ed.Point.fromBytes(
  hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
);

Deno.test("rfc8032_ed25519.json holds the five RFC 8032 §7.1 vectors", () => {
  assert.equal(file.source, "https://www.rfc-editor.org/rfc/rfc8032#section-7.1");
  assert.deepEqual(file.vectors.map((v) => v.name), [
    "TEST 1",
    "TEST 2",
    "TEST 3",
    "TEST 1024",
    "TEST SHA(abc)",
  ]);
  assert.equal(file.vectors[3]!.message.length, 2 * 1023);
});

Deno.test("resolveEd25519Backend() picks WebCrypto when it passes the known-answer test", async () => {
  assert.equal(await resolveEd25519Backend(), "webcrypto");
  assert.equal(await resolveEd25519Backend("auto"), "webcrypto");
  assert.equal(await resolveEd25519Backend("webcrypto"), "webcrypto");
  assert.equal(await resolveEd25519Backend("noble"), "noble");
  await assert.rejects(resolveEd25519Backend("sodium" as Ed25519Backend), RangeError);
});

Deno.test("sign() and verify() reproduce the RFC 8032 §7.1 vectors on both backends", async (t) => {
  for (const backend of BACKENDS) {
    for (const v of file.vectors) {
      await t.step(`${backend}: ${v.name}`, async () => {
        const sk = hex(v.secretKey), pk = hex(v.publicKey), msg = hex(v.message);
        const sig = hex(v.signature);
        // The vector itself must hold for noble's reference implementation.
        assert.equal(await ed.verifyAsync(sig, msg, pk, { zip215: false }), true);
        assert.equal(encodeHex(await publicKeyFromSecret(sk, { backend })), v.publicKey);
        assert.equal(encodeHex(await sign(msg, sk, { backend })), v.signature);
        const signer = await Ed25519Signer.create(v.secretKey, { backend });
        assert.equal(signer.backend, backend);
        assert.equal(signer.publicKeyHex, v.publicKey);
        assert.equal(encodeHex(await signer.sign(msg)), v.signature);
        assert.equal(await verify(sig, msg, pk, { backend }), true);
        const tampered = msg.length === 0 ? Uint8Array.of(0) : flip(msg, msg.length - 1);
        assert.equal(await verify(sig, tampered, pk, { backend }), false);
        assert.equal(await verify(flip(sig, 0), msg, pk, { backend }), false, "R tampered");
        assert.equal(await verify(flip(sig, 40), msg, pk, { backend }), false, "S tampered");
        assert.equal(await verify(sig, msg, flip(pk, 3), { backend }), false, "key tampered");
      });
    }
  }
});

Deno.test("verify() accepts on one backend what sign() made on the other", async (t) => {
  for (const signWith of BACKENDS) {
    const verifyWith = signWith === "webcrypto" ? "noble" : "webcrypto";
    await t.step(`${signWith} → ${verifyWith}`, async () => {
      for (let i = 0; i < 8; i++) {
        const { secretKey, publicKey } = await generateKeyPair({ backend: signWith });
        const msg = crypto.getRandomValues(new Uint8Array(i * 37));
        const sig = await sign(msg, secretKey, { backend: signWith });
        assert.deepEqual(await sign(msg, secretKey, { backend: verifyWith }), sig);
        assert.deepEqual(await publicKeyFromSecret(secretKey, { backend: verifyWith }), publicKey);
        assert.equal(await verify(sig, msg, publicKey, { backend: verifyWith }), true);
        assert.equal(await verify(flip(sig, 63), msg, publicKey, { backend: verifyWith }), false);
      }
    });
  }
});

Deno.test("generateKeyPair() makes fresh 32-byte keys on both backends", async () => {
  for (const backend of BACKENDS) {
    const a = await generateKeyPair({ backend });
    const b = await generateKeyPair({ backend });
    assert.equal(a.secretKey.length, 32);
    assert.equal(a.publicKey.length, 32);
    assert.notDeepEqual(a.secretKey, b.secretKey);
    assert.equal(isValidPublicKey(a.publicKey), true);
  }
});

Deno.test("verify() returns false for small-order and non-canonical keys on both backends", async (t) => {
  const smallOrder: [string, Uint8Array][] = [];
  let point = ed.Point.ZERO;
  for (let i = 0; i < 8; i++, point = point.add(T8)) {
    smallOrder.push([
      `torsion point ${i}`,
      point.is0() ? Uint8Array.of(1, ...new Uint8Array(31)) : point.toBytes(),
    ]);
  }
  const cases: [string, Uint8Array][] = [
    ...smallOrder,
    ["all zeros", new Uint8Array(32)],
    ["identity, non-canonical y = p + 1", le32(P + 1n)],
    ["identity with the sign bit (x = 0, x_0 = 1)", Uint8Array.of(1, ...new Uint8Array(30), 0x80)],
    ["y = p (non-canonical 0)", le32(P)],
    ["not on the curve", le32(2n)],
    ["all 0xff", new Uint8Array(32).fill(0xff)],
  ];
  for (const [name, key] of cases) {
    await t.step(name, async () => {
      assert.equal(isValidPublicKey(key), false);
      // (R = identity, S = 0) verifies any message under the identity key in
      // raw WebCrypto; and any (R = key, S = 0) verifies for small-order keys.
      const forged = [
        Uint8Array.of(1, ...new Uint8Array(63)),
        Uint8Array.of(...key, ...new Uint8Array(32)),
      ];
      for (const backend of BACKENDS) {
        for (const sig of forged) {
          assert.equal(await verify(sig, Uint8Array.of(7), key, { backend }), false, backend);
        }
      }
    });
  }
});

Deno.test("verify() returns false for a non-canonical S on both backends", async () => {
  const v = file.vectors[0]!;
  const sig = hex(v.signature), pk = hex(v.publicKey);
  const s = fromLE(sig.subarray(32));
  for (const bigS of [s + L, s + 2n * L, 2n ** 256n - 1n]) {
    if (bigS >= 2n ** 256n) continue;
    const mangled = Uint8Array.of(...sig.subarray(0, 32), ...le32(bigS));
    for (const backend of BACKENDS) {
      assert.equal(await verify(mangled, new Uint8Array(), pk, { backend }), false);
    }
  }
});

Deno.test("verify() checks the cofactorless equation on both backends", async (t) => {
  const seed = hex(file.vectors[0]!.secretKey);
  const { scalar: a, point: A } = await ed.utils.getExtendedPublicKeyAsync(seed);
  const pk = A.toBytes();
  const msg = new TextEncoder().encode("mixed");

  await t.step(
    "R with a small-order component: noble's default accepts, both backends refuse",
    async () => {
      const r = 123456789n;
      const sig = await rawSign(ed.Point.BASE.multiply(r).add(T8), r, a, pk, msg);
      assert.equal(await ed.verifyAsync(sig, msg, pk), true, "cofactored (ZIP-215) accepts");
      for (const backend of BACKENDS) {
        assert.equal(await verify(sig, msg, pk, { backend }), false, backend);
      }
    },
  );

  await t.step("R = identity (S = k·a): both backends accept", async () => {
    const sig = await rawSign(ed.Point.ZERO, 0n, a, pk, msg);
    for (const backend of BACKENDS) {
      assert.equal(await verify(sig, msg, pk, { backend }), true, backend);
    }
  });

  await t.step("a mixed-order key: both backends give the same answer per signature", async () => {
    const mixed = A.add(T8).toBytes();
    assert.equal(isValidPublicKey(mixed), true);
    const answers: boolean[] = [];
    for (let i = 1; i <= 24; i++) {
      const m = Uint8Array.of(i);
      const r = BigInt(i) * 7919n;
      const sig = await rawSign(ed.Point.BASE.multiply(r), r, a, mixed, m);
      const webcrypto = await verify(sig, m, mixed, { backend: "webcrypto" });
      assert.equal(await verify(sig, m, mixed, { backend: "noble" }), webcrypto, `signature ${i}`);
      answers.push(webcrypto);
    }
    // Cofactorless: only signatures whose k is a multiple of 8 pass.
    assert.ok(answers.includes(true) && answers.includes(false));
  });
});

Deno.test("Ed25519 key tools reject arguments of the wrong type or length", async (t) => {
  const v = file.vectors[1]!;
  const sk = hex(v.secretKey), pk = hex(v.publicKey), sig = hex(v.signature), msg = hex(v.message);
  const notBytes: unknown[] = [
    undefined,
    null,
    0,
    1n,
    true,
    "72",
    [1, 2],
    {},
    new ArrayBuffer(32),
    new Uint16Array(16),
    new DataView(new ArrayBuffer(32)),
  ];
  const u = (x: unknown) => x as Uint8Array;
  for (const backend of BACKENDS) {
    const o = { backend };
    await t.step(`${backend}: wrong types → TypeError`, async () => {
      for (const bad of notBytes) {
        const what = `${typeof bad} ${String(bad)}`;
        await assert.rejects(publicKeyFromSecret(u(bad), o), TypeError, what);
        await assert.rejects(sign(u(bad), sk, o), TypeError, what);
        if (typeof bad !== "string") {
          await assert.rejects(sign(msg, u(bad), o), TypeError, what);
          await assert.rejects(Ed25519Signer.create(u(bad), o), TypeError, what);
        }
        await assert.rejects(verify(u(bad), msg, pk, o), TypeError, what);
        await assert.rejects(verify(sig, u(bad), pk, o), TypeError, what);
        await assert.rejects(verify(sig, msg, u(bad), o), TypeError, what);
        assert.throws(() => isValidPublicKey(u(bad)), TypeError, what);
        const signer = await Ed25519Signer.create(sk, o);
        await assert.rejects(signer.sign(u(bad)), TypeError, what);
      }
    });
    await t.step(`${backend}: wrong lengths → RangeError`, async () => {
      for (const n of [0, 31, 33, 64]) {
        await assert.rejects(publicKeyFromSecret(new Uint8Array(n), o), RangeError);
        await assert.rejects(sign(msg, new Uint8Array(n), o), RangeError);
        await assert.rejects(Ed25519Signer.create(new Uint8Array(n), o), RangeError);
        await assert.rejects(verify(sig, msg, new Uint8Array(n), o), RangeError);
        assert.throws(() => isValidPublicKey(new Uint8Array(n)), RangeError);
      }
      for (const n of [0, 32, 63, 65, 128]) {
        await assert.rejects(verify(new Uint8Array(n), msg, pk, o), RangeError);
      }
      await assert.rejects(Ed25519Signer.create("ab".repeat(31), o), RangeError);
      await assert.rejects(Ed25519Signer.create("xy".repeat(32), o), SyntaxError);
    });
  }
  await t.step("an unknown backend → RangeError", async () => {
    const o = { backend: "openssl" as Ed25519Backend };
    await assert.rejects(generateKeyPair(o), RangeError);
    await assert.rejects(sign(msg, sk, o), RangeError);
    await assert.rejects(verify(sig, msg, pk, o), RangeError);
  });
});

Deno.test("verify() accepts bytes on any buffer: subarrays and SharedArrayBuffer", async () => {
  const v = file.vectors[2]!;
  const shared = new Uint8Array(new SharedArrayBuffer(200));
  shared.set(hex(v.signature), 10);
  shared.set(hex(v.message), 100);
  shared.set(hex(v.publicKey), 150);
  for (const backend of BACKENDS) {
    assert.equal(
      await verify(
        shared.subarray(10, 74),
        shared.subarray(100, 102),
        shared.subarray(150, 182),
        { backend },
      ),
      true,
    );
    assert.equal(
      encodeHex(await sign(shared.subarray(100, 102), hex(v.secretKey), { backend })),
      v.signature,
    );
  }
});
