/**
 * Two-sample Kolmogorov–Smirnov test, two-sided.
 *
 * Statistic: D = max |F1(x) - F2(x)| over the pooled values, with both empirical CDFs evaluated
 * right-continuously (all copies of a tied value are counted before comparing), as
 * scipy.stats.ks_2samp does. D is held exactly as an integer over lcm(n1, n2).
 *
 * p-value, `method`:
 * - 'exact': P(D ≥ d) under H0 for continuous data, by dynamic programming over the lattice paths
 *   from (0, 0) to (n1, n2) (Hodges 1958): the probability mass of the uniform random path that
 *   first leaves the band |i/n1 - j/n2| < d. It sums only the (small, positive) exit masses, so
 *   tiny p-values keep their relative precision. Cost O(n1 · band width). Same quantity as
 *   scipy's method='exact'.
 * - 'asymp': Kolmogorov's limiting distribution, p = Q_KS(√(n1·n2/(n1+n2)) · D), with
 *   Q_KS(λ) = 2 Σ_{k≥1} (-1)^(k-1) exp(-2k²λ²). This is R's ks.test asymptotic and scipy's
 *   `stats.kstwobign.sf(sqrt(en) * d)`. scipy ≥ 1.5's method='asymp' instead uses the finite-n
 *   one-sample distribution kstwo with n = round(en); the two agree to a few percent of the p-value
 *   for en ≥ 1000 (tests pin both).
 * - 'auto' (default): 'exact' when max(n1, n2) ≤ 10 000 (scipy's rule), else 'asymp'.
 *
 * Ties: D is exact with ties, but both p-value methods assume continuous data; with ties the true
 * null distribution of D is stochastically smaller, so the p-value is conservative (too large),
 * never anti-conservative.
 */

export type KsMethod = 'exact' | 'asymp';

export interface KsOptions {
  method?: KsMethod | 'auto';
}

export interface KsResult {
  /** D, in [0, 1]. */
  statistic: number;
  /** Two-sided p-value, in [0, 1]. */
  pValue: number;
  method: KsMethod;
  n1: number;
  n2: number;
}

/** 'auto' computes the exact p-value when both samples have at most this many values. */
export const KS_EXACT_MAX_N = 10_000;

const MAX_EXACT_LCM = 2 ** 31 - 1;

export function ksTwoSample(sample1: ArrayLike<number>, sample2: ArrayLike<number>, options: KsOptions = {}): KsResult {
  const a = sortedCopy(sample1, 'sample1');
  const b = sortedCopy(sample2, 'sample2');
  const n1 = a.length;
  const n2 = b.length;
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;

  // i/n1 - j/n2 = (i·n2g - j·n1g) / lcm, so the statistic is an integer h over lcm = n1g·n2.
  let h = 0;
  let i = 0;
  let j = 0;
  while (i < n1 && j < n2) {
    const ai = a[i] as number;
    const bj = b[j] as number;
    const v = ai <= bj ? ai : bj;
    while (i < n1 && (a[i] as number) === v) i += 1;
    while (j < n2 && (b[j] as number) === v) j += 1;
    const diff = Math.abs(i * n2g - j * n1g);
    if (diff > h) h = diff;
  }
  return ksFromLatticeDistance(n1, n2, h, options);
}

/**
 * The KS result for samples of n1 and n2 values whose largest CDF distance is h / lcm(n1, n2),
 * i.e. h = max |i·(n2/g) - j·(n1/g)| over the pairs (i, j) of values at or below a common point
 * (g = gcd(n1, n2)). `ksTwoSample` finds h from raw values; `ksFromCdfCounts` from counts on a grid.
 */
export function ksFromLatticeDistance(n1: number, n2: number, h: number, options: KsOptions = {}): KsResult {
  if (!Number.isInteger(n1) || n1 < 1 || !Number.isInteger(n2) || n2 < 1) {
    throw new RangeError(`sample sizes are ${n1} and ${n2}; the KS test needs at least one value in each sample`);
  }
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  const lcm = n1g * n2;
  const statistic = h / lcm;

  const requested = options.method ?? 'auto';
  if (requested !== 'auto' && requested !== 'exact' && requested !== 'asymp') {
    throw new RangeError(`options.method is ${JSON.stringify(requested)}; use 'auto', 'exact' or 'asymp'`);
  }
  let method: KsMethod = requested === 'auto' ? (Math.max(n1, n2) <= KS_EXACT_MAX_N ? 'exact' : 'asymp') : requested;
  if (method === 'exact' && lcm > MAX_EXACT_LCM) method = 'asymp';

  let pValue: number;
  if (h === 0) {
    pValue = 1;
  } else if (method === 'exact') {
    pValue = exactTwoSidedPValue(n1, n2, n2g, n1g, h);
  } else {
    pValue = kolmogorovSurvival(Math.sqrt((n1 * n2) / (n1 + n2)) * statistic);
  }
  return { statistic, pValue: Math.min(1, Math.max(0, pValue)), method, n1, n2 };
}

/**
 * The KS result from cumulative counts: `pairs` are (i, j) = (values of sample 1, values of
 * sample 2) at or below — or strictly below — common points. When the points include every jump
 * of both empirical CDFs (or every jump of one, each with its left limit), this is exactly
 * `ksTwoSample` of the values; on a coarser grid D can only be under-estimated.
 */
export function ksFromCdfCounts(n1: number, n2: number, pairs: Iterable<readonly [number, number]>, options: KsOptions = {}): KsResult {
  if (!Number.isInteger(n1) || n1 < 1 || !Number.isInteger(n2) || n2 < 1) {
    throw new RangeError(`sample sizes are ${n1} and ${n2}; the KS test needs at least one value in each sample`);
  }
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  let h = 0;
  for (const [i, j] of pairs) {
    if (!(i >= 0 && i <= n1 && j >= 0 && j <= n2)) throw new RangeError(`cumulative counts (${i}, ${j}) are outside [0, ${n1}] × [0, ${n2}]`);
    const diff = Math.abs(i * n2g - j * n1g);
    if (diff > h) h = diff;
  }
  return ksFromLatticeDistance(n1, n2, h, options);
}

/**
 * P(D ≥ h/lcm) for samples of n1 and n2 continuous values. A path point (i, j) (i values of the
 * first sample and j of the second seen so far) is inside the band when |i·a - j·b| < h, with
 * a = n2/g and b = n1/g. `inside` holds the probability of reaching (i, j) without ever leaving the
 * band; every step that leaves it adds that mass times the step probability to the answer.
 */
function exactTwoSidedPValue(n1: number, n2: number, a: number, b: number, h: number): number {
  const total = n1 + n2;
  let prev = new Float64Array(n2 + 1);
  let cur = new Float64Array(n2 + 1);
  let prevLo = 0;
  let prevHi = -1;
  let outside = 0;
  const low = (i: number): number => Math.max(0, Math.floor((i * a - h) / b) + 1);
  const high = (i: number): number => Math.min(n2, Math.ceil((i * a + h) / b) - 1);

  for (let i = 0; i <= n1; i += 1) {
    const lo = low(i);
    const hi = high(i);
    for (let j = lo; j <= hi; j += 1) {
      let v = 0;
      if (i === 0 && j === 0) {
        v = 1;
      } else {
        // From (i-1, j): an x-step, probability (n1 - (i-1)) / (remaining values at (i-1, j)).
        if (i > 0 && j >= prevLo && j <= prevHi) v += ((prev[j] as number) * (n1 - i + 1)) / (total - i + 1 - j);
        // From (i, j-1): a y-step.
        if (j > lo) v += ((cur[j - 1] as number) * (n2 - j + 1)) / (total - i - j + 1);
      }
      cur[j] = v;
    }
    if (hi >= lo) {
      // A y-step from the top of the column leaves the band (i·a - j·b falls to -h).
      if (hi < n2) outside += ((cur[hi] as number) * (n2 - hi)) / (total - i - hi);
      // x-steps from points below the next column's band leave it (i·a - j·b rises to h).
      if (i < n1) {
        const nextLo = low(i + 1);
        const nextHi = high(i + 1);
        for (let j = lo; j <= hi; j += 1) {
          if (j < nextLo || j > nextHi) outside += ((cur[j] as number) * (n1 - i)) / (total - i - j);
        }
      }
    }
    const swap = prev;
    prev = cur;
    cur = swap;
    prevLo = lo;
    prevHi = hi;
  }
  return outside;
}

/**
 * Survival function of Kolmogorov's limiting distribution, Q_KS(λ) = P(K > λ). For λ < 1 the
 * alternating series converges slowly, so the Jacobi-theta form
 * P(K ≤ λ) = √(2π)/λ Σ_{k≥1} exp(-(2k-1)²π²/(8λ²)) is used there.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    const w = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let k = 1; k < 100; k += 1) {
      const m = 2 * k - 1;
      const term = Math.exp(-m * m * w);
      sum += term;
      if (term <= 1e-17 * sum) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum;
  }
  let sum = 0;
  for (let k = 1; k < 100; k += 1) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term <= 1e-17 * Math.abs(sum)) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

function sortedCopy(values: ArrayLike<number>, name: string): Float64Array {
  if (values.length === 0) throw new RangeError(`${name} is empty; the KS test needs at least one value in each sample`);
  const copy = Float64Array.from(values);
  for (let k = 0; k < copy.length; k += 1) {
    if (!Number.isFinite(copy[k])) {
      throw new RangeError(`${name}[${k}] is ${copy[k]}; the KS test needs finite numbers`);
    }
  }
  return copy.sort();
}

function gcd(x: number, y: number): number {
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}
