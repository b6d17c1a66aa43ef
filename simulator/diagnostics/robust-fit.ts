/**
 * Robust straight-line fit for probe series: the Theil–Sen estimator (the
 * median of the slopes between pairs of points), which ignores the odd
 * spike, such as a transient socket or a render buffer, that would tilt a
 * least-squares line.
 */

/** A fitted line `y = intercept + slope * x`. */
export interface LineFit {
  slope: number;
  intercept: number;
  /** Points the fit used. */
  points: number;
}

/** Pairs are taken among at most this many evenly spaced points, to bound the work at about 20,000 pairs. */
const MAX_FIT_POINTS = 200;

/** Fits a line through the points; returns undefined for fewer than two distinct x values. */
export function theilSenFit(xs: readonly number[], ys: readonly number[]): LineFit | undefined {
  if (xs.length !== ys.length)
    throw new RangeError(
      `theilSenFit needs as many x values as y values, got ${xs.length} and ${ys.length}.`,
    );
  const indexes = evenlySpaced(xs.length, MAX_FIT_POINTS);

  const slopes: number[] = [];
  for (let a = 0; a < indexes.length; a++) {
    for (let b = a + 1; b < indexes.length; b++) {
      const dx = xs[indexes[b]] - xs[indexes[a]];
      if (dx !== 0) slopes.push((ys[indexes[b]] - ys[indexes[a]]) / dx);
    }
  }
  if (slopes.length === 0) return undefined;

  const slope = median(slopes);
  const intercept = median(xs.map((x, index) => ys[index] - slope * x));
  return { slope, intercept, points: xs.length };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function evenlySpaced(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, index) => index);
  const step = (length - 1) / (count - 1);
  return Array.from({ length: count }, (_, index) => Math.round(index * step));
}
