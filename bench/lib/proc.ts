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
