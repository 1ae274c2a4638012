/**
 * Scale of the runtime: N sites (default 1,000, `BENCH_SITES`), each with its own provisioned
 * certificate, cell connection and heartbeats, run inside a few processes (`BENCH_SITE_PROCS`,
 * default 4) against a real server process. Measures provisioning time, the server's RSS per
 * connected site (against its own idle RSS, same run) and how long `admin sites` takes to
 * answer with all of them online. Then a tiny-model bridged job (examples/quickstart, every
 * site sampled, `BENCH_SITES_ROUNDS` rounds, default 3) over all of them, each site's part run
 * in its process (bench/lib/in-process-jobs.ts): the median round time, and the run fails if
 * the job does not complete at every site.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { submitApp } from "../src/bridge/index.ts";
import { freePort } from "../src/core/free-port.ts";
import { connectAdmin } from "../src/flare-runtime/admin/admin-client.ts";
import { localProjectYml, provisionProject } from "../src/flare-runtime/provision/index.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import { procChildren, procCpuSplit, procStatusBytes } from "./lib/proc.ts";
import { BenchProcesses, cpuProfArgs, stopChildren } from "./lib/spawn.ts";

export const description =
  "runtime scale: 1,000 sites (own certificates, connections, heartbeats) on one server: RSS per site, admin sites latency";

export async function run(): Promise<void> {
  const count = Number(process.env.BENCH_SITES ?? 1000);
  const procs = Number(process.env.BENCH_SITE_PROCS ?? 4);
  const rounds = Number(process.env.BENCH_SITES_ROUNDS ?? 3);
  // The server's heartbeat interval in seconds (`--heartbeat-interval`); default: the server's.
  const heartbeat = process.env.BENCH_SITES_HEARTBEAT;
  const root = await mkdtemp(join(tmpdir(), "fedbridge-bench-sites-"));
  const processes = new BenchProcesses();
  const siteProcs: ChildProcess[] = [];
  try {
    const port = await freePort();
    const names = Array.from({ length: count }, (_, i) => `site-${i + 1}`);
    const admin = { name: "admin@org-a.com", org: "org-a", role: "project_admin" };
    const sites = names.map((name) => ({ name, org: "org-a" }));
    await writeFile(join(root, "project.yml"), localProjectYml("bench", port, sites, [admin]));
    let t = performance.now();
    await provisionProject(join(root, "project.yml"), join(root, "ws"));
    const provisionS = (performance.now() - t) / 1000;
    const kits = join(root, "ws", "bench");
    console.log(
      `sites: ${count} sites in ${procs} processes against one server (heartbeat: ${heartbeat ? `${heartbeat} s` : "the server's default"})`,
    );
    console.log(`  provisioning ${count + 2} participants: ${provisionS.toFixed(1)} s`);

    const server = await processes.start(
      [
        "server",
        "--kit",
        join(kits, "server1"),
        ...(heartbeat ? ["--heartbeat-interval", heartbeat] : []),
      ],
      /listening on port/,
      process.env.BENCH_SITES_PROF ? ["--prof"] : [],
    );
    await new Promise((resolve) => setTimeout(resolve, 2000)); // settle after start-up
    const idleRss = procStatusBytes(server.pid, "VmRSS") ?? Number.NaN;

    t = performance.now();
    const perProc = Math.ceil(count / procs);
    await Promise.all(
      Array.from({ length: procs }, (_, p) => {
        const slice = names.slice(p * perProc, (p + 1) * perProc);
        return slice.length === 0 ? undefined : startSites(kits, slice, siteProcs);
      }),
    );
    const connectS = (performance.now() - t) / 1000;
    const session = await connectAdmin(join(kits, admin.name));
    const online = async () =>
      (await session.client.listSites({})).sites.filter((s) => s.online).length;
    while ((await online()) < count) await new Promise((resolve) => setTimeout(resolve, 500));
    await new Promise((resolve) => setTimeout(resolve, 5000)); // a few heartbeats of every site
    const loadedRss = procStatusBytes(server.pid, "VmRSS") ?? Number.NaN;

    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const start = performance.now();
      await session.client.listSites({});
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const perSiteKb = (loadedRss - idleRss) / count / 1024;
    console.log(`  all ${count} connected in ${connectS.toFixed(1)} s`);
    console.log(
      `  server RSS: idle ${(idleRss / 2 ** 20).toFixed(0)} MB, with ${count} sites ${(loadedRss / 2 ** 20).toFixed(0)} MB: ${perSiteKb.toFixed(0)} KB per site (goal: under 1024)`,
    );
    console.log(
      `  admin sites (${count} online): median ${times[3]?.toFixed(0)} ms (goal: under 1000)`,
    );

    const cpu = () => ({
      server: procCpuSplit(server.pid, false),
      jobs: new Map(procChildren(server.pid).map((pid) => [pid, procCpuSplit(pid, false)])),
      sites: siteProcs.map((child) => procCpuSplit(child.pid as number, false)),
    });
    const job = await bridgedJob(session, join(kits, "server1"), count, rounds, cpu);
    const roundMs = median(job.rounds);
    console.log(
      `  bridged job (examples/quickstart, ${rounds} rounds, all ${count} sites): deployed and round 1 done in ${(job.firstMs / 1000).toFixed(1)} s; rounds 2-${rounds}: median ${(roundMs / 1000).toFixed(2)} s (goal: under 5 s), each ${job.rounds.map((ms) => (ms / 1000).toFixed(2)).join(", ")} s`,
    );
    console.log(
      `  CPU a round (rounds 2-${rounds}, of the 2 cores' ${((2 * roundMs) / 1000).toFixed(1)} s): server ${job.cpu.server.toFixed(2)} s, its job process ${job.cpu.jobs.toFixed(2)} s, the ${procs} sites processes ${job.cpu.sites.toFixed(2)} s`,
    );
    console.log(
      JSON.stringify({
        bench: "sites",
        count,
        provisionS,
        connectS,
        idleRssMb: idleRss / 2 ** 20,
        loadedRssMb: loadedRss / 2 ** 20,
        perSiteKb,
        adminSitesMs: times[3],
        jobFirstRoundS: job.firstMs / 1000,
        jobRoundMs: roundMs,
        jobRoundsMs: job.rounds,
        jobAllAnswered: job.missing === undefined,
        cpuPerRoundS: job.cpu,
      }),
    );
    if (job.missing) throw new Error(`bridged job over ${count} sites: ${job.missing}`);
  } finally {
    stopChildren(siteProcs);
    processes.killAll();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Submits examples/quickstart (every site trains and evaluates each round) and waits for it:
 * the time from submission to round 1's end, and each later round's time. Throws unless the
 * job completes, deployed to all `count` sites, each answering every round (its server log's
 * strategy lines: "Received N results and 0 failures").
 */
async function bridgedJob(
  session: Awaited<ReturnType<typeof connectAdmin>>,
  serverDir: string,
  count: number,
  rounds: number,
  cpu: () => CpuSample,
): Promise<{
  missing: string | undefined;
  firstMs: number;
  rounds: number[];
  cpu: { server: number; jobs: number; sites: number };
}> {
  const start = performance.now();
  const submitted = await submitApp(session, resolve("examples/quickstart"), {
    "num-server-rounds": rounds,
    "fraction-train": 1,
    "fraction-evaluate": 1,
  });
  console.log(`  bridged job ${submitted.id} submitted: waiting for its ${rounds} rounds`);
  // The job's state, polled every 500 ms with `admin sites` beside it (a slow or stalled server
  // loses its sites): in one 1,000-site run, waitJob's stream delivered no update at all.
  const ends: number[] = [];
  const samples: CpuSample[] = []; // at each round's end
  // A job process's last reading while it lived: it may end before round N's end is seen.
  const jobsLatest = new Map<number, CpuSplit>();
  let last = 0;
  let status = "";
  let slowest = 0;
  let slowestLater = 0; // after round 1 (the deploy is behind)
  let fewest = count;
  for (;;) {
    const t = performance.now();
    const online = (await session.client.listSites({})).sites.filter((s) => s.online).length;
    slowest = Math.max(slowest, performance.now() - t);
    if (last >= 1) slowestLater = Math.max(slowestLater, performance.now() - t);
    fewest = Math.min(fewest, online);
    const info = await session.client.getJob({ id: submitted.id });
    status = info.status;
    const now = cpu();
    for (const [pid, split] of now.jobs) if (split !== undefined) jobsLatest.set(pid, split);
    if (info.round > last) {
      for (let r = last + 1; r <= info.round; r++) ends.push(performance.now());
      samples.push({ ...now, jobs: new Map(jobsLatest) });
      last = info.round;
      console.log(`  round ${info.round} done (${online} sites online)`);
    }
    if (status.startsWith("FINISHED")) {
      if (status !== "FINISHED:COMPLETED")
        throw new Error(
          `bridged job over ${count} sites ${status}: ${info.reason}\n(admin sites during the job: slowest ${slowest.toFixed(0)} ms, fewest online ${fewest})\n${await offlineLines(serverDir)}`,
        );
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(
    `  during the job: admin sites answered within ${slowest.toFixed(0)} ms (after round 1: ${slowestLater.toFixed(0)} ms); fewest online ${fewest}`,
  );
  if (status !== "FINISHED:COMPLETED")
    throw new Error(`bridged job over ${count} sites: waiting ended at ${status || "no status"}`);
  // The server's job log says where the job was deployed and what each round received.
  const log = await readFile(join(serverDir, "jobs", submitted.id, "log.txt"), "utf8");
  const deployed = /deploying to (.*)$/m.exec(log)?.[1]?.split(", ").length ?? 0;
  if (deployed !== count)
    throw new Error(`bridged job deployed to ${deployed} sites, not ${count}`);
  const received = [...log.matchAll(/(\w+): Received (\d+) results and (\d+) failures/g)];
  const short = received.filter((m) => Number(m[2]) !== count || m[3] !== "0");
  const failures = [...log.matchAll(/round \d+: site-\S+ \(.*$/gm)].slice(0, 5).map((m) => m[0]);
  const missing =
    received.length === 0 || short.length > 0
      ? `not every site answered every round: ${short.map((m) => m[0]).join("; ") || "no 'Received' lines in its log"}; failures: ${failures.join("; ")}`
      : undefined;
  if (ends.length !== rounds)
    throw new Error(`bridged job completed ${ends.length} rounds, not ${rounds}`);
  return {
    missing,
    firstMs: (ends[0] as number) - start,
    rounds: ends.slice(1).map((t, i) => t - (ends[i] as number)),
    cpu: cpuPerRound(samples[0], samples.at(-1), rounds - 1),
  };
}

type CpuSplit = { user: number; kernel: number } | undefined;
interface CpuSample {
  server: CpuSplit;
  /** The server's job processes, by pid. */
  jobs: Map<number, CpuSplit>;
  sites: CpuSplit[];
}

/** CPU seconds a round between two samples (rounds 2 to N), by kind of process. */
function cpuPerRound(
  first: CpuSample | undefined,
  last: CpuSample | undefined,
  rounds: number,
): { server: number; jobs: number; sites: number } {
  const total = (splits: CpuSplit[]) =>
    splits.reduce((sum, s) => sum + (s ? s.user + s.kernel : 0), 0);
  const per = (a: CpuSplit[], b: CpuSplit[]) => (total(b) - total(a)) / Math.max(rounds, 1);
  if (first === undefined || last === undefined) return { server: NaN, jobs: NaN, sites: NaN };
  // Job processes that ran at both samples (the last from their last reading alive).
  const both = [...first.jobs.keys()].filter((pid) => last.jobs.get(pid) !== undefined);
  return {
    server: per([first.server], [last.server]),
    jobs: per(
      both.map((pid) => first.jobs.get(pid)),
      both.map((pid) => last.jobs.get(pid)),
    ),
    sites: per(first.sites, last.sites),
  };
}

/** Why sites went offline, from the server's log (the first few), to say why a job failed. */
async function offlineLines(serverDir: string): Promise<string> {
  const log = await readFile(join(serverDir, "server.log"), "utf8").catch(() => "");
  const lines = log.split("\n").filter((line) => line.includes("offline"));
  return `server.log: ${lines.length} lines on sites offline; the first: ${lines.slice(0, 5).join("\n")}`;
}

/** Starts one process serving `names`; resolves once all of them are connected. */
function startSites(kits: string, names: string[], children: ChildProcess[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      ...cpuProfArgs(),
      "bin/run-ts.mjs",
      "bench/lib/many-sites.ts",
      kits,
      ...names,
    ]);
    children.push(child);
    let out = "";
    let ready = false;
    const onData = (chunk: Buffer) => {
      out = (out + chunk).slice(-100_000);
      if (process.env.BENCH_VERBOSE) process.stdout.write(chunk);
      else
        for (const [line] of String(chunk).matchAll(/^event loop stalled.*$/gm))
          console.log(`  ${line}`);
      if (!ready && /^ready$/m.test(out)) {
        ready = true;
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => {
      const why = `sites process exited (${code ?? signal}): ${out.slice(-4000)}`;
      // Once its sites are up, its end is still news: every site in it went offline.
      if (ready && signal !== "SIGKILL") console.error(why);
      reject(new Error(why));
    });
  });
}
