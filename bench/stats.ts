/** Summary statistics of a list of durations in milliseconds. */
export interface Summary {
  count: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Computes p50, p99 and mean; the input is not modified. */
export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), mean };
}

/** Runs `operation` `count` times in sequence and returns each duration in ms. */
export async function timeEach(
  count: number,
  operation: () => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await operation();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Rounds for display: 3 significant decimals. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
