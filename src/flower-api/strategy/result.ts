import { ArrayRecord } from "../records/array-record.ts";
import type { MetricRecord } from "../records/metric-record.ts";

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
}
