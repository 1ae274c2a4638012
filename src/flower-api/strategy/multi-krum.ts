import type { RecordDict } from "../records/record-dict.ts";
import { aggregateArrayRecords } from "./aggregate.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { arraysOf, toFloat64 } from "./float-arrays.ts";
import type { TrainAggregate } from "./strategy.ts";

export interface MultiKrumOptions extends FedAvgOptions {
  /** Number f of malicious nodes the selection must withstand. Default: 0. */
  numMaliciousNodes?: number;
  /** Number of replies selected and averaged; 1 is Krum. Default: 1. */
  numNodesToSelect?: number;
}

/**
 * Multi-Krum (Blanchard et al., 2017), as Flower 1.28's `MultiKrum`: averages (weighted, as
 * FedAvg) only the `numNodesToSelect` replies closest to their neighbours (see
 * `selectMultikrum`), so that up to `numMaliciousNodes` outliers are left out.
 */
export class MultiKrum extends FedAvg {
  readonly numMaliciousNodes: number;
  readonly numNodesToSelect: number;

  constructor(options: MultiKrumOptions = {}) {
    super(options);
    this.numMaliciousNodes = options.numMaliciousNodes ?? 0;
    this.numNodesToSelect = options.numNodesToSelect ?? 1;
  }

  override summary(): string[] {
    return [
      `${this.constructor.name}: malicious nodes ${this.numMaliciousNodes} | nodes to select ${this.numNodesToSelect}`,
      ...super.summary(),
    ];
  }

  protected override aggregate(_serverRound: number, contents: RecordDict[]): TrainAggregate {
    const selected = selectMultikrum(contents, this.numMaliciousNodes, this.numNodesToSelect);
    return [
      aggregateArrayRecords(selected, this.weightedByKey),
      this.trainMetricsAggrFn(selected, this.weightedByKey),
    ];
  }
}

/**
 * Krum's selection, as Flower's `select_multikrum`: each reply scores the sum of its squared
 * L2 distances (over all its arrays, flattened) to its n − f − 2 nearest others (at least
 * one); the `numNodesToSelect` lowest scores are kept, ties to the earlier reply.
 */
export function selectMultikrum(
  contents: readonly RecordDict[],
  numMaliciousNodes: number,
  numNodesToSelect: number,
): RecordDict[] {
  const flat = contents.map((content) => {
    const layers = [...arraysOf(content).values()].map(toFloat64);
    const out = new Float64Array(layers.reduce((n, l) => n + l.length, 0));
    let at = 0;
    for (const layer of layers) {
      out.set(layer, at);
      at += layer.length;
    }
    return out;
  });
  const numClosest = Math.max(1, contents.length - numMaliciousNodes - 2);
  const scores = flat.map((x, i) => {
    const distances = flat
      .filter((_, k) => k !== i)
      .map((y) => x.reduce((sum, xj, j) => sum + (xj - (y[j] as number)) ** 2, 0))
      .sort((a, b) => a - b);
    return distances.slice(0, numClosest).reduce((a, b) => a + b, 0);
  });
  const ranked = scores.map((score, i) => ({ score, i })).sort((a, b) => a.score - b.score);
  return ranked.slice(0, numNodesToSelect).map(({ i }) => contents[i] as RecordDict);
}
