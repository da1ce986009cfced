import {
  binShares,
  edgesFromQuantileGrid,
  populationStabilityIndex,
  PSI_EPSILON,
  psiFromShares,
  quantileEdges,
  quantileSorted,
} from '../../src/monitoring/drift/psi';

/**
 * Expected values come from an independent numpy implementation of the same definition
 * (numpy 2.4.6; `np.quantile` is type 7 by default):
 *
 *   python3 -c "
 *   import numpy as np
 *   def psi(ref, cur, bins=10, eps=1e-4):
 *       ref = np.sort(np.asarray(ref, float)); cur = np.asarray(cur, float)
 *       edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
 *       e = np.bincount(np.searchsorted(edges, ref, side='left'), minlength=len(edges)+1) / len(ref)
 *       a = np.bincount(np.searchsorted(edges, cur, side='left'), minlength=len(edges)+1) / len(cur)
 *       e2 = np.maximum(e, eps); a2 = np.maximum(a, eps)
 *       return float(np.sum((a2 - e2) * np.log(a2 / e2)))
 *   gen = lambda n, mul, mod, shift: [((i*mul) % mod)/mod + shift for i in range(n)]
 *   print(psi(gen(1000,7919,1000,0), gen(500,104729,997,0.1)))                         # 0.7553174726726495
 *   print(psi([i%5 for i in range(100)], [min(i%7,4) for i in range(70)]))             # 0.25111138026699653
 *   print(psi(gen(1000,7919,1000,0), [0.95+0.001*i for i in range(40)]))               # 8.283089355027482
 *   print(psi([i**0.5 for i in range(1,401)], [i**0.5+1 for i in range(1,201)]))       # 2.976311499668347"
 */
const gen = (n: number, mul: number, mod: number, shift: number): number[] => Array.from({ length: n }, (_, i) => ((i * mul) % mod) / mod + shift);

describe('populationStabilityIndex against numpy', () => {
  it.each<[string, number[], number[], number]>([
    ['a shifted uniform sample', gen(1000, 7919, 1000, 0), gen(500, 104729, 997, 0.1), 0.7553174726726495],
    [
      'discrete values with ties (merged edges)',
      Array.from({ length: 100 }, (_, i) => i % 5),
      Array.from({ length: 70 }, (_, i) => Math.min(i % 7, 4)),
      0.25111138026699653,
    ],
    [
      'every current value in the top bin: empty bins use epsilon',
      gen(1000, 7919, 1000, 0),
      Array.from({ length: 40 }, (_, i) => 0.95 + 0.001 * i),
      8.283089355027482,
    ],
    [
      'a skewed reference, shifted beyond its range',
      Array.from({ length: 400 }, (_, i) => Math.sqrt(i + 1)),
      Array.from({ length: 200 }, (_, i) => Math.sqrt(i + 1) + 1),
      2.976311499668347,
    ],
  ])('%s', (_name, reference, current, expected) => {
    expect(populationStabilityIndex(reference, current).psi).toBeCloseTo(expected, 12);
  });
});

describe('populationStabilityIndex semantics', () => {
  it('is exactly 0 for identical samples, continuous or tied', () => {
    const continuous = gen(777, 7919, 1000, 0);
    expect(populationStabilityIndex(continuous, [...continuous].reverse()).psi).toBe(0);
    const tied = [1, 1, 1, 2, 2, 3, 3, 3, 3, 9];
    expect(populationStabilityIndex(tied, tied).psi).toBe(0);
  });

  it('merges equal edges so that tied data has fewer bins, and a value on an edge joins the bin below', () => {
    const reference = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    const { edges, expected } = populationStabilityIndex(reference, [0, 1]);
    // Deciles 0.1..0.8 sit at positions 1..8 (all 0), 0.9 at position 9 (1): nine edges become two.
    expect(edges).toEqual([0, 1]);
    // Bins: (-inf, 0], (0, 1], (1, inf).
    expect(expected).toEqual([9 / 11, 2 / 11, 0]);
    expect(binShares([-5, 0, 0.5, 1, 1.5], edges)).toEqual([0.4, 0.4, 0.2]);
  });

  it('handles a constant reference: two bins, and a current sample elsewhere is drift', () => {
    const result = populationStabilityIndex([5, 5, 5], [7, 7]);
    expect(result.edges).toEqual([5]);
    expect(result.expected).toEqual([1, 0]);
    expect(result.actual).toEqual([0, 1]);
    // (1e-4 - 1)·ln(1e-4) + (1 - 1e-4)·ln(1 / 1e-4) = 2·(1 - 1e-4)·ln(1e4)
    expect(result.psi).toBeCloseTo(2 * (1 - PSI_EPSILON) * Math.log(1e4), 12);
  });

  it('works on tiny samples', () => {
    expect(populationStabilityIndex([1], [1]).psi).toBe(0);
    const result = populationStabilityIndex([1, 2], [2]);
    // Deciles of [1, 2]: 1.1 .. 1.9; bins (-inf,1.1], ..., (1.9, inf): reference 1/2 in the first and
    // last, current all in the last.
    expect(result.expected[0]).toBe(0.5);
    expect(result.actual[result.actual.length - 1]).toBe(1);
    const expected = (PSI_EPSILON - 0.5) * Math.log(PSI_EPSILON / 0.5) + (1 - 0.5) * Math.log(1 / 0.5);
    expect(result.psi).toBeCloseTo(expected, 12);
  });

  it('accepts given edges, e.g. from a stored quantile grid', () => {
    const reference = gen(1000, 7919, 1000, 0).sort((x, y) => x - y);
    const grid = Array.from({ length: 101 }, (_, k) => quantileSorted(reference, k / 100));
    const edges = edgesFromQuantileGrid(grid);
    const fromSample = quantileEdges(reference);
    expect(edges).toHaveLength(9);
    edges.forEach((edge, k) => expect(edge).toBeCloseTo(fromSample[k] as number, 12));
    const current = gen(300, 104729, 997, 0.05);
    expect(populationStabilityIndex(reference, current, { edges }).psi).toBeCloseTo(populationStabilityIndex(reference, current).psi, 12);
  });

  it('is symmetric in its formula: psiFromShares(e, a) = psiFromShares(a, e)', () => {
    const e = [0.1, 0.2, 0.3, 0.4, 0];
    const a = [0.25, 0.25, 0.25, 0.25, 0];
    expect(psiFromShares(e, a)).toBeCloseTo(psiFromShares(a, e), 15);
    expect(psiFromShares(e, e)).toBe(0);
  });

  it('validates its input, naming the argument', () => {
    expect(() => populationStabilityIndex([], [1])).toThrow(/reference is empty/);
    expect(() => populationStabilityIndex([1], [Number.NaN])).toThrow(/current\[0\] is NaN/);
    expect(() => populationStabilityIndex([1], [1], { bins: 1 })).toThrow(/bins is 1/);
    expect(() => populationStabilityIndex([1], [1], { edges: [2, 1] })).toThrow(/options.edges\[1\] is 1/);
    expect(() => populationStabilityIndex([1], [1], { epsilon: 0 })).toThrow(/options.epsilon is 0/);
    expect(() => psiFromShares([1], [0.5, 0.5])).toThrow(/1 bins and actual 2/);
  });
});

describe('quantileSorted (type 7)', () => {
  it.each([
    [0, 1],
    [0.25, 1.75],
    [0.5, 2.5],
    [1, 4],
  ])('p = %p of [1, 2, 3, 4] is %p (numpy.quantile)', (p, expected) => {
    expect(quantileSorted([1, 2, 3, 4], p)).toBeCloseTo(expected, 15);
  });
});
