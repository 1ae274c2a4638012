import { describe, expect, it } from "vitest";
import type { Message } from "../message/message.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { fakeNode, model, runStrategy, valuesOf } from "./fake-nodes.ts";
import { FedProx } from "./fed-prox.ts";

describe("FedProx", () => {
  it("sends proximal-mu (a double) in every train config and aggregates as FedAvg", async () => {
    const seen: Message[] = [];
    const nodes = [1, 3].map((v) =>
      fakeNode({ arrays: [v, 2 * v], onTrain: (msg) => seen.push(msg) }),
    );
    const { result, lines } = await runStrategy(
      new FedProx({ proximalMu: 0.25 }),
      nodes,
      [0, 0],
      2,
    );
    // 2 nodes × 2 rounds, each config carrying proximal-mu 0.25 as a float, as Flower's.
    expect(seen).toHaveLength(4);
    for (const msg of seen) {
      const config = msg.content.configRecords.get("config");
      expect(config?.get("proximal-mu")).toBe(0.25);
      expect(config?.kindOf("proximal-mu")).toBe("double");
    }
    // The server side is FedAvg's: equal weights, [(1+3)/2, (2+6)/2] = [2, 4].
    expect(valuesOf(result.arrays)).toEqual([2, 4]);
    expect(lines).toContain("  FedProx: proximal mu 0.25");
  });

  it("keeps proximal-mu out of the evaluate config", async () => {
    const strategy = new FedProx({ proximalMu: 1 });
    const grid = new InMemoryGrid();
    grid.addNode(fakeNode({ arrays: [1] }));
    grid.addNode(fakeNode({ arrays: [1] }));
    const evaluate = await strategy.configureEvaluate(1, model(0), new ConfigRecord(), grid);
    const train = await strategy.configureTrain(1, model(0), new ConfigRecord(), grid);
    expect(evaluate[0]?.content.configRecords.get("config")?.has("proximal-mu")).toBe(false);
    // A whole-number mu still travels as a double (Flower's float), not an int.
    const trainConfig = train[0]?.content.configRecords.get("config");
    expect(trainConfig?.get("proximal-mu")).toBe(1);
    expect(trainConfig?.kindOf("proximal-mu")).toBe("double");
  });

  it("defaults to mu 0 and says that this is FedAvg", () => {
    const strategy = new FedProx();
    expect(strategy.proximalMu).toBe(0);
    expect(strategy.summary()[0]).toBe("FedProx: proximal mu 0 (0: the same as FedAvg)");
  });
});
