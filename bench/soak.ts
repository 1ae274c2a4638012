/**
 * A soak (issue 19): a bridged job (the quickstart's model, bench/apps/soak) for
 * `BENCH_SOAK_ROUNDS` rounds (default 200) on `BENCH_SOAK_SITES` sites (default 8) while a
 * chaos loop, every few rounds, SIGKILLs a random site and starts it again, SIGSTOPs one (or
 * only its job process, so that its task outlives the phase timeout) past the phase timeout, or
 * SIGKILLs the server and starts it again (the job resumes by replay, docs/resume.md). site-1 is never hit: it is the site whose memory is followed through all.
 * Every round it samples each process's RSS and open fds (server, its job process, each site
 * and its job process) and prints their slope per 100 rounds after warm-up. It fails (throws)
 * unless the job completes all its rounds, every round is accounted for in result.json and
 * the tracking store (its responders, or its failures with reasons), every fault shows in the
 * job's log and in a round's failures, and no job process outlives the job.
 */
import { readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createRng } from "../src/core/numeric/random.ts";
import { TrackingStore, trackingStorePath } from "../src/tracking/tracking-store.ts";
import { killAll } from "../test/processes.ts";
import { startTestRuntime, type TestRuntime } from "../test/runtime-harness.ts";
import { quickstartWith } from "../test/test-apps.ts";
import { alive, openFds, procStatusBytes } from "./lib/proc.ts";
import { type Fit, leastSquares } from "./lib/slope.ts";
import { type RoundsJson, soakChecks } from "./lib/soak-checks.ts";
import { FAULT_KINDS, type Fault, inject } from "./lib/soak-faults.ts";

export const description =
  "a bridged job for 200 rounds on 8 sites under faults (site SIGKILL, SIGSTOP, server restart): RSS and fd slopes, every round and fault accounted for";

const ROUNDS = Number(process.env.BENCH_SOAK_ROUNDS ?? 200);
const SITES = Number(process.env.BENCH_SOAK_SITES ?? 8);
const LIMIT_S = Number(process.env.BENCH_SOAK_TIMEOUT_S ?? 1800);
/**
 * The ServerApp's phase timeout (s): round 1 (8 job processes loading the ClientApp at once)
 * takes over 10 s on 2 loaded cores. A stopped site stays stopped 5 s longer.
 */
const ROUND_TIMEOUT = 30;
/** A fault every this many rounds, from round EVERY to ROUNDS - 2 EVERY. */
const EVERY = Math.max(3, Math.round(ROUNDS / 25));
/** Server restarts: a few, in the first half, so the last server lives long enough to fit. */
const MAX_SERVER_RESTARTS = Math.max(1, Math.floor(ROUNDS / 60));
/** Rounds left out at the start of each process's life before fitting its slope. */
const WARMUP = Math.max(2, Math.round(ROUNDS / 10));

interface Sample {
  round: number;
  process: string;
  pid: number;
  rss: number;
  fds: number;
}

export async function run(): Promise<void> {
  const say = (line: string) =>
    console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  say(
    `${ROUNDS} rounds on ${SITES} sites; a fault every ${EVERY} rounds; load average ${load()}; starting the runtime`,
  );
  // Heartbeats at the server's default interval (5 s): the tests' 1 s takes sites for gone
  // when 8 job processes start at once on 2 loaded cores.
  const runtime = await startTestRuntime(SITES, SITES, { heartbeatInterval: 5 });
  const sitesEver = [...runtime.sites.values()];
  const startSite = runtime.startSite;
  runtime.startSite = (name) => {
    const site = startSite(name);
    sitesEver.push(site);
    return site;
  };
  try {
    const app = await quickstartWith("soak", {}, "bench/apps");
    const config = `num-server-rounds=${ROUNDS} round-timeout=${ROUND_TIMEOUT}`;
    const submitted = await runtime.admin(["submit", app, "--seed", "7", "--run-config", config]);
    if (submitted.code !== 0) throw new Error(`submit failed: ${submitted.stderr}`);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    const workspace = join(runtime.kits, "server1");
    const logFile = join(workspace, "jobs", jobId, "log.txt");
    say(`job ${jobId}; its log: ${logFile}`);

    const jobProcess = (site: string) =>
      lastPid(
        runtime.sites.get(site)?.output() ?? "",
        new RegExp(`job ${jobId} process (\\d+) started`, "g"),
      );
    const samples: Sample[] = [];
    const faults: Fault[] = [];
    const rng = createRng(7, "soak");
    const victims = Array.from({ length: SITES - 1 }, (_, i) => `site-${i + 2}`);
    let round = 0;
    let log = "";
    /** Faults under way, by the site they hit ("server" for a restart). */
    const underWay = new Map<string, Promise<void>>();
    /**
     * The next fault, in turn: a site killed, the server restarted (at most
     * MAX_SERVER_RESTARTS, in the first half, else a site is killed), a site stopped, a site's
     * job process stopped. At most two sites are hit at once, each once at a time, and the
     * server only while nothing else is under way; undefined while the next one must wait.
     */
    const nextFaultAt = (at: number): Fault | undefined => {
      let kind = FAULT_KINDS[faults.length % FAULT_KINDS.length] as Fault["kind"];
      if (kind === "restart-server" && (serverRestarts >= MAX_SERVER_RESTARTS || at > ROUNDS / 2))
        kind = "kill-site";
      if (underWay.has("server")) return undefined;
      if (kind === "restart-server") {
        if (underWay.size > 0) return undefined;
        serverRestarts++;
        return { kind, round: at };
      }
      const free = victims.filter(
        (site) =>
          !underWay.has(site) &&
          // A site just restarted may not run the job yet.
          (kind !== "stop-site-job" || alive(jobProcess(site) ?? -1)),
      );
      if (underWay.size >= 2 || free.length === 0) return undefined;
      return { kind, round: at, site: free[rng.int(free.length)] as string };
    };
    let nextFault = EVERY;
    let chaosFailed: Error | undefined;
    let serverRestarts = 0;
    let status: string | undefined;
    let reason = "";
    const started = performance.now();
    const deadline = Date.now() + LIMIT_S * 1000;
    while (status === undefined) {
      if (chaosFailed) throw chaosFailed;
      if (Date.now() > deadline)
        throw new Error(`the job did not end within ${LIMIT_S} s (at round ${round})`);
      log = await readFile(logFile, "utf8").catch(() => log);
      const shown = Math.max(
        0,
        ...[...log.matchAll(/\[ROUND (\d+)\/\d+\]/g)].map((m) => Number(m[1])),
      );
      for (; round < shown; ) {
        round++;
        samples.push(...sampleAll(runtime, jobId, log, round));
        if (round % 10 === 0) say(`round ${round}/${ROUNDS}`);
      }
      const fault = round >= nextFault && round <= ROUNDS - 2 * EVERY && nextFaultAt(round);
      if (fault) {
        faults.push(fault);
        nextFault = round + EVERY;
        const key = fault.site ?? "server";
        underWay.set(
          key,
          inject(fault, { runtime, jobProcess, stopSeconds: ROUND_TIMEOUT + 5, say })
            .then(() => {
              fault.backRound = round;
              underWay.delete(key);
            })
            .catch((error: unknown) => {
              chaosFailed ??= new Error(`the ${fault.kind} fault of round ${fault.round} failed`, {
                cause: error,
              });
            }),
        );
      }
      // The job's end counts once every process hit is back (a stopped site continued).
      const end =
        underWay.size > 0
          ? undefined
          : runtime.server.output().match(new RegExp(`job ${jobId} (FINISHED:[A-Z_]+)(: .*)?`));
      if (end) [, status, reason = ""] = end;
      await sleep(200);
    }
    const seconds = (performance.now() - started) / 1000;
    const loadAtEnd = load();
    say(
      `job ${status}${reason} after ${seconds.toFixed(0)} s (load average ${loadAtEnd}); checking`,
    );

    const result = JSON.parse(
      await readFile(join(workspace, "jobs", jobId, "result.json"), "utf8").catch(() => "{}"),
    ) as RoundsJson;
    const store = new TrackingStore(trackingStorePath(workspace), { mustExist: true });
    const scalars = store.scalars(jobId);
    store.close();
    log = await readFile(logFile, "utf8");
    const jobPids = [
      ...[...log.matchAll(/job process (\d+) started/g)].map((m) => Number(m[1])),
      ...sitesEver.flatMap((s) =>
        [...s.output().matchAll(new RegExp(`job ${jobId} process (\\d+) started`, "g"))].map((m) =>
          Number(m[1]),
        ),
      ),
    ];
    // A job's processes end when it does; a site told late (it was stopped) within 30 s.
    for (const until = Date.now() + 30_000; jobPids.some(alive) && Date.now() < until; )
      await sleep(250);
    const failures = soakChecks({
      status,
      rounds: ROUNDS,
      sites: SITES,
      result,
      scalars,
      log,
      faults,
      leftJobProcesses: jobPids.filter(alive),
    });

    const file = join(runtime.root, "soak-samples.json");
    await writeFile(file, JSON.stringify({ faults, samples }));
    say(
      `faults (${faults.length}): ${faults.map((f) => `${f.kind}${f.site ? ` ${f.site}` : ""} @${f.round}`).join(", ")}`,
    );
    const fits = report(samples, say);
    say(
      `samples: ${file}; job processes seen: ${jobPids.length}, left: ${jobPids.filter(alive).length}`,
    );
    console.log(
      JSON.stringify({
        bench: "soak",
        rounds: ROUNDS,
        sites: SITES,
        status,
        seconds,
        faults: faults.length,
        loadAverage: loadAtEnd,
        fits,
      }),
    );
    if (failures.length > 0)
      throw new Error(`soak: ${failures.length} check(s) failed:\n- ${failures.join("\n- ")}`);
    say("every check passed");
  } finally {
    killAll();
  }
}

/** One sample of every process of the runtime and of the job, at `round`. */
function sampleAll(runtime: TestRuntime, jobId: string, log: string, round: number): Sample[] {
  const pids: [string, number | undefined][] = [
    ["server", runtime.server.child.pid],
    ["server-job", lastPid(log, /job process (\d+) started/g)],
  ];
  for (const [name, site] of runtime.sites) {
    pids.push([name, site.child.pid]);
    pids.push([
      `${name}-job`,
      lastPid(site.output(), new RegExp(`job ${jobId} process (\\d+) started`, "g")),
    ]);
  }
  return pids.flatMap(([name, pid]) => {
    const rss = pid === undefined ? undefined : procStatusBytes(pid, "VmRSS");
    const fds = pid === undefined ? undefined : openFds(pid);
    return pid === undefined || rss === undefined || fds === undefined
      ? []
      : [{ round, process: name, pid, rss, fds }];
  });
}

function lastPid(text: string, pattern: RegExp): number | undefined {
  const last = [...text.matchAll(pattern)].at(-1)?.[1];
  return last === undefined ? undefined : Number(last);
}

/**
 * Slopes per 100 rounds of RSS and fds for the server, its job process, site-1 and its job
 * process: over the life of each one's last process, after its first WARMUP rounds.
 */
function report(samples: Sample[], say: (line: string) => void) {
  const fits: Record<string, { rounds: [number, number]; rss?: Fit; fds?: Fit }> = {};
  for (const name of ["server", "server-job", "site-1", "site-1-job"]) {
    const mine = samples.filter((s) => s.process === name);
    const pid = mine.at(-1)?.pid;
    const life = mine.filter((s) => s.pid === pid);
    const from = (life[0]?.round ?? 0) + WARMUP;
    const window = life.filter((s) => s.round >= from);
    const rss = leastSquares(window.map((s) => ({ x: s.round, y: s.rss / 2 ** 20 })));
    const fds = leastSquares(window.map((s) => ({ x: s.round, y: s.fds })));
    fits[name] = {
      rounds: [from, window.at(-1)?.round ?? from],
      ...(rss ? { rss } : {}),
      ...(fds ? { fds } : {}),
    };
    const per100 = (fit: Fit | undefined, unit: string) =>
      fit === undefined
        ? "too few samples"
        : `${(fit.slope * 100).toFixed(2)} ± ${(2 * fit.slopeError * 100).toFixed(2)} ${unit}/100 rounds (${((fit.slope * 100 * 100) / fit.start).toFixed(2)}% of ${fit.start.toFixed(1)} ${unit})`;
    say(
      `${name.padEnd(10)} rounds ${from}..${window.at(-1)?.round ?? "-"}: RSS ${per100(rss, "MB")}; fds ${per100(fds, "fds")}`,
    );
  }
  return fits;
}
