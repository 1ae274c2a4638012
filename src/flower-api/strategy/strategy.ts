import { collectAfter } from "../../core/collect-garbage.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Grid } from "../app/grid.ts";
import type { NodeMetrics, RoundSummary } from "../app/run-observer.ts";
import type { Message } from "../message/message.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import type { MetricRecord } from "../records/metric-record.ts";
import { checkPhase, tallyReplies } from "./phase-outcome.ts";
import { type PhaseReplies, Result } from "./result.ts";

/** What a train aggregation gives: the new model and the train metrics (undefined: none). */
export type TrainAggregate = [ArrayRecord | undefined, MetricRecord | undefined];

/** Centralized evaluation of the global model by the ServerApp. */
export type EvaluateFn = (
  serverRound: number,
  arrays: ArrayRecord,
) => MetricRecord | undefined | Promise<MetricRecord | undefined>;

export interface StartOptions {
  grid: Grid;
  initialArrays: ArrayRecord;
  /** A positive integer. Default: 3. */
  numRounds?: number;
  /** Seconds to wait for the replies of one phase. Default: 3600. */
  timeout?: number;
  /** Sent to nodes with every train instruction. Default: empty. */
  trainConfig?: ConfigRecord;
  /** Sent to nodes with every evaluate instruction. Default: empty. */
  evaluateConfig?: ConfigRecord;
  /** Called before the first round (round 0) and after each round. Default: none. */
  evaluateFn?: EvaluateFn;
  /**
   * Go on when a node cannot load the ClientApp or a phase of a round gets no successful
   * reply (the model stays as it was). Default: false: the run fails, naming the nodes and
   * their reasons.
   */
  allowFailedRounds?: boolean;
}

/**
 * A federated strategy, as Flower 1.28's message-based `Strategy`: `start` is the template
 * (train, aggregate, evaluate, aggregate, for each round); a strategy overrides the steps.
 */
export abstract class Strategy {
  abstract configureTrain(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]>;

  abstract aggregateTrain(
    serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<TrainAggregate>;

  abstract configureEvaluate(
    serverRound: number,
    arrays: ArrayRecord,
    config: ConfigRecord,
    grid: Grid,
  ): Promise<Message[]>;

  abstract aggregateEvaluate(
    serverRound: number,
    replies: readonly Message[],
    grid: Grid,
  ): Promise<MetricRecord | undefined>;

  /** Lines describing the strategy's settings, logged at the start. */
  abstract summary(): string[];

  /**
   * Runs the rounds. Not async itself, so that nothing of it holds `options` once it returns:
   * the rounds let go of the initial model (a model's size) as soon as a round replaces it.
   */
  start(options: StartOptions): Promise<Result> {
    const { initialArrays, ...settings } = options;
    return this.#rounds(settings, { arrays: initialArrays });
  }

  /** `model.arrays`: the current model, the only reference the rounds keep to it. */
  async #rounds(
    options: Omit<StartOptions, "initialArrays">,
    model: { arrays: ArrayRecord },
  ): Promise<Result> {
    const { grid, numRounds = 3, timeout = 3600, evaluateFn } = options;
    // Read here so that no closure below holds `options`.
    const allowFailedRounds = options.allowFailedRounds ?? false;
    // 0, -1, 2.5 or NaN (a config value that was not a number) would run no round and succeed.
    if (!Number.isInteger(numRounds) || numRounds < 1) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `numRounds must be a positive integer, got ${numRounds}`,
      );
    }
    const trainConfig = options.trainConfig ?? new ConfigRecord();
    const evaluateConfig = options.evaluateConfig ?? new ConfigRecord();
    const log = (line: string) => grid.observer.log(line);
    log(
      `Starting ${this.constructor.name} strategy: ${numRounds} rounds, ArrayRecord ${(model.arrays.countBytes() / 2 ** 20).toFixed(2)} MB`,
    );
    for (const line of this.summary()) log(`  ${line}`);

    const result = new Result();
    result.arrays = model.arrays;
    const initial = await evaluateFn?.(0, model.arrays);
    if (initial !== undefined) result.evaluateMetricsServerapp.set(0, initial);

    /** Sends a phase's instructions; its replies, tallied, checked and summarized. */
    const phase = async (
      round: number,
      name: "train" | "evaluate",
      instructions: Message[],
      summary: RoundSummary,
    ) => {
      const replies = await grid.sendAndReceive(instructions, { timeout });
      const outcome = tallyReplies(replies, name);
      summary.failures[name] = outcome.failed;
      summary.errors.push(...outcome.errors);
      summary.nodes.push(...nodeMetrics(replies, name));
      const tally = result.replies.get(round) ?? { train: none(), evaluate: none() };
      result.replies.set(round, { ...tally, [name]: outcome });
      if (!allowFailedRounds) checkPhase(round, name, replies, outcome, grid);
      return replies;
    };

    // Each phase's replies live in these helpers' frames only: a suspended async function keeps
    // what its registers last held, and the loop below would hold a round's replies (a model's
    // size per node) through the next round's wait.
    // Their memory is freed soon after (collectAfter), not when a later allocation happens to
    // start a collection: the next round's replies would otherwise arrive beside this round's.
    const train = async (round: number, arrays: ArrayRecord, summary: RoundSummary) => {
      const instructions = await this.configureTrain(round, arrays, trainConfig, grid);
      const replies = await phase(round, "train", instructions, summary);
      const aggregate = await this.aggregateTrain(round, replies, grid);
      collectAfter(arrayBytes(replies));
      return aggregate;
    };
    const evaluate = async (round: number, arrays: ArrayRecord, summary: RoundSummary) => {
      const instructions = await this.configureEvaluate(round, arrays, evaluateConfig, grid);
      const replies = await phase(round, "evaluate", instructions, summary);
      return this.aggregateEvaluate(round, replies, grid);
    };

    for (let round = 1; round <= numRounds; round++) {
      grid.observer.roundStarted(round, numRounds);
      log(`[ROUND ${round}/${numRounds}]`);
      const summary: RoundSummary = {
        round,
        numRounds,
        failures: { train: 0, evaluate: 0 },
        errors: [],
        nodes: [],
      };

      const [newArrays, trainMetrics] = await train(round, model.arrays, summary);
      if (newArrays !== undefined) result.arrays = model.arrays = newArrays;
      if (trainMetrics !== undefined) {
        result.trainMetricsClientapp.set(round, trainMetrics);
        summary.train = trainMetrics;
      }

      const evaluateMetrics = await evaluate(round, model.arrays, summary);
      if (evaluateMetrics !== undefined) {
        result.evaluateMetricsClientapp.set(round, evaluateMetrics);
        summary.evaluate = evaluateMetrics;
      }

      const serverMetrics = await evaluateFn?.(round, model.arrays);
      if (serverMetrics !== undefined) {
        result.evaluateMetricsServerapp.set(round, serverMetrics);
        summary.serverEvaluate = serverMetrics;
      }
      grid.observer.roundFinished(summary);
    }
    return result;
  }
}

/** Bytes of the arrays the replies carry. */
function arrayBytes(replies: readonly Message[]): number {
  let bytes = 0;
  for (const reply of replies)
    if (reply.hasContent())
      for (const record of reply.content.arrayRecords.values()) bytes += record.countBytes();
  return bytes;
}

function none(): PhaseReplies {
  return { sent: 0, failed: 0, errors: [] };
}

/** The metrics each node reported in its reply (its first MetricRecord), for tracking. */
function nodeMetrics(replies: readonly Message[], phase: NodeMetrics["phase"]): NodeMetrics[] {
  return replies.flatMap((reply) => {
    const metrics = reply.hasContent() ? [...reply.content.metricRecords.values()][0] : undefined;
    return metrics ? [{ nodeId: reply.metadata.srcNodeId, phase, metrics }] : [];
  });
}
