import { FedbridgeError } from "../core/fedbridge-error.ts";
import { checkTrackingEvent } from "./tracking-event.ts";
import type { TrackingSink } from "./tracking-sink.ts";
import type { JobScalarEvent, TrackingStore } from "./tracking-store.ts";

/**
 * A sink that records a job's scalars in the tracking store (texts and histograms go to event
 * files only). Events are checked as they are written, then committed together at the end of
 * the current turn of the event loop, so a round's metrics cost one transaction, not one each;
 * `flush` commits at once. Every row gets the sink's `job`: the server, not the sender, decides
 * which job a stream belongs to. Events without a site are recorded as "server". `close`
 * commits but leaves the store open: it is shared by every job.
 */
export function createStoreSink(store: TrackingStore, job: string): TrackingSink {
  let pending: JobScalarEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let failure: unknown;

  const commit = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    const rows = pending;
    pending = [];
    if (rows.length > 0) store.record(rows);
  };
  const rethrow = () => {
    const error = failure;
    failure = undefined;
    if (error !== undefined) throw FedbridgeError.from(error);
  };

  return {
    write(event) {
      rethrow();
      if (event.kind !== "scalar") return;
      checkTrackingEvent(event);
      pending.push({ ...event, job, site: event.site ?? "server" });
      scheduled ??= setImmediate(() => {
        try {
          commit();
        } catch (error) {
          // Reported by the next write or flush; a timer must not crash the process.
          failure ??= error;
        }
      });
    },
    flush() {
      commit();
      rethrow();
    },
    close() {
      commit();
      rethrow();
    },
  };
}
