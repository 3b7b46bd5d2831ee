/** Median, minimum and maximum of the values of repeated runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Summarizes repeated runs. The median of an even count is the mean of the two middle values. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("spreadOf needs at least one value");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/** Applies `transform` to the median, minimum and maximum, swapping them when it reverses the order. */
export function mapSpread(spread: Spread, transform: (value: number) => number): Spread {
  const a = transform(spread.min);
  const b = transform(spread.max);
  return { median: transform(spread.median), min: Math.min(a, b), max: Math.max(a, b) };
}

/** Nearest-rank percentile (`fraction` 0.5 for p50, 0.99 for p99) of values sorted ascending. */
export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) throw new RangeError("percentile needs at least one value");
  const rank = Math.max(1, Math.ceil(fraction * sortedValues.length));
  return sortedValues[rank - 1]!;
}

/** Runs `task` `iterations` times and returns the mean time of one call in nanoseconds. */
export function nanosecondsPerCall(task: () => unknown, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) task();
  return Number(process.hrtime.bigint() - started) / iterations;
}

/**
 * Finds an iteration count for which `task` runs about `targetMs` milliseconds, after warming it up
 * so that the optimizing compiler has seen it.
 */
export function calibrateIterations(task: () => unknown, targetMs: number): number {
  let iterations = 1;
  for (;;) {
    const elapsedMs = (nanosecondsPerCall(task, iterations) * iterations) / 1e6;
    if (elapsedMs >= targetMs / 10 || iterations >= 1e7) {
      return Math.max(1, Math.round((iterations * targetMs) / Math.max(elapsedMs, 1e-3)));
    }
    iterations *= 4;
  }
}

/** Formats a number with thousands separators and a fixed count of decimals. */
export function formatNumber(value: number, decimals = 0): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Formats a spread as `median (min–max)`. */
export function formatSpread(spread: Spread, decimals = 0): string {
  return `${formatNumber(spread.median, decimals)} (${formatNumber(spread.min, decimals)}–${formatNumber(spread.max, decimals)})`;
}
