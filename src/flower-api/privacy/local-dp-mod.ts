import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { createPrivacyRandom, createSecureRandom } from "../../core/numeric/privacy-random.ts";
import type { Mod } from "../app/mod.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import {
  isTrain,
  keyMismatchError,
  modError,
  multiRecordError,
  sameKeys,
} from "./centraldp-mods.ts";
import {
  addGaussianNoiseInplace,
  computeClipModelUpdate,
  floatArraysOf,
  invalid,
  localDpStdDev,
  withValues,
} from "./differential-privacy.ts";

/** A local DP mod: a Mod that also shows its settings. */
export interface LocalDpMod extends Mod {
  readonly clippingNorm: number;
  readonly sensitivity: number;
  readonly epsilon: number;
  readonly delta: number;
  /** The noise's standard deviation, Δ·√(2 ln(1.25/δ))/ε. */
  readonly stdDev: number;
}

/**
 * Local differential privacy, as Flower 1.28's `LocalDpMod(clipping_norm, sensitivity,
 * epsilon, delta)`: clips the node's update (reply − received model) to `clippingNorm`, then
 * adds Gaussian noise of stddev Δ·√(2 ln(1.25/δ))/ε to every parameter before the reply
 * leaves the node. Each reply is then (ε, δ)-DP for updates of L2 sensitivity Δ (the
 * classic Gaussian mechanism; its bound holds for ε < 1); rounds compose.
 *
 * Acts on train messages and passes others through. The noise must be secret from the server,
 * which knows the run seed: it is fresh from the operating system's generator, unless the
 * node's own config sets `local-dp-seed` (node config is the node's, never sent to the
 * server), which with the partition and the round makes a run reproducible. Flower accepts
 * ε = 0 and δ = 0, which make the noise infinite; they are refused here.
 *
 * @example
 * app.train("default", train, { mods: [LocalDpMod(1.0, 1.0, 0.5, 1e-5)] });
 */
export function LocalDpMod(
  clippingNorm: number,
  sensitivity: number,
  epsilon: number,
  delta: number,
): LocalDpMod {
  if (!(clippingNorm > 0)) throw invalid("The clipping norm should be a positive value.");
  if (!(sensitivity >= 0)) throw invalid("The sensitivity should be a non-negative value.");
  if (!(epsilon > 0)) throw invalid("Epsilon should be a positive value.");
  if (!(delta > 0 && delta < 1)) throw invalid("Delta should be in (0, 1).");
  const stdDev = localDpStdDev(sensitivity, epsilon, delta);
  const mod: Mod = async (message, context, callNext) => {
    if (!isTrain(message)) return callNext(message, context);
    const content = message.content;
    if (content.arrayRecords.size !== 1)
      return multiRecordError("LocalDpMod", message, "ArrayRecord", content.arrayRecords.size);
    const received = [...content.arrayRecords.values()][0] as ArrayRecord;

    const reply = await callNext(message, context);
    if (reply.hasError()) return reply;
    const out = reply.content;
    if (out.arrayRecords.size !== 1)
      return multiRecordError("LocalDpMod", message, "ArrayRecord", out.arrayRecords.size);
    const [key, sent] = [...out.arrayRecords][0] as [string, ArrayRecord];
    if (!sameKeys(received, sent)) return keyMismatchError("LocalDpMod", message);
    const round = [...content.configRecords.values()]
      .find((config) => config.has("server-round"))
      ?.get("server-round");
    const secret = context.nodeConfig["local-dp-seed"];
    const random =
      secret === undefined
        ? createSecureRandom()
        : createPrivacyRandom(
            String(secret),
            "local-dp",
            String(context.nodeConfig["partition-id"] ?? context.nodeId),
            // Without a round the instruction's id keeps each reply's noise fresh.
            String(round ?? message.metadata.messageId),
          );
    try {
      const values = floatArraysOf(sent, "LocalDpMod");
      computeClipModelUpdate(values, floatArraysOf(received, "LocalDpMod"), clippingNorm);
      addGaussianNoiseInplace(values, stdDev, random);
      out.set(key, withValues(sent, values));
    } catch (cause) {
      return modError(message, `LocalDpMod: ${FedbridgeError.from(cause).message}`);
    }
    return reply;
  };
  return Object.assign(mod, { clippingNorm, sensitivity, epsilon, delta, stdDev });
}
