/**
 * Population Stability Index between a reference sample and a current sample:
 *
 *   PSI = Σ_k (a_k - e_k) · ln(a_k / e_k)
 *
 * where e_k and a_k are the shares of the reference and of the current sample in bin k.
 *
 * Bins come from the reference's quantiles: the inner edges are its quantiles at 1/B, 2/B, ...,
 * (B-1)/B (default B = 10, deciles); the outer bins are open, so current values beyond the
 * reference's range fall into the first or last bin. Equal edges (discrete or heavily tied data)
 * are merged, so such a feature simply has fewer bins. A value equal to an edge belongs to the bin
 * that ends at that edge: bin(x) = number of edges strictly below x.
 *
 * Empty bins: a share of 0 is replaced by PSI_EPSILON = 1e-4 (one in ten thousand) before the
 * formula, and shares are not renormalised. A bin that is empty in both samples therefore adds
 * exactly 0, and a bin holding share s in one sample and nothing in the other adds
 * (s - 1e-4) · ln(s / 1e-4), e.g. 0.69 for a whole empty decile: large, finite, comparable.
 *
 * Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7, the default
 * of numpy.quantile and R's quantile()).
 */

export const PSI_DEFAULT_BINS = 10;
export const PSI_EPSILON = 1e-4;

export interface PsiOptions {
  /** Number of quantile bins before merging equal edges (default 10). Ignored when `edges` is given. */
  bins?: number;
  /** Share used in place of an empty bin's 0 (default PSI_EPSILON). */
  epsilon?: number;
  /** Inner bin edges, ascending and distinct, e.g. from `edgesFromQuantileGrid`. */
  edges?: readonly number[];
}

export interface PsiResult {
  psi: number;
  /** Inner edges; there are edges.length + 1 bins. */
  edges: number[];
  /** Reference share per bin (before epsilon). */
  expected: number[];
  /** Current share per bin (before epsilon). */
  actual: number[];
}

export function populationStabilityIndex(reference: ArrayLike<number>, current: ArrayLike<number>, options: PsiOptions = {}): PsiResult {
  const ref = sortedFinite(reference, 'reference');
  const cur = sortedFinite(current, 'current');
  const epsilon = options.epsilon ?? PSI_EPSILON;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`options.epsilon is ${epsilon}; it must be in (0, 1)`);
  let edges: number[];
  if (options.edges !== undefined) {
    edges = [...options.edges];
    for (let k = 0; k < edges.length; k += 1) {
      const edge = edges[k] as number;
      if (!Number.isFinite(edge) || (k > 0 && !(edge > (edges[k - 1] as number)))) {
        throw new RangeError(`options.edges[${k}] is ${edge}; edges must be finite, ascending and distinct`);
      }
    }
  } else {
    edges = quantileEdges(ref, options.bins ?? PSI_DEFAULT_BINS);
  }
  const expected = binShares(ref, edges);
  const actual = binShares(cur, edges);
  return { psi: psiFromShares(expected, actual, epsilon), edges, expected, actual };
}

/** Σ (a - e) ln(a / e) with empty shares replaced by `epsilon`. */
export function psiFromShares(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) {
    throw new RangeError(`expected has ${expected.length} bins and actual ${actual.length}; they must match`);
  }
  let psi = 0;
  for (let k = 0; k < expected.length; k += 1) {
    const e = Math.max(expected[k] as number, epsilon);
    const a = Math.max(actual[k] as number, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** Inner edges at the reference's 1/bins, ..., (bins-1)/bins quantiles, with equal edges merged. */
export function quantileEdges(sortedReference: ArrayLike<number>, bins = PSI_DEFAULT_BINS): number[] {
  assertBins(bins);
  const edges: number[] = [];
  for (let k = 1; k < bins; k += 1) edges.push(quantileSorted(sortedReference, k / bins));
  return dedupe(edges);
}

/**
 * The same edges read from a stored quantile grid: `grid[i]` is the quantile at i/(grid.length-1)
 * (the reference keeps 101 values, p0..p100). Probabilities between grid points interpolate
 * linearly, which for a type-7 grid gives the type-7 quantile when the grid contains the point.
 */
export function edgesFromQuantileGrid(grid: readonly number[], bins = PSI_DEFAULT_BINS): number[] {
  assertBins(bins);
  if (grid.length < 2) throw new RangeError(`the quantile grid has ${grid.length} values; it needs at least 2`);
  const edges: number[] = [];
  for (let k = 1; k < bins; k += 1) edges.push(interpolate(grid, (k / bins) * (grid.length - 1)));
  return dedupe(edges);
}

/** Type-7 quantile of ascending values: linear interpolation at position p·(n-1). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('cannot take a quantile of an empty sample');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile probability is ${p}; it must be in [0, 1]`);
  return interpolate(sorted, p * (sorted.length - 1));
}

/** Share of `sorted` values in each of the edges.length + 1 bins. */
export function binShares(sorted: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < sorted.length; i += 1) {
    const bin = countBelow(edges, sorted[i] as number);
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts.map((c) => c / sorted.length);
}

/** Number of edges strictly below x (binary search). */
function countBelow(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function interpolate(values: ArrayLike<number>, position: number): number {
  const lower = Math.floor(position);
  const fraction = position - lower;
  const low = values[lower] as number;
  if (fraction === 0 || lower + 1 >= values.length) return low;
  const high = values[lower + 1] as number;
  return low + (high - low) * fraction;
}

function dedupe(sortedEdges: number[]): number[] {
  return sortedEdges.filter((edge, k) => k === 0 || edge !== sortedEdges[k - 1]);
}

function assertBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`bins is ${bins}; it must be an integer ≥ 2`);
}

function sortedFinite(values: ArrayLike<number>, name: string): Float64Array {
  if (values.length === 0) throw new RangeError(`${name} is empty; PSI needs at least one value in each sample`);
  const copy = Float64Array.from(values);
  for (let k = 0; k < copy.length; k += 1) {
    if (!Number.isFinite(copy[k])) throw new RangeError(`${name}[${k}] is ${copy[k]}; PSI needs finite numbers`);
  }
  return copy.sort();
}
