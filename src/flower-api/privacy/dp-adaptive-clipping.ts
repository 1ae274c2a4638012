import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Grid } from "../app/grid.ts";
import type { Message } from "../message/message.ts";
import type { ConfigRecord } from "../records/config-record.ts";
import type { Strategy } from "../strategy/strategy.ts";
import { clipReplies } from "./clip-replies.ts";
import {
  computeAdaptiveNoiseParams,
  invalid,
  KEY_CLIPPING_NORM,
  KEY_NORM_BIT,
} from "./differential-privacy.ts";
import {
  type ClippedReplies,
  DifferentialPrivacyStrategy,
  type PrivacyReportOptions,
} from "./dp-strategy.ts";

export interface DifferentialPrivacyAdaptiveClippingOptions extends PrivacyReportOptions {
  /**
   * z: the noise multiplier of the whole mechanism (model and clipped count together); the
   * model's share z_Δ is derived from it. Required.
   */
  noiseMultiplier: number;
  /** m: the nodes sampled each round. Required. */
  numSampledClients: number;
  /** The clipping norm of the first round; Andrew et al. recommend 0.1. Default: 0.1. */
  initialClippingNorm?: number;
  /** The fraction of updates the norm should clip. Default: 0.5. */
  targetClippedQuantile?: number;
  /** The learning rate of the norm's geometric update; Andrew et al. recommend 0.2. Default: 0.2. */
  clipNormLr?: number;
  /**
   * σ_b, the stddev of the noise on the count of clipped updates. Default: m/20, as Andrew et
   * al. recommend (0 when noiseMultiplier is 0).
   */
  clippedCountStddev?: number;
}

/**
 * What the adaptive-clipping wrappers share (Andrew et al., https://arxiv.org/abs/1905.03871):
 * the parameters, and Flower 1.28's update of the clipping norm from the noised fraction b of
 * clipped updates, C ← C·exp(−clipNormLr·(b − targetClippedQuantile)).
 *
 * Two things differ from Flower. The model noise is calibrated to the norm that clipped the
 * round's updates (as in Andrew et al.'s Algorithm 1): Flower updates the norm first, so its
 * noise can be smaller than the sensitivity needs. And Flower's norm bit is 1 for a clipped
 * update where Andrew et al.'s is 1 for an unclipped one; the formula above is Flower's, so
 * the norm shrinks while more than the target fraction is clipped.
 */
abstract class DifferentialPrivacyAdaptiveBase extends DifferentialPrivacyStrategy {
  /** z, as requested: what the accountant composes. */
  readonly effectiveNoiseMultiplier: number;
  /** z_Δ, the model noise's multiplier (Flower's `noise_multiplier` after the split). */
  readonly noiseMultiplier: number;
  readonly clippedCountStddev: number;
  readonly targetClippedQuantile: number;
  readonly clipNormLr: number;
  /** The current clipping norm, updated after each round. */
  clippingNorm: number;
  readonly #noiseIncrease: number;

  constructor(strategy: Strategy, options: DifferentialPrivacyAdaptiveClippingOptions) {
    super(strategy, options.numSampledClients, options);
    const {
      noiseMultiplier,
      initialClippingNorm = 0.1,
      targetClippedQuantile = 0.5,
      clipNormLr = 0.2,
      clippedCountStddev,
    } = options;
    if (!(noiseMultiplier >= 0))
      throw invalid("The noise multiplier should be a non-negative value.");
    if (!(initialClippingNorm > 0))
      throw invalid("The initial clipping norm should be a positive value.");
    if (!(targetClippedQuantile >= 0 && targetClippedQuantile <= 1))
      throw invalid("The target clipped quantile must be in [0, 1].");
    if (!(clipNormLr > 0)) throw invalid("The learning rate must be positive.");
    if (clippedCountStddev !== undefined && !(clippedCountStddev >= 0))
      throw invalid("The `clippedCountStddev` must be non-negative.");
    const split = computeAdaptiveNoiseParams(
      noiseMultiplier,
      options.numSampledClients,
      clippedCountStddev,
    );
    this.effectiveNoiseMultiplier = noiseMultiplier;
    this.noiseMultiplier = split.noiseMultiplier;
    this.clippedCountStddev = split.clippedCountStddev;
    this.#noiseIncrease = split.noiseIncrease;
    this.clippingNorm = initialClippingNorm;
    this.targetClippedQuantile = targetClippedQuantile;
    this.clipNormLr = clipNormLr;
  }

  protected get accountedNoiseMultiplier(): number {
    return this.effectiveNoiseMultiplier;
  }

  protected dpSummary(): string[] {
    return [
      "DP settings:",
      `  Noise multiplier: ${this.noiseMultiplier}`,
      `  Clipping norm: ${this.clippingNorm}`,
      `  Target clipped quantile: ${this.targetClippedQuantile}`,
      `  Clip norm learning rate: ${this.clipNormLr}`,
      ...(this.#noiseIncrease >= 2
        ? [
            `  WARNING: A significant amount of noise (${this.#noiseIncrease}) has to be added. Consider increasing clippedCountStddev or numSampledClients.`,
          ]
        : []),
    ];
  }

  /** Flower's geometric update from `clippedCount` of `total` updates, the count noised by σ_b. */
  protected updateClippingNorm(
    clippedCount: number,
    total: number,
    serverRound: number,
    grid: Grid,
  ): void {
    const noise = this.clippedCountStddev * this.noise(grid, "clipped-count", serverRound).normal();
    const clippedFraction = (clippedCount + noise) / total;
    this.clippingNorm *= Math.exp(
      -this.clipNormLr * (clippedFraction - this.targetClippedQuantile),
    );
  }
}

/**
 * Central DP with server-side adaptive clipping, as Flower 1.28's
 * `DifferentialPrivacyServerSideAdaptiveClipping`: the server clips each update to the current
 * norm, updates the norm from the noised count of clipped updates, has the wrapped strategy
 * aggregate, and adds Gaussian noise of stddev z_Δ·C/m. (ε, δ) is reported after each round.
 */
export class DifferentialPrivacyServerSideAdaptiveClipping extends DifferentialPrivacyAdaptiveBase {
  protected clip(serverRound: number, replies: readonly Message[], grid: Grid): ClippedReplies {
    const usedNorm = this.clippingNorm;
    if (replies.length === 0) return { replies, clippingNorm: usedNorm };
    const clipped = clipReplies(replies, this.currentArrays, usedNorm);
    grid.observer.log(
      `aggregate_train: arrays in \`ArrayRecord\` are clipped by value: ${usedNorm.toFixed(4)}.`,
    );
    this.updateClippingNorm(clipped.clippedCount, replies.length, serverRound, grid);
    return { replies: clipped.replies, clippingNorm: usedNorm };
  }
}

/**
 * Central DP with client-side adaptive clipping, as Flower 1.28's
 * `DifferentialPrivacyClientSideAdaptiveClipping`: the wrapper sends the current norm in the
 * train config (`clipping_norm`), each node clips with `adaptiveClippingMod` and reports its
 * norm bit (`norm_bit`), and the server updates the norm from the noised count and adds
 * Gaussian noise of stddev z_Δ·C/m to the aggregate. (ε, δ) is reported after each round.
 */
export class DifferentialPrivacyClientSideAdaptiveClipping extends DifferentialPrivacyAdaptiveBase {
  /** The norm sent to the nodes this round: the one their updates were clipped to. */
  #sentNorm: number | undefined;

  protected override addToTrainConfig(config: ConfigRecord): void {
    this.#sentNorm = this.clippingNorm;
    config.setWithKind(KEY_CLIPPING_NORM, this.clippingNorm, "double");
  }

  /** The nodes clipped to the norm sent; the norm learns from their norm bits. */
  protected clip(serverRound: number, replies: readonly Message[], grid: Grid): ClippedReplies {
    const bits = replies.map((reply) => {
      const records = [...reply.content.metricRecords.values()];
      const bit = records.find((r) => r.has(KEY_NORM_BIT))?.get(KEY_NORM_BIT);
      if (bit === undefined) {
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `KEY_NORM_BIT ('${KEY_NORM_BIT}') not found in the MetricRecord of the reply from node ${reply.metadata.srcNodeId}: use adaptiveClippingMod on the ClientApp`,
        );
      }
      return Number(bit) !== 0;
    });
    const usedNorm = this.#sentNorm ?? this.clippingNorm;
    if (replies.length > 0)
      this.updateClippingNorm(bits.filter(Boolean).length, replies.length, serverRound, grid);
    return { replies, clippingNorm: usedNorm };
  }
}
