import { z } from "zod";
import { clipScale } from "../../core/numeric/clip-scale.ts";
import type { Filter } from "./filter.ts";
import { filterRandom, seedArg } from "./filter-random.ts";
import { dataKindsArg, filtersKind, readFloatUpdate } from "./float-update.ts";

export const gaussianPrivacyArgs = z.strictObject({
  /** The L2 norm the update is clipped to, over all its float32 values together; required. */
  clippingNorm: z.number().positive(),
  /** The noise's standard deviation over clippingNorm (0 clips only); required. */
  noiseMultiplier: z.number().min(0),
  /** Makes the noise reproducible (see seedArg); default: fresh noise on every call. */
  seed: seedArg,
  /** The kinds of shareable it changes; default ["WEIGHT_DIFF"]. */
  dataKinds: dataKindsArg.default(["WEIGHT_DIFF"]),
});

/**
 * GaussianPrivacy: the Gaussian mechanism on a whole update, as in DP-FedAvg's local variant.
 * The update's float32 values are scaled together so their L2 norm is at most `clippingNorm`,
 * then each gets independent noise N(0, (noiseMultiplier × clippingNorm)²). The sensitivity is
 * what clipping bounds; epsilon and delta follow from the multiplier and the number of rounds
 * (an accountant's job, not the filter's). Arrays of other dtypes pass without noise, and
 * shareables of other kinds pass unchanged.
 *
 * FLARE's research GaussianPrivacy instead scales its noise by a percentile of the update's own
 * magnitudes, which bounds nothing; this one calibrates noise to a fixed clipping norm.
 */
export function createGaussianPrivacy(args: z.infer<typeof gaussianPrivacyArgs>): Filter {
  const std = args.noiseMultiplier * args.clippingNorm;
  return {
    name: "GaussianPrivacy",
    dataKinds: args.dataKinds,
    process(shareable, context) {
      if (!filtersKind(args.dataKinds, shareable)) return shareable;
      const update = readFloatUpdate(shareable.records);
      if (update.size === 0) return shareable;
      const scale = clipScale(
        update.tensors.map((t) => t.values),
        args.clippingNorm,
      );
      const random = std > 0 ? filterRandom("GaussianPrivacy", args.seed, context) : undefined;
      for (const { values } of update.tensors) {
        for (let i = 0; i < values.length; i++) {
          const noise = random === undefined ? 0 : std * random.normal();
          values[i] = (values[i] as number) * scale + noise;
        }
      }
      update.commit();
      return shareable;
    },
  };
}
