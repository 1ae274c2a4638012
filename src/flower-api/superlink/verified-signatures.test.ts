import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { VerifiedSignatures } from "./verified-signatures.ts";

const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

describe("VerifiedSignatures", () => {
  it("keeps every node's last signature with 5,000 nodes signing at once (a shared cache of 4,096 recent signatures verified them all again)", () => {
    const cache = new VerifiedSignatures();
    const keys = Array.from({ length: 5000 }, (_, i) => `key-${i}`);
    for (const pem of keys) cache.add(pem, publicKey, `ts-1\0sig-${pem}`);
    expect(keys.every((pem) => cache.lookup(pem, `ts-1\0sig-${pem}`).known)).toBe(true);
    expect(cache.size).toBe(5000);
  });

  it("holds one entry per key: a new signature replaces the last, and the loaded key is kept", () => {
    const cache = new VerifiedSignatures();
    cache.add("key-a", publicKey, "ts-1\0sig-1");
    cache.add("key-a", publicKey, "ts-2\0sig-2");
    expect(cache.size).toBe(1);
    expect(cache.lookup("key-a", "ts-1\0sig-1")).toEqual({ key: publicKey, known: false });
    expect(cache.lookup("key-a", "ts-2\0sig-2").known).toBe(true);
    expect(cache.lookup("key-b", "ts-2\0sig-2")).toEqual({ known: false });
  });

  it("forgets the key verified least recently past its bound", () => {
    const cache = new VerifiedSignatures(2);
    cache.add("key-a", publicKey, "a");
    cache.add("key-b", publicKey, "b");
    cache.add("key-a", publicKey, "a2"); // key-a is now the most recent
    cache.add("key-c", publicKey, "c");
    expect(cache.size).toBe(2);
    expect(cache.lookup("key-b", "b").known).toBe(false);
    expect(cache.lookup("key-a", "a2").known).toBe(true);
    expect(cache.lookup("key-c", "c").known).toBe(true);
  });
});
