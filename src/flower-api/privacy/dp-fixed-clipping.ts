import type { Grid } from "../app/grid.ts";
import type { Message } from "../message/message.ts";
import type { ConfigRecord } from "../records/config-record.ts";
import type { Strategy } from "../strategy/strategy.ts";
import { clipReplies } from "./clip-replies.ts";
import { invalid, KEY_CLIPPING_NORM } from "./differential-privacy.ts";
import {
  type ClippedReplies,
  DifferentialPrivacyStrategy,
  type PrivacyReportOptions,
} from "./dp-strategy.ts";

export interface DifferentialPrivacyFixedClippingOptions extends PrivacyReportOptions {
  /**
   * z: the noise's standard deviation over the clipping norm on the sum of the updates; 1.0
   * or more is recommended for strong privacy. Required.
   */
  noiseMultiplier: number;
  /** C: the L2 norm each node's update is clipped to. Required. */
  clippingNorm: number;
  /** m: the nodes sampled each round; the average gets noise of stddev z·C/m. Required. */
  numSampledClients: number;
}

/** What the fixed-clipping wrappers share: their parameters and the noise on the average. */
abstract class DifferentialPrivacyFixedClippingBase extends DifferentialPrivacyStrategy {
  readonly noiseMultiplier: number;
  readonly clippingNorm: number;

  constructor(strategy: Strategy, options: DifferentialPrivacyFixedClippingOptions) {
    super(strategy, options.numSampledClients, options);
    if (!(options.noiseMultiplier >= 0))
      throw invalid("The noise multiplier should be a non-negative value.");
    if (!(options.clippingNorm > 0)) throw invalid("The clipping norm should be a positive value.");
    this.noiseMultiplier = options.noiseMultiplier;
    this.clippingNorm = options.clippingNorm;
  }

  protected get accountedNoiseMultiplier(): number {
    return this.noiseMultiplier;
  }

  protected dpSummary(): string[] {
    return [
      "DP settings:",
      `  Noise multiplier: ${this.noiseMultiplier}`,
      `  Clipping norm: ${this.clippingNorm}`,
    ];
  }
}

/**
 * Central DP with server-side fixed clipping, as Flower 1.28's
 * `DifferentialPrivacyServerSideFixedClipping` (https://arxiv.org/abs/1710.06963): the server
 * clips each node's update to `clippingNorm`, the wrapped strategy aggregates, and Gaussian
 * noise of stddev z·C/m goes on the result. (ε, δ) is reported after each round.
 *
 * @example
 * const strategy = new DifferentialPrivacyServerSideFixedClipping(new FedAvg(), {
 *   noiseMultiplier: 1.0,
 *   clippingNorm: 1.0,
 *   numSampledClients: 3,
 * });
 */
export class DifferentialPrivacyServerSideFixedClipping extends DifferentialPrivacyFixedClippingBase {
  protected clip(_serverRound: number, replies: readonly Message[], grid: Grid): ClippedReplies {
    const clipped = clipReplies(replies, this.currentArrays, this.clippingNorm).replies;
    grid.observer.log(
      `aggregate_fit: parameters are clipped by value: ${this.clippingNorm.toFixed(4)}.`,
    );
    return { replies: clipped, clippingNorm: this.clippingNorm };
  }
}

/**
 * Central DP with client-side fixed clipping, as Flower 1.28's
 * `DifferentialPrivacyClientSideFixedClipping`: the wrapper sends `clippingNorm` in the train
 * config (`clipping_norm`), each node clips its own update with `fixedClippingMod`, and the
 * server adds Gaussian noise of stddev z·C/m to the aggregate. (ε, δ) is reported after each
 * round.
 *
 * @example
 * // server
 * new DifferentialPrivacyClientSideFixedClipping(new FedAvg(), {
 *   noiseMultiplier: 1.0, clippingNorm: 1.0, numSampledClients: 3,
 * });
 * // client
 * app.train("default", train, { mods: [fixedClippingMod] });
 */
export class DifferentialPrivacyClientSideFixedClipping extends DifferentialPrivacyFixedClippingBase {
  protected override addToTrainConfig(config: ConfigRecord): void {
    config.setWithKind(KEY_CLIPPING_NORM, this.clippingNorm, "double");
  }

  /** The nodes clipped their updates to the norm sent. */
  protected clip(_serverRound: number, replies: readonly Message[]): ClippedReplies {
    return { replies, clippingNorm: this.clippingNorm };
  }
}
