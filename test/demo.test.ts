import { execFileSync } from "node:child_process";
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
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fedbridgeProcesses(root)).toEqual([]);
  }, 200_000);
});
