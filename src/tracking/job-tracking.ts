import { join } from "node:path";
import { FedbridgeError } from "../core/fedbridge-error.ts";
import { createStoreSink } from "./store-sink.ts";
import { checkSiteName, createTensorBoardSink, SERVER_RUN } from "./tensorboard-sink.ts";
import { checkTrackingEvent, type TrackingEvent } from "./tracking-event.ts";
import { fanOut, type TrackingSink } from "./tracking-sink.ts";
import { TrackingStore, trackingStorePath } from "./tracking-store.ts";

/** The server's tracking of its jobs: the one writer of their event files and store rows. */
export interface JobTracking {
  /**
   * Takes events of a job's part at `site`, or of its server part (`site` undefined), which
   * reports each site's round metrics and so may name the site an event is about.
   */
  track(jobId: string, site: string | undefined, events: readonly object[]): void;
  /** The job ended: its event files are closed. */
  jobFinished(jobId: string): void;
  /** Closes every file and the store. */
  close(): void;
}

/**
 * The server's side of the tracking events that a job's parts send (the round logging of its
 * server part, an app's SummaryWriter anywhere): each is checked (`checkTrackingEvent`),
 * stamped with the job and with the site it came from (a site never speaks for another), and
 * written to the job's TensorBoard files (`<workspace>/jobs/<job>/tb_events/<site>/`) and the
 * server's tracking store. Job processes only send: nothing else writes these. A refused event
 * is reported to `warn` and dropped; the job goes on.
 */
export function createJobTracking(workspace: string, warn: (line: string) => void): JobTracking {
  const store = new TrackingStore(trackingStorePath(workspace));
  const sinks = new Map<string, TrackingSink>();
  const sinkFor = (jobId: string) => {
    let sink = sinks.get(jobId);
    if (sink === undefined) {
      const files = createTensorBoardSink(join(workspace, "jobs", jobId, "tb_events"));
      sink = fanOut(files, createStoreSink(store, jobId));
      sinks.set(jobId, sink);
    }
    return sink;
  };
  const close = (jobId: string) => {
    const sink = sinks.get(jobId);
    sinks.delete(jobId);
    try {
      void sink?.close?.();
    } catch (error) {
      warn(`tracking of job ${jobId}: ${FedbridgeError.from(error).message}`);
    }
  };
  return {
    track(jobId, from, events) {
      const sink = sinkFor(jobId);
      for (const raw of events) {
        const claimed = (raw as TrackingEvent).site;
        try {
          const site = from ?? (claimed === undefined ? SERVER_RUN : checkSiteName(claimed));
          const event = { ...(raw as TrackingEvent), site, job: jobId };
          checkTrackingEvent(event);
          void Promise.resolve(sink.write(event)).catch((error) =>
            warn(`tracking of job ${jobId}: ${FedbridgeError.from(error).message}`),
          );
        } catch (error) {
          warn(
            `refused a tracking event from ${from ?? SERVER_RUN} for job ${jobId}: ${FedbridgeError.from(error).message}`,
          );
        }
      }
      void sink.flush?.();
    },
    jobFinished: close,
    close() {
      for (const jobId of [...sinks.keys()]) close(jobId);
      store.close();
    },
  };
}
