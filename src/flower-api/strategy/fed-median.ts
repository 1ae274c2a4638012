import type { RecordDict } from "../records/record-dict.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { arraysOf, combineArrays, coordinatewise, median } from "./float-arrays.ts";
import type { TrainAggregate } from "./strategy.ts";

export type FedMedianOptions = FedAvgOptions;

/**
 * Federated Median (Yin et al., 2018), as Flower 1.28's `FedMedian`: the model is the
 * coordinate-wise median of the nodes' arrays (unweighted; the mean of the two middle
 * values for an even count). Metrics are aggregated as FedAvg's.
 */
export class FedMedian extends FedAvg {
  protected override aggregate(_serverRound: number, contents: RecordDict[]): TrainAggregate {
    const arrays = combineArrays(contents.map(arraysOf), (layers) =>
      coordinatewise(layers, median),
    );
    return [arrays, this.trainMetricsAggrFn(contents, this.weightedByKey)];
  }
}
