import type { DecodedImage } from '../../src/detector/image/image-decoder';
import { type PreprocessingSpec, resampleBilinear, resizeGeometry, resizeRgb, resizeSpecFrom, toInputTensor } from '../../src/detector/image/preprocess';

const HALF: PreprocessingSpec = { width: 2, height: 1, channel_order: 'RGB', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

function image(width: number, height: number, rgb: number[]): DecodedImage {
  return { format: 'png', width, height, pixels: Uint8Array.from(rgb), pixelWidth: width, pixelHeight: height };
}

describe('resizeSpecFrom', () => {
  it('defaults to a bilinear cover resize, as training does', () => {
    expect(resizeSpecFrom({ width: 224, height: 224 })).toEqual({ width: 224, height: 224, resize: 'cover', interpolation: 'bilinear' });
    expect(resizeSpecFrom({ width: 64, height: 32, resize: 'fill', interpolation: 'bilinear' })).toEqual({
      width: 64,
      height: 32,
      resize: 'fill',
      interpolation: 'bilinear',
    });
  });

  it.each([
    [{ width: 0, height: 224 }, /preprocessing\.width must be a positive integer, got 0/],
    [{ width: 224, height: 22.5 }, /preprocessing\.height must be a positive integer, got 22\.5/],
    [{ width: 224, height: 224, resize: 'contain' as never }, /preprocessing\.resize must be 'cover' or 'fill', got "contain"/],
    [{ width: 224, height: 224, interpolation: 'bicubic' as never }, /preprocessing\.interpolation must be 'bilinear', got "bicubic"/],
  ])('rejects %j', (pre, message) => {
    expect(() => resizeSpecFrom(pre)).toThrow(message);
  });
});

describe('resizeGeometry (training/preprocess.py cover_dimensions and crop_offsets)', () => {
  it.each([
    // width, height, target -> scaled size and crop corner
    [320, 240, 128, 128, { scaledWidth: 171, scaledHeight: 128, left: 21, top: 0 }],
    [240, 320, 128, 128, { scaledWidth: 128, scaledHeight: 171, left: 0, top: 21 }],
    [128, 128, 128, 128, { scaledWidth: 128, scaledHeight: 128, left: 0, top: 0 }],
    [16, 16, 128, 128, { scaledWidth: 128, scaledHeight: 128, left: 0, top: 0 }],
    [100, 50, 16, 16, { scaledWidth: 32, scaledHeight: 16, left: 8, top: 0 }],
    // floor(7 * 3 / 2 + 0.5) = 11: half rounds up (Python's round() would give 10).
    [7, 2, 3, 3, { scaledWidth: 11, scaledHeight: 3, left: 4, top: 0 }],
    // A non-square target: the limiting side is the one that must grow the most.
    [320, 240, 64, 40, { scaledWidth: 64, scaledHeight: 48, left: 0, top: 4 }],
    [100000, 16, 128, 128, { scaledWidth: 800000, scaledHeight: 128, left: 399936, top: 0 }],
  ])('%i×%i to %i×%i cover', (width, height, tw, th, expected) => {
    expect(resizeGeometry(width, height, { width: tw, height: th, resize: 'cover' })).toEqual(expected);
  });

  it('fill stretches to the target and crops nothing', () => {
    expect(resizeGeometry(320, 240, { width: 32, height: 32, resize: 'fill' })).toEqual({ scaledWidth: 32, scaledHeight: 32, left: 0, top: 0 });
  });

  it('rejects an empty source', () => {
    expect(() => resizeGeometry(0, 10, { width: 8, height: 8, resize: 'cover' })).toThrow('image is 0×10; both sides must be positive');
  });
});

describe('resampleBilinear (Pillow BILINEAR, reducing_gap=None)', () => {
  // A 4×3 image with edges and colours; expected values come from Pillow 9.4:
  // np.asarray(Image.fromarray(a).resize(size, Image.BILINEAR, reducing_gap=None)). Exact: tolerance 0.
  const source = Uint8Array.from([
    0, 0, 0, 100, 50, 25, 200, 100, 50, 255, 255, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128,
  ]);

  it.each([
    [2, 2, [56, 38, 30, 160, 133, 121, 80, 84, 42, 64, 90, 140]],
    [3, 3, [30, 15, 7, 150, 75, 38, 239, 209, 194, 19, 29, 39, 55, 65, 75, 91, 101, 111, 179, 76, 0, 0, 128, 128, 90, 90, 166]],
    [
      6,
      5,
      [
        0, 0, 0, 50, 25, 13, 117, 58, 29, 183, 92, 46, 228, 178, 153, 255, 255, 255, 4, 8, 12, 40, 29, 26, 88, 57, 43, 136, 85, 62, 171, 145, 134, 193, 197,
        201, 10, 20, 30, 25, 35, 45, 45, 55, 65, 65, 75, 85, 85, 95, 105, 100, 110, 120, 157, 8, 12, 87, 91, 18, 18, 149, 52, 26, 56, 161, 72, 76, 157, 117,
        121, 125, 255, 0, 0, 128, 128, 0, 0, 212, 43, 0, 43, 212, 64, 64, 192, 128, 128, 128,
      ],
    ],
  ])('4×3 to %i×%i matches Pillow exactly', (w, h, expected) => {
    expect(Array.from(resampleBilinear(source, 4, 3, 3, w, h))).toEqual(expected);
  });

  it('averages every source pixel under the widened triangle when it halves (hand-computed)', () => {
    // Output 0 is centred on input 1.0 with weights 0.75, 0.75, 0.25 (sum 1.75): 500 / 7 = 71.4.
    // Output 1 is centred on 3.0 with weights 0.25, 0.75, 0.75: (25 + 150 + 191.25) / 1.75 = 209.3.
    const row = Uint8Array.from([0, 100, 200, 255]);
    expect(Array.from(resampleBilinear(row, 4, 1, 1, 2, 1))).toEqual([71, 209]);
  });

  it('computes a window equal to resizing and then cropping', () => {
    const full = resampleBilinear(source, 4, 3, 3, 7, 5);
    const window = resampleBilinear(source, 4, 3, 3, 7, 5, { left: 2, top: 1, width: 3, height: 3 });
    const cropped: number[] = [];
    for (let y = 1; y < 4; y++) cropped.push(...Array.from(full.subarray((y * 7 + 2) * 3, (y * 7 + 5) * 3)));
    expect(Array.from(window)).toEqual(cropped);
  });

  it('returns the same pixels when the size does not change', () => {
    expect(Array.from(resampleBilinear(source, 4, 3, 3, 4, 3))).toEqual(Array.from(source));
  });

  it('rejects inconsistent arguments with messages that name them', () => {
    expect(() => resampleBilinear(source, 4, 4, 3, 2, 2)).toThrow('pixels has 36 bytes; 4×4×3 needs 48');
    expect(() => resampleBilinear(source, 4, 3, 3, 0, 2)).toThrow('output size must be positive integers, got 0×2');
    expect(() => resampleBilinear(source, 4, 3, 3, 4, 4, { left: 2, top: 0, width: 3, height: 4 })).toThrow('window 3×4 at (2, 0) is not inside 4×4');
  });
});

describe('resizeRgb', () => {
  const halves = (width: number, height: number): Uint8Array => {
    const pixels: number[] = [];
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.push(...(x < width / 2 ? [0, 0, 0] : [255, 255, 255]));
    return Uint8Array.from(pixels);
  };

  it('only crops when the short side already fits: 8×6 to 6×6 keeps columns 1..6', () => {
    const out = resizeRgb(halves(8, 6), 8, 6, { width: 6, height: 6, resize: 'cover' });
    expect(Array.from(out.subarray(0, 18)).filter((_, i) => i % 3 === 0)).toEqual([0, 0, 0, 255, 255, 255]);
  });

  it('cover = resize to the geometry, then the centre crop', () => {
    const source = halves(16, 12);
    const out = resizeRgb(source, 16, 12, { width: 6, height: 6, resize: 'cover' });
    const scaled = resampleBilinear(source, 16, 12, 3, 8, 6);
    const cropped: number[] = [];
    for (let y = 0; y < 6; y++) cropped.push(...Array.from(scaled.subarray((y * 8 + 1) * 3, (y * 8 + 7) * 3)));
    expect(Array.from(out)).toEqual(cropped);
  });

  it('fill stretches without cropping, averaging across the edge', () => {
    // 16 → 4 columns: output 1 is centred on input 6 with triangle weights over inputs 2..9 summing
    // to 4, of which inputs 8 and 9 (white) carry 0.375 + 0.125: 255 × 0.5 / 4 = 31.9 → 32.
    const out = resizeRgb(halves(16, 12), 16, 12, { width: 4, height: 2, resize: 'fill' });
    expect(Array.from(out.subarray(0, 12)).filter((_, i) => i % 3 === 0)).toEqual([0, 32, 223, 255]);
  });
});

describe('toInputTensor', () => {
  it('scales, normalises and lays out NCHW (RGB), matching numpy float32 exactly', () => {
    // Two pixels: (0, 128, 255) and (1, 127, 254). Expected values are numpy float32 results of
    // (p * float32(1/255) - 0.5) / 0.5; exact to float32 (tolerance 0).
    const out = toInputTensor([image(2, 1, [0, 128, 255, 1, 127, 254])], HALF);
    expect(Array.from(out)).toEqual([
      -1,
      -0.9921568632125854, // R plane
      0.003921627998352051,
      -0.0039215087890625, // G plane
      1,
      0.992156982421875, // B plane
    ]);
  });

  it('uses per-channel mean and std (ImageNet statistics) within 1e-6', () => {
    const pre: PreprocessingSpec = { ...HALF, width: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const out = toInputTensor([image(1, 1, [128, 0, 255])], pre);
    // numpy float32: R (128/255 - 0.485) / 0.229, B (255/255 - 0.406) / 0.225.
    expect(out[0]).toBeCloseTo(0.07406462728977203, 6);
    expect(out[1]).toBeCloseTo((0 - 0.456) / 0.224, 6);
    expect(out[2]).toBeCloseTo(2.640000104904175, 6);
  });

  it('puts blue first for BGR models', () => {
    const out = toInputTensor([image(2, 1, [0, 128, 255, 1, 127, 254])], { ...HALF, channel_order: 'BGR' });
    expect(Array.from(out)).toEqual([1, 0.992156982421875, 0.003921627998352051, -0.0039215087890625, -1, -0.9921568632125854]);
  });

  it('stacks a batch image after image', () => {
    const pre = { ...HALF, scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
    const out = toInputTensor([image(2, 1, [1, 2, 3, 4, 5, 6]), image(2, 1, [7, 8, 9, 10, 11, 12])], pre);
    expect(Array.from(out)).toEqual([1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12]);
    expect(toInputTensor([], pre)).toHaveLength(0);
  });

  it('rejects an image of the wrong size, naming it', () => {
    expect(() => toInputTensor([image(2, 1, [0, 0, 0, 0, 0, 0]), image(1, 1, [0, 0, 0])], HALF)).toThrow(
      'images[1] is 1×1 with 3 bytes; the model needs 2×1×3 = 6 bytes',
    );
    const short = { ...image(2, 1, [0, 0, 0]), pixels: Uint8Array.from([0, 0, 0]) };
    expect(() => toInputTensor([short], HALF)).toThrow('images[0] is 2×1 with 3 bytes');
  });

  it.each([
    [{ mean: [0.5, 0.5] }, 'preprocessing.mean must be 3 finite numbers, got [0.5,0.5]'],
    [{ std: [0.5, 0, 0.5] }, 'preprocessing.std must not contain 0, got [0.5,0,0.5]'],
    [{ std: [0.5, Number.NaN, 0.5] }, 'preprocessing.std must be 3 finite numbers'],
    [{ scale: 0 }, 'preprocessing.scale must be a positive number, got 0'],
    [{ channel_order: 'RGBA' as never }, `preprocessing.channel_order must be 'RGB' or 'BGR', got "RGBA"`],
    [{ width: 0 }, 'preprocessing width and height must be positive integers, got 0×1'],
  ])('rejects %j', (change, message) => {
    expect(() => toInputTensor([image(2, 1, [0, 0, 0, 0, 0, 0])], { ...HALF, ...change })).toThrow(message);
  });
});
