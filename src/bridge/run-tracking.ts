import { setHostTrackingSink } from "../tracking/summary-writer.ts";
import { createTensorBoardSink } from "../tracking/tensorboard-sink.ts";
import { checkTrackingEvent, type TrackingEvent } from "../tracking/tracking-event.ts";
import type { TrackingSink } from "../tracking/tracking-sink.ts";

/**
 * Where an app's own SummaryWriter writes in a run with an output folder (simulation, native
 * deployment): `<dir>/<server or node-ID>/events.out.tfevents.*.app`, beside the files of the
 * automatic round logging. `nodeId()` names the node whose message is being handled; without
 * one the events are the ServerApp's.
 */
export function useRunFolderTracking(
  dir: string,
  nodeId: () => bigint | undefined = () => undefined,
): TrackingSink {
  const files = createTensorBoardSink(dir, { filenameSuffix: "app" });
  const sink: TrackingSink = {
    write: (event) => {
      const node = nodeId();
      return files.write({
        ...event,
        site: event.site ?? (node === undefined ? "server" : `node-${node}`),
      });
    },
    flush: () => files.flush?.(),
    close: () => files.close?.(),
  };
  setHostTrackingSink(sink);
  return sink;
}

/** The simulation's worker setup (WorkerSetup.url): `data` is the folder. */
export function setup(data: unknown, currentNodeId: () => bigint | undefined): void {
  useRunFolderTracking(String(data), currentNodeId);
}

export const RUN_TRACKING_SETUP_URL = import.meta.url;

/**
 * A sink that forwards events in batches through `send` (a SuperNode's push to its SuperLink):
 * on `flush()` and at most a second after an event. A failed send is reported to `warn`.
 */
export function createForwardingSink(
  send: (events: readonly object[]) => Promise<void>,
  warn: (line: string) => void,
): TrackingSink {
  let batch: object[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = async () => {
    clearTimeout(timer);
    timer = undefined;
    const events = batch;
    batch = [];
    if (events.length > 0)
      await send(events).catch((error: Error) => warn(`tracking events lost: ${error.message}`));
  };
  return {
    write(event) {
      batch.push(event);
      timer ??= setTimeout(() => void flush(), 1000);
    },
    flush,
    close: flush,
  };
}

/** Writes the events a run's nodes sent (native deployment) into `<dir>/node-<id>/`. */
export function nodeEventsToFolder(
  dir: string,
  warn: (line: string) => void,
): { write(nodeId: bigint, events: object[]): void; close(): Promise<void> } {
  const files = createTensorBoardSink(dir, { filenameSuffix: "app" });
  return {
    write(nodeId, events) {
      for (const raw of events) {
        const event = {
          ...(raw as TrackingEvent),
          site: nodeId === 1n ? "server" : `node-${nodeId}`,
        };
        try {
          checkTrackingEvent(event);
          void files.write(event);
        } catch (error) {
          warn(`refused a tracking event from node ${nodeId}: ${(error as Error).message}`);
        }
      }
    },
    close: async () => {
      await files.close?.();
    },
  };
}
