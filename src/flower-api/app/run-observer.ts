import type { MetricRecord } from "../records/metric-record.ts";

/** What a round produced, as the strategy reports it. */
export interface RoundSummary {
  round: number;
  numRounds: number;
  /** Aggregated train metrics of the ClientApps. */
  train?: MetricRecord;
  /** Aggregated evaluate metrics of the ClientApps. */
  evaluate?: MetricRecord;
  /** The ServerApp's own (centralized) evaluation. */
  serverEvaluate?: MetricRecord;
  /** Replies that carried an error, by phase. */
  failures: { train: number; evaluate: number };
  /** The round's failed replies, the first of each distinct reason. */
  errors: NodeFailure[];
  /** Each node's own metrics (the first MetricRecord of its reply), by phase. */
  nodes: NodeMetrics[];
}

/** What one node reported in a round. */
export interface NodeMetrics {
  nodeId: bigint;
  phase: "train" | "evaluate";
  metrics: MetricRecord;
}

/** A reply that carried an error instead of content. */
export interface NodeFailure {
  nodeId: bigint;
  phase: "train" | "evaluate";
  /** The error's code name, e.g. CLIENT_APP_RAISED_EXCEPTION. */
  code: string;
  reason: string;
}

/**
 * Watches a run from the server side: progress bars, logs and (later) tracking listen here.
 * Strategies report to it through `grid.observer`, so apps need no code for it.
 */
export interface RunObserver {
  roundStarted(round: number, numRounds: number): void;
  roundFinished(summary: RoundSummary): void;
  /** A line of the strategy's log (Flower logs these at INFO). */
  log(line: string): void;
  /**
   * The run is waiting for something that may take a while (nodes to connect), said again when
   * it changes and every few seconds; a terminal shows it, unlike `log`.
   */
  waiting?(message: string): void;
}

/** An observer that ignores everything. */
export const silentObserver: RunObserver = {
  roundStarted() {},
  roundFinished() {},
  log() {},
};
