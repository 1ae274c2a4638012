import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TrackingStore, trackingStorePath } from "../tracking/index.ts";
import { registerTracking } from "./tracking.ts";

let workspace: string;
let out: string[];
beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), "cli-tracking-"));
  out = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void out.push(String(line)));
  const store = new TrackingStore(trackingStorePath(workspace));
  store.record(
    [1, 2].flatMap((round) => [
      {
        kind: "scalar" as const,
        job: "job-1",
        site: "site-1",
        tag: "train/loss",
        step: round,
        value: 1 / (round + 1),
        wallTime: round,
      },
      {
        kind: "scalar" as const,
        job: "job-1",
        tag: "eval/accuracy",
        step: round,
        value: 0.5 + round / 10,
        wallTime: round,
      },
    ]),
  );
  store.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(workspace, { recursive: true, force: true });
});

async function show(...args: string[]): Promise<void> {
  const program = new Command("fedbridge").exitOverride();
  registerTracking(program);
  await program.parseAsync(["tracking", "show", ...args], { from: "user" });
}

describe("fedbridge tracking show", () => {
  it("prints every scalar of a job as a table", async () => {
    await show("job-1", "--workspace", workspace);
    expect(out.join("\n").split("\n")).toEqual([
      "site    tag            step               value",
      "server  eval/accuracy     1                 0.6",
      "server  eval/accuracy     2                 0.7",
      "site-1  train/loss        1                 0.5",
      "site-1  train/loss        2  0.3333333333333333",
    ]);
  });

  it("prints JSON with --json and writes CSV with --csv", async () => {
    const csv = join(workspace, "job-1.csv");
    await show("job-1", "--workspace", workspace, "--json", "--csv", csv);
    const rows = JSON.parse(out.join("\n")) as {
      site: string;
      tag: string;
      step: number;
      value: number;
    }[];
    expect(rows).toHaveLength(4);
    expect(rows[3]).toEqual({
      site: "site-1",
      tag: "train/loss",
      step: 2,
      value: 1 / 3,
      wallTime: 2,
    });
    expect(readFileSync(csv, "utf8").split("\r\n")[0]).toBe("site,tag,step,value,wall_time");
    expect(readFileSync(csv, "utf8").trimEnd().split("\r\n")).toHaveLength(5);
  });

  it("says which jobs exist when the job has no scalars, and when there is no store", async () => {
    await expect(show("job-9", "--workspace", workspace)).rejects.toThrow(
      /no scalars of job job-9 in .*tracking\.db \(jobs with scalars: job-1\)/,
    );
    await expect(show("job-1", "--workspace", join(workspace, "elsewhere"))).rejects.toThrow(
      /no tracking store at .*elsewhere\/tracking\.db/,
    );
  });
});
