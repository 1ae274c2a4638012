import { z } from "zod";
import type { WorkerHost } from "../../flower-api/clientapp-worker/protocol.ts";
import { setHostTrackingSink } from "../summary-writer.ts";
import { createTensorBoardSink } from "../tensorboard-sink.ts";
import { checkTrackingEvent, type TrackingEvent } from "../tracking-event.ts";
import type { TrackingSink } from "../tracking-sink.ts";

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

const setupData = z.union([
  z.object({ folder: z.string() }),
  z.object({ forward: z.object({ site: z.string().optional(), job: z.string().optional() }) }),
]);

/** What a ClientApp thread's SummaryWriters do, as RUN_TRACKING_SETUP_URL's `data`. */
export type RunTrackingSetup = z.infer<typeof setupData>;

/**
 * The setup of a ClientApp's thread (WorkerSetup.url): `{ folder }` writes the app's events
 * into a run folder (simulation); `{ forward }` sends them to the thread's host, stamped with
 * a site and job when given (a SuperNode pushes them to its SuperLink, a site to its server).
 */
export function setup(data: unknown, host: WorkerHost): void {
  const parsed = setupData.parse(data);
  if ("folder" in parsed) {
    useRunFolderTracking(parsed.folder, () => host.currentNodeId());
    return;
  }
  const { site, job } = parsed.forward;
  const stamp = { ...(site === undefined ? {} : { site }), ...(job === undefined ? {} : { job }) };
  setHostTrackingSink({ write: (event) => host.track([event]) }, stamp);
}

export const RUN_TRACKING_SETUP_URL = import.meta.url;

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
