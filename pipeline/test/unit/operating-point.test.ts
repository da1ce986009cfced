import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { computeOperatingPoint, measureOperatingPoint, operatingPointBand, thresholdsFor, wilsonInterval } from '../../src/operating-point';

interface PointCase {
  name: string;
  reals: number[];
  fakes: number[];
  target_fpr: number;
  target_fnr: number;
  ai_threshold: number;
  real_threshold: number;
  fpr_ci: [number, number];
}

/** training/operating_point.py's answers (python3 -m training.operating_point_cases), which the held-out folds decide by. */
const CASES = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'functions', 'test', 'fixtures', 'operating-point-cases.json'), 'utf8')) as {
    cases: PointCase[];
  }
).cases;

describe('computeOperatingPoint and training/operating_point.py', () => {
  it('share a table of cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(10);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('decide alike: %s', (_, c) => {
    const labels = [...c.reals.map(() => 0 as const), ...c.fakes.map(() => 1 as const)];
    const point = computeOperatingPoint(labels, [...c.reals, ...c.fakes], { target_fpr: c.target_fpr, target_fnr: c.target_fnr });
    expect([point.ai_threshold, point.real_threshold]).toEqual([c.ai_threshold, c.real_threshold]);
    expect(point.fpr_ci).toEqual(c.fpr_ci);
  });
});

/** A seeded spread of probabilities: `n` values from `low` to `high`. */
const spread = (n: number, low: number, high: number) => Array.from({ length: n }, (_, i) => low + ((high - low) * i) / (n - 1));

describe('computeOperatingPoint', () => {
  const reals = spread(200, 0.01, 0.7);
  const fakes = spread(100, 0.3, 0.99);
  const labels = [...reals.map(() => 0 as const), ...fakes.map(() => 1 as const)];
  const point = computeOperatingPoint(labels, [...reals, ...fakes], { target_fpr: 0.02, target_fnr: 0.02 });

  it('calls at most the target share of validation real photos AI', () => {
    expect(reals.filter((p) => p >= point.ai_threshold).length).toBeLessThanOrEqual(4);
    expect(point.fpr).toBeLessThanOrEqual(0.02);
    // The next lower threshold step would call a fifth real photo AI: the threshold is the lowest allowed.
    expect(reals.filter((p) => p >= point.ai_threshold - 0.0001).length).toBeGreaterThan(4);
  });

  it('calls at most the target share of fakes real, and the band ends at the threshold', () => {
    expect(fakes.filter((p) => p < point.real_threshold).length).toBeLessThanOrEqual(2);
    expect(point.real_threshold).toBeLessThanOrEqual(point.ai_threshold);
    const band = operatingPointBand(point, labels.length);
    expect(band.band).toEqual([point.real_threshold, point.ai_threshold]);
    expect(band.share_in_band).toBe(point.share_uncertain);
  });

  it('reports the rates with intervals that contain them', () => {
    expect(point.fpr_ci[0]).toBeLessThanOrEqual(point.fpr);
    expect(point.fpr_ci[1]).toBeGreaterThanOrEqual(point.fpr);
    expect(point.tpr).toBeCloseTo(fakes.filter((p) => p >= point.ai_threshold).length / fakes.length, 4);
    const decidedReals = reals.filter((p) => p < point.real_threshold || p >= point.ai_threshold);
    const decidedFakes = fakes.filter((p) => p < point.real_threshold || p >= point.ai_threshold);
    const right = reals.filter((p) => p < point.real_threshold).length + fakes.filter((p) => p >= point.ai_threshold).length;
    expect(point.accuracy_decided).toBeCloseTo(right / (decidedReals.length + decidedFakes.length), 4);
  });

  it('has no uncertain band where the classes are apart', () => {
    const apart = computeOperatingPoint([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], { target_fpr: 0.02, target_fnr: 0.02 });
    expect(apart.real_threshold).toBeLessThanOrEqual(apart.ai_threshold);
    expect(apart.fpr).toBe(0);
    expect(apart.tpr).toBe(1);
  });

  it('refuses a validation split with one class', () => {
    expect(() => computeOperatingPoint([0, 0], [0.1, 0.2], { target_fpr: 0.02, target_fnr: 0.02 })).toThrow('both classes');
  });
});

describe('measureOperatingPoint', () => {
  const targets = { target_fpr: 0.02, target_fnr: 0.02 };
  const labels = [0, 0, 0, 0, 1, 1, 1, 1] as const;
  const probabilities = [0.05, 0.2, 0.5, 0.7, 0.3, 0.6, 0.8, 0.95];

  it('reads validation at thresholds set elsewhere, and keeps where they came from', () => {
    const heldOut = {
      folds: ['REAL/a', 'REAL/b'],
      real_images: 10,
      generator_images: 20,
      cross_fold: {
        fpr: 0.1,
        fpr_ci: [0.02, 0.4] as [number, number],
        tpr: 0.5,
        tpr_ci: [0.3, 0.7] as [number, number],
        fnr: 0.05,
        share_uncertain_in_source: 0.3,
      },
    };
    const point = measureOperatingPoint([...labels], probabilities, targets, { ai_threshold: 0.75, real_threshold: 0.25 }, heldOut);
    expect(point).toMatchObject({ ai_threshold: 0.75, real_threshold: 0.25, fpr: 0, tpr: 0.5, fnr: 0, held_out: heldOut });
    // 0.5, 0.7 (real) and 0.3, 0.6 (fake) are between the thresholds.
    expect(point.share_uncertain).toBe(0.5);
    expect(point.accuracy_decided).toBe(1);
    expect(operatingPointBand(point, 8).method).toContain('set on held-out collections');
  });

  it('is computeOperatingPoint when the thresholds come from the same scores', () => {
    const reals = probabilities.filter((_, i) => labels[i] === 0);
    const fakes = probabilities.filter((_, i) => labels[i] === 1);
    expect(measureOperatingPoint([...labels], probabilities, targets, thresholdsFor(reals, fakes, targets))).toEqual(
      computeOperatingPoint([...labels], probabilities, targets),
    );
  });
});

describe('wilsonInterval', () => {
  it('is the 95 % Wilson interval', () => {
    const [low, high] = wilsonInterval(2, 100);
    expect(low).toBeCloseTo(0.0055, 3);
    expect(high).toBeCloseTo(0.07, 3);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });
});
