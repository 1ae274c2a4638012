/**
 * Many sites in one process, for `bench sites`: each with its own kit (certificate), its own
 * cell connection to the server and its heartbeats, served by the site protocol as a site
 * parent is (site-service.ts). They run no jobs: a deploy is refused with a reason. Prints
 * "connected N" as sites connect and "ready" once all have.
 *
 * Usage: node bin/run-ts.mjs bench/lib/many-sites.ts KITS_DIR NAME...
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Code, FedbridgeError } from "../../src/core/fedbridge-error.ts";
import { readSiteKit } from "../../src/flare-runtime/site/read-site-kit.ts";
import type { SiteJobs } from "../../src/flare-runtime/site/site-jobs.ts";
import { serveSite } from "../../src/flare-runtime/site/site-service.ts";

const refuse = () => {
  throw new FedbridgeError(Code.FailedPrecondition, "a bench site runs no jobs");
};
const noJobs: SiteJobs = {
  start: async () => refuse(),
  has: () => false,
  running: () => [],
  task: async () => refuse(),
  request: async () => refuse(),
  stop: async () => {},
  close: async () => {},
};

const [kits, ...names] = process.argv.slice(2);
if (kits === undefined || names.length === 0) throw new Error("usage: many-sites KITS NAME...");
const workspace = await mkdtemp(join(tmpdir(), "fedbridge-bench-sites-"));
const log = pino({ level: "silent" });
let connected = 0;
/** Why connection attempts failed on the way, by reason (printed with each progress line). */
const drops = new Map<string, number>();
const dropsText = () =>
  [...drops].map(([reason, n]) => `${n}× ${reason.slice(0, 120)}`).join("; ") || "none";
for (const name of names) {
  const kit = await readSiteKit(join(kits, name));
  const cell = serveSite({ kit, workspace, jobs: noJobs, log });
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
