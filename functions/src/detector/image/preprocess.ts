/**
 * The serving side of the preprocessing contract (training/preprocess.py), as pure functions over
 * typed arrays:
 *
 * 1. resize "cover": the shorter side to the target, the longer to floor(long * target / short + 0.5),
 *    then a centre crop at floor((scaled - target) / 2); "fill" stretches to the target instead;
 * 2. bilinear resampling as Pillow does it (a triangle filter widened by the reduction factor, so
 *    downscaling averages rather than skips pixels, in 22-bit fixed point, horizontal pass first);
 * 3. float32 = (pixel * scale - mean[c]) / std[c], NCHW, in the model's channel order.
 */
import type { DecodedImage, ResizeMode, ResizeSpec } from './image-decoder';

/** The `preprocessing` block of a model's metadata.json. */
export interface PreprocessingSpec {
  width: number;
  height: number;
  /** Defaults to 'cover', as training does. */
  resize?: ResizeMode;
  interpolation?: 'bilinear';
  channel_order: 'RGB' | 'BGR';
  scale: number;
  mean: readonly number[];
  std: readonly number[];
}

export function resizeSpecFrom(pre: Pick<PreprocessingSpec, 'width' | 'height' | 'resize' | 'interpolation'>): ResizeSpec {
  for (const side of ['width', 'height'] as const) {
    const value = pre[side];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`preprocessing.${side} must be a positive integer, got ${String(value)}`);
    }
  }
  const resize = pre.resize ?? 'cover';
  if (resize !== 'cover' && resize !== 'fill') {
    throw new RangeError(`preprocessing.resize must be 'cover' or 'fill', got ${JSON.stringify(resize)}`);
  }
  const interpolation = pre.interpolation ?? 'bilinear';
  if (interpolation !== 'bilinear') {
    throw new RangeError(`preprocessing.interpolation must be 'bilinear', got ${JSON.stringify(interpolation)}`);
  }
  return { width: pre.width, height: pre.height, resize, interpolation };
}

/** Where a source of width×height is scaled to and cropped from, to become target. */
export interface ResizeGeometry {
  /** Size after scaling, before the crop. */
  scaledWidth: number;
  scaledHeight: number;
  /** Top-left corner of the crop in the scaled image (0 for fill). */
  left: number;
  top: number;
}

export function resizeGeometry(width: number, height: number, target: Pick<ResizeSpec, 'width' | 'height' | 'resize'>): ResizeGeometry {
  if (!(width > 0 && height > 0)) throw new RangeError(`image is ${width}×${height}; both sides must be positive`);
  const tw = target.width;
  const th = target.height;
  if (target.resize === 'fill') return { scaledWidth: tw, scaledHeight: th, left: 0, top: 0 };
  let scaledWidth: number;
  let scaledHeight: number;
  if (width === tw && height === th) {
    scaledWidth = tw;
    scaledHeight = th;
  } else if (tw * height >= th * width) {
    // Width is the limiting side: it becomes exactly tw.
    scaledWidth = tw;
    scaledHeight = Math.max(th, Math.floor((height * tw) / width + 0.5));
  } else {
    scaledHeight = th;
    scaledWidth = Math.max(tw, Math.floor((width * th) / height + 0.5));
  }
  return { scaledWidth, scaledHeight, left: Math.floor((scaledWidth - tw) / 2), top: Math.floor((scaledHeight - th) / 2) };
}

// ---- Pillow-compatible bilinear resampling --------------------------------------------------

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Coefficients {
  /** For each output index in the window: first input index and number of taps. */
  first: Int32Array;
  count: Int32Array;
  /** ksize fixed-point weights per output index. */
  weights: Int32Array;
  ksize: number;
}

function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for output indices [from, from + n). */
function coefficients(inSize: number, outSize: number, from: number, n: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Int32Array(n * ksize);
  const k = new Float64Array(ksize);
  for (let i = 0; i < n; i++) {
    const center = (from + i + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const taps = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < taps; x++) {
      const w = triangle((x + xmin - center + 0.5) / filterScale);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < taps; x++) {
      const w = sum === 0 ? (k[x] ?? 0) : (k[x] ?? 0) / sum;
      weights[i * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[i] = xmin;
    count[i] = taps;
  }
  return { first, count, weights, ksize };
}

const clip8 = (sum: number): number => {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** A rectangle of the resized image: only these pixels are computed. */
export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Resamples interleaved 8-bit pixels (any channel count) to outWidth×outHeight with Pillow's
 * BILINEAR filter (reducing_gap=None): same coefficients, same fixed-point rounding, same pass
 * order, so the result matches `Image.resize(..., Image.BILINEAR)` byte for byte. With `window`,
 * returns only that rectangle of the result (what a crop after the resize would keep), computing
 * nothing outside it, so a cover resize of a very long image stays cheap.
 */
export function resampleBilinear(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  window: Window = { left: 0, top: 0, width: outWidth, height: outHeight },
): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`pixels has ${pixels.length} bytes; ${width}×${height}×${channels} needs ${width * height * channels}`);
  }
  if (!(Number.isInteger(outWidth) && Number.isInteger(outHeight) && outWidth > 0 && outHeight > 0)) {
    throw new RangeError(`output size must be positive integers, got ${outWidth}×${outHeight}`);
  }
  const { left, top, width: ww, height: wh } = window;
  if (!(left >= 0 && top >= 0 && ww > 0 && wh > 0 && left + ww <= outWidth && top + wh <= outHeight)) {
    throw new RangeError(`window ${ww}×${wh} at (${left}, ${top}) is not inside ${outWidth}×${outHeight}`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;

  // Rows of the source that the output window reads.
  const vertical = needVertical ? coefficients(height, outHeight, top, wh) : undefined;
  const rowFirst = vertical ? (vertical.first[0] ?? 0) : top;
  const rowEnd = vertical ? (vertical.first[wh - 1] ?? 0) + (vertical.count[wh - 1] ?? 0) : top + wh;
  const rows = rowEnd - rowFirst;

  // Horizontal pass (or a plain column crop) over those rows: ww columns each.
  const stride = ww * channels;
  const tmp = new Uint8Array(rows * stride);
  if (needHorizontal) {
    const c = coefficients(width, outWidth, left, ww);
    for (let y = 0; y < rows; y++) {
      const rowIn = (y + rowFirst) * width * channels;
      const rowOut = y * stride;
      for (let xx = 0; xx < ww; xx++) {
        const x0 = c.first[xx] ?? 0;
        const n = c.count[xx] ?? 0;
        const kAt = xx * c.ksize;
        for (let ch = 0; ch < channels; ch++) {
          let sum = HALF;
          for (let x = 0; x < n; x++) sum += (pixels[rowIn + (x0 + x) * channels + ch] ?? 0) * (c.weights[kAt + x] ?? 0);
          tmp[rowOut + xx * channels + ch] = clip8(sum);
        }
      }
    }
  } else {
    for (let y = 0; y < rows; y++) {
      const from = ((y + rowFirst) * width + left) * channels;
      tmp.set(pixels.subarray(from, from + stride), y * stride);
    }
  }
  if (!vertical) return tmp;

  const out = new Uint8Array(wh * stride);
  for (let yy = 0; yy < wh; yy++) {
    const y0 = (vertical.first[yy] ?? 0) - rowFirst;
    const n = vertical.count[yy] ?? 0;
    const kAt = yy * vertical.ksize;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      for (let y = 0; y < n; y++) sum += (tmp[(y0 + y) * stride + i] ?? 0) * (vertical.weights[kAt + y] ?? 0);
      out[yy * stride + i] = clip8(sum);
    }
  }
  return out;
}

/** Resizes RGB pixels to the target as the contract says: cover (scale, then centre-crop) or fill. */
export function resizeRgb(pixels: Uint8Array, width: number, height: number, target: Pick<ResizeSpec, 'width' | 'height' | 'resize'>): Uint8Array {
  const g = resizeGeometry(width, height, target);
  return resampleBilinear(pixels, width, height, 3, g.scaledWidth, g.scaledHeight, {
    left: g.left,
    top: g.top,
    width: target.width,
    height: target.height,
  });
}

// ---- the input tensor -----------------------------------------------------------------------

function checkTriple(name: 'mean' | 'std', values: readonly number[]): void {
  if (values.length !== 3 || !values.every((v) => Number.isFinite(v))) {
    throw new RangeError(`preprocessing.${name} must be 3 finite numbers, got ${JSON.stringify(values)}`);
  }
}

/**
 * NCHW float32 input for a batch of decoded images: value = (pixel * scale - mean[c]) / std[c],
 * each step rounded to float32 as numpy does in training. Every image must already be
 * width×height×3 (the decoders resize to the spec).
 */
export function toInputTensor(images: readonly DecodedImage[], pre: PreprocessingSpec): Float32Array {
  const { width, height } = pre;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`preprocessing width and height must be positive integers, got ${String(width)}×${String(height)}`);
  }
  if (pre.channel_order !== 'RGB' && pre.channel_order !== 'BGR') {
    throw new RangeError(`preprocessing.channel_order must be 'RGB' or 'BGR', got ${JSON.stringify(pre.channel_order)}`);
  }
  if (!Number.isFinite(pre.scale) || pre.scale <= 0) {
    throw new RangeError(`preprocessing.scale must be a positive number, got ${String(pre.scale)}`);
  }
  checkTriple('mean', pre.mean);
  checkTriple('std', pre.std);
  if (pre.std.some((s) => s === 0)) throw new RangeError(`preprocessing.std must not contain 0, got ${JSON.stringify(pre.std)}`);

  // Output channel c reads source channel order[c]; each of the 256 values per channel is precomputed.
  const order = pre.channel_order === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const f = Math.fround;
  const scale = f(pre.scale);
  const tables = [0, 1, 2].map((c) => {
    const mean = f(pre.mean[c] ?? 0);
    const std = f(pre.std[c] ?? 1);
    const table = new Float32Array(256);
    for (let p = 0; p < 256; p++) table[p] = f(f(f(p * scale) - mean) / std);
    return table;
  });

  const plane = width * height;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((image, n) => {
    if (image.pixelWidth !== width || image.pixelHeight !== height || image.pixels.length !== plane * 3) {
      throw new RangeError(
        `images[${n}] is ${image.pixelWidth}×${image.pixelHeight} with ${image.pixels.length} bytes; the model needs ${width}×${height}×3 = ${plane * 3} bytes`,
      );
    }
    const pixels = image.pixels;
    for (let c = 0; c < 3; c++) {
      const table = tables[c] as Float32Array;
      const source = order[c] as number;
      const base = (n * 3 + c) * plane;
      for (let i = 0; i < plane; i++) out[base + i] = table[pixels[i * 3 + source] as number] as number;
    }
  });
  return out;
}
