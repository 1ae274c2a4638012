import { createCipheriv } from "node:crypto";
import { endianness } from "node:os";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

const ZERO_IV = new Uint8Array(16);

/**
 * Expands a 32-byte seed into `length` uniform 32-bit words: the AES-256-CTR keystream under
 * the seed, read little-endian. Node and server expand the same seed to the same mask.
 * (Flower seeds numpy's Mersenne Twister with 32 bits of the seed; a cipher keystream keeps
 * all 256 bits and cannot be predicted from the words already seen.)
 */
export function expandMask(seed: Uint8Array, length: number): Uint32Array {
  if (seed.length !== 32)
    throw new FedbridgeError(Code.InvalidArgument, "a mask seed has 32 bytes");
  const cipher = createCipheriv("aes-256-ctr", seed, ZERO_IV);
  const stream = cipher.update(Buffer.alloc(4 * length));
  if (endianness() === "BE") stream.swap32();
  const bytes = stream.byteOffset % 4 === 0 ? stream : new Uint8Array(stream);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length);
}

/** `target += sign · mask`, modulo 2^32 (a Uint32Array store wraps). */
export function addMask(target: Uint32Array, mask: Uint32Array, sign: 1 | -1 = 1): void {
  if (sign === 1)
    for (let k = 0; k < target.length; k++) target[k] = (target[k] as number) + (mask[k] as number);
  else
    for (let k = 0; k < target.length; k++) target[k] = (target[k] as number) - (mask[k] as number);
}

/**
 * Reduces every word modulo `modulusRange`, a power of two up to 2^32. Sums and masks are
 * taken modulo 2^32 throughout, which `modulusRange` divides, so one reduction at the end
 * gives the same result as reducing after each step.
 */
export function reduceModulo(vector: Uint32Array, modulusRange: number): void {
  if (modulusRange >= 2 ** 32) return;
  const mask = modulusRange - 1;
  for (let k = 0; k < vector.length; k++) vector[k] = (vector[k] as number) & mask;
}
