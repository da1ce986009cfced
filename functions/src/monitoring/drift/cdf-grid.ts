/**
 * A distribution of the drift window held as counts on a grid instead of raw values: what a query
 * engine (the BigQuery drift reader) returns, and all that PSI and KS need. Pure.
 *
 * The grid of a reference distribution (`driftGrid`) is the ascending distinct union of
 * - its KS sample (at most REFERENCE_SAMPLE_SIZE = 2000 values), and
 * - its PSI bin edges (at most PSI bins - 1 = 9 values),
 * so G ≤ 2009 points. For each grid point g the window's counts of values < g and ≤ g are known:
 *
 *   cells[c]     values with exactly c grid points ≤ v (c = 0..G): BigQuery's RANGE_BUCKET(v, grid)
 *   at_points[c] values equal to grid[c - 1] (at_points[0] = 0)
 *
 *   #(v < g_i) = cells[0] + … + cells[i - 1]        #(v ≤ g_i) = #(v < g_i) + at_points[i]
 *
 * What that gives
 * - PSI: every bin edge is a grid point, so each bin's count #(e_(k-1) < v ≤ e_k) is exact and the
 *   PSI is identical to the one computed from the raw values.
 * - KS: D is evaluated at every grid point g, both at g (right limit) and just below it (left
 *   limit). Between adjacent grid points the reference's empirical CDF moves by the reference mass
 *   strictly inside the interval, m_ref, and the window's by m_cur, so the supremum there exceeds
 *   the larger endpoint value by at most min(m_ref, m_cur). The under-estimate of D is therefore at
 *   most
 *
 *     bound = max over the G + 1 open intervals (-∞, g_1), (g_1, g_2), …, (g_G, ∞) of min(m_ref, m_cur)
 *
 *   (`ksGridBound`). The default grid holds every value of the reference's KS sample, so m_ref = 0
 *   in every interval, the bound is 0 and D — hence its p-value — is exactly `ksTwoSample`'s. A
 *   coarser grid of G quantiles would keep D within about 1/G of the exact value at the cost of
 *   that bound, which the report states (`ks_grid_bound`).
 */
import { ksFromCdfCounts, type KsResult } from './ks';

/** One distribution of the window on a grid; see the file comment for the meaning of the arrays. */
export interface GridAggregate {
  /** Ascending, distinct, finite grid points g_1 < … < g_G. */
  grid: readonly number[];
  /** G + 1 counts: cells[c] = values with exactly c grid points at or below them. */
  cells: readonly number[];
  /** G + 1 counts: at_points[c] = values equal to grid[c - 1]; at_points[0] = 0. */
  at_points: readonly number[];
  /** Sum of the values (for the mean). */
  sum: number;
}

/** The grid of a reference distribution: its KS sample and its PSI edges, ascending and distinct. */
export function driftGrid(sample: readonly number[], edges: readonly number[]): number[] {
  const points = [...sample, ...edges];
  for (const [k, point] of points.entries()) {
    if (!Number.isFinite(point)) throw new RangeError(`grid point ${k} is ${point}; a grid needs finite numbers`);
  }
  points.sort((x, y) => x - y);
  return points.filter((point, k) => k === 0 || point !== points[k - 1]);
}

/** Aggregates values on a grid: what the BigQuery query computes, done here over raw values. */
export function aggregateOnGrid(values: ArrayLike<number>, grid: readonly number[]): GridAggregate {
  assertGrid(grid);
  const cells = new Array<number>(grid.length + 1).fill(0);
  const atPoints = new Array<number>(grid.length + 1).fill(0);
  let sum = 0;
  for (let k = 0; k < values.length; k += 1) {
    const v = values[k] as number;
    if (!Number.isFinite(v)) throw new RangeError(`values[${k}] is ${v}; only finite values can be aggregated`);
    const c = countAtOrBelow(grid, v);
    cells[c] = (cells[c] as number) + 1;
    if (c > 0 && grid[c - 1] === v) atPoints[c] = (atPoints[c] as number) + 1;
    sum += v;
  }
  return { grid: [...grid], cells, at_points: atPoints, sum };
}

/** Values in the aggregate. */
export function aggregateCount(aggregate: GridAggregate): number {
  return aggregate.cells.reduce((total, count) => total + count, 0);
}

/** #(v < g_i) and #(v ≤ g_i) for each grid point, after checking the aggregate's shape. */
export function cumulativeCounts(aggregate: GridAggregate): { n: number; below: number[]; atOrBelow: number[] } {
  const { grid, cells, at_points: atPoints } = aggregate;
  assertGrid(grid);
  if (cells.length !== grid.length + 1 || atPoints.length !== grid.length + 1) {
    throw new RangeError(`a grid of ${grid.length} points needs ${grid.length + 1} cells and at_points; got ${cells.length} and ${atPoints.length}`);
  }
  const below: number[] = [];
  const atOrBelow: number[] = [];
  let running = 0;
  for (let i = 1; i <= grid.length; i += 1) {
    running += cells[i - 1] as number;
    const at = atPoints[i] as number;
    if (!(at >= 0 && at <= (cells[i] as number))) throw new RangeError(`at_points[${i}] is ${at}; it must be between 0 and cells[${i}] (${cells[i]})`);
    below.push(running);
    atOrBelow.push(running + at);
  }
  return { n: running + (cells[grid.length] as number), below, atOrBelow };
}

/**
 * KS of a reference sample against a window aggregated on a grid, evaluated at each grid point and
 * just below it. Exactly `ksTwoSample(sample, window values)` when the grid holds every sample value.
 */
export function ksFromGrid(sortedSample: readonly number[], aggregate: GridAggregate): KsResult {
  const { n, below, atOrBelow } = cumulativeCounts(aggregate);
  const pairs: Array<[number, number]> = [];
  aggregate.grid.forEach((g, k) => {
    pairs.push([countBelow(sortedSample, g), below[k] as number]);
    pairs.push([countAtOrBelow(sortedSample, g), atOrBelow[k] as number]);
  });
  return ksFromCdfCounts(sortedSample.length, n, pairs);
}

/** The most D computed on the grid can fall short of D on the values (see the file comment). */
export function ksGridBound(sortedSample: readonly number[], aggregate: GridAggregate): number {
  const { n, below, atOrBelow } = cumulativeCounts(aggregate);
  const grid = aggregate.grid;
  const N = sortedSample.length;
  let bound = 0;
  for (let i = 0; i <= grid.length; i += 1) {
    // The open interval (g_i, g_(i+1)), with g_0 = -∞ and g_(G+1) = +∞.
    const refFrom = i === 0 ? 0 : countAtOrBelow(sortedSample, grid[i - 1] as number);
    const refTo = i === grid.length ? N : countBelow(sortedSample, grid[i] as number);
    const curFrom = i === 0 ? 0 : (atOrBelow[i - 1] as number);
    const curTo = i === grid.length ? n : (below[i] as number);
    bound = Math.max(bound, Math.min((refTo - refFrom) / N, n === 0 ? 0 : (curTo - curFrom) / n));
  }
  return bound;
}

/**
 * Shares of the window in the PSI bins (e_(k-1), e_k] of `edges`, each edge a grid point: the same
 * numbers `binShares` gives on the raw values.
 */
export function binSharesFromGrid(aggregate: GridAggregate, edges: readonly number[]): number[] {
  const { n, atOrBelow } = cumulativeCounts(aggregate);
  const index = new Map(aggregate.grid.map((g, k) => [g, k]));
  const counts: number[] = [];
  let previous = 0;
  for (const edge of edges) {
    const k = index.get(edge);
    if (k === undefined) throw new RangeError(`PSI edge ${edge} is not a grid point; aggregate on driftGrid(sample, edges) of the same reference`);
    const upTo = atOrBelow[k] as number;
    counts.push(upTo - previous);
    previous = upTo;
  }
  counts.push(n - previous);
  return counts.map((count) => count / n);
}

function assertGrid(grid: readonly number[]): void {
  for (let k = 0; k < grid.length; k += 1) {
    const g = grid[k] as number;
    if (!Number.isFinite(g) || (k > 0 && !(g > (grid[k - 1] as number)))) {
      throw new RangeError(`grid[${k}] is ${g}; grid points must be finite, ascending and distinct`);
    }
  }
}

/** Number of ascending values strictly below x. */
function countBelow(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of ascending values at or below x. */
function countAtOrBelow(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
