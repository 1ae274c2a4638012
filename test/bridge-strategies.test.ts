import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STRATEGY_NAMES, strategyFromConfig } from "../examples/quickstart/strategies.ts";
import { killAll } from "./processes.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";

// examples/quickstart on the runtime through the bridge, 3 sites, once per strategy= value,
// once with secagg=true and once with dp=client-fixed (a mod at the sites, a wrapper at the
// server): 2 rounds each, one job at a time. (Sites take up to 4 jobs at once, but on 2 cores
// that is no faster.)

afterAll(killAll);

/** Each run config, and what the server's job log must show that it did. */
const CASES: [config: string, logs: RegExp][] = [
  ...STRATEGY_NAMES.map((name): [string, RegExp] => {
    const strategy = strategyFromConfig({ strategy: name, lr: 0.1 }).constructor.name;
    return [`strategy=${name}`, new RegExp(`Starting ${strategy} strategy: 2 rounds`)];
  }),
  ["secagg=true", /SecAgg\+ round 2: unmasked the sum of 3 updates/],
  ["dp=client-fixed", /privacy: \(ε = [\d.]+, δ = 0\.00001\) after 2 rounds/],
];

let runtime: TestRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime(3);
}, 120_000);

describe("examples/quickstart through the bridge, 3 sites, 2 rounds", () => {
  it.each(CASES)(
    "%s ends FINISHED:COMPLETED",
    async (config, logs) => {
      const submitted = await runtime.admin([
        "submit",
        "examples/quickstart",
        "--run-config",
        `num-server-rounds=2 ${config}`,
      ]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
      const waited = await runtime.admin(["wait", jobId, "--timeout", "120"]);
      expect(waited.stdout).toMatch(/FINISHED:COMPLETED/);
      expect(waited.code).toBe(0);
      const log = join(runtime.kits, "server1", "jobs", jobId, "log.txt");
      expect(await readFile(log, "utf8")).toMatch(logs);
    },
    150_000,
  );
});
