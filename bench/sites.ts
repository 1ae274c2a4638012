/**
 * Scale of the runtime: N sites (default 1,000, `BENCH_SITES`), each with its own provisioned
 * certificate, cell connection and heartbeats, run inside a few processes (`BENCH_SITE_PROCS`,
 * default 4) against a real server process. Measures provisioning time, the server's RSS per
 * connected site (against its own idle RSS, same run) and how long `admin sites` takes to
 * answer with all of them online.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../src/core/free-port.ts";
import { connectAdmin } from "../src/flare-runtime/admin/admin-client.ts";
import { localProjectYml, provisionProject } from "../src/flare-runtime/provision/index.ts";
import { procStatusBytes } from "./lib/proc.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "runtime scale: 1,000 sites (own certificates, connections, heartbeats) on one server: RSS per site, admin sites latency";

export async function run(): Promise<void> {
  const count = Number(process.env.BENCH_SITES ?? 1000);
  const procs = Number(process.env.BENCH_SITE_PROCS ?? 4);
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
    console.log(`sites: ${count} sites in ${procs} processes against one server`);
    console.log(`  provisioning ${count + 2} participants: ${provisionS.toFixed(1)} s`);

    const server = await processes.start(
      ["server", "--kit", join(kits, "server1")],
      /listening on port/,
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
      }),
    );
  } finally {
    for (const child of siteProcs) child.kill("SIGKILL");
    processes.killAll();
    await rm(root, { recursive: true, force: true });
  }
}

/** Starts one process serving `names`; resolves once all of them are connected. */
function startSites(kits: string, names: string[], children: ChildProcess[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      "bin/run-ts.mjs",
      "bench/lib/many-sites.ts",
      kits,
      ...names,
    ]);
    children.push(child);
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (process.env.BENCH_VERBOSE) process.stdout.write(chunk);
      if (/^ready$/m.test(out)) resolve();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`sites process exited (${code}): ${out}`)));
  });
}
