/**
 * An embedder of the invisible-watermark `dwtDct` mark, written for the tests from the method's
 * public description (see src/evidence/invisible-watermark.ts), so that the decoder is tested on
 * marks it did not write: YUV as OpenCV computes it for the given reading, the U channel's Haar
 * low-low band quantized block by block (|value| mod 36 moved to 9 for a 0, 27 for a 1), back to
 * pixels and to 8-bit RGB as the pipelines save it.
 */
import { type Reading, SCALE } from '../../src/detector/evidence/invisible-watermark';
import { mulberry32 } from '../../src/platform/seeded-random';

export function embedDwtDct(rgb: Uint8Array, width: number, height: number, bits: readonly number[], reading: Reading = 'bgr-uint8'): Uint8Array {
  const swap = reading.startsWith('rgb');
  const integer = reading.endsWith('uint8');
  const delta = integer ? 128 : 0.5;
  const count = width * height;
  const luma = new Float64Array(count);
  const u = new Float64Array(count);
  const v = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const red = swap ? rgb[i * 3 + 2]! : rgb[i * 3]!;
    const green = rgb[i * 3 + 1]!;
    const blue = swap ? rgb[i * 3]! : rgb[i * 3 + 2]!;
    const y = 0.299 * red + 0.587 * green + 0.114 * blue;
    luma[i] = integer ? Math.round(y) : y;
    const uu = (blue - luma[i]!) * 0.492 + delta;
    const vv = (red - luma[i]!) * 0.877 + delta;
    u[i] = integer ? Math.min(255, Math.max(0, Math.round(uu))) : uu;
    v[i] = integer ? Math.min(255, Math.max(0, Math.round(vv))) : vv;
  }
  const blocksAcross = Math.floor((Math.floor(width / 4) * 2) / 4);
  const blocksDown = Math.floor((Math.floor(height / 4) * 2) / 4);
  for (let by = 0, n = 0; by < blocksDown; by += 1) {
    for (let bx = 0; bx < blocksAcross; bx += 1, n += 1) {
      const ll = (k: number) => {
        const top = (by * 4 + Math.floor(k / 4)) * 2 * width;
        const left = (bx * 4 + (k % 4)) * 2;
        return { at: [top + left, top + left + 1, top + width + left, top + width + left + 1], value: 0 };
      };
      const cells = Array.from({ length: 16 }, (_, k) => {
        const cell = ll(k);
        cell.value = cell.at.reduce((sum, at) => sum + u[at]!, 0) / 2;
        return cell;
      });
      let best = 1;
      for (let k = 2; k < 16; k += 1) if (Math.abs(cells[k]!.value) > Math.abs(cells[best]!.value)) best = k;
      const cell = cells[best]!;
      const bit = bits[n % bits.length]!;
      const magnitude = (Math.floor(Math.abs(cell.value) / SCALE) + 0.25 + 0.5 * bit) * SCALE;
      const target = cell.value >= 0 ? magnitude : -magnitude;
      // The inverse Haar transform spreads a change d of LL as d/2 over its four pixels.
      for (const at of cell.at) u[at] = u[at]! + (target - cell.value) / 2;
    }
  }
  const out = new Uint8Array(count * 3);
  const byte = (value: number) => Math.min(255, Math.max(0, Math.round(value)));
  for (let i = 0; i < count; i += 1) {
    const y = luma[i]!;
    const uu = (integer ? byte(u[i]!) : u[i]!) - delta;
    const vv = v[i]! - delta;
    const blue = byte(y + 2.032 * uu);
    const green = byte(y - 0.395 * uu - 0.581 * vv);
    const red = byte(y + 1.14 * vv);
    out[i * 3] = swap ? blue : red;
    out[i * 3 + 1] = green;
    out[i * 3 + 2] = swap ? red : blue;
  }
  return out;
}

/** A photo-like picture: smooth gradients, a few edges and strong texture (the method needs it: on flat blocks the coefficient it marks is not distinctive), from a seed. */
export function texturedPicture(width: number, height: number, seed = 7): Uint8Array {
  const random = mulberry32(seed);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const edge = (x > width / 3 && y < (height * 2) / 3 ? 60 : 0) + (Math.hypot(x - width / 2, y - height / 2) < width / 5 ? -50 : 0);
      const base = [90 + (120 * x) / width + edge, 70 + (100 * y) / height + edge / 2, 150 - (80 * x) / width + edge / 3];
      for (let c = 0; c < 3; c += 1) rgb[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(base[c]! + (random() - 0.5) * 100)));
    }
  }
  return rgb;
}
