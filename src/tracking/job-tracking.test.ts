import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createJobTracking } from "./job-tracking.ts";
import { TrackingStore, trackingStorePath } from "./tracking-store.ts";

describe("createJobTracking (the server's side of a job's tracking events)", () => {
  it("stores good events stamped with the sending site, refuses a NaN and a 10 KB tag with a clear line, and goes on", async () => {
    const workspace = await mkdtemp(join(tmpdir(), "fedbridge-job-tracking-"));
    const warnings: string[] = [];
    const track = createJobTracking(workspace, (line) => warnings.push(line));
    track("job-1", "site-2", [
      { kind: "scalar", tag: "app/ok", step: 1, value: 0.5, wallTime: 1, site: "site-9" },
      { kind: "scalar", tag: "app/nan", step: 1, value: Number.NaN, wallTime: 1 },
      { kind: "scalar", tag: "x".repeat(10_240), step: 1, value: 1, wallTime: 1 },
      { kind: "scalar", tag: "app/ok", step: 2, value: 0.25, wallTime: 2 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const store = new TrackingStore(trackingStorePath(workspace));
    expect(store.scalars("job-1").map((r) => [r.site, r.tag, r.step, r.value])).toEqual([
      ["site-2", "app/ok", 1, 0.5],
      ["site-2", "app/ok", 2, 0.25],
    ]);
    store.close();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /refused a tracking event from site-2 for job job-1: tracking tag "app\/nan": .*finite number/,
    );
    expect(warnings[1]).toMatch(
      /refused a tracking event from site-2 .*1024|refused a tracking event from site-2 .*long/,
    );
  });
});
