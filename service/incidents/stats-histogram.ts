/**
 * The handling-time histogram of the statistics' day table (migration 034): bucket 0 below one minute,
 * then buckets a quarter of an octave wide (each 19 % wider than the last) up to 772 working hours, and one
 * bucket above. The bounds are the migration's `incident_hist_bounds()`, integers, so JavaScript and
 * PostgreSQL put a time in the same bucket (`width_bucket`: bounds[b − 1] ≤ ms < bounds[b]).
 */
export const BOUNDS: readonly number[] = [
  60000, 71352, 84853, 100908, 120000, 142705, 169706, 201815, 240000, 285410, 339411, 403630, 480000, 570819, 678823, 807261, 960000, 1141639,
  1357645, 1614521, 1920000, 2283278, 2715290, 3229042, 3840000, 4566555, 5430580, 6458084, 7680000, 9133111, 10861160, 12916169, 15360000,
  18266221, 21722320, 25832338, 30720000, 36532443, 43444641, 51664676, 61440000, 73064885, 86889281, 103329352, 122880000, 146129770, 173778563,
  206658703, 245760000, 292259541, 347557125, 413317406, 491520000, 584519081, 695114250, 826634812, 983040000, 1169038162, 1390228500, 1653269624,
  1966080000, 2338076325, 2780457001,
];

export const BUCKETS = BOUNDS.length + 1;

/** The percentile the statistics report (issue #11: p90 handling time). */
export const P90 = 0.9;

/** The bucket of a handling time, as PostgreSQL's `width_bucket(ms, bounds)`. */
export function bucketOf(ms: number): number {
  let lo = 0;
  let hi = BOUNDS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BOUNDS[mid]! <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A bucket's times as a half-open range [lo, hi) that a bigint comparison can use. */
export function bucketRange(bucket: number): { lo: number; hi: number } {
  return { lo: bucket === 0 ? Number.MIN_SAFE_INTEGER : BOUNDS[bucket - 1]!, hi: bucket === BOUNDS.length ? Number.MAX_SAFE_INTEGER : BOUNDS[bucket]! };
}

/**
 * PostgreSQL's `percentile_cont(p)` over `n` sorted values given the two around rank p·(n − 1): the same
 * floating-point steps (orderedsetaggs.c, float8_lerp), so the answer is identical, not just close.
 */
export function percentileCont(p: number, n: number, first: number, second: number): number {
  const pos = p * (n - 1);
  const firstRow = Math.floor(pos);
  if (Math.ceil(pos) === firstRow) return first;
  return first + (pos - firstRow) * (second - first);
}
