import { describe, expect, it } from "vitest";
import { verifyAuthMetadata } from "../flower-api/superlink/node-auth.ts";
import { createWebAuthSigner, createWebNodeKeys, derSignature } from "./node-keys.ts";

describe("a browser node's WebCrypto keys", () => {
  it("sign headers the SuperLink's node auth accepts, and keep the private key inside", async () => {
    const keys = await createWebNodeKeys();
    const headers = await createWebAuthSigner(keys)();
    const get = (key: string) => {
      const value = headers[key];
      if (value === undefined) return undefined;
      return key.endsWith("-bin") ? Buffer.from(value, "base64") : value;
    };
    const { publicKeyPem } = verifyAuthMetadata(get);
    expect(new TextDecoder().decode(publicKeyPem)).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PUBLIC KEY-----\n$/,
    );
    expect(keys.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("pkcs8", keys.privateKey)).rejects.toThrow();
    // A changed timestamp no longer verifies.
    const forged = (key: string) =>
      key === "flwr-timestamp" ? "2026-01-01T00:00:00+00:00" : get(key);
    expect(() => verifyAuthMetadata(forged)).toThrow(/Invalid signature/);
  });

  it("writes r ‖ s as DER with minimal, positive integers", () => {
    const raw = new Uint8Array(96);
    raw[0] = 0; // r with a leading zero byte: dropped
    raw[1] = 0x7f;
    raw[48] = 0x80; // s with its high bit set: a zero byte is added
    const der = derSignature(raw);
    expect([...der.subarray(0, 4)]).toEqual([0x30, der.length - 2, 0x02, 47]);
    expect(der[4]).toBe(0x7f);
    expect([...der.subarray(51, 54)]).toEqual([0x02, 49, 0x00]);
  });
});
