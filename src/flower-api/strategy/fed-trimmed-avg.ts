import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { arraysOf, combineArrays, coordinatewise, mean } from "./float-arrays.ts";
import type { TrainAggregate } from "./strategy.ts";

export interface FedTrimmedAvgOptions extends FedAvgOptions {
  /** Fraction cut off each end of the sorted values of every coordinate. Default: 0.2. */
  beta?: number;
}

/**
 * Federated trimmed mean (Yin et al., 2018), as Flower 1.28's `FedTrimmedAvg`: for each
 * coordinate, the ⌊beta·n⌋ lowest and highest of the n nodes' values are dropped and the
 * rest averaged, unweighted (scipy's `trim_mean`). Metrics are aggregated as FedAvg's.
 */
export class FedTrimmedAvg extends FedAvg {
  readonly beta: number;

  constructor(options: FedTrimmedAvgOptions = {}) {
    super(options);
    this.beta = options.beta ?? 0.2;
  }

  override summary(): string[] {
    return [`FedTrimmedAvg: beta ${this.beta}`, ...super.summary()];
  }

  protected override aggregate(_serverRound: number, contents: RecordDict[]): TrainAggregate {
    const cut = Math.floor(this.beta * contents.length);
    if (cut >= contents.length - cut) {
      // Flower raises too (scipy's "fraction too big"); nothing would be left to average.
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `FedTrimmedAvg: beta=${this.beta} is too large for ${contents.length} replies: trimming ${cut} from each end leaves nothing to average`,
      );
    }
    const trimmedMean = (column: number[]) =>
      mean(column.sort((a, b) => a - b).slice(cut, column.length - cut));
    const arrays = combineArrays(contents.map(arraysOf), (layers) =>
      coordinatewise(layers, trimmedMean),
    );
    return [arrays, this.trainMetricsAggrFn(contents, this.weightedByKey)];
  }
}
