import { readdirSync, readFileSync } from "node:fs";

/**
 * A size of a process from Linux's /proc/PID/status, in bytes: `VmRSS` (resident now) or
 * `VmHWM` (its peak). Undefined where it cannot be read (not Linux, the process is gone).
 */
export function procStatusBytes(
  pid: number | "self",
  field: "VmRSS" | "VmHWM",
): number | undefined {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    )?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process has used, with those of its children that have exited and been waited
 * for (a runtime's job processes), from /proc/PID/stat; undefined where it cannot be read.
 * Less sensitive to the machine's load than a wall-clock time.
 */
export function procCpuSeconds(pid: number): number | undefined {
  const split = procCpuSplit(pid);
  return split && split.user + split.kernel;
}

/**
 * procCpuSeconds as the seconds in the process's own code and in the kernel for it; without
 * its waited-for children with `withChildren` false.
 */
export function procCpuSplit(
  pid: number,
  withChildren = true,
): { user: number; kernel: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    // utime, stime, cutime, cstime: fields 14-17, in clock ticks (100 a second on Linux).
    const [utime = 0, stime = 0, cutime = 0, cstime = 0] = fields.slice(11, 15);
    if (!withChildren) return { user: utime / 100, kernel: stime / 100 };
    return { user: (utime + cutime) / 100, kernel: (stime + cstime) / 100 };
  } catch {
    return undefined;
  }
}

/** The pids of a process's living children (any of its threads' children), from /proc. */
export function procChildren(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8")
        .split(" ")
        .filter((p) => p.trim() !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** How many files a process has open (/proc/PID/fd); undefined where it cannot be read. */
export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id runs (a zombie, dead but not yet reaped, does not). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}
