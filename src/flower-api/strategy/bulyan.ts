import type { Grid } from "../app/grid.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { arraysOf, combineArrays, coordinatewise, mean, median } from "./float-arrays.ts";
import { selectMultikrum } from "./multi-krum.ts";
import type { TrainAggregate } from "./strategy.ts";

/** Bulyan's first step: picks `numNodesToSelect` of the replies, resisting `numMaliciousNodes`. */
export type SelectionRule = (
  contents: readonly RecordDict[],
  numMaliciousNodes: number,
  numNodesToSelect: number,
) => RecordDict[];

export interface BulyanOptions extends FedAvgOptions {
  /** Number f of malicious nodes; a round needs at least 4f + 3 replies. Default: 0. */
  numMaliciousNodes?: number;
  /** The Byzantine-resilient selection of the first step. Default: `selectMultikrum`. */
  selectionRule?: SelectionRule;
}

/**
 * Bulyan (El Mhamdi et al., 2018), as Flower 1.28's `Bulyan`. Of n ≥ 4f + 3 replies, the
 * selection rule keeps θ = n − 2f; then, for each coordinate, the β = θ − 2f values closest
 * to the selected replies' median are averaged (unweighted). Metrics are aggregated (as
 * FedAvg's) over the selected replies. With fewer replies the round is skipped: the model
 * stays as it was.
 */
export class Bulyan extends FedAvg {
  readonly numMaliciousNodes: number;
  readonly selectionRule: SelectionRule;

  constructor(options: BulyanOptions = {}) {
    super(options);
    this.numMaliciousNodes = options.numMaliciousNodes ?? 0;
    this.selectionRule = options.selectionRule ?? selectMultikrum;
  }

  override summary(): string[] {
    return [
      `Bulyan: malicious nodes ${this.numMaliciousNodes} | selection rule ${this.selectionRule.name}`,
      ...super.summary(),
    ];
  }

  protected override aggregate(
    _serverRound: number,
    contents: RecordDict[],
    grid: Grid,
  ): TrainAggregate {
    const f = this.numMaliciousNodes;
    if (contents.length < 4 * f + 3) {
      grid.observer.log(
        `aggregate_train: Bulyan needs at least ${4 * f + 3} replies (4·numMaliciousNodes + 3), got ${contents.length}; the model stays as it was`,
      );
      return [undefined, undefined];
    }
    const theta = contents.length - 2 * f;
    const beta = theta - 2 * f;
    const selected = this.selectionRule(contents, f, theta);
    const closestMean = (column: number[]) => {
      const m = median(column);
      // Ties in distance go to the earlier reply (content order), so the result is stable.
      const byDistance = column
        .map((value, i) => ({ value, i, d: Math.abs(value - m) }))
        .sort((a, b) => a.d - b.d || a.i - b.i);
      return mean(byDistance.slice(0, beta).map(({ value }) => value));
    };
    const arrays = combineArrays(selected.map(arraysOf), (layers) =>
      coordinatewise(layers, closestMean),
    );
    return [arrays, this.trainMetricsAggrFn(selected, this.weightedByKey)];
  }
}
