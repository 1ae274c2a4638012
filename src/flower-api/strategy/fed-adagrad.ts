import { FedOpt, type FedOptOptions } from "./fed-opt.ts";

/** FedOpt's options without the moments' rates, which Adagrad fixes at 0. */
export type FedAdagradOptions = Omit<FedOptOptions, "beta1" | "beta2">;

/**
 * FedAdagrad (Reddi et al., 2020), as Flower 1.28's `FedAdagrad`: Adagrad on the server,
 * β₁ = β₂ = 0, so m = Δ and v sums Δ² over the rounds. Defaults: η 0.1, η_l 0.1, τ 0.001.
 */
export class FedAdagrad extends FedOpt {
  constructor(options: FedAdagradOptions = {}) {
    super({ ...options, beta1: 0, beta2: 0 }, { eta: 1e-1, etaL: 1e-1 });
  }

  protected override secondMoment(v: number, delta: number): number {
    return v + delta * delta;
  }
}
