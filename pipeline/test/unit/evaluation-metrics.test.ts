import { binaryMetrics, confusionMatrix, expectedCalibrationError, reliabilityBins, rocAuc } from '../../src/evaluation-metrics';

describe('binaryMetrics', () => {
  // Hand-computed: 0.9 → TP, 0.4 → FN, 0.6 → FP, 0.1 → TN.
  const labels = [1, 1, 0, 0];
  const scores = [0.9, 0.4, 0.6, 0.1];

  it('computes the confusion matrix and the threshold metrics', () => {
    const m = binaryMetrics(labels, scores);
    expect(m.confusion).toEqual({ tp: 1, fn: 1, fp: 1, tn: 1 });
    expect(m).toMatchObject({ n: 4, positives: 2, negatives: 2, accuracy: 0.5, precision: 0.5, recall: 0.5, f1: 0.5 });
    // (0.01 + 0.36 + 0.36 + 0.01) / 4
    expect(m.brier).toBeCloseTo(0.185, 12);
  });

  it('moves predictions with the threshold (P(AI) >= threshold is AI)', () => {
    expect(confusionMatrix(labels, scores, 0.6)).toEqual({ tp: 1, fn: 1, fp: 1, tn: 1 });
    expect(confusionMatrix(labels, scores, 0.35)).toEqual({ tp: 2, fn: 0, fp: 1, tn: 1 });
    const m = binaryMetrics(labels, scores, 0.35);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBe(1);
    expect(m.f1).toBeCloseTo(0.8, 12);
  });

  it('gives 0 rather than NaN where a denominator is 0', () => {
    const m = binaryMetrics([0, 0], [0.1, 0.2]);
    expect(m).toMatchObject({ precision: 0, recall: 0, f1: 0, accuracy: 1, roc_auc: null });
  });

  it('rejects mismatched lengths, bad labels and scores outside [0, 1]', () => {
    expect(() => binaryMetrics([1], [0.5, 0.5])).toThrow('same length');
    expect(() => binaryMetrics([2], [0.5])).toThrow('labels[0] is 2');
    expect(() => binaryMetrics([1], [1.5])).toThrow('scores[0] is 1.5');
    expect(() => binaryMetrics([1], [Number.NaN])).toThrow('scores[0] is NaN');
  });
});

describe('rocAuc', () => {
  it.each([
    // 3 of the 4 positive/negative pairs are ordered correctly.
    ['distinct scores', [1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1], 0.75],
    // pairs: (0.5, 0.5) tie = ½, (0.5, 0.2) = 1, (0.8, 0.5) = 1, (0.8, 0.2) = 1 → 3.5 / 4
    ['a tie across classes counts one half', [1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2], 0.875],
    ['every score tied', [1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3], 0.5],
    ['perfect ranking', [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], 1],
    ['inverted ranking', [1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], 0],
    // ties within a class do not matter: positives {0.7, 0.7}, negatives {0.2, 0.7}: (0.7,0.2)×2 = 2, (0.7,0.7)×2 = 1 → 3/4
    ['ties within and across classes', [1, 1, 0, 0], [0.7, 0.7, 0.2, 0.7], 0.75],
  ])('%s', (_name, labels, scores, expected) => {
    expect(rocAuc(labels, scores)).toBeCloseTo(expected, 12);
  });

  it('is null with one class only', () => {
    expect(rocAuc([1, 1], [0.2, 0.9])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
  });
});

describe('expected calibration error (10 equal-width bins of P(AI))', () => {
  it('weights each bin by its share of the images', () => {
    // Each image is alone in its bin: |1 - 0.9|, |1 - 0.4|, |0 - 0.6|, |0 - 0.1|, each weighted ¼.
    expect(expectedCalibrationError([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1])).toBeCloseTo(0.35, 12);
    // Bin [0.1, 0.2): mean P 0.15, share AI ⅓, weight ¾; bin [0.8, 0.9): |1 - 0.85|, weight ¼.
    expect(expectedCalibrationError([0, 1, 0, 1], [0.15, 0.12, 0.18, 0.85])).toBeCloseTo(0.75 * (1 / 3 - 0.15) + 0.25 * 0.15, 12);
  });

  it('measures the gap between mean P(AI) and the share of AI images', () => {
    expect(expectedCalibrationError([1, 0, 1, 0], [0.55, 0.55, 0.55, 0.55])).toBeCloseTo(0.05, 12);
  });

  it('is 0 for a perfectly calibrated score and for no images', () => {
    expect(expectedCalibrationError([1, 1, 0, 0, 0], [1, 1, 0, 0, 0])).toBe(0);
    expect(expectedCalibrationError([], [])).toBe(0);
  });

  it('puts 1.0 in the last bin and bin edges in the upper bin', () => {
    const bins = reliabilityBins([1, 0, 1], [1, 0.1, 0.9]);
    expect(bins).toHaveLength(10);
    expect(bins[9]).toEqual({ lower: 0.9, upper: 1, count: 2, mean_probability: 0.95, positive_rate: 1 });
    expect(bins[1]).toMatchObject({ count: 1, mean_probability: 0.1, positive_rate: 0 });
    expect(bins[0]).toEqual({ lower: 0, upper: 0.1, count: 0, mean_probability: null, positive_rate: null });
  });
});
