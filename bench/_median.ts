/**
 * The median the benchmark drivers report (`run.ts`, `ab.ts`, `amplify.ts`,
 * `server_cost.ts`): the middle value, or the mean of the two middle ones;
 * `NaN` for no values.
 *
 * @module
 */

/** The median of `values` (not modified). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
