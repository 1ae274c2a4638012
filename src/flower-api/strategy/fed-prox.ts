import type { Grid } from "../app/grid.ts";
import type { Message } from "../message/message.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import type { ConfigRecord } from "../records/config-record.ts";
import { FedAvg, type FedAvgOptions } from "./fedavg.ts";

export interface FedProxOptions extends FedAvgOptions {
  /**
   * Weight of the proximal term (μ/2)·‖w − wᵗ‖² the nodes add to their local loss; 0 makes
   * FedProx FedAvg, larger keeps local models closer to the global one. Default: 0.
   */
  proximalMu?: number;
}

/**
 * FedProx (Li et al., 2018), as Flower 1.28's `FedProx`: FedAvg on the server, with
 * `proximal-mu` sent in every train config. The ClientApp must read it and add the
 * proximal term to its loss, i.e. μ·(w − wᵗ) to its gradient, wᵗ being the global model
 * it received.
 */
export class FedProx extends FedAvg {
  readonly proximalMu: number;

  constructor(options: FedProxOptions = {}) {
    super(options);
    this.proximalMu = options.proximalMu ?? 0;
  }

  override summary(): string[] {
    const same = this.proximalMu === 0 ? " (0: the same as FedAvg)" : "";
    return [`FedProx: proximal mu ${this.proximalMu}${same}`, ...super.summary()];
  }

  override configureTrain(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]> {
    // A double on the wire, as Flower's float, even when μ is a whole number.
    config.setWithKind("proximal-mu", this.proximalMu, "double");
    return super.configureTrain(serverRound, arrays, config, grid);
  }
}
