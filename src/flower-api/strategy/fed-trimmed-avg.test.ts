import { describe, expect, it } from "vitest";
import { fakeNode, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedTrimmedAvg } from "./fed-trimmed-avg.ts";

const four = [
  fakeNode({ arrays: [1, -50] }),
  fakeNode({ arrays: [2, 0] }),
  fakeNode({ arrays: [4, 1] }),
  fakeNode({ arrays: [100, 2], metrics: { "num-examples": 5 } }),
];

describe("FedTrimmedAvg", () => {
  it("drops ⌊beta·n⌋ values from each end of every coordinate and averages the rest", async () => {
    const { result } = await runStrategy(new FedTrimmedAvg({ beta: 0.25 }), four, [0, 0]);
    // ⌊0.25·4⌋ = 1 cut each end: [1, 2, 4, 100] → (2 + 4)/2 = 3;
    // [−50, 0, 1, 2] → (0 + 1)/2 = 0.5. Unweighted: the weight 5 plays no part.
    expect(valuesOf(result.arrays)).toEqual([3, 0.5]);
  });

  it("cuts nothing from 4 replies with the default beta 0.2", async () => {
    const strategy = new FedTrimmedAvg();
    expect(strategy.beta).toBe(0.2);
    const { result } = await runStrategy(strategy, four, [0, 0]);
    // ⌊0.2·4⌋ = 0: plain unweighted means, (1+2+4+100)/4 = 26.75, (−50+0+1+2)/4 = −11.75.
    expect(valuesOf(result.arrays)).toEqual([26.75, -11.75]);
  });

  it("fails clearly when beta leaves nothing to average", async () => {
    const two = [fakeNode({ arrays: [1] }), fakeNode({ arrays: [2] })];
    // ⌊0.5·2⌋ = 1 from each end of 2 values leaves none.
    await expect(runStrategy(new FedTrimmedAvg({ beta: 0.5 }), two, [0])).rejects.toThrow(
      /beta=0.5 is too large for 2 replies/,
    );
  });
});
