import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runFedbridge } from "../../test/run-fedbridge.ts";

describe("examples/mnist in simulation", () => {
  it("reaches 0.90 accuracy on the held-out digits within 5 rounds on 10 IID nodes", async () => {
    const out = await mkdtemp(join(tmpdir(), "fedbridge-mnist-"));
    const run = await runFedbridge(
      ["run", "examples/mnist", "--sim", "--nodes", "10", "--seed", "1", "--out", out],
      300_000,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const { rounds } = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    expect(rounds).toHaveLength(5);
    const best = Math.max(
      ...rounds.map((r: { serverEvaluate: { accuracy: number } }) => r.serverEvaluate.accuracy),
    );
    expect(best).toBeGreaterThanOrEqual(0.9);
  }, 300_000);
});
