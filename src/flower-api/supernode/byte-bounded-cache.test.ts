import { describe, expect, it } from "vitest";
import { ByteBoundedCache } from "./byte-bounded-cache.ts";

const bytes = (n: number) => new Uint8Array(n);

describe("ByteBoundedCache", () => {
  it("forgets the oldest entries once past its budget", () => {
    const cache = new ByteBoundedCache(10);
    cache.set("a", bytes(4));
    cache.set("b", bytes(4));
    cache.set("c", bytes(4));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")?.length).toBe(4);
    expect(cache.get("c")?.length).toBe(4);
  });

  it("keeps nothing larger than its whole budget, and an id once", () => {
    const cache = new ByteBoundedCache(10);
    cache.set("big", bytes(11));
    expect(cache.get("big")).toBeUndefined();
    cache.set("a", bytes(6));
    cache.set("a", bytes(6));
    cache.set("b", bytes(4));
    // Counted once, "a" still fits beside "b".
    expect(cache.get("a")?.length).toBe(6);
    expect(cache.get("b")?.length).toBe(4);
  });

  it("keeps no entry of its largest size or more", () => {
    const cache = new ByteBoundedCache(10, 5);
    cache.set("a", bytes(5));
    cache.set("b", bytes(4));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")?.length).toBe(4);
  });

  it("lets go of bytes whose buffer moved to another thread, and of their budget", () => {
    const cache = new ByteBoundedCache(10);
    cache.set("kept", bytes(4));
    const moved = bytes(6);
    cache.set("moved", moved);
    structuredClone(moved, { transfer: [moved.buffer] });
    expect(cache.get("moved")).toBeUndefined();
    cache.set("c", bytes(6)); // fits beside "kept": the moved entry's 6 bytes no longer count
    expect(cache.get("kept")?.length).toBe(4);
    expect(cache.get("c")?.length).toBe(6);
  });
});
