/**
 * Samples groups of process trees from /proc while a benchmark runs: each process's peak RSS
 * and the CPU seconds it used meanwhile, its children's included (Flower's SuperLink and
 * SuperNode start their ServerApp and ClientApp processes as children, which may come and go).
 */
import { writeFileSync } from "node:fs";
import { procChildren, procCpuSplit, procStatusBytes } from "./proc.ts";

/** What a group of process trees used while sampled. */
export interface TreeUsage {
  /**
   * The group's peak RSS in bytes: the largest, over the samples, sum of the peak RSS of the
   * processes alive then (an upper bound that misses no spike of a process seen twice).
   */
  peakRss: number;
  /** CPU seconds used while sampled, all processes together. */
  cpuSeconds: number;
  /** Processes seen. */
  processes: number;
}

interface Seen {
  group: string;
  /** CPU seconds when first seen (0 for a process started while sampling). */
  cpuAtStart: number;
  cpu: number;
}

export class ProcessTrees {
  readonly #seen = new Map<number, Seen>();
  readonly #peakRss = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  /**
   * Starts sampling every `intervalMs` the trees under each group's root pids. The peak RSS of
   * the processes already running is reset first (Linux's clear_refs), so it is this run's.
   */
  constructor(
    private readonly groups: Record<string, number[]>,
    intervalMs = 100,
  ) {
    for (const [group, roots] of Object.entries(groups))
      for (const pid of descendants(roots)) {
        try {
          writeFileSync(`/proc/${pid}/clear_refs`, "5");
        } catch {
          // Not ours to reset (or gone): its peak may then predate the run.
        }
        const cpu = ownCpu(pid) ?? 0;
        this.#seen.set(pid, { group, cpuAtStart: cpu, cpu });
      }
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Stops sampling (after a last sample) and reports each group's usage. */
  stop(): Record<string, TreeUsage> {
    this.#sample();
    clearInterval(this.#timer);
    const usage: Record<string, TreeUsage> = {};
    for (const group of Object.keys(this.groups))
      usage[group] = { peakRss: this.#peakRss.get(group) ?? 0, cpuSeconds: 0, processes: 0 };
    for (const seen of this.#seen.values()) {
      const total = usage[seen.group] as TreeUsage;
      total.cpuSeconds += seen.cpu - seen.cpuAtStart;
      total.processes++;
    }
    return usage;
  }

  #sample(): void {
    for (const [group, roots] of Object.entries(this.groups)) {
      let rss = 0;
      for (const pid of descendants(roots)) {
        const seen = this.#seen.get(pid) ?? { group, cpuAtStart: 0, cpu: 0 };
        this.#seen.set(pid, seen);
        seen.cpu = ownCpu(pid) ?? seen.cpu;
        rss += procStatusBytes(pid, "VmHWM") ?? 0;
      }
      this.#peakRss.set(group, Math.max(this.#peakRss.get(group) ?? 0, rss));
    }
  }
}

/** A process's own CPU seconds (a child's are counted as the child, while it is seen). */
function ownCpu(pid: number): number | undefined {
  const split = procCpuSplit(pid, false);
  return split && split.user + split.kernel;
}

/** These pids and all their living descendants. */
function descendants(roots: number[]): number[] {
  const out: number[] = [];
  const queue = [...roots];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    out.push(pid);
    queue.push(...procChildren(pid));
  }
  return out;
}
