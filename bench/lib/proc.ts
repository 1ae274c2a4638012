import { readFileSync } from "node:fs";

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
 * CPU seconds (user + system) a process has used so far, from /proc/PID/stat; undefined where
 * it cannot be read. Unlike wall time, it does not grow when other processes share the cores.
 */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces) start at the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
