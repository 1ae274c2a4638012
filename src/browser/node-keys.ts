/**
 * A browser node's identity for Flower's Fleet API node auth (see
 * src/flower-api/superlink/node-auth.ts for the protocol): a P-384 ECDSA key pair made with
 * WebCrypto, its private half non-extractable (no script on the page can read it out, only
 * use it to sign), and every call signed over a Python-style ISO timestamp.
 */

import type { webcrypto } from "node:crypto";
import {
  PUBLIC_KEY_HEADER,
  pythonIsoTimestamp,
  SIGNATURE_HEADER,
  SIGNATURE_REUSE_MS,
  TIMESTAMP_HEADER,
} from "../flower-api/superlink/node-auth-headers.ts";

/** The type only (erased from the bundle): the project type-checks without the DOM lib. */
type CryptoKey = webcrypto.CryptoKey;

export interface WebNodeKeys {
  /** Non-extractable: usable for signing only. */
  privateKey: CryptoKey;
  /** PEM SubjectPublicKeyInfo text, as the SuperLink compares it byte for byte. */
  publicKeyPem: Uint8Array;
}

/** The three signed headers of one call, `-bin` values base64 as HTTP/1.1 carries them. */
export type AuthHeaders = Record<string, string>;

/** A fresh key pair: a node never reuses one (the SuperLink refuses a key already in use). */
export async function createWebNodeKeys(): Promise<WebNodeKeys> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, [
    "sign",
    "verify",
  ]);
  // WebCrypto keeps a public key extractable whatever `extractable` says; only it leaves.
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const lines = toBase64(spki).match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
  return { privateKey: pair.privateKey, publicKeyPem: new TextEncoder().encode(pem) };
}

/**
 * Signs for a stream of calls, reusing a signed timestamp for up to `reuseMs`, as the Node
 * SuperNode does (createAuthSigner): one ECDSA signature a minute at most.
 */
export function createWebAuthSigner(
  keys: WebNodeKeys,
  reuseMs = SIGNATURE_REUSE_MS,
): () => Promise<AuthHeaders> {
  let current: Promise<AuthHeaders> | undefined;
  let signedAt = 0;
  return () => {
    const now = Date.now();
    if (current === undefined || now - signedAt >= reuseMs) {
      signedAt = now;
      current = sign(keys, new Date(now));
      current.catch(() => {
        current = undefined; // a failed signature is not reused
      });
    }
    return current;
  };
}

async function sign(keys: WebNodeKeys, now: Date): Promise<AuthHeaders> {
  const timestamp = pythonIsoTimestamp(now);
  const raw = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    keys.privateKey,
    new TextEncoder().encode(timestamp),
  );
  return {
    [PUBLIC_KEY_HEADER]: toBase64(keys.publicKeyPem),
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: toBase64(derSignature(new Uint8Array(raw))),
  };
}

/**
 * WebCrypto's ECDSA signature (r ‖ s, each the curve's size) as DER, which Flower's
 * `cryptography` and Node's `verify` expect: SEQUENCE { INTEGER r, INTEGER s }.
 */
export function derSignature(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const integer = (bytes: Uint8Array): number[] => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const body = [...bytes.subarray(start)];
    if ((body[0] as number) & 0x80) body.unshift(0); // keep it positive
    return [0x02, body.length, ...body];
  };
  const content = [...integer(raw.subarray(0, half)), ...integer(raw.subarray(half))];
  // P-384's longest content is 2 × 51 bytes: a one-byte length always fits.
  return Uint8Array.from([0x30, content.length, ...content]);
}

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}
