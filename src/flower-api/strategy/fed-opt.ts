import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Grid } from "../app/grid.ts";
import type { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";
import { fromFloat64, toFloat64 } from "./float-arrays.ts";
import type { TrainAggregate } from "./strategy.ts";

export interface FedOptOptions extends FedAvgOptions {
  /** Server-side learning rate η. Default: 0.1 (FedYogi: 0.01). */
  eta?: number;
  /** Client-side learning rate η_l; logged only, as in Flower. Default: 0.1 (FedYogi: 0.0316). */
  etaL?: number;
  /** Momentum β₁ of the first moment. Default: 0.9 (FedAdagrad: 0, fixed). */
  beta1?: number;
  /** Decay β₂ of the second moment. Default: 0.99 (FedAdagrad: 0, fixed). */
  beta2?: number;
  /** Adaptivity τ, added to √v. Default: 0.001. */
  tau?: number;
}

/**
 * The shared part of FedAdam, FedYogi and FedAdagrad (Reddi et al., 2020), as Flower 1.28's
 * `FedOpt`: FedAvg's average gives the pseudo-gradient Δ = average − current model; then
 * m = β₁·m + (1 − β₁)·Δ, v follows each subclass's rule, and the model moves by
 * stepSize·m / (√v + τ). The moments (in float64) carry over from round to round; a
 * round that aggregates nothing leaves them, and the model, as they were.
 */
export abstract class FedOpt extends FedAvg {
  readonly eta: number;
  readonly etaL: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
  /** The moments m and v, carried from round to round. */
  protected mT: Map<string, Float64Array> | undefined;
  protected vT: Map<string, Float64Array> | undefined;

  constructor(options: FedOptOptions, defaults: Required<Pick<FedOptOptions, "eta" | "etaL">>) {
    super(options);
    this.eta = options.eta ?? defaults.eta;
    this.etaL = options.etaL ?? defaults.etaL;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.99;
    this.tau = options.tau ?? 1e-3;
  }

  /** The new second moment of one coordinate, from the old one and its Δ. */
  protected abstract secondMoment(v: number, delta: number): number;

  /** The step size of round `serverRound`: η, which FedAdam corrects for bias. */
  protected stepSize(_serverRound: number): number {
    return this.eta;
  }

  override summary(): string[] {
    const g = (x: number) => Number(x.toPrecision(6));
    return [
      `${this.constructor.name}: eta ${g(this.eta)} | eta_l ${g(this.etaL)} | beta_1 ${g(this.beta1)} | beta_2 ${g(this.beta2)} | tau ${g(this.tau)}`,
      ...super.summary(),
    ];
  }

  protected override aggregate(
    serverRound: number,
    contents: RecordDict[],
    grid: Grid,
  ): TrainAggregate {
    const [average, metrics] = super.aggregate(serverRound, contents, grid);
    if (average === undefined) return [average, metrics];
    const current = this.checkedCurrentArrays(average);
    const mT = this.mT ?? new Map<string, Float64Array>();
    const vT = this.vT ?? new Map<string, Float64Array>();
    const step = this.stepSize(serverRound);
    const out = new ArrayRecord();
    for (const [key, array] of current) {
      const x = toFloat64(array);
      const avg = toFloat64(average.get(key) as FlowerArray);
      const m = mT.get(key) ?? new Float64Array(x.length);
      const v = vT.get(key) ?? new Float64Array(x.length);
      const next = new Float64Array(x.length);
      for (let j = 0; j < x.length; j++) {
        const delta = (avg[j] as number) - (x[j] as number);
        m[j] = this.beta1 * (m[j] as number) + (1 - this.beta1) * delta;
        v[j] = this.secondMoment(v[j] as number, delta);
        next[j] =
          (x[j] as number) + (step * (m[j] as number)) / (Math.sqrt(v[j] as number) + this.tau);
      }
      mT.set(key, m);
      vT.set(key, v);
      out.set(key, fromFloat64(next, array));
    }
    this.mT = mT;
    this.vT = vT;
    return [out, metrics];
  }

  /** The model of this round, checked to have the keys and shapes of the average. */
  private checkedCurrentArrays(average: ArrayRecord): ArrayRecord {
    const current = this.currentModel();
    const keys = (r: ArrayRecord) => JSON.stringify([...r.keys()].sort());
    if (keys(current) !== keys(average)) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `${this.constructor.name}: the aggregated arrays' keys differ from the model's; cannot compute the pseudo-gradient`,
      );
    }
    for (const [key, array] of current) {
      if (JSON.stringify(average.get(key)?.shape) !== JSON.stringify(array.shape)) {
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `${this.constructor.name}: aggregated array '${key}' has another shape than the model's`,
        );
      }
    }
    return current;
  }
}
