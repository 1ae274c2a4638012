import { describe, expect, it } from "vitest";
import { agreeKey, generateKeyPair, publicKeyOf } from "./key-agreement.ts";

describe("X25519 key agreement", () => {
  it("gives both nodes of a pair the same key, and anyone else another", () => {
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    const eve = generateKeyPair();
    const ab = agreeKey(alice.privateKey, bob.publicKey, "pairwise-mask");
    expect(ab).toHaveLength(32);
    expect(agreeKey(bob.privateKey, alice.publicKey, "pairwise-mask")).toEqual(ab);
    expect(agreeKey(eve.privateKey, bob.publicKey, "pairwise-mask")).not.toEqual(ab);
    expect(agreeKey(alice.privateKey, eve.publicKey, "pairwise-mask")).not.toEqual(ab);
  });

  it("derives a different key for each purpose", () => {
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    expect(agreeKey(alice.privateKey, bob.publicKey, "share-encryption")).not.toEqual(
      agreeKey(alice.privateKey, bob.publicKey, "pairwise-mask"),
    );
  });

  it("recovers a public key from its private key (to check a reconstructed one)", () => {
    const pair = generateKeyPair();
    expect(publicKeyOf(pair.privateKey)).toEqual(pair.publicKey);
    expect(generateKeyPair().publicKey).not.toEqual(pair.publicKey);
  });

  it("refuses malformed and low-order keys", () => {
    const pair = generateKeyPair();
    expect(() => agreeKey(pair.privateKey, new Uint8Array(31), "pairwise-mask")).toThrow(
      /32 bytes/,
    );
    // The all-zero point has small order: the shared secret would be zero.
    expect(() => agreeKey(pair.privateKey, new Uint8Array(32), "pairwise-mask")).toThrow(
      /key agreement failed/,
    );
  });
});
