import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { agreeKey, generateKeyPair } from "./key-agreement.ts";
import { shareAssociatedData } from "./protocol.ts";
import { decryptShare, encryptShare } from "./share-encryption.ts";

describe("AES-GCM share encryption", () => {
  const alice = generateKeyPair();
  const bob = generateKeyPair();
  const key = agreeKey(alice.privateKey, bob.publicKey, "share-encryption");
  const shares = Uint8Array.from(randomBytes(140));
  const aliceToBob = shareAssociatedData(2n, 3n);

  it("lets the recipient, with the agreed key, read what the sender encrypted", () => {
    const ciphertext = encryptShare(key, shares, aliceToBob);
    const bobsKey = agreeKey(bob.privateKey, alice.publicKey, "share-encryption");
    expect(decryptShare(bobsKey, ciphertext, aliceToBob)).toEqual(shares);
    expect(Buffer.from(ciphertext).includes(Buffer.from(shares.subarray(0, 16)))).toBe(false);
  });

  it("uses a fresh nonce for every encryption", () => {
    expect(encryptShare(key, shares, aliceToBob)).not.toEqual(
      encryptShare(key, shares, aliceToBob),
    );
  });

  it("refuses another key, another pair of nodes, and altered bytes", () => {
    const ciphertext = encryptShare(key, shares, aliceToBob);
    const eve = generateKeyPair();
    const evesKey = agreeKey(eve.privateKey, alice.publicKey, "share-encryption");
    expect(() => decryptShare(evesKey, ciphertext, aliceToBob)).toThrow(/failed authentication/);
    expect(() => decryptShare(key, ciphertext, shareAssociatedData(2n, 4n))).toThrow(
      /failed authentication/,
    );
    const altered = ciphertext.slice();
    altered[20] = (altered[20] as number) ^ 1;
    expect(() => decryptShare(key, altered, aliceToBob)).toThrow(/failed authentication/);
  });
});
