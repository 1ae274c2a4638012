import { setTimeout as sleep } from "node:timers/promises";
import type { TestRuntime } from "../../test/runtime-harness.ts";

/** The faults `bench soak` injects, in turn. */
export const FAULT_KINDS = ["kill-site", "restart-server", "stop-site", "stop-site-job"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One injected fault: what, where, the round the job's log showed when it hit. */
export interface Fault {
  kind: FaultKind;
  /** The site hit (none for a server restart). */
  site?: string;
  round: number;
  /** The round the job's log showed once the process was back (set when it is). */
  backRound?: number;
}

export interface ChaosOptions {
  runtime: TestRuntime;
  /** The pid of a site's process for the job, from its output. */
  jobProcess: (site: string) => number | undefined;
  /** How long a stopped site stays stopped: past the job's phase timeout. */
  stopSeconds: number;
  say: (line: string) => void;
}

/**
 * Injects a fault and resolves once what it hit runs again: a site SIGKILLed and started
 * again (connected); a site SIGSTOPped for `stopSeconds` then SIGCONTed (the server sees it go
 * offline); a site's job process alone SIGSTOPped as long (the site stays online, its task
 * outlives the phase timeout, and its result comes late); or the server SIGKILLed and started
 * again (listening; the job resumes by replaying its journal).
 */
export async function inject(fault: Fault, options: ChaosOptions): Promise<void> {
  const { runtime, say } = options;
  const { kind, round, site } = fault;
  if (kind === "restart-server") {
    say(`round ${round}: SIGKILL the server, then start it again`);
    runtime.server.child.kill("SIGKILL");
    await runtime.server.exited;
    await runtime.restartServer();
    return;
  }
  if (site === undefined) throw new Error(`a ${kind} fault names no site`);
  const proc = runtime.sites.get(site);
  if (proc === undefined) throw new Error(`no process for ${site}`);
  if (kind === "kill-site") {
    say(`round ${round}: SIGKILL ${site}, then start it again`);
    proc.child.kill("SIGKILL");
    await proc.exited;
    await runtime.startSite(site).waitFor(/connected to server1/);
  } else {
    const pid = kind === "stop-site" ? proc.child.pid : options.jobProcess(site);
    if (pid === undefined)
      throw new Error(`no ${kind === "stop-site" ? "" : "job "}process of ${site}`);
    const what = kind === "stop-site" ? site : `${site}'s job process ${pid}`;
    say(`round ${round}: SIGSTOP ${what} for ${options.stopSeconds} s (past the phase timeout)`);
    process.kill(pid, "SIGSTOP");
    try {
      await sleep(options.stopSeconds * 1000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  }
}
