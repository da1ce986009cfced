/**
 * Where in the image: per-patch scores as a grid of boxes in (oriented) image coordinates, and a
 * heatmap overlay. Pure over the decoded pixels and the model's scores; the handler
 * (handlers/explain.ts) runs the scoring.
 *
 * A model that scores patches (ItemScore.patches) is shown as it scored them. A whole-image model
 * (shoes, cifake) gets an occlusion map: each of the GRID×GRID cells of its input is greyed out in
 * turn, all the variants go through one onnxruntime call, and a cell's `drop` is how much P(AI)
 * fell without it. Cost is bounded: GRID² extra images of the model's own input size.
 */
import { displayedSize } from '../image/image-header';
import { resizeGeometry } from '../image/preprocess';
import type { DecodedImage, ResizeSpec } from '../image/image-decoder';
import type { PatchScores, PreparedImage } from './score-images';

/** Cells per side of the occlusion grid (16 extra images per explanation). */
export const GRID = 4;
/** The grey that replaces an occluded cell (mid-range; the models normalise around 0.5). */
export const OCCLUSION_GREY = 128;
/** Longest side of the heatmap PNG. */
export const HEATMAP_MAX_SIDE = 512;
/** A drop this large or larger is shown at full strength (smaller maximum drops are not stretched to full red). */
const FULL_DROP = 0.1;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ExplainCell {
  row: number;
  col: number;
  box: Box;
  /** patches: the patch's P(AI); occlusion: P(AI) of the image with this cell greyed out. */
  probability: number;
  /** occlusion only: P(AI) of the whole image minus `probability` (positive: the cell looks generated). */
  drop?: number;
  /** 0..1, how strongly the heatmap marks this cell. */
  weight: number;
}

export interface Explanation {
  method: 'patches' | 'occlusion';
  rows: number;
  cols: number;
  cells: ExplainCell[];
}

/** The GRID×GRID variants of the model input, each with one cell greyed, row by row. */
export function occludedVariants(decoded: DecodedImage): DecodedImage[] {
  const { pixelWidth: w, pixelHeight: h } = decoded;
  const variants: DecodedImage[] = [];
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      const pixels = Uint8Array.from(decoded.pixels);
      const [x0, x1] = span(col, w);
      const [y0, y1] = span(row, h);
      for (let y = y0; y < y1; y++) pixels.fill(OCCLUSION_GREY, (y * w + x0) * 3, (y * w + x1) * 3);
      variants.push({ ...decoded, pixels });
    }
  }
  return variants;
}

/** Pixel range [from, to) of cell `index` of GRID along a side of `size`. */
function span(index: number, size: number): [number, number] {
  return [Math.floor((index * size) / GRID), Math.floor(((index + 1) * size) / GRID)];
}

/** Maps a rectangle of the model input back to the oriented image (the inverse of cover / fill). */
export function inputBoxToImage(prepared: PreparedImage, target: Pick<ResizeSpec, 'width' | 'height' | 'resize'>, box: Box): Box {
  const { width, height } = displayedSize(prepared.header);
  const g = resizeGeometry(width, height, target);
  const sx = width / g.scaledWidth;
  const sy = height / g.scaledHeight;
  const x0 = Math.round((g.left + box.x) * sx);
  const y0 = Math.round((g.top + box.y) * sy);
  const x1 = Math.min(width, Math.round((g.left + box.x + box.width) * sx));
  const y1 = Math.min(height, Math.round((g.top + box.y + box.height) * sy));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export function occlusionExplanation(
  prepared: PreparedImage,
  target: Pick<ResizeSpec, 'width' | 'height' | 'resize'>,
  probability: number,
  occluded: Float32Array,
): Explanation {
  const drops = Array.from(occluded, (p) => probability - p);
  const scale = Math.max(FULL_DROP, ...drops);
  const cells: ExplainCell[] = [];
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      const index = row * GRID + col;
      const [x0, x1] = span(col, prepared.decoded.pixelWidth);
      const [y0, y1] = span(row, prepared.decoded.pixelHeight);
      const drop = drops[index]!;
      cells.push({
        row,
        col,
        box: inputBoxToImage(prepared, target, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }),
        probability: round4(occluded[index]!),
        drop: round4(drop),
        weight: round4(Math.min(1, Math.max(0, drop / scale))),
      });
    }
  }
  return { method: 'occlusion', rows: GRID, cols: GRID, cells };
}

export function patchExplanation(patches: PatchScores): Explanation {
  const xs = [...new Set(patches.boxes.map((box) => box.x))].sort((a, b) => a - b);
  const ys = [...new Set(patches.boxes.map((box) => box.y))].sort((a, b) => a - b);
  const cells = patches.boxes.map((box, index) => {
    const probability = patches.probabilities[index] ?? 0;
    return { row: ys.indexOf(box.y), col: xs.indexOf(box.x), box, probability: round4(probability), weight: round4(probability) };
  });
  return { method: 'patches', rows: ys.length, cols: xs.length, cells };
}

/** The heatmap's size: the oriented image scaled so that its long side is at most HEATMAP_MAX_SIDE. */
export function heatmapSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, HEATMAP_MAX_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Tints `image` (the oriented picture at heatmap size) red where cells weigh, weight by weight;
 * what lies in no cell (outside a centre crop) is dimmed. `imageWidth`×`imageHeight` is the
 * coordinate space of the boxes.
 */
export function paintHeatmap(image: DecodedImage, explanation: Explanation, imageWidth: number, imageHeight: number): Uint8Array {
  const { pixelWidth: w, pixelHeight: h } = image;
  const weights = new Float32Array(w * h).fill(-1);
  const sx = w / imageWidth;
  const sy = h / imageHeight;
  for (const cell of explanation.cells) {
    const x0 = Math.max(0, Math.floor(cell.box.x * sx));
    const x1 = Math.min(w, Math.ceil((cell.box.x + cell.box.width) * sx));
    const y0 = Math.max(0, Math.floor(cell.box.y * sy));
    const y1 = Math.min(h, Math.ceil((cell.box.y + cell.box.height) * sy));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) weights[y * w + x] = Math.max(weights[y * w + x]!, cell.weight);
  }
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const weight = weights[i]!;
    const r = image.pixels[i * 3]!;
    const g = image.pixels[i * 3 + 1]!;
    const b = image.pixels[i * 3 + 2]!;
    if (weight < 0) {
      out[i * 3] = r >> 1;
      out[i * 3 + 1] = g >> 1;
      out[i * 3 + 2] = b >> 1;
      continue;
    }
    const a = 0.65 * weight;
    out[i * 3] = Math.round(r * (1 - a) + 255 * a);
    out[i * 3 + 1] = Math.round(g * (1 - a));
    out[i * 3 + 2] = Math.round(b * (1 - a));
  }
  return out;
}

/** Four decimals, and never -0. */
const round4 = (value: number): number => Math.round(value * 1e4) / 1e4 + 0;
