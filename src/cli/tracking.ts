import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { type StoredScalar, TrackingStore, trackingStorePath } from "../tracking/index.ts";

/**
 * `fedbridge tracking show JOB_ID --workspace DIR [--json] [--csv FILE]`: every scalar of a job
 * from the server workspace's tracking store, `<DIR>/tracking.db`, as a table (site, tag, step,
 * value), as JSON, or as CSV. Opens the store without creating it; safe while a server writes.
 */
export function registerTracking(program: Command): void {
  const tracking = program
    .command("tracking")
    .description("experiment tracking: the scalars a job logged");

  tracking
    .command("show")
    .description("every scalar of a job, from <workspace>/tracking.db")
    .argument("<job-id>", "the job")
    .requiredOption("--workspace <dir>", "the server's workspace (where tracking.db is)")
    .option("--json", "print a JSON list of { site, tag, step, value, wallTime }")
    .option("--csv <file>", "also write the scalars as CSV to FILE ('-': to stdout, instead)")
    .action((jobId: string, flags: { workspace: string; json?: boolean; csv?: string }) => {
      const path = trackingStorePath(flags.workspace);
      const store = new TrackingStore(path, { mustExist: true });
      try {
        const scalars = store.scalars(jobId);
        if (scalars.length === 0) {
          const jobs = store.jobs();
          throw new FedbridgeError(
            Code.NotFound,
            `no scalars of job ${jobId} in ${path}` +
              (jobs.length ? ` (jobs with scalars: ${jobs.join(", ")})` : " (it holds none)"),
          );
        }
        if (flags.csv !== undefined) {
          if (flags.csv === "-") {
            process.stdout.write(store.toCsv(jobId));
            return;
          }
          writeFileSync(flags.csv, store.toCsv(jobId));
        }
        if (flags.json) {
          const rows = scalars.map(({ site, tag, step, value, wallTime }) => ({
            site,
            tag,
            step,
            value,
            wallTime,
          }));
          console.log(JSON.stringify(rows));
        } else {
          console.log(table(scalars));
        }
      } finally {
        store.close();
      }
    });
}

/** Aligned columns, numbers right-aligned, values with every digit they have. */
function table(scalars: StoredScalar[]): string {
  const rows = [
    ["site", "tag", "step", "value"],
    ...scalars.map((s) => [s.site, s.tag, String(s.step), String(s.value)]),
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c >= 2 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
