import { confidenceOf, probabilitiesOfAi, verdictConfidence } from '../../src/detector/model/scores';

describe('probabilitiesOfAi', () => {
  it('applies softmax per row and picks the AI column', () => {
    const out = probabilitiesOfAi(new Float32Array([0, 0, 0, Math.log(3), 2, 0]), [3, 2], 'softmax', 1, 3);
    expect(out[0]).toBeCloseTo(0.5, 6);
    expect(out[1]).toBeCloseTo(0.75, 6);
    expect(out[2]).toBeCloseTo(1 / (1 + Math.exp(2)), 6);
  });

  it('is stable for large logits', () => {
    const out = probabilitiesOfAi(new Float32Array([1000, 1001]), [1, 2], 'softmax', 1, 1);
    expect(out[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('supports a single sigmoid logit and plain probabilities', () => {
    expect(probabilitiesOfAi(new Float32Array([0]), [1, 1], 'sigmoid', 0, 1)[0]).toBeCloseTo(0.5, 6);
    expect(probabilitiesOfAi(new Float32Array([0.2, 0.8]), [1, 2], 'none', 1, 1)[0]).toBeCloseTo(0.8, 6);
  });

  it('rejects output of the wrong shape', () => {
    expect(() => probabilitiesOfAi(new Float32Array(4), [2, 2], 'softmax', 1, 3)).toThrow('expected 3 rows');
  });
});

describe('confidenceOf', () => {
  it.each([
    [0.5, 0.5, 'low'],
    [0.69, 0.5, 'low'],
    [0.7, 0.5, 'medium'],
    [0.3, 0.5, 'medium'],
    [0.9, 0.5, 'high'],
    [0.1, 0.5, 'high'],
    [0.99, 0.5, 'high'],
    // threshold 0.8: 0.84 is 0.2 of the way from 0.8 to 1 → low; 0.2 is 0.75 of the way to 0 → medium.
    [0.84, 0.8, 'low'],
    [0.2, 0.8, 'medium'],
  ])('p=%p at threshold %p is %p', (p, threshold, band) => {
    expect(confidenceOf(p, threshold)).toBe(band);
  });
});

describe('verdictConfidence', () => {
  it.each([
    // Never "high" beside "uncertain", however far the score is from the threshold.
    ['uncertain', 'pixels', 0.99, 'low'],
    ['uncertain', 'pixels', 0.55, 'low'],
    ['ai_generated', 'pixels', 0.99, 'high'],
    ['real', 'pixels', 0.3, 'medium'],
    // A declaration in the file decides, whatever the pixels scored.
    ['ai_generated', 'c2pa', 0.05, 'high'],
    ['ai_generated', 'metadata', 0.5, 'high'],
  ] as const)('%s decided by %s at p=%p is %p', (verdict, decidedBy, p, expected) => {
    expect(verdictConfidence(verdict, decidedBy, p, 0.5)).toBe(expected);
  });
});
