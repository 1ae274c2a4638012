import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Controller } from "../flare-runtime/controller/controller.ts";
import type { JobRunner } from "../flare-runtime/job-process/job-runner.ts";
import { createContext, type UserConfig } from "../flower-api/app/context.ts";
import { importApp, readAppManifest } from "../flower-api/app/load-app.ts";
import { Replay } from "../flower-api/app/replay.ts";
import type { RoundSummary, RunObserver } from "../flower-api/app/run-observer.ts";
import { ServerApp } from "../flower-api/app/server-app.ts";
import { SERVER_NODE_ID } from "../flower-api/message/metadata.ts";
import { summarizeResult } from "../flower-api/run-output.ts";
import { trackingObserver } from "../tracking/flower-runs/tracking-observer.ts";
import { createForwardSink } from "../tracking/forward-sink.ts";
import { setHostTrackingSink } from "../tracking/summary-writer.ts";
import { SERVER_RUN } from "../tracking/tensorboard-sink.ts";
import type { TrackingEvent } from "../tracking/tracking-event.ts";
import { failureLog } from "./failure-log.ts";
import { flowerSitePart } from "./flower-site.ts";
import { ReplyJournal } from "./reply-journal.ts";
import { RuntimeGrid } from "./runtime-grid.ts";
import { jobRunId, siteNodes } from "./site-nodes.ts";

/**
 * Benchmarks only (bench/bridge.ts measures what the journal costs): with this variable set to
 * 1 in the server's environment, bridged jobs run without their reply journal, and so cannot
 * resume after a server restart; each such job says so in its log.
 */
export const JOURNAL_OFF_ENV = "FEDBRIDGE_BENCH_NO_JOURNAL";
const JOURNAL_OFF = process.env[JOURNAL_OFF_ENV] === "1";

/**
 * The job runner `flower`: an unchanged Flower-style app as a runtime job. The ServerApp runs
 * in the server's job process with a RuntimeGrid; each site's job process runs the ClientApp
 * on the messages it is sent. The job's run id is derived from its id, the app's config
 * (with the submitter's overrides and seed) is the run config.
 */
export const runner: JobRunner = {
  async server(job) {
    const manifest = await readAppManifest(job.dir);
    // This process only sends tracking events; the server parent checks and writes them.
    const send = (events: TrackingEvent[]) => job.track(events);
    const appEvents = createForwardSink(send);
    let replaying = () => false;
    // The ServerApp's own SummaryWriter goes to the server's tracking too, as "server"; what it
    // logs again while it is replayed after a restart was logged the first time.
    setHostTrackingSink(
      {
        write: (event) =>
          replaying() ? undefined : appEvents.write({ ...event, site: SERVER_RUN }),
        flush: () => appEvents.flush?.(),
      },
      { job: job.jobId },
    );
    const app = await importApp(manifest.serverappUrl, ServerApp, "serverapp");
    // Every reply the ServerApp takes is journaled; a restarted server runs the ServerApp again
    // from the start against the journal (replay.ts), so the job resumes with no checkpoint
    // code of the app's. The checkpoint at round 0 marks the job as one that can resume.
    // Beside the job's checkpoints, which the runtime keeps until the job completes.
    const store = JOURNAL_OFF
      ? undefined
      : new ReplyJournal(join(job.workspace, "checkpoints", "journal"));
    const replay = new Replay(store?.entries() ?? new Map());
    if (store === undefined)
      job.log(
        `the reply journal is off (${JOURNAL_OFF_ENV}=1, for benchmarks only): this job cannot resume after a server restart`,
      );
    else if (job.resume)
      job.log(
        `resuming: the ServerApp runs again from the start, answered from its journal of ${replay.journaled} replies until its first message without one`,
      );
    else await job.saveCheckpoint(0, [new TextEncoder().encode("journal")]);
    const runConfig = job.config as UserConfig;
    const runId = jobRunId(job.jobId);
    const nodes = siteNodes(job.sites);
    // Every round, whatever the app logs itself: the server parent writes it to
    // <workspace>/jobs/<id>/tb_events/<site or server>/ and its tracking store.
    const rounds = createForwardSink(send);
    const siteName = (nodeId: bigint) =>
      nodes.find((n) => n.nodeId === nodeId)?.site ?? `node-${nodeId}`;
    const failures = failureLog(siteName);
    const tracked = trackingObserver(
      {
        roundStarted: () => {},
        roundFinished: (summary) => {
          for (const line of failures(summary)) job.log(line);
          job.roundCompleted(summary.round, roundMetrics(summary));
        },
        log: (line) => job.log(line),
        waiting: (message) => job.log(message),
      },
      rounds,
      siteName,
    );
    // A round replayed from the journal was tracked and reported the first time.
    const observer: RunObserver = {
      ...tracked,
      roundFinished: (summary) => {
        if (grid.replaying) job.log(`round ${summary.round} replayed from the journal`);
        else tracked.roundFinished(summary);
      },
    };
    const grid: RuntimeGrid = new RuntimeGrid(
      { runId, runConfig },
      observer,
      nodes,
      new Controller(job),
      store === undefined ? undefined : { store, replay },
    );
    replaying = () => grid.replaying;
    const result = await app
      .run(grid, createContext({ runId, nodeId: SERVER_NODE_ID, runConfig }))
      .finally(() => {
        // Sent before the job's end, so the server has them all when it closes the job's files.
        rounds.close?.();
        appEvents.close?.();
        setHostTrackingSink(undefined);
        store?.close();
      });
    replay.finish();
    if (result === undefined) {
      job.setResult({ mode: "runtime", rounds: [], note: "the ServerApp returned no Result" });
      return;
    }
    const { summary, finalArrays } = summarizeResult("runtime", result, (nodeId) =>
      grid.nodeName(nodeId),
    );
    await writeFile(join(job.workspace, "final-arrays.pb"), finalArrays);
    job.setResult(summary as unknown as Record<string, unknown>);
  },

  site: (job) => flowerSitePart(job),
};

/** A round's aggregated metrics, flat: `train/loss`, `evaluate/accuracy`, `server/accuracy`. */
function roundMetrics(summary: RoundSummary): Record<string, number> {
  const metrics: Record<string, number> = {};
  const add = (prefix: string, record: RoundSummary["train"]) => {
    for (const [key, value] of record ?? [])
      if (typeof value === "number") metrics[`${prefix}/${key}`] = value;
  };
  add("train", summary.train);
  add("evaluate", summary.evaluate);
  add("server", summary.serverEvaluate);
  return metrics;
}
