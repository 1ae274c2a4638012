import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { PrivacyRandom } from "../../core/numeric/privacy-random.ts";
import type { Filter } from "./filter.ts";
import { filterRandom, seedArg } from "./filter-random.ts";
import { dataKindsArg, filtersKind, readFloatUpdate } from "./float-update.ts";

export const svtPrivacyArgs = z
  .strictObject({
    /** The share of the update's values released (0..1); default 0.1. */
    fraction: z.number().min(0).max(1).default(0.1),
    /** The budget of the selection: threshold noise plus query noise; default 0.1. */
    epsilon: z.number().positive().default(0.1),
    /** The release budget is n × noiseVar for n values released, unless set; default 0.1. */
    noiseVar: z.number().positive().default(0.1),
    /** Values are clipped to [-gamma, gamma] before they are queried or released; default 1e-5. */
    gamma: z.number().positive().default(1e-5),
    /** The threshold before its noise; default 1e-6. */
    tau: z.number().default(1e-6),
    /** Whether the released values are drawn from those accepted with replacement; default true. */
    replace: z.boolean().default(true),
    /** Of epsilon, the threshold noise's share; default epsilon / (1 + (2n)^(2/3)). */
    epsilonThreshold: z.number().positive().optional(),
    /** Of epsilon, the query noise's share; default: what the threshold leaves. */
    epsilonQuery: z.number().positive().optional(),
    /** The release noise's budget; default n × noiseVar. */
    epsilonRelease: z.number().positive().optional(),
    /** Makes the noise reproducible (see seedArg); default: fresh noise on every call. */
    seed: seedArg,
    /** The kinds of shareable it changes; default ["WEIGHT_DIFF"]. */
    dataKinds: dataKindsArg.default(["WEIGHT_DIFF"]),
  })
  .superRefine((args, context) => {
    const { epsilon, epsilonThreshold: threshold, epsilonQuery: query } = args;
    if (threshold !== undefined && query !== undefined) {
      if (!isClose(threshold + query, epsilon))
        context.addIssue({
          code: "custom",
          path: ["epsilonQuery"],
          message: `epsilonThreshold + epsilonQuery must equal epsilon (${epsilon})`,
        });
    } else if ((threshold ?? query ?? 0) >= epsilon) {
      context.addIssue({
        code: "custom",
        path: [threshold === undefined ? "epsilonQuery" : "epsilonThreshold"],
        message: `must be below epsilon (${epsilon}), which it shares`,
      });
    }
  });

export type SvtPrivacyArgs = z.infer<typeof svtPrivacyArgs>;

/** Acceptance passes before the filter gives up on a threshold too high to reach. */
const MAX_PASSES = 1000;

/**
 * SVTPrivacy: the sparse vector technique, as FLARE's filter of the same name implements it.
 * Over all float32 values of the update together (n = ceil(fraction × count) to release):
 *
 * 1. a noisy threshold: tau + Laplace(gamma / epsilonThreshold);
 * 2. passes over the values not yet accepted, each accepted when |clip(v)| + Laplace(2 gamma n /
 *    epsilonQuery) reaches the threshold, until at least n are;
 * 3. n of the accepted, drawn with or without replacement, are released as clip(v) + Laplace(2
 *    gamma n / epsilonRelease); every other value becomes 0.
 *
 * clip is to [-gamma, gamma]: at most n values are nonzero, and each is a clipped value plus
 * Laplace noise (FLARE clips before the noise, so gamma does not bound what is released). The
 * threshold is drawn once per call. A 0-d array counts toward n but passes unchanged
 * (unprotected, as in FLARE). `meta.svtPrivacy` records the call's epsilons and, as FLARE's
 * pure-DP odometer does, their sum over this filter's calls. Shareables of other kinds pass
 * unchanged. As with PercentilePrivacy, there is no local step count to divide by.
 */
export function createSvtPrivacy(args: SvtPrivacyArgs): Filter {
  let spent = 0;
  let calls = 0;
  return {
    name: "SVTPrivacy",
    dataKinds: args.dataKinds,
    process(shareable, context) {
      if (!filtersKind(args.dataKinds, shareable)) return shareable;
      const update = readFloatUpdate(shareable.records);
      const total = update.size;
      if (total === 0) return shareable;
      const values = new Float32Array(total);
      const scalar = new Uint8Array(total);
      let at = 0;
      for (const tensor of update.tensors) {
        values.set(tensor.values, at);
        if (tensor.scalar) scalar[at] = 1;
        at += tensor.values.length;
      }
      const released = new Float32Array(total);
      for (let i = 0; i < total; i++) if (scalar[i]) released[i] = values[i] as number;

      const count = Math.min(Math.ceil(total * args.fraction), total);
      if (count > 0) {
        const budget = svtBudget(args, count);
        const random = filterRandom("SVTPrivacy", args.seed, context);
        const clip = (v: number) => Math.min(args.gamma, Math.max(-args.gamma, v));
        const threshold = args.tau + random.laplace(args.gamma / budget.epsilonThreshold);
        const queryScale = (2 * args.gamma * count) / budget.epsilonQuery;
        const releaseScale = (2 * args.gamma * count) / budget.epsilonRelease;

        const isAccepted = new Uint8Array(total);
        const accepted: number[] = [];
        let passes = 0;
        while (accepted.length < count) {
          if (++passes > MAX_PASSES)
            throw new FedbridgeError(
              Code.FailedPrecondition,
              `SVTPrivacy accepted ${accepted.length} of the ${count} values it must release in ${MAX_PASSES} passes: the noisy threshold ${threshold} is out of reach of clipped values (gamma ${args.gamma}) plus query noise of scale ${queryScale}; lower tau or epsilonQuery`,
            );
          for (let i = 0; i < total; i++) {
            if (isAccepted[i]) continue;
            const response = Math.abs(clip(values[i] as number)) + random.laplace(queryScale);
            if (response >= threshold) {
              isAccepted[i] = 1;
              accepted.push(i);
            }
          }
        }
        for (const i of sample(accepted, count, args.replace, random)) {
          if (!scalar[i]) released[i] = clip(values[i] as number) + random.laplace(releaseScale);
        }
        spent += budget.epsilonThreshold + budget.epsilonQuery + budget.epsilonRelease;
        calls += 1;
        shareable.meta.svtPrivacy = {
          ...budget,
          epsilon: budget.epsilonThreshold + budget.epsilonQuery + budget.epsilonRelease,
          released: count,
          passes,
          scalarsPassedThrough: scalar.reduce((sum, s) => sum + s, 0),
          cumulativeEpsilon: spent,
          calls,
        };
      }

      at = 0;
      for (const tensor of update.tensors) {
        tensor.values.set(released.subarray(at, at + tensor.values.length));
        at += tensor.values.length;
      }
      update.commit();
      return shareable;
    },
  };
}

/** The three budgets of one call that releases `count` values (FLARE's epsilon split). */
export function svtBudget(
  args: Pick<
    SvtPrivacyArgs,
    "epsilon" | "noiseVar" | "epsilonThreshold" | "epsilonQuery" | "epsilonRelease"
  >,
  count: number,
): { epsilonThreshold: number; epsilonQuery: number; epsilonRelease: number } {
  // Lyu, Su and Li's split for non-monotonic queries: threshold : query = 1 : (2c)^(2/3).
  const epsilonThreshold =
    args.epsilonThreshold ??
    (args.epsilonQuery === undefined
      ? args.epsilon / (1 + (2 * count) ** (2 / 3))
      : args.epsilon - args.epsilonQuery);
  const epsilonQuery = args.epsilonQuery ?? args.epsilon - epsilonThreshold;
  return {
    epsilonThreshold,
    epsilonQuery,
    epsilonRelease: args.epsilonRelease ?? count * args.noiseVar,
  };
}

/** `count` of `items`, drawn uniformly with or without replacement. */
function sample(items: number[], count: number, replace: boolean, random: PrivacyRandom): number[] {
  if (replace)
    return Array.from({ length: count }, () => items[random.int(items.length)] as number);
  // A partial Fisher–Yates shuffle: the first `count` places end up a uniform draw.
  for (let i = 0; i < count; i++) {
    const j = i + random.int(items.length - i);
    [items[i], items[j]] = [items[j] as number, items[i] as number];
  }
  return items.slice(0, count);
}

/** numpy's isclose, with its default tolerances. */
function isClose(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-8 + 1e-5 * Math.abs(b);
}
