/**
 * Where a patch model looks: `patchGrid` spreads at most `count` square patches of `size` px evenly
 * over the (EXIF-oriented, native-resolution) image, row by row, with corners on the 8×8 JPEG block
 * grid, so that a patch sees the same block phase as the training patches did. It mirrors
 * training/patches.py `patch_grid` exactly; functions/test/fixtures/patch-grid-cases.json is
 * checked by both test suites. A side shorter than `size` gives boxes as long as that side, and the
 * patch is padded by edge replication.
 */
import type { DecodedImage } from './image-decoder';

export interface PatchBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const PATCH_ALIGN = 8;

function positions(extent: number, size: number, n: number): number[] {
  if (extent <= size) return [0];
  const span = extent - size;
  const aligned = (value: number): number => Math.floor(value / PATCH_ALIGN) * PATCH_ALIGN;
  if (n === 1) return [aligned(Math.floor(span / 2))];
  return Array.from({ length: n }, (_, i) => aligned(Math.floor((i * span) / (n - 1))));
}

export function patchGrid(width: number, height: number, size: number, count: number): PatchBox[] {
  for (const [name, value] of Object.entries({ width, height, size, count })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`patchGrid: ${name} must be a positive integer, got ${value}`);
  }
  const colsFit = Math.max(1, Math.floor(width / size));
  const rowsFit = Math.max(1, Math.floor(height / size));
  let cols = Math.max(1, Math.min(colsFit, Math.floor(Math.sqrt((count * width) / height) + 0.5)));
  const rows = Math.max(1, Math.min(rowsFit, Math.floor(count / cols)));
  cols = Math.max(1, Math.min(colsFit, Math.floor(count / rows)));
  const xs = positions(width, size, cols);
  const ys = positions(height, size, rows);
  const w = Math.min(size, width);
  const h = Math.min(size, height);
  return ys.flatMap((y) => xs.map((x) => ({ x, y, width: w, height: h })));
}

/** The patches of a native-resolution decoded image as size×size RGB images (edge-padded). */
export function extractPatches(image: DecodedImage, boxes: readonly PatchBox[], size: number): DecodedImage[] {
  const { pixels, pixelWidth, pixelHeight } = image;
  return boxes.map((box) => {
    if (box.x < 0 || box.y < 0 || box.x + box.width > pixelWidth || box.y + box.height > pixelHeight) {
      throw new RangeError(`patch ${JSON.stringify(box)} lies outside the ${pixelWidth}×${pixelHeight} image`);
    }
    const out = new Uint8Array(size * size * 3);
    for (let row = 0; row < size; row += 1) {
      const sourceRow = box.y + Math.min(row, box.height - 1);
      const rowStart = (sourceRow * pixelWidth + box.x) * 3;
      out.set(pixels.subarray(rowStart, rowStart + box.width * 3), row * size * 3);
      if (box.width < size) {
        const last = rowStart + (box.width - 1) * 3;
        for (let column = box.width; column < size; column += 1) out.set(pixels.subarray(last, last + 3), (row * size + column) * 3);
      }
    }
    return { format: image.format, width: size, height: size, pixels: out, pixelWidth: size, pixelHeight: size };
  });
}
