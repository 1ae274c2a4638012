import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runFedbridge } from "./run-fedbridge.ts";

/** Processes of this checkout's fedbridge running now (pid and command line). */
function fedbridgeProcesses(tag: string): string[] {
  const lines = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n");
  return lines.filter((line) => line.includes("bin/fedbridge.mjs") && line.includes(tag));
}

describe("fedbridge demo", () => {
  it("runs an app through a freshly provisioned runtime, reports it, and leaves no process behind", async () => {
    const demo = await runFedbridge(
      ["demo", "--app", "examples/quickstart", "--sites", "3", "--seed", "7"],
      180_000,
    );
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/round 3\/3 /);
    expect(demo.stdout).toMatch(/FINISHED:COMPLETED/);
    const sim = await runFedbridge([
      "run",
      "examples/quickstart",
      "--sim",
      "--nodes",
      "3",
      "--seed",
      "7",
    ]);
    const sha = /final model sha256 ([0-9a-f]{64})/.exec(sim.stdout)?.[1];
    expect(demo.stdout).toContain(`final model sha256 ${sha}`);
    const root = /in (\/\S+fedbridge-demo-\S+)/.exec(demo.stdout)?.[1] as string;
    // The demo waits for each process it started to exit before it does: none is left now.
    expect(fedbridgeProcesses(root)).toEqual([]);
    // It says, last, that its processes are stopped and where its files stay; they are there.
    expect(demo.stdout.trim().split("\n").at(-1)).toBe(
      `stopped the server and the 3 sites; everything above stays in ${root} (delete it when done)`,
    );
    const results = /results \(result\.json, final-arrays\.pb, job log\): (\S+)/.exec(demo.stdout);
    expect(results?.[1]?.startsWith(root)).toBe(true);
    expect(existsSync(join(results?.[1] as string, "result.json"))).toBe(true);
  }, 200_000);
});
