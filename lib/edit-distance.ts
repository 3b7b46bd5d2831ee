/**
 * Returns whether `written` is a likely typo of `option`: at most one edit (insert, delete,
 * replace or swap of neighbours) from an option of up to 7 characters, two from a longer one.
 */
export function isNearMiss(written: string, option: string): boolean {
  const allowed = option.length <= 7 ? 1 : 2;
  return Math.abs(written.length - option.length) <= allowed && editDistance(written, option) <= allowed;
}

/** Returns the optimal string alignment distance: insertions, deletions, replacements and swaps of neighbours. */
export function editDistance(left: string, right: string): number {
  // rows[i][j] is the distance between the first i characters of left and the first j of right.
  const rows: number[][] = [];
  for (let i = 0; i <= left.length; i += 1) {
    rows.push(Array.from({ length: right.length + 1 }, (_, j) => (i === 0 ? j : 0)));
    rows[i]![0] = i;
  }
  for (let i = 1; i <= left.length; i += 1) {
    for (let j = 1; j <= right.length; j += 1) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[left.length]![right.length]!;
}
