import { setHostTrackingSink } from "../tracking/summary-writer.ts";
import { createTensorBoardSink } from "../tracking/tensorboard-sink.ts";
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
