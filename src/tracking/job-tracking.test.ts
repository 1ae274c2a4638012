import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readEventFiles } from "./event-file-reader.ts";
import { createJobTracking } from "./job-tracking.ts";
import { TrackingStore, trackingStorePath } from "./tracking-store.ts";

describe("createJobTracking (the server's side of a job's tracking events)", () => {
  it("stores good events stamped with the sending site, refuses a NaN and a 10 KB tag with a clear line, and goes on", async () => {
    const workspace = await mkdtemp(join(tmpdir(), "fedbridge-job-tracking-"));
    const warnings: string[] = [];
    const tracking = createJobTracking(workspace, (line) => warnings.push(line));
    tracking.track("job-1", "site-2", [
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
    tracking.close();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /refused a tracking event from site-2 for job job-1: tracking tag "app\/nan": .*finite number/,
    );
    expect(warnings[1]).toMatch(
      /refused a tracking event from site-2 .*1024|refused a tracking event from site-2 .*long/,
    );
  });

  it("writes the server part's round metrics under the site each is about, with the sites' own events, once each, in one file per run", async () => {
    const workspace = await mkdtemp(join(tmpdir(), "fedbridge-job-tracking-"));
    const warnings: string[] = [];
    const tracking = createJobTracking(workspace, (line) => warnings.push(line));
    const scalar = (tag: string, value: number, site?: string) => ({
      kind: "scalar",
      tag,
      step: 1,
      value,
      wallTime: 1,
      ...(site === undefined ? {} : { site }),
    });
    // The server part: the aggregate (no site), a site's own metrics, and a site name that
    // could not be a folder.
    tracking.track("job-1", undefined, [
      scalar("server/accuracy", 0.9),
      scalar("train/loss", 0.5, "site-1"),
      scalar("train/loss", 0.7, "../site-1"),
    ]);
    tracking.track("job-1", "site-1", [scalar("app/partition", 0, "server")]);
    tracking.jobFinished("job-1");

    const tb = join(workspace, "jobs", "job-1", "tb_events");
    expect((await readdir(tb)).sort()).toEqual(["server", "site-1"]);
    const runs = {
      server: readEventFiles(join(tb, "server")),
      site: readEventFiles(join(tb, "site-1")),
    };
    expect(runs.server.scalars.map((s) => [s.tag, s.value])).toEqual([
      ["server/accuracy", Math.fround(0.9)],
    ]);
    expect(runs.site.scalars.map((s) => [s.tag, s.value])).toEqual([
      ["train/loss", Math.fround(0.5)],
      ["app/partition", 0],
    ]);
    expect(await readdir(join(tb, "site-1"))).toHaveLength(1);
    const store = new TrackingStore(trackingStorePath(workspace));
    expect(
      store
        .scalars("job-1")
        .map((r) => [r.site, r.tag, r.value])
        .sort(),
    ).toEqual([
      ["server", "server/accuracy", 0.9],
      ["site-1", "app/partition", 0],
      ["site-1", "train/loss", 0.5],
    ]);
    store.close();
    tracking.close();
    expect(warnings).toEqual([
      expect.stringMatching(
        /refused a tracking event from server for job job-1: site name "\.\.\/site-1"/,
      ),
    ]);
  });
});
