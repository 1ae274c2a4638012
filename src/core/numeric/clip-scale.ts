/**
 * The clipping step of the Gaussian mechanism, once for both sides: the Flower-style DP
 * wrappers and mods, and the runtime's GaussianPrivacy filter. Clipping bounds an update's L2
 * norm, and so its sensitivity, which is what the noise is calibrated to.
 */

/** The L2 norm of all the arrays flattened into one vector, summed in float64 in order. */
export function l2Norm(arrays: readonly ArrayLike<number>[]): number {
  let sum = 0;
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      sum += v * v;
    }
  }
  return Math.sqrt(sum);
}

/**
 * The factor that brings the arrays' L2 norm down to `clippingNorm`: `clippingNorm / norm` when
 * the norm is above it, else 1 (a zero update, or a NaN norm, is left as it is).
 */
export function clipScale(arrays: readonly ArrayLike<number>[], clippingNorm: number): number {
  const norm = l2Norm(arrays);
  return norm > clippingNorm ? clippingNorm / norm : 1;
}
