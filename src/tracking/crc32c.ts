/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord framing.
 *
 * Written here, table-driven (slicing by 4), because npm offers no well-kept CRC-32C package
 * without native code (node:zlib's `crc32` is the other polynomial, and only from Node 22),
 * and event files are small enough that ~1 GB/s of plain JavaScript is plenty.
 */

const POLY = 0x82f63b78;

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes, for slicing by 4. */
const TABLES: readonly Uint32Array[] = (() => {
  const tables = [
    new Uint32Array(256),
    new Uint32Array(256),
    new Uint32Array(256),
    new Uint32Array(256),
  ];
  const [t0, t1, t2, t3] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    t1[b] = (t0[t0[b] & 0xff] ^ (t0[b] >>> 8)) >>> 0;
    t2[b] = (t0[t1[b] & 0xff] ^ (t1[b] >>> 8)) >>> 0;
    t3[b] = (t0[t2[b] & 0xff] ^ (t2[b] >>> 8)) >>> 0;
  }
  return tables;
})();

/** The CRC-32C of `bytes`, as an unsigned 32-bit number. `crc32c("123456789")` is 0xE3069283. */
export function crc32c(bytes: Uint8Array): number {
  const [t0, t1, t2, t3] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = 0xffffffff;
  let i = 0;
  const end4 = bytes.length - (bytes.length % 4);
  for (; i < end4; i += 4) {
    crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    crc = t3[crc & 0xff] ^ t2[(crc >>> 8) & 0xff] ^ t1[(crc >>> 16) & 0xff] ^ t0[crc >>> 24];
  }
  for (; i < bytes.length; i++) crc = t0[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord's masked CRC: a CRC stored next to data that itself holds CRCs is rotated and offset,
 * so that checksumming checksummed data does not degenerate (as TensorFlow's `crc32c::Mask`).
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}
