import { describe, expect, it } from "vitest";
import { PullPacer } from "./pull-pacer.ts";

const quickEmpty = { gotMessage: false, tookMs: 5 };

describe("PullPacer", () => {
  it("backs off after quick empty pulls: 0.1 s doubling to 1 s", () => {
    const pacer = new PullPacer();
    expect(Array.from({ length: 7 }, () => pacer.next(quickEmpty))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });

  it("pulls again at once after a message or a held pull, and starts the backoff over", () => {
    const pacer = new PullPacer();
    pacer.next(quickEmpty);
    pacer.next(quickEmpty);
    expect(pacer.next({ gotMessage: true, tookMs: 3 })).toBe(0);
    expect(pacer.next(quickEmpty)).toBe(100);
    expect(pacer.next({ gotMessage: false, tookMs: 10_000 })).toBe(0);
    expect(pacer.next(quickEmpty)).toBe(100);
  });
});
