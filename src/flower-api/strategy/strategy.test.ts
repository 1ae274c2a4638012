import { describe, expect, it } from "vitest";
import { Code } from "../../core/fedbridge-error.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { FedAvg } from "./fedavg.ts";

describe("Strategy.start", () => {
  it.each([0, -1, 2.5, Number.NaN])("refuses numRounds %s before any round", async (numRounds) => {
    const rounds: number[] = [];
    const grid = new InMemoryGrid(undefined, {
      roundStarted: (round) => rounds.push(round),
      roundFinished() {},
      log() {},
    });
    const initialArrays = ArrayRecord.fromTypedArrays([{ values: Float32Array.of(0), shape: [1] }]);
    const started = new FedAvg().start({ grid, initialArrays, numRounds });
    await expect(started).rejects.toThrow(`numRounds must be a positive integer, got ${numRounds}`);
    await expect(started).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(rounds).toEqual([]);
  });
});
