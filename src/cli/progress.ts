import { SingleBar } from "cli-progress";
import type { RoundSummary, RunObserver } from "../flower-api/app/run-observer.ts";
import type { MetricRecord } from "../flower-api/records/metric-record.ts";

/**
 * Shows a run in the terminal: a progress bar over the rounds and one line of metrics per
 * round (plain lines when `output` is not a terminal). Strategy logs go to stderr with `verbose`.
 */
export function createTerminalProgress(options: {
  verbose: boolean;
  /** Where the round lines go (the bar, when it is a terminal, is on stderr). Default: stdout. */
  output?: NodeJS.WriteStream;
}): RunObserver & { stop(): void } {
  const output = options.output ?? process.stdout;
  const print = (line: string) => output.write(`${line}\n`);
  const bar = output.isTTY
    ? new SingleBar({
        format: " round {value}/{total} |{bar}| {percentage}% {eta_formatted} left",
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined;
  let started = false;
  /** Failure reasons already shown: each is shown once, with the first node that gave it. */
  const shown = new Set<string>();
  return {
    roundStarted(round, numRounds) {
      if (bar && !started) bar.start(numRounds, round - 1);
      started = true;
    },
    roundFinished(summary: RoundSummary) {
      for (const failure of summary.errors) {
        const key = `${failure.code} ${failure.reason}`;
        if (shown.has(key)) continue;
        shown.add(key);
        console.error(
          `round ${summary.round}: node ${failure.nodeId} (${failure.phase}): ${failure.code}: ${failure.reason}`,
        );
      }
      const line = formatRound(summary);
      if (bar) {
        bar.stop(); // print the line above the bar, then draw the bar again
        print(line);
        if (summary.round < summary.numRounds) bar.start(summary.numRounds, summary.round);
      } else {
        print(line);
      }
    },
    log(line) {
      if (options.verbose) console.error(line);
    },
    waiting(message) {
      console.error(message);
    },
    stop() {
      bar?.stop();
    },
  };
}

export function formatRound(summary: RoundSummary): string {
  const parts = [`round ${summary.round}/${summary.numRounds}`];
  const add = (prefix: string, metrics: MetricRecord | undefined) => {
    for (const [key, value] of metrics ?? []) parts.push(`${prefix}${key} ${formatValue(value)}`);
  };
  add("train ", summary.train);
  add("evaluate ", summary.evaluate);
  add("server ", summary.serverEvaluate);
  const failures = summary.failures.train + summary.failures.evaluate;
  if (failures > 0) parts.push(`(${failures} failed replies)`);
  return parts.join("  ");
}

function formatValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(4);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  return String(value);
}
