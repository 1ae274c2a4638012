import { join } from "node:path";
import { FedbridgeError } from "../core/fedbridge-error.ts";
import { createStoreSink } from "./store-sink.ts";
import { createTensorBoardSink } from "./tensorboard-sink.ts";
import { checkTrackingEvent, type TrackingEvent } from "./tracking-event.ts";
import { fanOut, type TrackingSink } from "./tracking-sink.ts";
import { TrackingStore, trackingStorePath } from "./tracking-store.ts";

/**
 * The server's side of tracking events that a job's parts send (an app's SummaryWriter at a
 * site): each is checked (`checkTrackingEvent`), stamped with the site it came from (never the
 * one it claims) and the job, and written to the job's TensorBoard files
 * (`<workspace>/jobs/<job>/tb_events/<site>/`) and the server's tracking store. A refused
 * event is reported to `warn` and dropped; the job goes on.
 */
export function createJobTracking(
  workspace: string,
  warn: (line: string) => void,
): (jobId: string, site: string, events: readonly object[]) => void {
  const store = new TrackingStore(trackingStorePath(workspace));
  const sinks = new Map<string, TrackingSink>();
  const sinkFor = (jobId: string) => {
    let sink = sinks.get(jobId);
    if (sink === undefined) {
      // "app" in the file names: the job's own writer logs rounds into the same folders.
      const files = createTensorBoardSink(join(workspace, "jobs", jobId, "tb_events"), {
        filenameSuffix: "app",
      });
      sink = fanOut(files, createStoreSink(store, jobId));
      sinks.set(jobId, sink);
    }
    return sink;
  };
  return (jobId, site, events) => {
    const sink = sinkFor(jobId);
    for (const raw of events) {
      const event = { ...(raw as TrackingEvent), site, job: jobId };
      try {
        checkTrackingEvent(event);
        void Promise.resolve(sink.write(event)).catch((error) =>
          warn(`tracking of job ${jobId}: ${FedbridgeError.from(error).message}`),
        );
      } catch (error) {
        warn(
          `refused a tracking event from ${site} for job ${jobId}: ${FedbridgeError.from(error).message}`,
        );
      }
    }
    void sink.flush?.();
  };
}
