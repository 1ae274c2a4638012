import type { TrackingEvent } from "./tracking-event.ts";
import type { TrackingSink } from "./tracking-sink.ts";

/**
 * A sink that hands events on to `send` (a job process: to its parent, which checks, stores
 * and writes them), in batches: the events written in one turn of the event loop go in one
 * call, and `flush` or `close` sends what is waiting at once. Nothing is written here, so a
 * process that only sends keeps no file or store of its own.
 *
 * @example
 * const sink = createForwardSink((events) => job.track(events));
 */
export function createForwardSink(send: (events: TrackingEvent[]) => void): TrackingSink {
  let batch: TrackingEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (batch.length === 0) return;
    const events = batch;
    batch = [];
    send(events);
  };
  return {
    write(event) {
      batch.push(event);
      scheduled ??= setImmediate(flush);
    },
    flush,
    close: flush,
  };
}
