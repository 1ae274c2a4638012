import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts a node's shares for one neighbour with AES-256-GCM under their agreed key:
 * `nonce (12) | ciphertext | tag (16)`. The associated data (sender and recipient) is
 * authenticated, so the server that routes the ciphertext can neither read it nor pass it
 * to another node unnoticed.
 */
export function encryptShare(
  key: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(associatedData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Uint8Array.from(Buffer.concat([nonce, body, cipher.getAuthTag()]));
}

/** Decrypts what `encryptShare` made; throws DATA_LOSS when it fails authentication. */
export function decryptShare(
  key: Uint8Array,
  ciphertext: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  if (ciphertext.length < NONCE_BYTES + TAG_BYTES) {
    throw new FedbridgeError(Code.DataLoss, "share ciphertext too short");
  }
  const decipher = createDecipheriv("aes-256-gcm", key, ciphertext.subarray(0, NONCE_BYTES));
  decipher.setAAD(associatedData);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  try {
    const body = ciphertext.subarray(NONCE_BYTES, ciphertext.length - TAG_BYTES);
    return Uint8Array.from(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch (cause) {
    throw new FedbridgeError(
      Code.DataLoss,
      "share ciphertext failed authentication (altered, or not meant for this pair of nodes)",
      { cause },
    );
  }
}
