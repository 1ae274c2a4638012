import { Code, composeMods, FedbridgeError, type Grid, type Mod, type UserConfig } from "fedbridge";
import {
  adaptiveClippingMod,
  DifferentialPrivacyClientSideAdaptiveClipping,
  DifferentialPrivacyClientSideFixedClipping,
  DifferentialPrivacyServerSideAdaptiveClipping,
  DifferentialPrivacyServerSideFixedClipping,
  fixedClippingMod,
  LocalDpMod,
  SecAggPlusGrid,
  secaggPlusMod,
} from "fedbridge/privacy";
import type { FedAvg, Strategy } from "fedbridge/strategy";
import { choiceFromConfig } from "./run-config.ts";

/** Central DP's noise multiplier z: Flower's recommendation for strong privacy. */
const NOISE_MULTIPLIER = 1.0;
/**
 * The L2 norm each node's update is clipped to (the first round's, for adaptive clipping).
 * The quickstart's updates are longer (about 2.6 in round 1, then 1 to 1.2, at seed 7 with
 * 200 examples and 1 epoch), so every one is clipped and, with the noise, the model learns
 * more slowly: server-fixed reaches an eval loss of 0.50 in 3 rounds on 3 nodes, against
 * 0.35 without DP.
 */
const CLIPPING_NORM = 0.5;

/**
 * The adaptive wrappers' σ_b, the noise on the count of clipped updates: Andrew et al.'s
 * m/20 where that is allowed, else 1. It must be more than z/2 (m/20 is 0.15 for 3 nodes);
 * 1 raises the model noise by 15%, (1 − (z/2σ_b)²)^−½.
 */
const clippedCountStddev = (numNodes: number) => Math.max(1, numNodes / 20);

/** What every central DP wrapper gets: z, the norm, m = every node, as the quickstart samples. */
const central = (numNodes: number) => ({
  noiseMultiplier: NOISE_MULTIPLIER,
  numSampledClients: numNodes,
});
const adaptive = (numNodes: number) => ({
  ...central(numNodes),
  initialClippingNorm: CLIPPING_NORM,
  clippedCountStddev: clippedCountStddev(numNodes),
});

/**
 * Local DP: each node clips its update to 0.5 and adds Gaussian noise for (ε 5, δ 1e−5) at
 * sensitivity 0.5, stddev 0.48 per parameter, before its reply leaves the node.
 */
const localDp = LocalDpMod(CLIPPING_NORM, 0.5, 5, 1e-5);

/**
 * The differential privacy run config `dp` turns on (`--run-config 'dp="client-fixed"'`),
 * each with the wrapper around the chosen strategy (none for `local`) and the mod the
 * ClientApp adds (none for the server-side ones):
 * - server-fixed, client-fixed: fixed clipping to 0.5, where the name says, noise z = 1.0
 *   on the average (stddev z·0.5/m).
 * - server-adaptive, client-adaptive: the clipping norm starts at 0.5 and adapts so that
 *   about half the updates are clipped; z = 1.0 for model and count together.
 * - local: LocalDpMod(0.5, 0.5, 5, 1e−5) on every node, nothing on the server.
 * - none (the default): nothing, exactly as before.
 */
const DP_MODES = {
  none: { wrap: undefined, mod: undefined },
  "server-fixed": {
    wrap: (s: Strategy, m: number) =>
      new DifferentialPrivacyServerSideFixedClipping(s, {
        ...central(m),
        clippingNorm: CLIPPING_NORM,
      }),
    mod: undefined,
  },
  "server-adaptive": {
    wrap: (s: Strategy, m: number) =>
      new DifferentialPrivacyServerSideAdaptiveClipping(s, adaptive(m)),
    mod: undefined,
  },
  "client-fixed": {
    wrap: (s: Strategy, m: number) =>
      new DifferentialPrivacyClientSideFixedClipping(s, {
        ...central(m),
        clippingNorm: CLIPPING_NORM,
      }),
    mod: fixedClippingMod,
  },
  "client-adaptive": {
    wrap: (s: Strategy, m: number) =>
      new DifferentialPrivacyClientSideAdaptiveClipping(s, adaptive(m)),
    mod: adaptiveClippingMod,
  },
  local: { wrap: undefined, mod: localDp },
} satisfies Record<
  string,
  { wrap: ((strategy: Strategy, numNodes: number) => Strategy) | undefined; mod: Mod | undefined }
>;

export type DpMode = keyof typeof DP_MODES;

/** The values run config `dp` accepts. */
export const DP_MODE_NAMES = Object.keys(DP_MODES) as DpMode[];

/** The mode run config `dp` names (default "none"); a clear error for others. */
export function dpModeFromConfig(runConfig: UserConfig): DpMode {
  return choiceFromConfig(runConfig, "dp", DP_MODES, "none", "differential privacy");
}

/** Whether run config `secagg` (true or false, default false) asks for SecAgg+. */
export function secaggFromConfig(runConfig: UserConfig): boolean {
  const secagg = runConfig.secagg ?? false;
  if (typeof secagg !== "boolean") {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `run config 'secagg' must be true or false, got ${JSON.stringify(secagg)}`,
    );
  }
  return secagg;
}

/**
 * The strategy in the central DP wrapper run config `dp` asks for, if any, calibrated for
 * every node: those connected now, at least the strategy's `minAvailableNodes` (it samples
 * all of them, and waits for that many).
 */
export async function withDifferentialPrivacy(
  strategy: FedAvg,
  runConfig: UserConfig,
  grid: Grid,
): Promise<Strategy> {
  const { wrap } = DP_MODES[dpModeFromConfig(runConfig)];
  if (wrap === undefined) return strategy;
  const numNodes = Math.max((await grid.getNodeIds()).length, strategy.minAvailableNodes);
  return wrap(strategy, numNodes);
}

/**
 * The grid to train on: with `secagg=true`, a SecAggPlusGrid, so the server learns only the
 * weighted average of the updates. Every node shares its secrets with every other (numShares
 * 1, all the round's nodes: cheap for the handful the quickstart runs) and 70% of the shares
 * (2 of 3 for 3 nodes) reconstruct one: a round survives the other 30% dropping out (1 of 3),
 * and the server needs that many nodes colluding to unmask one update. maxWeight is
 * `samples-per-node`, the most examples a node trains on: the tightest bound, so weights
 * quantize finest and none is refused (the default, 1000, refuses `samples-per-node=2000`).
 */
export function gridFromConfig(grid: Grid, runConfig: UserConfig): Grid {
  if (!secaggFromConfig(runConfig)) return grid;
  return new SecAggPlusGrid(grid, {
    numShares: 1,
    reconstructionThreshold: 0.7,
    maxWeight: Number(runConfig["samples-per-node"]),
  });
}

/**
 * The ClientApp's privacy, chosen per message from the run config: secaggPlusMod outermost
 * with `secagg=true`, then the mod of run config `dp` (clipping or local noise), so an
 * update is clipped and noised before it is masked. Without either, the handler as is.
 */
export const privacyMod: Mod = (message, context, callNext) => {
  const dpMod = DP_MODES[dpModeFromConfig(context.runConfig)].mod;
  const mods = [
    ...(secaggFromConfig(context.runConfig) ? [secaggPlusMod] : []),
    ...(dpMod === undefined ? [] : [dpMod]),
  ];
  return mods.length === 0
    ? callNext(message, context)
    : composeMods(callNext, mods)(message, context);
};
