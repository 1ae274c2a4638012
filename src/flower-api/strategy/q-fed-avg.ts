import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { arraysOf, fromFloat64, toFloat64 } from "./float-arrays.ts";
import type { TrainAggregate } from "./strategy.ts";

export interface QFedAvgOptions extends FedAvgOptions {
  /** The nodes' learning rate; L = 1 / it estimates the Lipschitz constant. Required. */
  clientLearningRate: number;
  /** Fairness q: 0 weighs nodes as FedAvg, larger favours nodes with a higher loss. Default: 0.1. */
  q?: number;
  /** MetricRecord key of each node's training loss. Default: "train_loss". */
  trainLossKey?: string;
}

/** The tiny constant Flower adds to every loss before raising it to a power. */
const LOSS_EPSILON = 1e-10;

/**
 * q-FedAvg (Li et al., 2020), as Flower 1.28's `QFedAvg`. With L = 1 / clientLearningRate,
 * each node k with loss F_k and model w_k gives Δ_k = F_k^q · L·(w − w_k) and
 * h_k = q·F_k^(q−1)·‖L·(w − w_k)‖² + L·F_k^q (F_k + 1e-10, as Flower); the new model is
 * w − Σ Δ_k / Σ h_k. Metrics are aggregated as FedAvg's.
 */
export class QFedAvg extends FedAvg {
  readonly clientLearningRate: number;
  readonly q: number;
  readonly trainLossKey: string;

  constructor(options: QFedAvgOptions) {
    super(options);
    this.clientLearningRate = options.clientLearningRate;
    this.q = options.q ?? 0.1;
    this.trainLossKey = options.trainLossKey ?? "train_loss";
  }

  override summary(): string[] {
    return [
      `QFedAvg: client learning rate ${this.clientLearningRate} | q ${this.q} | train loss key '${this.trainLossKey}'`,
      ...super.summary(),
    ];
  }

  protected override aggregate(_serverRound: number, contents: RecordDict[]): TrainAggregate {
    const current = this.currentModel();
    const lipschitz = 1 / this.clientLearningRate;
    const global = [...current.values()].map(toFloat64);
    const sumDelta = global.map((g) => new Float64Array(g.length));
    let sumH = 0;
    for (const content of contents) {
      const local = [...arraysOf(content).values()].map(toFloat64);
      if (local.length !== global.length) {
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `QFedAvg: a reply has ${local.length} arrays, the model ${global.length}`,
        );
      }
      const loss = this.trainLoss(content) + LOSS_EPSILON;
      const lossPowQ = loss ** this.q;
      let squaredNorm = 0;
      global.forEach((g, a) => {
        const l = local[a] as Float64Array;
        const sum = sumDelta[a] as Float64Array;
        for (let j = 0; j < g.length; j++) {
          const grad = lipschitz * ((g[j] as number) - (l[j] as number));
          squaredNorm += grad * grad;
          sum[j] = (sum[j] as number) + lossPowQ * grad;
        }
      });
      sumH += this.q * loss ** (this.q - 1) * squaredNorm + lipschitz * lossPowQ;
    }
    const out = new ArrayRecord();
    [...current].forEach(([key, array], a) => {
      const g = global[a] as Float64Array;
      const sum = sumDelta[a] as Float64Array;
      out.set(
        key,
        fromFloat64(
          g.map((w, j) => w - (sum[j] as number) / sumH),
          array as FlowerArray,
        ),
      );
    });
    return [out, this.trainMetricsAggrFn(contents, this.weightedByKey)];
  }

  private trainLoss(content: RecordDict): number {
    const [metrics] = content.metricRecords.values();
    const loss = metrics?.get(this.trainLossKey);
    if (typeof loss !== "number" && typeof loss !== "bigint") {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `QFedAvg: each reply's MetricRecord needs the training loss as a number under '${this.trainLossKey}' (trainLossKey)`,
      );
    }
    return Number(loss);
  }
}
