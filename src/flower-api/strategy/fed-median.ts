import type { Grid } from "../app/grid.ts";
import type { Message } from "../message/message.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import type { MetricRecord } from "../records/metric-record.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { arraysOf, combineArrays, coordinatewise, median } from "./float-arrays.ts";

export type FedMedianOptions = FedAvgOptions;

/**
 * Federated Median (Yin et al., 2018), as Flower 1.28's `FedMedian`: the model is the
 * coordinate-wise median of the nodes' arrays (unweighted; the mean of the two middle
 * values for an even count). Metrics are aggregated as FedAvg's.
 */
export class FedMedian extends FedAvg {
  override async aggregateTrain(
    _serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<[ArrayRecord | undefined, MetricRecord | undefined]> {
    const valid = this.validTrainReplies(replies, grid);
    if (valid.length === 0) return [undefined, undefined];
    const arrays = combineArrays(valid.map(arraysOf), (layers) => coordinatewise(layers, median));
    return [arrays, this.trainMetricsAggrFn(valid, this.weightedByKey)];
  }
}
