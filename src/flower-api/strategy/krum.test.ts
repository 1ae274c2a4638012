import { describe, expect, it } from "vitest";
import { fakeNode, honestAndOutlier, runStrategy, valuesOf } from "./fake-nodes.ts";
import { Krum } from "./krum.ts";

describe("Krum", () => {
  it("keeps the one reply closest to its neighbours, rejecting the outlier", async () => {
    const { result } = await runStrategy(new Krum(), honestAndOutlier(), [0, 0]);
    // f = 0, so each scores its n − f − 2 = 2 nearest: A 1 + 4 = 5, B 1 + 5 = 6,
    // C 4 + 5 = 9, Z 164 + 181 = 345. Krum keeps A.
    expect(valuesOf(result.arrays)).toEqual([1, 1]);
    // Metrics come from A alone.
    expect(result.trainMetricsClientapp.get(1)?.toObject()).toEqual({ loss: 1 });
  });

  it("scores on the n − f − 2 nearest, so f changes the pick", async () => {
    const nodes = [
      fakeNode({ arrays: [0, 0] }),
      fakeNode({ arrays: [0, 1] }),
      fakeNode({ arrays: [0, 5] }),
      fakeNode({ arrays: [0, 6.5] }),
      fakeNode({ arrays: [0, 8] }),
    ];
    // 1-D at 0, 1, 5, 6.5, 8. Squared distances: 0–1 1, 0–5 25, 0–6.5 42.25, 0–8 64,
    // 1–5 16, 1–6.5 30.25, 1–8 49, 5–6.5 2.25, 5–8 9, 6.5–8 2.25.
    // f = 0 (3 nearest): 0: 1+25+42.25 = 68.25, 1: 1+16+30.25 = 47.25,
    //   5: 2.25+9+16 = 27.25, 6.5: 2.25+2.25+30.25 = 34.75, 8: 2.25+9+49 = 60.25 → 5.
    const f0 = await runStrategy(new Krum(), nodes, [0, 0]);
    expect(valuesOf(f0.result.arrays)).toEqual([0, 5]);
    // f = 2 (n − f − 2 = 1 nearest): 0: 1, 1: 1, 5: 2.25, 6.5: 2.25, 8: 2.25 → 0 or 1
    // (a tie, broken by content order); either way not 5.
    const f2 = await runStrategy(new Krum({ numMaliciousNodes: 2 }), nodes, [0, 0]);
    expect([0, 1]).toContain(valuesOf(f2.result.arrays)[1]);
  });
});
