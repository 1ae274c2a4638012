import { describe, expect, it } from "vitest";
import { parseJobMeta } from "./job-meta.ts";
import type { SiteAssignment, SiteState } from "./scheduler.ts";
import { type SchedulerClock, SchedulerLoop, type WaitingJob } from "./scheduler-loop.ts";

/** A clock whose time moves only when the test says so. */
class ManualClock implements SchedulerClock {
  #now = 0;
  #timers: { at: number; fn: () => void }[] = [];
  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const timer of due) timer.fn();
  }
  get pending(): number {
    return this.#timers.length;
  }
}

/** A registry of sites, a loop over it, and a record of what the loop did. */
function setup(defaultTimeoutSeconds = 60) {
  const clock = new ManualClock();
  const sites = new Map<string, SiteState>();
  const started: [string, string[]][] = [];
  const givenUp: [string, string][] = [];
  const loop = new SchedulerLoop({
    sites: () => [...sites.values()],
    start: (job: WaitingJob, assigned: SiteAssignment[]) => {
      started.push([job.id, assigned.map((s) => s.name)]);
      for (const { name, gpus, memoryGb } of assigned) {
        const site = sites.get(name);
        const running = { jobId: job.id, gpus, memoryGb };
        if (site) sites.set(name, { ...site, runningJobs: [...site.runningJobs, running] });
      }
    },
    giveUp: (job, reason) => givenUp.push([job.id, reason]),
    defaultTimeoutSeconds,
    clock,
  });
  const online = (name: string, value = true, maxJobs = 4) => {
    const existing = sites.get(name);
    sites.set(name, {
      name,
      online: value,
      resources: { gpus: 1, memoryGb: 8, maxJobs },
      runningJobs: existing ? [...existing.runningJobs] : [],
    });
    loop.sitesChanged();
  };
  const finish = (jobId: string) => {
    for (const [name, s] of sites)
      sites.set(name, { ...s, runningJobs: s.runningJobs.filter((j) => j.jobId !== jobId) });
    loop.jobFinished();
  };
  const job = (id: string, fields: Record<string, unknown> = {}): WaitingJob => ({
    id,
    meta: parseJobMeta({ name: id, app: "sum", ...fields }),
  });
  return { clock, loop, started, givenUp, online, finish, job };
}

describe("SchedulerLoop", () => {
  it("starts a job at once when it can", () => {
    const { loop, started, online, job, clock } = setup();
    online("site-1");
    loop.submit(job("a"));
    expect(started).toEqual([["a", ["site-1"]]]);
    expect(loop.waiting()).toEqual([]);
    expect(clock.pending).toBe(0); // its deadline is cancelled
  });

  it("keeps a job waiting until the sites it needs come online", () => {
    const { loop, started, online, job, clock, givenUp } = setup();
    online("site-1");
    loop.submit(job("a", { minSites: 2 }));
    expect(started).toEqual([]);
    expect(loop.waiting()).toEqual([{ id: "a", reason: "needs 2 site(s), 1 can take it" }]);
    clock.advance(30_000);
    online("site-2");
    expect(started).toEqual([["a", ["site-1", "site-2"]]]);
    clock.advance(60_000);
    expect(givenUp).toEqual([]);
  });

  it("gives up at the deadline with the last reason", () => {
    const { loop, started, online, job, clock, givenUp } = setup();
    online("site-1", false);
    loop.submit(job("a", { timeoutSeconds: 10 }));
    loop.submit(job("b"));
    clock.advance(9_999);
    expect(givenUp).toEqual([]);
    clock.advance(1);
    expect(givenUp).toEqual([
      [
        "a",
        "could not be scheduled within 10 s: needs 1 site(s), 0 can take it: site-1 is offline",
      ],
    ]);
    expect(loop.waiting().map((w) => w.id)).toEqual(["b"]);
    clock.advance(50_000);
    expect(givenUp.map(([id]) => id)).toEqual(["a", "b"]);
    expect(started).toEqual([]);
  });

  it("tries waiting jobs again when a job finishes and frees a site, oldest first", () => {
    const { loop, started, online, finish, job } = setup();
    online("site-1", true, 1);
    loop.submit(job("a"));
    loop.submit(job("b"));
    loop.submit(job("c"));
    expect(started.map(([id]) => id)).toEqual(["a"]);
    expect(loop.waiting()[0]?.reason).toMatch(/already runs 1 of its 1 job/);
    finish("a");
    expect(started.map(([id]) => id)).toEqual(["a", "b"]);
    finish("b");
    expect(started.map(([id]) => id)).toEqual(["a", "b", "c"]);
  });

  it("never books a site twice within one pass", () => {
    const { loop, started, online, job } = setup();
    online("gpu", false);
    loop.submit(job("a", { resourceSpec: { "@ALL": { gpus: 1 } } }));
    loop.submit(job("b", { resourceSpec: { "@ALL": { gpus: 1 } } }));
    online("gpu");
    expect(started.map(([id]) => id)).toEqual(["a"]);
    expect(loop.waiting()[0]?.reason).toMatch(/has 0 of the 1 GPU\(s\) needed free/);
  });

  it("forgets a job removed while waiting", () => {
    const { loop, online, job, clock, givenUp, started } = setup();
    loop.submit(job("a"));
    expect(loop.remove("a")).toBe(true);
    expect(loop.remove("a")).toBe(false);
    expect(clock.pending).toBe(0);
    online("site-1");
    clock.advance(120_000);
    expect([started, givenUp]).toEqual([[], []]);
  });

  it("gives up a job whose start throws, and carries on with the others", () => {
    const givenUp: [string, string][] = [];
    const started: string[] = [];
    const site = { name: "s", online: true, resources: { gpus: 0, memoryGb: 8, maxJobs: 4 } };
    const loop = new SchedulerLoop({
      sites: () => [{ ...site, runningJobs: [] }],
      start: (job) => {
        if (job.id === "bad") throw new Error("no job runner named nope");
        started.push(job.id);
      },
      giveUp: (job, reason) => givenUp.push([job.id, reason]),
    });
    const meta = parseJobMeta({ name: "j", app: "sum" });
    loop.submit({ id: "bad", meta });
    loop.submit({ id: "good", meta });
    expect(givenUp).toEqual([["bad", "could not be started: no job runner named nope"]]);
    expect(started).toEqual(["good"]);
    loop.close();
  });
});
