/** A least-squares line through points: its slope, its standard error, and its value at `x0`. */
export interface Fit {
  slope: number;
  /** The slope's standard error (0 with fewer than 3 points). */
  slopeError: number;
  /** The fitted value at the first point's x. */
  start: number;
  points: number;
}

export function leastSquares(points: readonly { x: number; y: number }[]): Fit | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const residuals = points.reduce((s, p) => s + (p.y - my - slope * (p.x - mx)) ** 2, 0);
  const slopeError = n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : 0;
  const x0 = (points[0] as { x: number }).x;
  return { slope, slopeError, start: my + slope * (x0 - mx), points: n };
}
