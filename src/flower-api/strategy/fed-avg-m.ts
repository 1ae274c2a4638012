import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Grid } from "../app/grid.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { fromFloat64, toFloat64 } from "./float-arrays.ts";
import type { TrainAggregate } from "./strategy.ts";

export interface FedAvgMOptions extends FedAvgOptions {
  /** Server-side learning rate. Default: 1. */
  serverLearningRate?: number;
  /** Server-side momentum; 0 turns momentum off. Default: 0. */
  serverMomentum?: number;
}

/**
 * FedAvg with server momentum (Hsu et al., 2019), as Flower 1.28's `FedAvgM`. With the
 * pseudo-gradient g = current model − FedAvg's average, the momentum is v = g in the first
 * aggregated round and v = momentum·v + g after; the model becomes current − lr·v. With the
 * defaults (lr 1, momentum 0) this is FedAvg.
 */
export class FedAvgM extends FedAvg {
  readonly serverLearningRate: number;
  readonly serverMomentum: number;
  /** Whether the server takes its own step (else the average is the model, as FedAvg). */
  readonly serverOpt: boolean;
  /** The momentum v, carried from round to round. */
  protected momentumVector: Map<string, Float64Array> | undefined;

  constructor(options: FedAvgMOptions = {}) {
    super(options);
    this.serverLearningRate = options.serverLearningRate ?? 1;
    this.serverMomentum = options.serverMomentum ?? 0;
    this.serverOpt = this.serverMomentum !== 0 || this.serverLearningRate !== 1;
  }

  override summary(): string[] {
    return [
      `FedAvgM: server optimization ${this.serverOpt ? "ON" : "OFF"} | learning rate ${this.serverLearningRate} | momentum ${this.serverMomentum}`,
      ...super.summary(),
    ];
  }

  protected override aggregate(
    serverRound: number,
    contents: RecordDict[],
    grid: Grid,
  ): TrainAggregate {
    const [average, metrics] = super.aggregate(serverRound, contents, grid);
    if (!this.serverOpt || average === undefined) return [average, metrics];
    const current = this.currentModel();
    const momentum = new Map<string, Float64Array>();
    const out = new ArrayRecord();
    for (const [key, avgArray] of average) {
      const currentArray = current.get(key);
      if (currentArray?.size !== avgArray.size) {
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `FedAvgM: aggregated array '${key}' does not match the model's`,
        );
      }
      const old = toFloat64(currentArray);
      const avg = toFloat64(avgArray);
      let step = old.map((o, j) => o - (avg[j] as number)); // the pseudo-gradient
      const previous = this.momentumVector?.get(key);
      if (this.serverMomentum > 0) {
        if (previous !== undefined)
          step = step.map((g, j) => this.serverMomentum * (previous[j] as number) + g);
        momentum.set(key, step);
      }
      out.set(
        key,
        fromFloat64(
          old.map((o, j) => o - this.serverLearningRate * (step[j] as number)),
          avgArray,
        ),
      );
    }
    if (this.serverMomentum > 0) this.momentumVector = momentum;
    return [out, metrics];
  }
}
