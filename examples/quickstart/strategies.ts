import type { UserConfig } from "fedbridge";
import {
  Bulyan,
  FedAdagrad,
  FedAdam,
  FedAvg,
  FedAvgM,
  FedMedian,
  FedProx,
  FedTrimmedAvg,
  FedYogi,
  Krum,
  MultiKrum,
  QFedAvg,
} from "fedbridge/strategy";
import { choiceFromConfig } from "./run-config.ts";

/**
 * The share of nodes that train and evaluate each round (run config `fraction-train`,
 * `fraction-evaluate`; by default every node, as the quickstart always did).
 */
const fractions = (c: UserConfig) => ({
  fractionTrain: numberOr(c["fraction-train"], 1),
  fractionEvaluate: numberOr(c["fraction-evaluate"], 1),
});

/**
 * The strategies the quickstart can run, by the name run config `strategy` gives
 * (`--run-config 'strategy="krum"'`); without it, FedAvg, exactly as before.
 *
 * Parameters fit the quickstart (3 nodes unless `--nodes` says otherwise):
 * - fedprox: proximal-mu 0.1 (run config `proximal-mu`); the ClientApp adds the proximal
 *   term to its SGD steps.
 * - fedadam, fedadagrad, fedmedian, fedtrimmedavg: Flower's defaults (fedtrimmedavg's
 *   beta 0.2 trims nothing below 5 nodes: ⌊0.2·n⌋ = 0).
 * - fedyogi: server learning rate η 0.1, as FedAdam's (Flower's 0.01 barely moves this
 *   model in a few rounds).
 * - fedavgm: server momentum 0.5, server learning rate 1 (0.9 overshoots by round 3).
 * - krum, multikrum, bulyan: `numMaliciousNodes` from run config `num-malicious-nodes`,
 *   default 0. Bulyan needs 4f + 3 replies a round (f = 0 for 3 nodes, f = 1 needs 7),
 *   Krum's guarantee 2f + 3 (f = 1 needs 5); with too few, Bulyan skips the round and the
 *   model stays as it was. multikrum averages the best 2 replies.
 * - qfedavg: the nodes' learning rate (run config `lr`), q 0.1, the loss the ClientApp
 *   reports as `train-loss`.
 */
const STRATEGIES = {
  fedavg: (c) => new FedAvg(fractions(c)),
  fedprox: (c) => new FedProx({ ...fractions(c), proximalMu: numberOr(c["proximal-mu"], 0.1) }),
  fedadam: (c) => new FedAdam(fractions(c)),
  fedyogi: (c) => new FedYogi({ ...fractions(c), eta: 0.1 }),
  fedadagrad: (c) => new FedAdagrad(fractions(c)),
  fedavgm: (c) => new FedAvgM({ ...fractions(c), serverMomentum: 0.5 }),
  fedmedian: (c) => new FedMedian(fractions(c)),
  fedtrimmedavg: (c) => new FedTrimmedAvg(fractions(c)),
  krum: (c) => new Krum({ ...fractions(c), numMaliciousNodes: malicious(c) }),
  multikrum: (c) =>
    new MultiKrum({ ...fractions(c), numMaliciousNodes: malicious(c), numNodesToSelect: 2 }),
  bulyan: (c) => new Bulyan({ ...fractions(c), numMaliciousNodes: malicious(c) }),
  qfedavg: (c) =>
    new QFedAvg({ ...fractions(c), clientLearningRate: Number(c.lr), trainLossKey: "train-loss" }),
} satisfies Record<string, (runConfig: UserConfig) => FedAvg>;

export type StrategyName = keyof typeof STRATEGIES;

/** The names run config `strategy` accepts. */
export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];

/** The strategy run config `strategy` names (default "fedavg"); a clear error for others. */
export function strategyFromConfig(runConfig: UserConfig): FedAvg {
  const name = choiceFromConfig(runConfig, "strategy", STRATEGIES, "fedavg", "strategy");
  return STRATEGIES[name](runConfig);
}

function malicious(runConfig: UserConfig): number {
  return numberOr(runConfig["num-malicious-nodes"], 0);
}

function numberOr(value: UserConfig[string], fallback: number): number {
  return value === undefined ? fallback : Number(value);
}
