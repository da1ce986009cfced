import { computeImageFeatures, FEATURE_NAMES, round6 } from '../../src/monitoring/features/image-features';
import type { DecodedImage } from '../../src/detector/image/image-decoder';

/** Builds an image from one [r, g, b] per pixel, row by row. */
function image(pixelWidth: number, rows: Array<Array<[number, number, number]>>, source = { width: 1200, height: 900 }): DecodedImage {
  const pixels = new Uint8Array(rows.flat(2));
  return { format: 'jpeg', width: source.width, height: source.height, pixels, pixelWidth, pixelHeight: rows.length };
}

function grid(w: number, h: number, colour: (x: number, y: number) => [number, number, number]): DecodedImage {
  return image(
    w,
    Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => colour(x, y))),
  );
}

const BLACK: [number, number, number] = [0, 0, 0];
const WHITE: [number, number, number] = [255, 255, 255];

describe('computeImageFeatures, hand-computed values', () => {
  it('uniform grey: brightness 128/255, no contrast, no saturation, no edges', () => {
    const f = computeImageFeatures(
      grid(4, 4, () => [128, 128, 128]),
      1000,
    );
    expect(f.brightness).toBe(0.501961); // 128/255 = 0.50196078…
    expect(f.contrast).toBe(0);
    expect(f.saturation).toBe(0);
    expect(f.sharpness).toBe(0);
  });

  it('pure red: luma is the red weight 0.299, saturation 1', () => {
    const f = computeImageFeatures(
      grid(3, 3, () => [255, 0, 0]),
      10,
    );
    expect(f.brightness).toBe(0.299);
    expect(f.saturation).toBe(1);
    expect(f.contrast).toBe(0);
  });

  it('black/white checkerboard: mean 0.5, std 0.5, Laplacian ±4 on the interior, variance 16', () => {
    // Each interior pixel's four neighbours have the opposite value: L = 4(1 - v) - 4v = ±4.
    const f = computeImageFeatures(
      grid(4, 4, (x, y) => ((x + y) % 2 === 1 ? WHITE : BLACK)),
      10,
    );
    expect(f.brightness).toBe(0.5);
    expect(f.contrast).toBe(0.5);
    expect(f.saturation).toBe(0);
    expect(f.sharpness).toBe(16);
  });

  it('one white pixel in a 5×5 black image', () => {
    // Interior 3×3 Laplacian: centre -4, its four neighbours +1, corners 0 → mean 0, variance 20/9.
    // Luma: one 1 in 25 → mean 0.04, variance 0.04 - 0.0016 = 0.0384, std 0.1959592.
    const f = computeImageFeatures(
      grid(5, 5, (x, y) => (x === 2 && y === 2 ? WHITE : BLACK)),
      10,
    );
    expect(f.brightness).toBe(0.04);
    expect(f.contrast).toBe(0.195959);
    expect(f.sharpness).toBe(round6(20 / 9));
  });

  it('a linear gradient has no Laplacian response', () => {
    const f = computeImageFeatures(
      grid(5, 3, (x) => [x * 50, x * 50, x * 50]),
      10,
    );
    expect(f.sharpness).toBeCloseTo(0, 12);
    expect(f.brightness).toBe(round6(100 / 255));
  });

  it('saturation and brightness of four different pixels', () => {
    // HSV saturation (max - min) / max: 1, 0.5, 0 (black), 0 (grey) → mean 0.375.
    // Luma: (0.299·255 + 0.587·128)/255, (0.299·100 + 0.587·50 + 0.114·50)/255, 0, 200/255 → mean 0.4081676.
    const f = computeImageFeatures(
      image(2, [
        [
          [255, 128, 0],
          [100, 50, 50],
        ],
        [BLACK, [200, 200, 200]],
      ]),
      10,
    );
    expect(f.saturation).toBe(0.375);
    expect(f.brightness).toBe(0.408168);
    expect(f.contrast).toBe(0.302507);
    expect(f.sharpness).toBe(0); // narrower than 3 pixels: no interior
  });

  it('reports the source size, bytes and format, and derived size features', () => {
    const f = computeImageFeatures({ ...grid(3, 3, () => WHITE), width: 1200, height: 900, format: 'webp' }, 183_342);
    expect(f).toMatchObject({ width: 1200, height: 900, bytes: 183_342, format: 'webp', aspect_ratio: 1.33333, megapixels: 1.08 });
  });

  it('returns every feature drift compares as a finite number', () => {
    const f = computeImageFeatures(
      grid(8, 8, (x, y) => [x * 30, y * 30, (x * y) % 256]),
      5,
    );
    for (const name of FEATURE_NAMES) expect(Number.isFinite(f[name])).toBe(true);
  });
});

describe('computeImageFeatures input checks', () => {
  it('rejects pixels that do not match the stated size, naming the field', () => {
    const bad = { ...grid(2, 2, () => WHITE), pixelWidth: 3 };
    expect(() => computeImageFeatures(bad, 1)).toThrow(/image.pixels has 12 bytes; 3×2 RGB needs exactly 18/);
  });

  it('rejects a negative or fractional byte count', () => {
    expect(() =>
      computeImageFeatures(
        grid(2, 2, () => WHITE),
        -1,
      ),
    ).toThrow(/bytes is -1/);
    expect(() =>
      computeImageFeatures(
        grid(2, 2, () => WHITE),
        1.5,
      ),
    ).toThrow(/bytes is 1.5/);
  });
});
