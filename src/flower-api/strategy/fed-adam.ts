import { FedOpt, type FedOptOptions } from "./fed-opt.ts";

export type FedAdamOptions = FedOptOptions;

/**
 * FedAdam (Reddi et al., 2020), as Flower 1.28's `FedAdam`: Adam on the server, with
 * v = β₂·v + (1 − β₂)·Δ² and a bias-corrected step η·√(1 − β₂^(t+1)) / (1 − β₁^(t+1)) in
 * round t. Defaults: η 0.1, η_l 0.1, β₁ 0.9, β₂ 0.99, τ 0.001.
 */
export class FedAdam extends FedOpt {
  constructor(options: FedAdamOptions = {}) {
    super(options, { eta: 1e-1, etaL: 1e-1 });
  }

  protected override secondMoment(v: number, delta: number): number {
    return this.beta2 * v + (1 - this.beta2) * delta * delta;
  }

  protected override stepSize(serverRound: number): number {
    return (
      (this.eta * Math.sqrt(1 - this.beta2 ** (serverRound + 1))) /
      (1 - this.beta1 ** (serverRound + 1))
    );
  }
}
