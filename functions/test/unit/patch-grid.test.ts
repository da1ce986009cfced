import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DecodedImage } from '../../src/detector/image/image-decoder';
import { extractPatches, PATCH_ALIGN, patchGrid } from '../../src/detector/image/patch-grid';

interface GridCase {
  width: number;
  height: number;
  size: number;
  count: number;
  boxes: Array<[number, number, number, number]>;
}

const cases = (JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'patch-grid-cases.json'), 'utf8')) as { cases: GridCase[] }).cases;

describe('patchGrid', () => {
  it.each(cases.map((c) => [`${c.width}×${c.height}, ${c.count} of ${c.size} px`, c] as const))('matches training/patches.py for %s', (_, c) => {
    expect(patchGrid(c.width, c.height, c.size, c.count).map((b) => [b.x, b.y, b.width, b.height])).toEqual(c.boxes);
  });

  it.each(cases.map((c) => [`${c.width}×${c.height}, ${c.count} of ${c.size} px`, c] as const))('is bounded, aligned and inside the image for %s', (_, c) => {
    const boxes = patchGrid(c.width, c.height, c.size, c.count);
    expect(boxes.length).toBeGreaterThanOrEqual(1);
    expect(boxes.length).toBeLessThanOrEqual(c.count);
    for (const box of boxes) {
      expect(box.x % PATCH_ALIGN).toBe(0);
      expect(box.y % PATCH_ALIGN).toBe(0);
      expect(box.x + box.width).toBeLessThanOrEqual(c.width);
      expect(box.y + box.height).toBeLessThanOrEqual(c.height);
      expect(box.width).toBe(Math.min(c.size, c.width));
      expect(box.height).toBe(Math.min(c.size, c.height));
    }
  });

  it('is deterministic and spreads patches over the whole of a large image', () => {
    const first = patchGrid(4000, 3000, 64, 16);
    expect(patchGrid(4000, 3000, 64, 16)).toEqual(first);
    expect(Math.min(...first.map((b) => b.x))).toBe(0);
    expect(Math.max(...first.map((b) => b.x + b.width))).toBeGreaterThan(4000 - PATCH_ALIGN - 64);
    expect(Math.max(...first.map((b) => b.y + b.height))).toBeGreaterThan(3000 - PATCH_ALIGN - 64);
  });

  it('takes distinct, non-overlapping patches when the image has room for them', () => {
    const boxes = patchGrid(256, 256, 64, 16);
    expect(boxes).toHaveLength(16);
    expect(new Set(boxes.map((b) => `${b.x},${b.y}`)).size).toBe(16);
  });

  it.each([
    [0, 10, 64, 16],
    [10, 10, 0, 16],
    [10, 10, 64, 0],
    [10.5, 10, 64, 16],
  ])('refuses %p×%p with size %p, count %p, naming the argument', (w, h, size, count) => {
    expect(() => patchGrid(w, h, size, count)).toThrow(/must be a positive integer/);
  });
});

function gradient(width: number, height: number): DecodedImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) for (let x = 0; x < width; x += 1) pixels.set([x % 256, y % 256, (x + y) % 256], (y * width + x) * 3);
  return { format: 'png', width, height, pixels, pixelWidth: width, pixelHeight: height };
}

describe('extractPatches', () => {
  it('copies each box exactly', () => {
    const image = gradient(100, 80);
    const [patch] = extractPatches(image, [{ x: 16, y: 8, width: 32, height: 32 }], 32);
    expect(patch!.pixelWidth).toBe(32);
    expect(Array.from(patch!.pixels.subarray(0, 3))).toEqual([16, 8, 24]);
    const last = (31 * 32 + 31) * 3;
    expect(Array.from(patch!.pixels.subarray(last, last + 3))).toEqual([47, 39, 86]);
  });

  it('pads a thin image by repeating its edge pixels', () => {
    const image = gradient(10, 5);
    const [box] = patchGrid(10, 5, 16, 4);
    const [patch] = extractPatches(image, [box!], 16);
    // Row 0, column 15 repeats column 9; row 15 repeats row 4.
    expect(Array.from(patch!.pixels.subarray(15 * 3, 15 * 3 + 3))).toEqual([9, 0, 9]);
    const bottomRight = (15 * 16 + 15) * 3;
    expect(Array.from(patch!.pixels.subarray(bottomRight, bottomRight + 3))).toEqual([9, 4, 13]);
  });

  it('refuses a box outside the image', () => {
    expect(() => extractPatches(gradient(10, 10), [{ x: 8, y: 0, width: 8, height: 8 }], 8)).toThrow(/outside the 10×10 image/);
  });
});
