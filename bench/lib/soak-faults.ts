import { setTimeout as sleep } from "node:timers/promises";
import type { TestRuntime } from "../../test/runtime-harness.ts";

/** The faults `bench soak` injects, in turn. */
export const FAULT_KINDS = ["kill-site", "restart-server", "stop-site"] as const;
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
  /** How long a stopped site stays stopped: past the job's phase timeout. */
  stopSeconds: number;
  say: (line: string) => void;
}

/**
 * Injects a fault and resolves once what it hit runs again: a site SIGKILLed and started
 * again (connected), a site SIGSTOPped for `stopSeconds` then SIGCONTed, or the server
 * SIGKILLed and started again (listening; the job resumes by replaying its journal).
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
    say(`round ${round}: SIGSTOP ${site} for ${options.stopSeconds} s (past the phase timeout)`);
    proc.child.kill("SIGSTOP");
    try {
      await sleep(options.stopSeconds * 1000);
    } finally {
      proc.child.kill("SIGCONT");
    }
  }
}
