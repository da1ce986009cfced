import { aggregatePatchLogits, meanEmbedding, oodScore } from '../../src/detector/scoring/patch-scores';

describe('aggregatePatchLogits', () => {
  it('is the sigmoid of the mean logit, with the logits’ spread', () => {
    const result = aggregatePatchLogits(new Float32Array([2, -1, 0, 3]));
    expect(result.probability).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(result.logitStd).toBeCloseTo(Math.sqrt((1 + 4 + 1 + 4) / 4), 6);
    expect(result.probabilities[1]).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
  });

  it('does not let one confident patch decide the image alone', () => {
    const result = aggregatePatchLogits([12, -2, -2, -2, -2, -2, -2, -2]);
    expect(result.probability).toBeLessThan(0.5);
    expect(Math.max(...result.probabilities)).toBeGreaterThan(0.99);
  });

  it('agrees with itself for one patch and refuses none', () => {
    expect(aggregatePatchLogits([0.7]).logitStd).toBe(0);
    expect(() => aggregatePatchLogits([])).toThrow(/at least one patch/);
  });
});

describe('OOD score', () => {
  const ood = {
    mean: [1, 2],
    whitening: [
      [2, 0],
      [0, 0.5],
    ],
  };

  it('is the whitened distance from the training mean', () => {
    expect(oodScore([1, 2], ood)).toBe(0);
    expect(oodScore([2, 2], ood)).toBeCloseTo(2, 10);
    expect(oodScore([1, 6], ood)).toBeCloseTo(2, 10);
    expect(oodScore([2, 6], ood)).toBeCloseTo(Math.sqrt(8), 10);
  });

  it('pools the patches of one image by their mean embedding', () => {
    const embeddings = new Float32Array([9, 9, 1, 2, 3, 4, 9, 9]);
    expect(Array.from(meanEmbedding(embeddings, 2, 1, 2))).toEqual([2, 3]);
  });

  it('refuses an embedding of the wrong size', () => {
    expect(() => oodScore([1, 2, 3], ood)).toThrow(/3 values; the OOD statistics have 2/);
  });
});

describe('calibration', () => {
  it('scales the mean logit by the version’s factor, leaving the patch probabilities and spread alone', () => {
    const plain = aggregatePatchLogits([1, 0.5]);
    const scaled = aggregatePatchLogits([1, 0.5], 2);
    expect(scaled.probability).toBeCloseTo(1 / (1 + Math.exp(-1.5)), 10);
    expect(scaled.probabilities).toEqual(plain.probabilities);
    expect(scaled.logitStd).toBe(plain.logitStd);
  });
});
