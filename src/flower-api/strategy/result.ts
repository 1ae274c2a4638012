import type { NodeFailure } from "../app/run-observer.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { MetricRecord } from "../records/metric-record.ts";

/** How the replies of one phase of a round went. */
export interface PhaseReplies {
  /** Instructions sent. */
  sent: number;
  /** Replies that carried an error (a node that never answered gets one too). */
  failed: number;
  /** The failures, the first of each distinct reason. */
  errors: NodeFailure[];
}

/** What `Strategy.start` returns, as Flower 1.28's `Result`: the final model and metrics by round. */
export class Result {
  /** The final global model. */
  arrays = new ArrayRecord();
  /** Aggregated train metrics of the ClientApps, by round. */
  readonly trainMetricsClientapp = new Map<number, MetricRecord>();
  /** Aggregated evaluate metrics of the ClientApps, by round. */
  readonly evaluateMetricsClientapp = new Map<number, MetricRecord>();
  /** Centralized evaluation by the ServerApp, by round (0 is the initial model). */
  readonly evaluateMetricsServerapp = new Map<number, MetricRecord>();
  /** fedbridge's addition: how each round's replies went, by phase. */
  readonly replies = new Map<number, { train: PhaseReplies; evaluate: PhaseReplies }>();
}
