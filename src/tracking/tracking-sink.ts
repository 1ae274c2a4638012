import { FedbridgeError } from "../core/fedbridge-error.ts";
import type { TrackingEvent } from "./tracking-event.ts";

/**
 * Where tracking events go: an event file, the tracking store, the stream to the server. The
 * SummaryWriter knows only this interface, so the same app code logs locally alone and to the
 * server under the runtime. `write` may return a promise (a network sink); the writer collects
 * such promises and reports a failure at the next `flush` or `close`.
 */
export interface TrackingSink {
  /** Takes one checked event; may buffer it. */
  write(event: TrackingEvent): void | Promise<void>;
  /** Makes every event written so far durable or delivered. */
  flush?(): void | Promise<void>;
  /** Flushes, then releases files or connections; the sink is not written again. */
  close?(): void | Promise<void>;
}

/**
 * One sink that writes every event to each of `sinks`, in order. Every sink gets every call,
 * even when an earlier one fails; the first failure is then thrown (as a FedbridgeError), so a
 * broken stream never silently starves a working event file.
 *
 * @example
 * const sink = fanOut(createTensorBoardSink(dir), createStoreSink(store, jobId));
 */
export function fanOut(...sinks: TrackingSink[]): TrackingSink {
  return {
    write: (event) => each(sinks, (sink) => sink.write(event)),
    flush: () => each(sinks, (sink) => sink.flush?.()),
    close: () => each(sinks, (sink) => sink.close?.()),
  };
}

/** Calls `call` on every sink; synchronous unless a sink answered with a promise. */
function each(
  sinks: readonly TrackingSink[],
  call: (sink: TrackingSink) => void | Promise<void>,
): void | Promise<void> {
  const failures: unknown[] = [];
  const pending: Promise<void>[] = [];
  for (const sink of sinks) {
    try {
      const result = call(sink);
      if (result instanceof Promise)
        pending.push(result.catch((e: unknown) => void failures.push(e)));
    } catch (error) {
      failures.push(error);
    }
  }
  const settle = () => {
    if (failures.length > 0) throw FedbridgeError.from(failures[0]);
  };
  if (pending.length === 0) return settle();
  return Promise.all(pending).then(settle);
}
