import { z } from "zod";
import type { Filter } from "./filter.ts";
import { dataKindsArg, filtersKind, readFloatUpdate } from "./float-update.ts";

export const percentilePrivacyArgs = z.strictObject({
  /** Magnitudes below this percentile of all (0..100) are zeroed; default 10. */
  percentile: z.number().min(0).max(100).default(10),
  /** What is shared is clipped to [-gamma, gamma]; default 0.01. */
  gamma: z.number().positive().default(0.01),
  /** The kinds of shareable it changes; default ["WEIGHT_DIFF"]. */
  dataKinds: dataKindsArg.default(["WEIGHT_DIFF"]),
});

/**
 * PercentilePrivacy: "largest percentile to share" (Shokri and Shmatikov, CCS '15), FLARE's
 * filter of the same name. Over the magnitudes of every float32 value of the update together,
 * it takes the `percentile`-th percentile (numpy's linear interpolation) as a cutoff, zeroes
 * each value whose magnitude is below it, and clips the rest to [-gamma, gamma]. A 0-d array
 * counts toward the cutoff but is shared unchanged, as in FLARE. Shareables of other kinds
 * pass unchanged.
 *
 * FLARE divides the update by the local step count first (meta NUM_STEPS_CURRENT_ROUND) and
 * multiplies it back after; fedbridge's shareables carry no step count, so gamma bounds the
 * update itself.
 */
export function createPercentilePrivacy(args: z.infer<typeof percentilePrivacyArgs>): Filter {
  return {
    name: "PercentilePrivacy",
    dataKinds: args.dataKinds,
    process(shareable) {
      if (!filtersKind(args.dataKinds, shareable)) return shareable;
      const update = readFloatUpdate(shareable.records);
      if (update.size === 0) return shareable;
      const magnitudes = new Float32Array(update.size);
      let at = 0;
      for (const { values } of update.tensors) {
        for (const value of values) magnitudes[at++] = Math.abs(value);
      }
      const cutoff = percentileOf(magnitudes, args.percentile);
      for (const { values, scalar } of update.tensors) {
        if (scalar) continue;
        for (let i = 0; i < values.length; i++) {
          const value = values[i] as number;
          values[i] =
            Math.abs(value) < cutoff ? 0 : Math.min(args.gamma, Math.max(-args.gamma, value));
        }
      }
      update.commit();
      return shareable;
    },
  };
}

/**
 * numpy's default percentile: linear interpolation between the two nearest ranks, rounded to
 * float32 as numpy returns it for float32 input. Sorts `values` in place.
 */
export function percentileOf(values: Float32Array, percentile: number): number {
  values.sort();
  const rank = ((values.length - 1) * percentile) / 100;
  const below = Math.floor(rank);
  const low = values[below] as number;
  const high = values[Math.min(below + 1, values.length - 1)] as number;
  const t = rank - below;
  // numpy's _lerp: from the nearer end, so the result stays between low and high.
  return Math.fround(t < 0.5 ? low + t * (high - low) : high - (1 - t) * (high - low));
}
