import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "./sha256-js.ts";

describe("sha256-js (the browser build's SHA-256)", () => {
  it("matches node:crypto for lengths around every padding boundary, and for text", () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const bytes = randomBytes(length);
      const split = Math.floor(length / 3);
      expect(sha256Hex(bytes.subarray(0, split), bytes.subarray(split))).toBe(
        createHash("sha256").update(bytes).digest("hex"),
      );
    }
    expect(sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(sha256Hex("é\u0000x")).toBe(createHash("sha256").update("é\u0000x").digest("hex"));
  });
});
