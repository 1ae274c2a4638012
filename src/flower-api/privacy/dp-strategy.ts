import { createPrivacyRandom, type PrivacyRandom } from "../../core/numeric/privacy-random.ts";
import { SummaryWriter } from "../../tracking/summary-writer.ts";
import type { Grid } from "../app/grid.ts";
import type { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { ConfigRecord } from "../records/config-record.ts";
import type { MetricRecord } from "../records/metric-record.ts";
import type { Result } from "../strategy/result.ts";
import { type StartOptions, Strategy, type TrainAggregate } from "../strategy/strategy.ts";
import {
  addGaussianNoiseInplace,
  computeStdv,
  floatArraysOf,
  invalid,
  withValues,
} from "./differential-privacy.ts";
import { createRdpAccountant, type PrivacySpent, type RdpAccountant } from "./rdp-accountant.ts";

/** Where a DP wrapper logs its (ε, δ) each round: PyTorch's SummaryWriter API. */
export type ScalarWriter = Pick<SummaryWriter, "addScalar" | "flush">;

/** What every DP strategy wrapper takes beyond Flower's parameters: its privacy report. */
export interface PrivacyReportOptions {
  /** The δ for which the accountant reports ε after each round. Default: 1e-5. */
  targetDelta?: number;
  /**
   * Where `privacy/epsilon`, `privacy/delta`, `privacy/noise-stddev` and
   * `privacy/clipping-norm` go each round (step = round); `false` for the run log only.
   * Default: a SummaryWriter made when the run starts, so the run's tracking where the host
   * gives one (`run --out`, a deployment, the bridge), else PyTorch's `runs/` folder.
   */
  writer?: ScalarWriter | false;
}

/** A round's replies as the wrapped strategy is to aggregate them, and the norm that clipped them. */
export interface ClippedReplies {
  replies: readonly Message[];
  clippingNorm: number;
}

/** Flower's warning when fewer or more nodes replied than the noise was calibrated for. */
const CLIENTS_DISCREPANCY =
  "differs from the number of sampled clients the noise was calibrated for; this could impact the differential privacy guarantees";

/**
 * What Flower 1.28's DP wrappers share: a wrapped strategy whose evaluation passes through
 * unchanged, Gaussian noise on the aggregated model from a generator seeded by the run seed
 * and the round (so a run is reproducible), and, beyond Flower, an RDP accountant whose
 * (ε, δ) after each round goes to the run log and to tracking.
 *
 * The accountant treats each round as a sampled Gaussian mechanism with the fraction of
 * connected nodes that were sent a train instruction as its sampling rate. That is the
 * usual analysis of DP-FedAvg (McMahan et al. 2018), which assumes Poisson sampling and
 * equal weights; fixed-size samples and weighting by `num-examples` are not covered exactly.
 * Noise from a seeded generator is reproducible by anyone who knows the seed: keep it secret
 * for a real guarantee.
 */
export abstract class DifferentialPrivacyStrategy extends Strategy {
  /** The wrapped strategy. */
  readonly strategy: Strategy;
  /** The model sent in this round's train instructions, against which updates are clipped. */
  currentArrays = new ArrayRecord();
  readonly numSampledClients: number;
  readonly targetDelta: number;
  readonly #writerOption: ScalarWriter | false | undefined;
  #writer: ScalarWriter | undefined;
  #accountant: RdpAccountant = createRdpAccountant();
  #samplingRate = 1;
  #spent: PrivacySpent | undefined;

  constructor(strategy: Strategy, numSampledClients: number, options: PrivacyReportOptions) {
    super();
    if (!(numSampledClients > 0))
      throw invalid("The number of sampled clients should be a positive value.");
    this.strategy = strategy;
    this.numSampledClients = numSampledClients;
    this.targetDelta = options.targetDelta ?? 1e-5;
    if (!(this.targetDelta > 0 && this.targetDelta < 1))
      throw invalid(`targetDelta must be in (0, 1); got ${this.targetDelta}`);
    this.#writerOption = options.writer;
    this.#writer = options.writer || undefined;
  }

  /** The multiplier of the model's noise: its stddev is this times the clipping norm over m. */
  abstract readonly noiseMultiplier: number;

  /** The noise multiplier the accountant composes each round (z for the whole mechanism). */
  protected abstract get accountedNoiseMultiplier(): number;

  /**
   * The step each wrapper changes: the round's replies (none when none were sent) as the
   * wrapped strategy is to aggregate them, clipped by the server or as the nodes clipped
   * them, and the norm they were clipped to.
   */
  protected abstract clip(
    serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): ClippedReplies;

  /** What the wrapper adds to every train config; the client-side ones, the clipping norm. */
  protected addToTrainConfig(_config: ConfigRecord): void {}

  /** The lines of this wrapper's own settings, shown before the wrapped strategy's. */
  protected abstract dpSummary(): string[];

  /** The (ε, δ) spent so far in this run; undefined before the first noised round. */
  get privacySpent(): PrivacySpent | undefined {
    return this.#spent;
  }

  summary(): string[] {
    return [
      ...this.dpSummary(),
      `Privacy accounting: RDP of the sampled Gaussian mechanism, ε reported for δ = ${this.targetDelta}`,
      ...this.strategy.summary(),
    ];
  }

  /**
   * Starts a run with a fresh accountant; closes the SummaryWriter it made, if any. Not async,
   * as Strategy.start: nothing here holds `options` (the initial model) while the rounds run.
   */
  override start(options: StartOptions): Promise<Result> {
    this.#accountant = createRdpAccountant();
    this.#spent = undefined;
    const owned = this.#writerOption === undefined ? new SummaryWriter() : undefined;
    if (owned) this.#writer = owned;
    return super.start(options).finally(async () => {
      if (owned) {
        this.#writer = undefined;
        await owned.close();
      }
    });
  }

  /** The wrapped strategy's instructions; notes the fraction of nodes sampled, for accounting. */
  async configureTrain(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]> {
    this.currentArrays = arrays;
    this.addToTrainConfig(config);
    const messages = await this.strategy.configureTrain(serverRound, arrays, config, grid);
    const connected = (await grid.getNodeIds()).length;
    this.#samplingRate = connected === 0 ? 1 : Math.min(1, messages.length / connected);
    return messages;
  }

  configureEvaluate(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]> {
    return this.strategy.configureEvaluate(serverRound, arrays, config, grid);
  }

  aggregateEvaluate(
    serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<MetricRecord | undefined> {
    return this.strategy.aggregateEvaluate(serverRound, replies, grid);
  }

  /**
   * The template of the wrappers: the replies are checked (`checkReplies`) and clipped
   * (`clip`), the wrapped strategy aggregates them, and the result gets Gaussian noise for
   * the norm that clipped them; then the round is accounted. A round without replies is
   * neither noised nor accounted.
   */
  async aggregateTrain(
    serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<TrainAggregate> {
    if (!this.checkReplies(replies, grid)) return [undefined, undefined];
    const clipped = this.clip(serverRound, replies, grid);
    const [arrays, metrics] = await this.strategy.aggregateTrain(
      serverRound,
      clipped.replies,
      grid,
    );
    if (replies.length === 0) return [arrays, metrics];
    const { clippingNorm } = clipped;
    const stdDev = computeStdv(this.noiseMultiplier, clippingNorm, this.numSampledClients);
    const noised =
      arrays === undefined || arrays.size === 0
        ? arrays
        : this.addNoise(arrays, stdDev, serverRound, grid);
    await this.account(serverRound, grid, { noiseStddev: stdDev, clippingNorm });
    return [noised, metrics];
  }

  /**
   * Flower's `validate_replies`: any error reply skips aggregation (false), since the noise
   * was calibrated for the sampled nodes; a count other than `numSampledClients` is warned of.
   */
  private checkReplies(replies: readonly Message[], grid: Grid): boolean {
    const log = (line: string) => grid.observer.log(line);
    const errors = replies.filter((r) => r.hasError());
    for (const reply of errors)
      log(`Received error in reply from node ${reply.metadata.srcNodeId}: ${reply.error}`);
    if (errors.length > 0) {
      log("aggregate_train: Some clients reported errors. Skipping aggregation.");
      return false;
    }
    log(`aggregate_train: Received ${replies.length} results and 0 failures`);
    if (replies.length !== this.numSampledClients) {
      log(
        `WARNING: The number of clients returning parameters (${replies.length}) ${CLIENTS_DISCREPANCY} (${this.numSampledClients}).`,
      );
    }
    return true;
  }

  /** Adds N(0, stdDev²) to every aggregated value, from the run's DP generator for this round. */
  private addNoise(
    aggregated: ArrayRecord,
    stdDev: number,
    serverRound: number,
    grid: Grid,
  ): ArrayRecord {
    const values = floatArraysOf(aggregated, "central DP noise");
    addGaussianNoiseInplace(values, stdDev, this.noise(grid, "model-noise", serverRound));
    grid.observer.log(`aggregate_fit: central DP noise with ${stdDev.toFixed(4)} stdev added`);
    return withValues(aggregated, values);
  }

  /**
   * The generator of one kind of DP noise in one round, from the run seed: the same seed gives
   * the same noise, and so the same model, in simulation, deployment and the runtime.
   */
  protected noise(grid: Grid, kind: string, serverRound: number): PrivacyRandom {
    return createPrivacyRandom(
      String(grid.run.runConfig.seed ?? 0),
      "differential-privacy",
      kind,
      serverRound,
    );
  }

  /**
   * Counts one run of the mechanism and reports the (ε, δ) spent so far to the run log and to
   * tracking, with the noise and clipping norm of the round.
   */
  private async account(
    serverRound: number,
    grid: Grid,
    round: { noiseStddev: number; clippingNorm: number },
  ): Promise<void> {
    const z = this.accountedNoiseMultiplier;
    this.#accountant.step(z, this.#samplingRate);
    const spent = this.#accountant.getPrivacySpent(this.targetDelta);
    this.#spent = spent;
    const finite = Number.isFinite(spent.epsilon);
    grid.observer.log(
      finite
        ? `privacy: (ε = ${spent.epsilon.toFixed(4)}, δ = ${spent.delta}) after ${this.#accountant.steps} rounds (noise multiplier ${z}, sampling rate ${this.#samplingRate.toFixed(4)}, RDP order ${spent.order})`
        : `privacy: ε = ∞ after ${this.#accountant.steps} rounds: noise multiplier ${z} gives no guarantee`,
    );
    const writer = this.#writer;
    if (writer === undefined) return;
    if (finite) writer.addScalar("privacy/epsilon", spent.epsilon, serverRound);
    writer.addScalar("privacy/delta", spent.delta, serverRound);
    writer.addScalar("privacy/noise-stddev", round.noiseStddev, serverRound);
    writer.addScalar("privacy/clipping-norm", round.clippingNorm, serverRound);
    await writer.flush();
  }
}
