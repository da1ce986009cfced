import { kolmogorovSurvival, ksTwoSample } from '../../src/monitoring/drift/ks';

/**
 * Expected values come from scipy, not from this code. Reproduce with (scipy 1.17.1; Debian's
 * scipy 1.10.1 in /usr/bin/python3 prints the same digits):
 *
 *   python3 -c "
 *   import math; from scipy import stats, special
 *   gen = lambda n, mul, mod, shift: [((i*mul) % mod)/mod + shift for i in range(n)]
 *   r = stats.ks_2samp(x, y, method='exact'); print(repr(r.statistic), repr(r.pvalue))   # per case
 *   print(stats.ks_2samp(gen(2000,7919,1000,0), gen(12000,104729,997,0.02), method='asymp'))
 *   print(stats.kstwobign.sf(math.sqrt(2000*12000/14000) * d))
 *   print(special.kolmogorov(lam))"
 *
 * `gen` is integer arithmetic followed by one division and one addition, so Python and JavaScript
 * produce bit-identical samples.
 */
const gen = (n: number, mul: number, mod: number, shift: number): number[] => Array.from({ length: n }, (_, i) => ((i * mul) % mod) / mod + shift);

const LITERAL_A = [
  0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37, 1.77, 1.09, -1.28, 2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47,
];
const LITERAL_B = [2.2, 0.91, 1.08, -0.27, 1.43, 0.92, 0.32, 1.7, 1.44, 0.68, 0.67, -0.41, 1.32, 0.61, 0.19, 0.86, 1.69];

/** Relative agreement of p-values (they span 1 to 1e-42). */
function expectRelativelyClose(actual: number, expected: number, tolerance: number): void {
  if (expected === 0) {
    expect(actual).toBe(0);
    return;
  }
  expect(Math.abs(actual - expected) / expected).toBeLessThan(tolerance);
}

describe('ksTwoSample, exact p-values against scipy.stats.ks_2samp(method="exact")', () => {
  const cases: Array<[string, number[], number[], number, number]> = [
    ['two small continuous samples (25 vs 17)', LITERAL_A, LITERAL_B, 0.4258823529411765, 0.03541338122551594],
    ['ties inside and across samples', [1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 3, 4, 4, 5, 5, 6, 7], 0.4166666666666667, 0.35170711641299884],
    [
      'discrete values, heavy ties (40 vs 30)',
      Array.from({ length: 40 }, (_, i) => i % 5),
      Array.from({ length: 30 }, (_, i) => ((i * 3) % 7) % 5),
      0.16666666666666666,
      0.677132831390203,
    ],
    ['100 vs 80, no difference', gen(100, 7919, 1000, 0), gen(80, 104729, 997, 0.05), 0.065, 0.9857675237629528],
    ['equal sizes (300 vs 300)', gen(300, 7919, 1000, 0), gen(300, 104729, 997, 0.08), 0.08333333333333333, 0.2488247843957968],
    ['a large shift (3000 vs 2000): a tiny p-value keeps its precision', gen(3000, 7919, 1000, 0), gen(2000, 104729, 997, 0.2), 0.2005, 1.1980176073272654e-42],
    ['one value each', [1], [2], 1, 1],
    ['fully separated 3 vs 2', [1, 2, 3], [4, 5], 1, 0.2],
  ];

  it.each(cases)('%s', (_name, a, b, statistic, pValue) => {
    const result = ksTwoSample(a, b);
    expect(result.method).toBe('exact');
    expect(result.statistic).toBeCloseTo(statistic, 14);
    expectRelativelyClose(result.pValue, pValue, 1e-9);
    // The test is symmetric in its samples.
    const swapped = ksTwoSample(b, a);
    expect(swapped.statistic).toBe(result.statistic);
    expectRelativelyClose(swapped.pValue, result.pValue, 1e-12);
  });

  it('gives D = 0 and p = 1 for identical samples, ties included', () => {
    const sample = [3, 1, 2, 2, 5, 5, 5, 0.5];
    expect(ksTwoSample(sample, [...sample].reverse())).toEqual({ statistic: 0, pValue: 1, method: 'exact', n1: 8, n2: 8 });
  });

  it('does not depend on the order of the input', () => {
    const a = gen(50, 7919, 1000, 0);
    const b = gen(40, 104729, 997, 0.1);
    expect(ksTwoSample([...a].reverse(), b)).toEqual(ksTwoSample(a, b));
  });
});

describe('ksTwoSample, asymptotic p-values', () => {
  it('uses the limiting Kolmogorov distribution above 10 000 values (kstwobign.sf(sqrt(en)·D))', () => {
    const result = ksTwoSample(gen(2000, 7919, 1000, 0), gen(12000, 104729, 997, 0.02));
    expect(result.method).toBe('asymp');
    expect(result.statistic).toBeCloseTo(0.02091666666666667, 14);
    expectRelativelyClose(result.pValue, 0.44129540420029273, 1e-9);
    // scipy's own 'asymp' (finite-n kstwo with n = round(en)) gives 0.4355170010731576 here.
    expectRelativelyClose(result.pValue, 0.4355170010731576, 0.02);
  });

  it('can be forced for small samples, where it is only an approximation', () => {
    const result = ksTwoSample(LITERAL_A, LITERAL_B, { method: 'asymp' });
    expect(result.method).toBe('asymp');
    expectRelativelyClose(result.pValue, 0.05091643087703787, 1e-9);
    // The exact value is 0.0354; scipy's 'asymp' says 0.0367: asymptotics are poor at these sizes.
  });

  it.each([
    [0.1, 1.0],
    [0.3, 0.9999906941986655],
    [0.5, 0.9639452436648751],
    [0.8, 0.5441424115741981],
    [1.0, 0.26999967167735456],
    [1.2, 0.11224966667072497],
    [1.36, 0.049485876755377876],
    [1.63, 0.009846364888486529],
    [2.0, 0.0006709252557796953],
    [3.0, 3.045995948942526e-8],
    [5.0, 3.8574996959278356e-22],
  ])('Q_KS(%p) matches scipy.special.kolmogorov', (lambda, expected) => {
    expectRelativelyClose(kolmogorovSurvival(lambda), expected, 1e-10);
  });

  it('is 1 at and below 0', () => {
    expect(kolmogorovSurvival(0)).toBe(1);
    expect(kolmogorovSurvival(-1)).toBe(1);
  });
});

describe('ksTwoSample input checks', () => {
  it.each([
    [[], [1], /sample1 is empty/],
    [[1], [], /sample2 is empty/],
    [[1, Number.NaN], [1], /sample1\[1\] is NaN/],
    [[1], [Number.POSITIVE_INFINITY], /sample2\[0\] is Infinity/],
  ])('rejects %p vs %p', (a, b, message) => {
    expect(() => ksTwoSample(a, b)).toThrow(message);
  });

  it('rejects an unknown method by name', () => {
    expect(() => ksTwoSample([1], [2], { method: 'fast' as never })).toThrow(/options.method is "fast"/);
  });
});
