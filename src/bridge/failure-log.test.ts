import { describe, expect, it } from "vitest";
import type { NodeFailure, RoundSummary } from "../flower-api/app/run-observer.ts";
import { failureLog } from "./failure-log.ts";

const offline = (nodeId: bigint, phase: NodeFailure["phase"] = "train"): NodeFailure => ({
  nodeId,
  phase,
  code: "NODE_UNAVAILABLE",
  reason: `site-${nodeId}: CLIENT_DEAD: site site-${nodeId} is offline`,
});

const round = (n: number, errors: NodeFailure[]): RoundSummary => ({
  round: n,
  numRounds: 10,
  failures: { train: errors.length, evaluate: 0 },
  errors,
  nodes: [],
});

describe("failureLog", () => {
  it("shows a failure once per stretch of rounds, and again when it comes back", () => {
    const lines = failureLog((id) => `site-${id}`);
    const shown = [
      lines(round(1, [])),
      lines(round(2, [offline(7n), offline(7n, "evaluate")])),
      lines(round(3, [offline(7n)])),
      lines(round(4, [offline(7n), offline(5n)])),
      lines(round(5, [])),
      // The same site, down again with the same reason: a second outage, shown again.
      lines(round(6, [offline(7n)])),
    ];
    expect(shown).toEqual([
      [],
      ["round 2: site-7 (train): NODE_UNAVAILABLE: site-7: CLIENT_DEAD: site site-7 is offline"],
      [],
      ["round 4: site-5 (train): NODE_UNAVAILABLE: site-5: CLIENT_DEAD: site site-5 is offline"],
      [],
      ["round 6: site-7 (train): NODE_UNAVAILABLE: site-7: CLIENT_DEAD: site site-7 is offline"],
    ]);
  });

  it("tells apart two sites failing with the same reason", () => {
    const raised = (nodeId: bigint): NodeFailure => ({
      nodeId,
      phase: "train",
      code: "CLIENT_APP_RAISED_EXCEPTION",
      reason: "no data today",
    });
    const lines = failureLog((id) => `site-${id}`);
    expect(lines(round(1, [raised(1n), raised(2n)]))).toEqual([
      "round 1: site-1 (train): CLIENT_APP_RAISED_EXCEPTION: no data today",
      "round 1: site-2 (train): CLIENT_APP_RAISED_EXCEPTION: no data today",
    ]);
  });
});
