import { describe, expect, it } from "vitest";
import { crc32c, maskedCrc32c } from "./crc32c.ts";

const text = (s: string) => new TextEncoder().encode(s);

describe("crc32c", () => {
  it("matches the published check value and RFC 3720's test vectors", () => {
    expect(crc32c(text("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("gives the same answer for every length and alignment (slicing agrees with bytewise)", () => {
    const bytes = Uint8Array.from({ length: 67 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let start = 0; start < 5; start++) {
      for (let end = start; end <= bytes.length; end++) {
        expect(crc32c(bytes.subarray(start, end))).toBe(bytewise(bytes.subarray(start, end)));
      }
    }
  });

  it("masks as TensorFlow does", () => {
    // The length field of the golden file's first record (72) and its stored masked CRC.
    const length = new Uint8Array([0x48, 0, 0, 0, 0, 0, 0, 0]);
    expect(maskedCrc32c(length)).toBe(0x9d4892fe);
  });
});

function bytewise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
