import { join } from "node:path";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import {
  createEventFileWriter,
  type EventFileWriter,
  type EventFileWriterOptions,
} from "./event-file-writer.ts";
import { toTensorBoardEvent } from "./tensorboard-event.ts";
import { checkTrackingEvent } from "./tracking-event.ts";
import type { TrackingSink } from "./tracking-sink.ts";

/** The folder name of events that carry no site: the server's own, or a lone writer's. */
export const SERVER_RUN = "server";

/**
 * A sink that writes every event to one TensorBoard event file in `dir` (created on the first
 * event, so a writer that logs nothing leaves no file). What a lone SummaryWriter uses.
 */
export function createEventFileSink(
  dir: string,
  options: EventFileWriterOptions = {},
): TrackingSink {
  let writer: EventFileWriter | undefined;
  return {
    write(event) {
      checkTrackingEvent(event);
      writer ??= createEventFileWriter(dir, options);
      writer.write(toTensorBoardEvent(event));
    },
    flush: () => writer?.flush(),
    close: () => writer?.close(),
  };
}

/**
 * A sink that writes each site's events to its own TensorBoard run,
 * `<rootDir>/<site or "server">/events.out.tfevents.*`, one writer per site, so TensorBoard
 * pointed at `rootDir` shows the sites side by side. Site names become folder names, so one that
 * could escape `rootDir` (a slash, "..", a leading dot) is refused (`Code.InvalidArgument`).
 *
 * @example
 * const sink = createTensorBoardSink(join(workspace, "jobs", jobId, "tb_events"));
 */
export function createTensorBoardSink(
  rootDir: string,
  options: EventFileWriterOptions = {},
): TrackingSink {
  const writers = new Map<string, TrackingSink>();
  return {
    write(event) {
      const site = event.site ?? SERVER_RUN;
      let sink = writers.get(site);
      if (!sink) {
        checkSiteName(site);
        sink = createEventFileSink(join(rootDir, site), options);
        writers.set(site, sink);
      }
      return sink.write(event);
    },
    flush() {
      for (const sink of writers.values()) sink.flush?.();
    },
    close() {
      for (const sink of writers.values()) sink.close?.();
      writers.clear();
    },
  };
}

/** Returns `site` if it is a plain folder name; refuses it (`Code.InvalidArgument`) if not. */
export function checkSiteName(site: unknown): string {
  if (typeof site !== "string" || !/^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}$/.test(site)) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `site name ${JSON.stringify(String(site).slice(0, 80))} cannot name an event-file folder`,
    );
  }
  return site;
}
