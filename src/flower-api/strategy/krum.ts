import type { FedAvgOptions } from "./fedavg.ts";
import { MultiKrum } from "./multi-krum.ts";

export interface KrumOptions extends FedAvgOptions {
  /** Number f of malicious nodes the selection must withstand. Default: 0. */
  numMaliciousNodes?: number;
}

/**
 * Krum (Blanchard et al., 2017), as Flower 1.28's `Krum`: the new model is the one reply
 * whose squared distances to its n − f − 2 nearest others sum lowest: Multi-Krum selecting 1.
 */
export class Krum extends MultiKrum {
  constructor(options: KrumOptions = {}) {
    super({ ...options, numNodesToSelect: 1 });
  }
}
