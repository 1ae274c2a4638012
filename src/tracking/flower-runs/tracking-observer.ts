import type { RoundSummary, RunObserver } from "../../flower-api/app/run-observer.ts";
import type { MetricRecord } from "../../flower-api/records/metric-record.ts";
import { SERVER_RUN } from "../tensorboard-sink.ts";
import type { TrackingSink } from "../tracking-sink.ts";

/**
 * Logs every round to tracking without the app doing anything: the aggregated train,
 * evaluate and server-side metrics under the server's run, and each node's own metrics under
 * its name (`nodeName`: a site's name in the runtime, `node-<id>` elsewhere), step = round.
 * Passes everything on to `inner`.
 */
export function trackingObserver(
  inner: RunObserver,
  sink: TrackingSink,
  nodeName: (nodeId: bigint) => string,
): RunObserver {
  const write = (site: string, phase: string, metrics: MetricRecord | undefined, round: number) => {
    const wallTime = Date.now() / 1000;
    for (const [key, value] of metrics ?? []) {
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      void sink.write({
        kind: "scalar",
        tag: `${phase}/${key}`,
        step: round,
        value,
        wallTime,
        site,
      });
    }
  };
  return {
    roundStarted: (round, numRounds) => inner.roundStarted(round, numRounds),
    roundFinished(summary: RoundSummary) {
      write(SERVER_RUN, "train", summary.train, summary.round);
      write(SERVER_RUN, "evaluate", summary.evaluate, summary.round);
      write(SERVER_RUN, "server", summary.serverEvaluate, summary.round);
      for (const node of summary.nodes)
        write(nodeName(node.nodeId), node.phase, node.metrics, summary.round);
      void sink.flush?.();
      inner.roundFinished(summary);
    },
    log: (line) => inner.log(line),
    waiting: (message) => inner.waiting?.(message),
  };
}
