import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  it("doubles from the initial wait up to the cap", () => {
    const top = () => 1 - 1e-9; // no jitter taken off... almost
    const none = () => 0;
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, { initialMs: 100 }, none))).toEqual([
      100, 200, 400, 800,
    ]);
    expect(backoffDelay(30, {}, none)).toBe(30_000);
    expect(backoffDelay(1_000, { maxMs: 5_000 }, none)).toBe(5_000);
    expect(backoffDelay(0, { initialMs: 100 }, top)).toBeCloseTo(50);
  });

  it("takes a random share off each wait (equal jitter by default)", () => {
    const waits = Array.from({ length: 1_000 }, () => backoffDelay(3, { initialMs: 100 }));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...waits)).toBeLessThanOrEqual(800);
    expect(new Set(waits.map(Math.round)).size).toBeGreaterThan(100);
    expect(backoffDelay(3, { initialMs: 100, jitter: 0 })).toBe(800);
  });
});
