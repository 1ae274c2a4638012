import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Grid } from "../app/grid.ts";
import type { Message } from "../message/message.ts";
import { MessageType } from "../message/message-type.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import type { ConfigRecord } from "../records/config-record.ts";
import type { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { aggregateArrayRecords, aggregateMetricRecords, orderByContent } from "./aggregate.ts";
import { checkReplyConsistency } from "./reply-checks.ts";
import { sampleNodes } from "./sample-nodes.ts";
import { Strategy, type TrainAggregate } from "./strategy.ts";

/** Aggregates the MetricRecords of replies, weighting by `weightKey`. */
export type MetricsAggregationFn = (records: RecordDict[], weightKey: string) => MetricRecord;

export interface FedAvgOptions {
  /** Fraction of connected nodes sampled for training. Default: 1. */
  fractionTrain?: number;
  /** Fraction of connected nodes sampled for evaluation. Default: 1. */
  fractionEvaluate?: number;
  /** Minimum nodes sampled for training. Default: 2. */
  minTrainNodes?: number;
  /** Minimum nodes sampled for evaluation. Default: 2. */
  minEvaluateNodes?: number;
  /** Minimum nodes connected before a round starts. Default: 2. */
  minAvailableNodes?: number;
  /** Seconds to wait for `minAvailableNodes` before the run fails (Flower waits forever). Default: 300. */
  minAvailableNodesTimeout?: number;
  /** MetricRecord key that weights the averages. Default: "num-examples". */
  weightedByKey?: string;
  /** RecordDict key of the model in instructions. Default: "arrays". */
  arrayrecordKey?: string;
  /** RecordDict key of the config in instructions. Default: "config". */
  configrecordKey?: string;
  /** Default: weighted average (`aggregateMetricRecords`). */
  trainMetricsAggrFn?: MetricsAggregationFn;
  /** Default: weighted average (`aggregateMetricRecords`). */
  evaluateMetricsAggrFn?: MetricsAggregationFn;
  /**
   * Aggregate a round in which some replies carry an error, as the `accept_failures` of
   * Flower's legacy strategies. When false, such a round is refused: the model (train) or
   * the metrics (evaluate) are not updated that round, a log line says why, and the run
   * goes on. Default: true.
   */
  acceptFailures?: boolean;
  /**
   * Fraction (0 to 1) of the instructions sent in a round that must come back without an
   * error; below it the round is refused, as a failure is when `acceptFailures` is false.
   * Default: 0, any completion is accepted (the behaviour before this option existed).
   */
  minCompletionRate?: number;
}

/**
 * Federated Averaging (McMahan et al., 2017), as Flower 1.28's `FedAvg`, with Flower's
 * parameters and defaults. Replies are averaged in content order, so the result does not
 * depend on which node answered first.
 */
export class FedAvg extends Strategy {
  readonly fractionTrain: number;
  readonly fractionEvaluate: number;
  readonly minTrainNodes: number;
  readonly minEvaluateNodes: number;
  readonly minAvailableNodes: number;
  readonly minAvailableNodesTimeout: number;
  readonly weightedByKey: string;
  readonly arrayrecordKey: string;
  readonly configrecordKey: string;
  readonly trainMetricsAggrFn: MetricsAggregationFn;
  readonly evaluateMetricsAggrFn: MetricsAggregationFn;
  /** The model the current round's training started from (set by `configureTrain`). */
  protected currentArrays: ArrayRecord | undefined;
  readonly acceptFailures: boolean;
  readonly minCompletionRate: number;

  constructor(options: FedAvgOptions = {}) {
    super();
    this.fractionTrain = options.fractionTrain ?? 1;
    this.fractionEvaluate = options.fractionEvaluate ?? 1;
    this.minTrainNodes = this.fractionTrain === 0 ? 0 : (options.minTrainNodes ?? 2);
    this.minEvaluateNodes = this.fractionEvaluate === 0 ? 0 : (options.minEvaluateNodes ?? 2);
    this.minAvailableNodes = options.minAvailableNodes ?? 2;
    this.minAvailableNodesTimeout = options.minAvailableNodesTimeout ?? 300;
    this.weightedByKey = options.weightedByKey ?? "num-examples";
    this.arrayrecordKey = options.arrayrecordKey ?? "arrays";
    this.configrecordKey = options.configrecordKey ?? "config";
    this.trainMetricsAggrFn = options.trainMetricsAggrFn ?? aggregateMetricRecords;
    this.evaluateMetricsAggrFn = options.evaluateMetricsAggrFn ?? aggregateMetricRecords;
    this.acceptFailures = options.acceptFailures ?? true;
    this.minCompletionRate = options.minCompletionRate ?? 0;
    // A fraction out of range (or NaN, from a config value that is not a number) would sample
    // no node and let rounds "succeed" with nothing: refused here, naming it.
    for (const [name, value] of [
      ["fractionTrain", this.fractionTrain],
      ["fractionEvaluate", this.fractionEvaluate],
      ["minCompletionRate", this.minCompletionRate],
    ] as const)
      if (!(value >= 0 && value <= 1))
        throw new FedbridgeError(
          Code.InvalidArgument,
          `${name} must be between 0 and 1, got ${value}`,
        );
  }

  summary(): string[] {
    return [
      `Sampling: fraction train ${this.fractionTrain} | evaluate ${this.fractionEvaluate}`,
      `Minimum nodes: train ${this.minTrainNodes} | evaluate ${this.minEvaluateNodes} | available ${this.minAvailableNodes}`,
      `Keys: weighted by '${this.weightedByKey}', arrays '${this.arrayrecordKey}', config '${this.configrecordKey}'`,
      `Failures: accepted ${this.acceptFailures} | minimum completion rate ${this.minCompletionRate}`,
    ];
  }

  configureTrain(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]> {
    // Server-side optimizers (FedAvgM, FedOpt, QFedAvg) step from it.
    this.currentArrays = arrays;
    return this.configure(
      serverRound,
      arrays,
      config,
      grid,
      MessageType.TRAIN,
      this.fractionTrain,
      this.minTrainNodes,
    );
  }

  configureEvaluate(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]> {
    return this.configure(
      serverRound,
      arrays,
      config,
      grid,
      MessageType.EVALUATE,
      this.fractionEvaluate,
      this.minEvaluateNodes,
    );
  }

  /**
   * The template every strategy shares: the replies are guarded (`validTrainReplies`), then
   * `aggregate`, the step a strategy changes, makes the model. Nothing to aggregate: the
   * model stays as it was and no metrics are reported.
   */
  async aggregateTrain(
    serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<TrainAggregate> {
    const valid = this.validTrainReplies(replies, grid);
    if (valid.length === 0) return [undefined, undefined];
    return this.aggregate(serverRound, valid, grid);
  }

  /**
   * The step a strategy overrides: the new model and train metrics from the contents of the
   * round's good train replies (at least `minTrainNodes`, each with one ArrayRecord and one
   * MetricRecord, in content order). FedAvg's: both averaged, weighted by `weightedByKey`.
   * Undefined arrays keep the model.
   */
  protected aggregate(_serverRound: number, contents: RecordDict[], _grid: Grid): TrainAggregate {
    return [
      aggregateArrayRecords(contents, this.weightedByKey),
      this.trainMetricsAggrFn(contents, this.weightedByKey),
    ];
  }

  async aggregateEvaluate(
    _serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<MetricRecord | undefined> {
    const valid = this.checkAndLogReplies(replies, "aggregate_evaluate", false, grid);
    return valid.length === 0 ? undefined : this.evaluateMetricsAggrFn(valid, this.weightedByKey);
  }

  /** Sends the same model and config (with `server-round`) to a sample of nodes. */
  protected async configure(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
    messageType: string,
    fraction: number,
    minNodes: number,
  ): Promise<Message[]> {
    if (fraction === 0) return [];
    const connected = (await grid.getNodeIds()).length;
    const { sampled, all } = await sampleNodes(grid, {
      minAvailableNodes: this.minAvailableNodes,
      sampleSize: Math.max(Math.floor(connected * fraction), minNodes),
      waitTimeout: this.minAvailableNodesTimeout,
      seedParts: [serverRound, messageType],
    });
    grid.observer.log(
      `configure_${messageType}: Sampled ${sampled.length} nodes (out of ${all.length})`,
    );
    config.set("server-round", serverRound);
    const content = new RecordDict({
      [this.arrayrecordKey]: arrays,
      [this.configrecordKey]: config,
    });
    return sampled.map((nodeId) => grid.createMessage(content, messageType, nodeId));
  }

  /** The model this round's training started from, for the strategies that step from it. */
  protected currentModel(): ArrayRecord {
    if (this.currentArrays === undefined) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `${this.constructor.name}: no current model; configureTrain must run before aggregateTrain`,
      );
    }
    return this.currentArrays;
  }

  /**
   * The train replies to aggregate, as `checkAndLogReplies` gives them; none (logged) when
   * fewer than `minTrainNodes` succeeded, too few to trust: the model stays as it was.
   */
  protected validTrainReplies(replies: readonly Message[], grid: Grid): RecordDict[] {
    const valid = this.checkAndLogReplies(replies, "aggregate_train", true, grid);
    if (valid.length > 0 && valid.length < this.minTrainNodes) {
      grid.observer.log(
        `aggregate_train: only ${valid.length} of the ${this.minTrainNodes} results needed (minTrainNodes); the model stays as it was`,
      );
      return [];
    }
    return valid;
  }

  /**
   * Splits off error replies (logged), checks the rest and puts them in content order.
   * Gives none when the round is refused (`acceptFailures`, `minCompletionRate`): the
   * log line says why.
   */
  protected checkAndLogReplies(
    replies: readonly Message[],
    phase: string,
    isTrain: boolean,
    grid: Grid,
  ): RecordDict[] {
    const errors = replies.filter((r) => r.hasError());
    const succeeded = replies.filter((r) => !r.hasError());
    grid.observer.log(
      `${phase}: Received ${succeeded.length} results and ${errors.length} failures`,
    );
    for (const reply of errors)
      grid.observer.log(`  > error in reply from node ${reply.metadata.srcNodeId}: ${reply.error}`);
    const refusal = this.refusalReason(replies.length, errors.length);
    if (refusal !== undefined) {
      const outcome = isTrain ? "the model stays as it was" : "no metrics this round";
      grid.observer.log(`${phase}: round refused: ${refusal}; ${outcome}`);
      return [];
    }
    const contents = orderByContent(succeeded).map((r) => r.content);
    checkReplyConsistency(contents, this.weightedByKey, isTrain);
    return contents;
  }

  /** Why a round with `failed` errors among `sent` replies is refused, if it is. */
  private refusalReason(sent: number, failed: number): string | undefined {
    if (sent === 0) return undefined;
    if (failed > 0 && !this.acceptFailures) {
      return `${failed} of ${sent} replies failed and acceptFailures is false`;
    }
    const completed = sent - failed;
    if (completed / sent < this.minCompletionRate) {
      return `only ${completed} of ${sent} instructions completed (rate ${(completed / sent).toFixed(2)}), below minCompletionRate ${this.minCompletionRate}`;
    }
    return undefined;
  }
}
