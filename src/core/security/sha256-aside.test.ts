import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { collectGarbage } from "../collect-garbage.ts";
import { sha256Hex } from "./sha256.ts";
import { sha256HexAside } from "./sha256-aside.ts";

const MiB = 2 ** 20;

function sharedBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(new SharedArrayBuffer(length));
  for (let i = 0; i < length; i += 4096) bytes[i] = (i / 4096 + seed) & 0xff;
  return bytes;
}

describe("sha256HexAside", () => {
  it("gives sha256Hex's answer for large shared bytes, small ones and unshared ones", async () => {
    const large = sharedBytes(8 * MiB, 1);
    const views = [large, large.subarray(3, 5 * MiB), sharedBytes(100, 2), new Uint8Array(2 * MiB)];
    const hashes = await Promise.all(views.map(sha256HexAside));
    expect(hashes).toEqual(views.map((view) => sha256Hex(view)));
  });

  it("hashes large shared bytes on another thread, leaving this one free", async () => {
    const bytes = Array.from({ length: 16 }, (_, i) => sharedBytes(16 * MiB, i));
    const start = performance.eventLoopUtilization();
    await Promise.all(bytes.map(sha256HexAside));
    const { active, idle } = performance.eventLoopUtilization(start);
    // Hashed here, 256 MiB would keep this thread busy the whole time.
    expect(active).toBeLessThan((active + idle) / 2);
  });

  it("lets go of the bytes it hashed", async () => {
    const rss = () => process.memoryUsage().rss;
    const before = rss();
    for (let i = 0; i < 10; i++) await sha256HexAside(sharedBytes(64 * MiB, i));
    collectGarbage();
    // 640 MiB went through the hashing thread; kept there, it would all still be here.
    expect(rss() - before).toBeLessThan(320 * MiB);
  });
});
