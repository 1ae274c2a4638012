/**
 * Standard normal draws by the Box–Muller transform, in pairs: each pair takes a radius
 * uniform `u` in (0, 1] (so the log stays finite) and then an angle uniform `v`, gives
 * `√(−2 ln u)·cos(2πv)` and keeps `√(−2 ln u)·sin(2πv)` for the next call. Both of core's
 * generators (random.ts, privacy-random.ts) draw their normals through it, each from its own
 * uniforms.
 */
export function boxMuller(radiusUniform: () => number, angleUniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(radiusUniform()));
    const angle = 2 * Math.PI * angleUniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
