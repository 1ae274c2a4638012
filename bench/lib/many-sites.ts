/**
 * Many sites in one process, for `bench sites`: each with its own kit (certificate), its own
 * cell connection to the server and its heartbeats, served by the site protocol as a site
 * parent is (site-service.ts). A deployed job's site part runs in this process
 * (InProcessJobs: no job process, no thread per site), so one process can hold hundreds of
 * sites in a job. Prints "connected N" as sites connect and "ready" once all have.
 *
 * Usage: node bin/run-ts.mjs bench/lib/many-sites.ts KITS_DIR NAME...
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { flowerSitePart } from "../../src/bridge/flower-site.ts";
import { FedbridgeError } from "../../src/core/fedbridge-error.ts";
import type { CellSite } from "../../src/flare-runtime/cell/cell-site.ts";
import { encodeSiteMessage } from "../../src/flare-runtime/protocol/site-protocol.ts";
import { readSiteKit } from "../../src/flare-runtime/site/read-site-kit.ts";
import { serveSite } from "../../src/flare-runtime/site/site-service.ts";
import { InProcessJobs, Turns } from "./in-process-jobs.ts";

const [kits, ...names] = process.argv.slice(2);
if (kits === undefined || names.length === 0) throw new Error("usage: many-sites KITS NAME...");
const workspace = await mkdtemp(join(tmpdir(), "fedbridge-bench-sites-"));
const log = pino({ level: "silent" });
const verbose = process.env.BENCH_VERBOSE !== undefined;
/** Job folders, shared by this process's sites (see InProcessJobsOptions.folders). */
const folders = new Map<string, Promise<string>>();
const turns = new Turns();
let connected = 0;
/** Why connection attempts failed on the way, by reason (printed with each progress line). */
const drops = new Map<string, number>();
const dropsText = () =>
  [...drops].map(([reason, n]) => `${n}× ${reason.slice(0, 120)}`).join("; ") || "none";
for (const name of names) {
  const kit = await readSiteKit(join(kits, name));
  let cell: CellSite | undefined;
  const jobs = new InProcessJobs({
    kit,
    // The ClientApps of this process's sites all run on its thread.
    runners: { flower: (job) => flowerSitePart(job, { clientAppThread: "caller" }) },
    folders,
    turns,
    workspace,
    // A site's job log (an error reply, a filter's note) is shown only with BENCH_VERBOSE.
    log: (jobId, line) => {
      if (verbose) console.error(`${name} job ${jobId}: ${line}`);
    },
    track: (jobId, events) =>
      void cell
        ?.request("tracking", encodeSiteMessage("tracking", { jobId, events: [...events] }))
        .catch((error) =>
          console.error(`${name}: tracking events lost: ${FedbridgeError.from(error).message}`),
        ),
  });
  cell = serveSite({ kit, jobs, log });
  let counted = false;
  const count = () => {
    if (counted) return;
    counted = true;
    connected++;
    if (connected % 100 === 0 || connected === names.length)
      console.log(`connected ${connected} (failed attempts: ${dropsText()})`);
    if (connected === names.length) console.log("ready");
  };
  cell.subscribe((event) => {
    if (event.type === "connected") count();
    else drops.set(event.reason, (drops.get(event.reason) ?? 0) + 1);
  });
  if (cell.connected) count();
}

// A stalled event loop sends no heartbeats: its sites look offline to the server. Say so.
let tick = performance.now();
setInterval(() => {
  const lag = performance.now() - tick - 1000;
  tick = performance.now();
  if (lag > 2000)
    console.log(`event loop stalled ${(lag / 1000).toFixed(1)} s (${names.length} sites)`);
}, 1000);

// Ended by the benchmark: exit normally, so a CPU profile (BENCH_CPU_PROF) is written.
process.on("SIGTERM", () => process.exit(0));
