import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLogger, type LogFormat } from "../../core/logger.ts";
import type { CellSite } from "../cell/cell-site.ts";
import { BUILTIN_RUNNERS, type RunnerRegistry } from "../job-process/runner-registry.ts";
import { JobProcesses } from "./job-processes.ts";
import { readSiteKit } from "./read-site-kit.ts";
import { serveSite } from "./site-service.ts";

export interface SiteParentOptions {
  /** The site's startup kit. */
  kitDir: string;
  /** Where jobs are unpacked and run. Default: the kit folder. */
  workspace?: string;
  /** Dial this port instead of the kit's (tests). */
  port?: number;
  /** Job runners besides the built-in ones (meta.json `app` → module URL). */
  runners?: RunnerRegistry;
  /** How stdout shows the log (site.log is always JSON lines). Default: see createLogger. */
  logFormat?: LogFormat;
}

export interface SiteParent {
  cell: CellSite;
  close(): Promise<void>;
}

/**
 * A site parent: the site service (site-service.ts) with one job process per job deployed
 * here. It dials the server, never listens.
 */
export async function startSiteParent(options: SiteParentOptions): Promise<SiteParent> {
  const kit = await readSiteKit(options.kitDir);
  const workspace = resolve(options.workspace ?? kit.dir);
  mkdirSync(join(workspace, "jobs"), { recursive: true });
  const log = createLogger({
    name: kit.config.name,
    base: { site: kit.config.name },
    file: join(workspace, "site.log"),
    ...(options.logFormat ? { format: options.logFormat } : {}),
  });
  let cell: CellSite | undefined;
  const jobs = new JobProcesses({
    kit,
    workspace,
    runners: { ...BUILTIN_RUNNERS, ...options.runners },
    log,
    cell: () => cell,
  });
  cell = serveSite({
    kit,
    jobs,
    log,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  const served = cell;
  return {
    cell: served,
    async close() {
      await jobs.close();
      await served.close();
    },
  };
}
