import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppTokens, NO_HEARTBEAT } from "./app-tokens.ts";
import { type RunRecord, RunRegistry } from "./run-registry.ts";

let runs: RunRegistry;
let failed: string[];
let tokens: AppTokens;
beforeEach(() => {
  vi.useFakeTimers();
  runs = new RunRegistry();
  failed = [];
  tokens = new AppTokens(runs, (run, details) => {
    failed.push(details);
    runs.finish(run, "failed", details);
  });
});
afterEach(() => {
  tokens.close();
  vi.useRealTimers();
});

const pythonRun = (): RunRecord =>
  runs.create(
    { hash: "h", id: "lab/app", version: "2.1.0" },
    new Uint8Array(),
    {},
    {},
    undefined,
    "python",
  );

describe("AppTokens (Flower 1.28's app heartbeats)", () => {
  it("issues a 256-hex token, moves the run to starting, and fails it 30 s later without a heartbeat", () => {
    const run = pythonRun();
    expect(run.status).toBe("pending");
    expect(tokens.issue(run)).toMatch(/^[0-9a-f]{256}$/);
    expect(run.status).toBe("starting");
    vi.advanceTimersByTime(29_999);
    expect(failed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(failed).toEqual([NO_HEARTBEAT]);
    expect(run).toMatchObject({ status: "finished", subStatus: "failed", details: NO_HEARTBEAT });
  });

  it("keeps the run alive 60 s past each heartbeat; a spent token is no longer watched", () => {
    const run = pythonRun();
    const token = tokens.issue(run);
    vi.advanceTimersByTime(29_000);
    expect(tokens.heartbeat(token)).toBe(true);
    vi.advanceTimersByTime(59_000);
    expect(failed).toEqual([]);
    tokens.spend(run);
    vi.advanceTimersByTime(120_000);
    expect(failed).toEqual([]);
    expect(tokens.heartbeat(token)).toBe(false);
    expect(tokens.heartbeat("not-a-token")).toBe(false);
  });
});
