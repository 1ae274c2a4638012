import { FedOpt, type FedOptOptions } from "./fed-opt.ts";

export type FedYogiOptions = FedOptOptions;

/**
 * FedYogi (Reddi et al., 2020), as Flower 1.28's `FedYogi`: Yogi on the server, whose second
 * moment moves additively, v = v − (1 − β₂)·Δ²·sign(v − Δ²). Defaults: η 0.01, η_l 0.0316,
 * β₁ 0.9, β₂ 0.99, τ 0.001.
 */
export class FedYogi extends FedOpt {
  constructor(options: FedYogiOptions = {}) {
    super(options, { eta: 1e-2, etaL: 0.0316 });
  }

  protected override secondMoment(v: number, delta: number): number {
    const d2 = delta * delta;
    return v - (1 - this.beta2) * d2 * Math.sign(v - d2);
  }
}
