/** The uncertainty band from validation predictions (pipeline/src/uncertainty-band.ts). */
import { computeUncertaintyBand, MIN_WINDOW } from '../../src/uncertainty-band';

/** `count` predictions at probability p, `wrong` of them on the wrong side of 0.5. */
function group(p: number, count: number, wrong: number): Array<{ p: number; label: 0 | 1 }> {
  const right: 0 | 1 = p >= 0.5 ? 1 : 0;
  return Array.from({ length: count }, (_, i) => ({ p, label: i < wrong ? ((1 - right) as 0 | 1) : right }));
}

function band(items: Array<{ p: number; label: 0 | 1 }>) {
  return computeUncertaintyBand(
    items.map((item) => item.label),
    items.map((item) => item.p),
    0.5,
  );
}

describe('computeUncertaintyBand', () => {
  it('covers the probabilities where accuracy is below 90 % and no further', () => {
    // Near the threshold: 40 predictions at 0.45/0.55, half wrong; far: 400 at 0.05/0.95, all right.
    const result = band([...group(0.45, 20, 10), ...group(0.55, 20, 10), ...group(0.05, 200, 0), ...group(0.95, 200, 0)]);
    expect(result.window).toBe(22);
    expect(result.band).toEqual([0.45, 0.55]);
    expect(result.share_in_band).toBeCloseTo(40 / 440, 4);
    expect(result.accuracy_outside).toBe(1);
    expect(result.images).toBe(440);
  });

  it('is [threshold, threshold] where every window reaches the target', () => {
    const result = band([...group(0.3, 30, 1), ...group(0.7, 30, 1), ...group(0.02, 100, 0)]);
    expect(result.band).toEqual([0.5, 0.5]);
    expect(result.share_in_band).toBe(0);
    expect(result.accuracy_outside).toBeCloseTo(158 / 160, 4);
  });

  it('is not widened by one wrong prediction far from the threshold', () => {
    const result = band([...group(0.9, 100, 1), ...group(0.1, 100, 0)]);
    expect(result.band).toEqual([0.5, 0.5]);
  });

  it('spans everything for a model no better than chance, with nothing outside', () => {
    const result = band([...group(0.2, MIN_WINDOW, 10), ...group(0.8, MIN_WINDOW, 10)]);
    expect(result.band).toEqual([0.2, 0.8]);
    expect(result.share_in_band).toBe(1);
    expect(result.accuracy_outside).toBeNull();
  });

  it('uses all predictions as one window when there are fewer than the minimum', () => {
    expect(band(group(0.6, 5, 0)).window).toBe(5);
  });

  it('refuses mismatched or empty input', () => {
    expect(() => computeUncertaintyBand([1], [0.5, 0.6], 0.5)).toThrow(RangeError);
    expect(() => computeUncertaintyBand([], [], 0.5)).toThrow(/at least one/);
  });
});
