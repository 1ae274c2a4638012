import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/** An X25519 key pair as raw 32-byte strings, the form that travels and is secret-shared. */
export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * What an agreed key is for. Each purpose derives its own key from the X25519 secret
 * (HKDF-SHA256 with the purpose as info), so a key never serves two ends.
 */
export type KeyPurpose = "pairwise-mask" | "share-encryption";

const KEY_BYTES = 32;
// DER headers of an X25519 key in PKCS#8 and SPKI: the raw 32 bytes follow them.
const PKCS8_HEADER = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_HEADER = Buffer.from("302a300506032b656e032100", "hex");

/** A fresh X25519 key pair from the system's secure random source. */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return {
    privateKey: Uint8Array.from(
      privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_HEADER.length),
    ),
    publicKey: Uint8Array.from(
      publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_HEADER.length),
    ),
  };
}

/** The public key of a raw X25519 private key (to check a reconstructed one). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  const publicKey = createPublicKey(toPrivateKeyObject(privateKey));
  return Uint8Array.from(
    publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_HEADER.length),
  );
}

/**
 * The 32-byte key that `privateKey`'s owner and `publicKey`'s owner both compute: X25519,
 * then HKDF-SHA256 with the purpose as info. Throws on a malformed or low-order public key.
 */
export function agreeKey(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  purpose: KeyPurpose,
): Uint8Array {
  if (privateKey.length !== KEY_BYTES || publicKey.length !== KEY_BYTES) {
    throw new FedbridgeError(Code.InvalidArgument, "X25519 keys have 32 bytes");
  }
  let secret: Buffer;
  try {
    secret = diffieHellman({
      privateKey: toPrivateKeyObject(privateKey),
      publicKey: createPublicKey({
        key: Buffer.concat([SPKI_HEADER, publicKey]),
        format: "der",
        type: "spki",
      }),
    });
  } catch (cause) {
    throw new FedbridgeError(Code.InvalidArgument, "X25519 key agreement failed (invalid key)", {
      cause,
    });
  }
  return new Uint8Array(
    hkdfSync("sha256", secret, new Uint8Array(0), `fedbridge secagg+ ${purpose}`, KEY_BYTES),
  );
}

function toPrivateKeyObject(privateKey: Uint8Array): KeyObject {
  if (privateKey.length !== KEY_BYTES) {
    throw new FedbridgeError(Code.InvalidArgument, "X25519 keys have 32 bytes");
  }
  return createPrivateKey({
    key: Buffer.concat([PKCS8_HEADER, privateKey]),
    format: "der",
    type: "pkcs8",
  });
}
