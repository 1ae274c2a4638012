import type { RunEvent } from "../../gen/fedbridge/v1/control_pb.ts";
import { arrayRecordFromProto, metricRecordFromProto } from "../records/serde.ts";
import type { RunRecord } from "../superlink/run-registry.ts";

/** One line of a run's log as Flower's CLI shows it, and when it was logged (unix seconds). */
export interface LogLine {
  text: string;
  time: number;
}

/** How many values of each final array the log shows. */
const SHOWN_VALUES = 8;

/**
 * A run's events as the log text Flower's `flwr log` and `flwr run --stream` print: rounds,
 * the ServerApp's own log lines, failed replies with their reasons, the end and the final
 * arrays.
 */
export function runLogLines(run: RunRecord): LogLine[] {
  const lines: LogLine[] = [];
  run.events.forEach((event, i) => {
    const time = run.eventTimes[i] ?? run.startedAt.getTime() / 1000;
    for (const text of eventText(event)) lines.push({ text, time });
  });
  const ended = run.events.some((e) => e.event.case === "runFinished");
  // A run ended from outside its ServerApp (stopped, or failed to start) says how, once.
  if (run.status === "finished" && !ended && (run.subStatus !== "completed" || run.details)) {
    const time = (run.finishedAt ?? new Date()).getTime() / 1000;
    const details = run.details ? `: ${run.details}` : "";
    lines.push({ text: `run ${run.runId} ${run.subStatus}${details}`, time });
  }
  return lines;
}

function eventText({ event }: RunEvent): string[] {
  switch (event.case) {
    case "roundStarted":
      return [`[ROUND ${event.value.round}/${event.value.numRounds}]`];
    case "roundFinished": {
      const e = event.value;
      const metrics = (what: string, record: typeof e.train) =>
        record
          ? [`  ${what}: ${JSON.stringify(Object.fromEntries(metricRecordFromProto(record)))}`]
          : [];
      return [
        `round ${e.round}/${e.numRounds} done: ${e.trainFailures} train and ${e.evaluateFailures} evaluate failures`,
        ...metrics("train metrics", e.train),
        ...metrics("evaluate metrics", e.evaluate),
        ...metrics("server evaluate metrics", e.serverEvaluate),
        ...e.errors.map((f) => `  node ${f.nodeId} (${f.phase}): ${f.code}: ${f.reason}`),
      ];
    }
    case "log":
    case "waiting":
      return [event.value];
    case "runFinished": {
      const { status, details, result } = event.value;
      const arrays = result?.arrays ? [...arrayRecordFromProto(result.arrays)] : [];
      return [
        `run ${status}${details ? `: ${details}` : ""}`,
        ...arrays.map(([name, array]) => {
          // A large final model is set aside (final-results.ts): its arrays here have no bytes.
          if (array.data.byteLength === 0 && array.size > 0)
            return `final array ${name} (${array.dtype}): shape (${array.shape.join(", ")})`;
          // The first values only: spreading a model's whole array would be a model's worth of JS numbers.
          const all = array.toTypedArray();
          const values = [...all.subarray(0, SHOWN_VALUES)].map(Number);
          const more = all.length > SHOWN_VALUES ? ", ..." : "";
          return `final array ${name} (${array.dtype}): [${values.join(", ")}${more}]`;
        }),
      ];
    }
    default:
      return [];
  }
}
