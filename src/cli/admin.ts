import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { isAppFolder, submitApp } from "../bridge/index.ts";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { type AdminSession, connectAdmin } from "../flare-runtime/admin/admin-client.ts";
import { downloadJob } from "../flare-runtime/admin/download-job.ts";
import { submitJob } from "../flare-runtime/admin/submit-job.ts";
import { waitForJob } from "../flare-runtime/admin/wait-job.ts";
import type { JobInfo } from "../gen/fedbridge/v1/admin_pb.ts";
import { integer, positiveNumber, runConfig } from "./options.ts";

/** JobInfo as `--json` prints it (../shared/CLI.md: id, status, round, ...). */
function jobJson(job: JobInfo) {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    round: job.round,
    submitter: job.submitter,
    submitterOrg: job.submitterOrg,
    submittedAt: job.submittedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    reason: job.reason,
    sites: job.sites,
    roundMetrics: job.roundMetricsJson ? JSON.parse(job.roundMetricsJson) : null,
  };
}

function jobLine(job: JobInfo): string {
  const reason = job.reason ? `  (${job.reason})` : "";
  const metrics = Object.entries(
    job.roundMetricsJson ? (JSON.parse(job.roundMetricsJson) as Record<string, number>) : {},
  )
    .map(([key, value]) => `  ${key} ${Number.isInteger(value) ? value : value.toFixed(4)}`)
    .join("");
  return `${job.id}  ${job.name}  ${job.status}  round ${job.round}  by ${job.submitter}${metrics}${reason}`;
}

export function registerAdmin(program: Command): void {
  const admin = program
    .command("admin")
    .description(
      "the runtime's admin console: sites, jobs (submit, list, status, wait, abort, download)",
    )
    .requiredOption("--kit <dir>", "an admin's startup kit");
  const session = (): Promise<AdminSession> => connectAdmin(admin.opts<{ kit: string }>().kit);

  admin
    .command("sites")
    .description("the project's sites and whether each is online")
    .option("--json", "print a JSON list of { name, online, lastHeartbeat }")
    .action(async (flags: { json?: boolean }) => {
      const { sites } = await (await session()).client.listSites({});
      if (flags.json) {
        console.log(
          JSON.stringify(
            sites.map((s) => ({
              name: s.name,
              org: s.org,
              online: s.online,
              lastHeartbeat: s.lastHeartbeat || null,
            })),
          ),
        );
        return;
      }
      for (const s of sites)
        console.log(
          `${s.name.padEnd(24)} ${s.online ? "online " : "offline"}  ${s.lastHeartbeat || "never connected"}`,
        );
    });

  admin
    .command("submit")
    .description(
      "submit a job folder (meta.json) or a Flower-style app folder; prints the job id last",
    )
    .argument("<dir>", "the job or app folder")
    .option(
      "--run-config <pairs>",
      'overrides of the job\'s config, e.g. "num-server-rounds=5"',
      runConfig,
    )
    .option("--seed <s>", "seed of the run", integer)
    .action(async (dir: string, flags: { runConfig?: Record<string, unknown>; seed?: number }) => {
      const overrides = {
        ...flags.runConfig,
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      };
      // A Flower-style app folder runs through the bridge; anything else is a job folder.
      const isApp = await isAppFolder(dir);
      if (!isApp && !(await stat(join(dir, "meta.json")).catch(() => undefined))) {
        throw new FedbridgeError(
          Code.InvalidArgument,
          `${dir} is neither a job folder (no meta.json) nor a Flower-style app (no package.json with a "fedbridge" field)`,
        );
      }
      const job = isApp
        ? await submitApp(await session(), dir, overrides, "--run-config")
        : await submitJob(await session(), dir, overrides, "--run-config");
      console.log(job.id);
    });

  admin
    .command("list")
    .description("every job and its status")
    .option("--json", "print a JSON list of jobs")
    .action(async (flags: { json?: boolean }) => {
      const { jobs } = await (await session()).client.listJobs({});
      if (flags.json) console.log(JSON.stringify(jobs.map(jobJson)));
      else for (const job of jobs) console.log(jobLine(job));
    });

  admin
    .command("status")
    .description("one job's status and last completed round")
    .argument("<job-id>")
    .option("--json", "print { id, status, round, ... }")
    .action(async (id: string, flags: { json?: boolean }) => {
      const job = await (await session()).client.getJob({ id });
      console.log(flags.json ? JSON.stringify(jobJson(job)) : jobLine(job));
    });

  admin
    .command("wait")
    .description("wait until the job ends; exit 0 only for FINISHED:COMPLETED")
    .argument("<job-id>")
    .option("--timeout <seconds>", "give up after this long (exit 2)", positiveNumber)
    .action(async (id: string, flags: { timeout?: number }) => {
      let unreachable = false;
      const last = await waitForJob(await session(), id, {
        ...(flags.timeout === undefined ? {} : { timeoutSeconds: flags.timeout }),
        onUpdate: (job) => {
          unreachable = false;
          console.log(jobLine(job));
        },
        onUnreachable: (reason) => {
          if (!unreachable)
            console.error(`the server cannot be reached (${reason}): still waiting`);
          unreachable = true;
        },
      });
      if (last === undefined || !last.status.startsWith("FINISHED")) {
        console.error(
          `fedbridge: job ${id} still ${last?.status ?? "unknown"} after ${flags.timeout} s`,
        );
        process.exit(2);
      }
      if (last.status !== "FINISHED:COMPLETED") process.exit(1);
    });

  admin
    .command("abort")
    .description("abort a job")
    .argument("<job-id>")
    .action(async (id: string) => {
      console.log(jobLine(await (await session()).client.abortJob({ id })));
    });

  admin
    .command("download")
    .description("the job's result.json, logs and tracking files")
    .argument("<job-id>")
    .requiredOption("-o, --out <dir>", "where to write them")
    .action(async (id: string, flags: { out: string }) => {
      const files = await downloadJob(await session(), id, flags.out);
      console.log(`wrote ${files} files to ${resolve(flags.out)}`);
    });
}
