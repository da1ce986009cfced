/** The pure parts of /explain: boxes back in image coordinates, patch grids, the heatmap and its PNG. */
import { inflateSync } from 'node:zlib';
import type { DecodedImage, ImageHeader } from '../../src/detector/image/image-decoder';
import { encodeRgbPng } from '../../src/detector/image/png-encoder';
import {
  GRID,
  heatmapSize,
  inputBoxToImage,
  OCCLUSION_GREY,
  occludedVariants,
  occlusionExplanation,
  paintHeatmap,
  patchExplanation,
} from '../../src/detector/scoring/explain-image';
import type { PreparedImage } from '../../src/detector/scoring/score-images';

function prepared(width: number, height: number, orientation = 1, input = 32): PreparedImage {
  const header: ImageHeader = { format: 'png', width, height, orientation, animated: false };
  const shown = orientation >= 5 ? { width: height, height: width } : { width, height };
  const decoded: DecodedImage = { format: 'png', ...shown, pixels: new Uint8Array(input * input * 3).fill(200), pixelWidth: input, pixelHeight: input };
  return { header, decoded, bytes: 100, decodeMs: 1 };
}

describe('inputBoxToImage', () => {
  it.each([
    ['cover, landscape: the centre square', 800, 400, 1, 'cover', { x: 0, y: 0, width: 16, height: 16 }, { x: 200, y: 0, width: 200, height: 200 }],
    ['cover, portrait', 300, 600, 1, 'cover', { x: 16, y: 16, width: 16, height: 16 }, { x: 150, y: 300, width: 150, height: 150 }],
    ['fill stretches', 800, 400, 1, 'fill', { x: 16, y: 0, width: 16, height: 16 }, { x: 400, y: 0, width: 400, height: 200 }],
    ['EXIF-rotated: displayed coordinates', 400, 800, 6, 'cover', { x: 0, y: 0, width: 32, height: 32 }, { x: 200, y: 0, width: 400, height: 400 }],
  ] as const)('%s', (_name, width, height, orientation, resize, box, expected) => {
    expect(inputBoxToImage(prepared(width, height, orientation), { width: 32, height: 32, resize }, box)).toEqual(expected);
  });
});

describe('occlusion', () => {
  it('greys one cell per variant, row by row', () => {
    const variants = occludedVariants(prepared(64, 64).decoded);
    expect(variants).toHaveLength(GRID * GRID);
    const second = variants[1]!.pixels;
    // Cell (0, 1) is x 8..15, y 0..7 of the 32×32 input.
    expect(second[(0 * 32 + 8) * 3]).toBe(OCCLUSION_GREY);
    expect(second[(0 * 32 + 7) * 3]).toBe(200);
    expect(second[(8 * 32 + 8) * 3]).toBe(200);
  });

  it('weighs cells by their drop relative to the largest', () => {
    const occluded = new Float32Array(GRID * GRID).fill(0.8);
    occluded[5] = 0.4;
    occluded[6] = 0.9;
    const explanation = occlusionExplanation(prepared(64, 64), { width: 32, height: 32, resize: 'cover' }, 0.8, occluded);
    expect(explanation.cells[5]).toMatchObject({ row: 1, col: 1, drop: 0.4, weight: 1, box: { x: 16, y: 16, width: 16, height: 16 } });
    expect(explanation.cells[6]).toMatchObject({ drop: -0.1, weight: 0 });
    expect(explanation.cells[0]).toMatchObject({ drop: 0, weight: 0 });
  });
});

describe('patchExplanation', () => {
  it('lays the patch scores of a patch model out as a grid', () => {
    const boxes = [
      { x: 0, y: 0, width: 50, height: 50 },
      { x: 50, y: 0, width: 50, height: 50 },
      { x: 0, y: 50, width: 50, height: 50 },
      { x: 50, y: 50, width: 50, height: 50 },
    ];
    const explanation = patchExplanation({ boxes, probabilities: [0.1, 0.9, 0.2, 0.95], logitStd: 1.7 });
    expect([explanation.method, explanation.rows, explanation.cols]).toEqual(['patches', 2, 2]);
    expect(explanation.cells[3]).toEqual({ row: 1, col: 1, box: boxes[3], probability: 0.95, weight: 0.95 });
  });
});

describe('heatmap', () => {
  it.each([
    [4000, 3000, { width: 512, height: 384 }],
    [300, 1200, { width: 128, height: 512 }],
    [320, 240, { width: 320, height: 240 }],
  ])('sizes %d×%d to at most 512 px', (width, height, expected) => {
    expect(heatmapSize(width, height)).toEqual(expected);
  });

  it('tints weighted cells red and dims what no cell covers', () => {
    const image: DecodedImage = { format: 'png', width: 4, height: 2, pixels: new Uint8Array(4 * 2 * 3).fill(100), pixelWidth: 4, pixelHeight: 2 };
    const painted = paintHeatmap(
      image,
      { method: 'patches', rows: 1, cols: 1, cells: [{ row: 0, col: 0, box: { x: 0, y: 0, width: 2, height: 2 }, probability: 1, weight: 1 }] },
      4,
      2,
    );
    expect([...painted.subarray(0, 3)]).toEqual([201, 35, 35]);
    expect([...painted.subarray(3 * 3, 3 * 3 + 3)]).toEqual([50, 50, 50]);
  });

  it('encodes RGB pixels as a PNG whose rows inflate back to them', () => {
    const pixels = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 10);
    const png = encodeRgbPng(pixels, 3, 2);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([3, 2]);
    const idatLength = png.readUInt32BE(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect([...raw]).toEqual([0, ...pixels.subarray(0, 9), 0, ...pixels.subarray(9)]);
    expect(() => encodeRgbPng(pixels, 4, 2)).toThrow(RangeError);
  });
});
