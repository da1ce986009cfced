/**
 * Decodes the fixed-message invisible watermark of the `invisible-watermark` library's `dwtDct`
 * method, which the reference Stable Diffusion scripts and the SDXL pipelines embed with no secret
 * key: Stable Diffusion v1's txt2img writes the 17 bytes "StableDiffusionV1" (136 bits), SDXL the
 * 48-bit WATERMARK_MESSAGE 0b101100111110110010010000011110111011000110011110.
 *
 * The method, from its public description: the image (OpenCV BGR order) is converted to YUV; the U
 * channel (scale 36; Y and V are not used) is cropped to a multiple of 4 pixels and given a 1-level
 * Haar wavelet transform; its low-low band is cut into 4×4 blocks, row by row; in each block the
 * coefficient of largest magnitude (the first excepted) is quantized so that |value| mod 36 sits at
 * 0.25 × 36 for a 0 bit or 0.75 × 36 for a 1; block n carries bit n mod the message length. The
 * decoder reads each block's bit as |value| mod 36 > 18 and averages each bit over its blocks.
 *
 * The message is fixed, so decoding is a check against the two known messages. Pipelines differ in
 * what they hand the encoder (8-bit BGR in the SD v1 scripts, floating point in the SDXL ones, and
 * RGB passed as if BGR in diffusers' SDXL), which changes the U channel the marks live in; each of
 * these four readings is tried (stopping at an exact match), and the closest message wins.
 *
 * Pure and bounded: one pass over the pixels per reading (4 readings), O(width × height).
 * A resized, cropped or re-encoded image loses the mark; absence proves nothing.
 */

export interface KnownMark {
  name: 'StableDiffusionV1' | 'SDXL';
  bits: readonly number[];
  /** Most bits that may differ for a match (the chance that random blocks match is below 1e-9 for both). */
  maxErrors: number;
}

const bytesToBits = (text: string): number[] => [...Buffer.from(text, 'utf8')].flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((shift) => (byte >> shift) & 1));

export const KNOWN_MARKS: readonly KnownMark[] = [
  { name: 'StableDiffusionV1', bits: bytesToBits('StableDiffusionV1'), maxErrors: 13 },
  { name: 'SDXL', bits: [...'101100111110110010010000011110111011000110011110'].map(Number), maxErrors: 4 },
];

export const SCALE = 36;
const BLOCK = 4;

/** How the encoder saw the pixels: channel order (bgr: as OpenCV expects; rgb: RGB passed as BGR) and sample type. */
export type Reading = 'bgr-uint8' | 'bgr-float' | 'rgb-uint8' | 'rgb-float';
export const READINGS: readonly Reading[] = ['bgr-uint8', 'bgr-float', 'rgb-uint8', 'rgb-float'];

export interface WatermarkResult {
  method: 'invisible-watermark dwtDct';
  /** The known message closest to what was decoded. */
  message: KnownMark['name'];
  /** The bits decoded for that message's length, as 0/1 text. */
  bits: string;
  bit_errors: number;
  matched: boolean;
  reading: Reading;
}

/** U of OpenCV's BGR→YUV: 8-bit rounds and offsets by 128, floating point offsets by 0.5 and keeps the fraction. */
function uPlane(rgb: Uint8Array, width: number, height: number, channels: number, reading: Reading, out: Float32Array): void {
  const swap = reading.startsWith('rgb');
  const integer = reading.endsWith('uint8');
  const delta = integer ? 128 : 0.5;
  for (let y = 0, i = 0; y < height; y += 1) {
    let at = y * width * channels;
    for (let x = 0; x < width; x += 1, i += 1, at += channels) {
      const r = rgb[at]!;
      const g = rgb[at + 1]!;
      const b = rgb[at + 2]!;
      // What the encoder took for blue and red.
      const blue = swap ? r : b;
      const red = swap ? b : r;
      if (integer) {
        const luma = Math.round(0.299 * red + 0.587 * g + 0.114 * blue);
        out[i] = Math.min(255, Math.max(0, Math.round((blue - luma) * 0.492 + delta)));
      } else {
        out[i] = (blue - (0.299 * red + 0.587 * g + 0.114 * blue)) * 0.492 + delta;
      }
    }
  }
}

/** One bit per 4×4 block of the Haar low-low band of `plane` (cropped to a multiple of 4), row by row. */
function blockBits(plane: Float32Array, width: number, height: number): Uint8Array {
  const llWidth = Math.floor(width / 4) * 2;
  const llHeight = Math.floor(height / 4) * 2;
  const blocksAcross = Math.floor(llWidth / BLOCK);
  const blocksDown = Math.floor(llHeight / BLOCK);
  const bits = new Uint8Array(blocksAcross * blocksDown);
  const block = new Float64Array(BLOCK * BLOCK);
  for (let by = 0, n = 0; by < blocksDown; by += 1) {
    for (let bx = 0; bx < blocksAcross; bx += 1, n += 1) {
      for (let r = 0; r < BLOCK; r += 1) {
        const top = (by * BLOCK + r) * 2 * width;
        for (let c = 0; c < BLOCK; c += 1) {
          const left = (bx * BLOCK + c) * 2;
          // pywt's Haar dwt2: LL = (a + b + c + d) / 2.
          block[r * BLOCK + c] = (plane[top + left]! + plane[top + left + 1]! + plane[top + width + left]! + plane[top + width + left + 1]!) / 2;
        }
      }
      let best = 1;
      for (let k = 2; k < BLOCK * BLOCK; k += 1) if (Math.abs(block[k]!) > Math.abs(block[best]!)) best = k;
      bits[n] = Math.abs(block[best]!) % SCALE > 0.5 * SCALE ? 1 : 0;
    }
  }
  return bits;
}

/** Each message bit as the mean of its blocks' bits, thresholded as the library does (mean × 255 > 127). */
export function messageBits(blocks: Uint8Array, length: number): number[] {
  const sums = new Float64Array(length);
  const counts = new Float64Array(length);
  for (let n = 0; n < blocks.length; n += 1) {
    const bit = n % length;
    sums[bit] = sums[bit]! + blocks[n]!;
    counts[bit] = counts[bit]! + 1;
  }
  return [...sums].map((sum, i) => (counts[i]! > 0 && (sum / counts[i]!) * 255 > 127 ? 1 : 0));
}

/** Fewest pixels for a check: every bit of the longer message in at least 4 blocks (an image of about 150×150). */
export const MIN_BLOCKS = 4 * 136;

/**
 * Checks RGB pixels (`channels` ≥ 3 bytes per pixel, interleaved, row-major, as stored: no resizing)
 * for the known marks; null when the image has too few blocks to carry them.
 */
export function decodeInvisibleWatermark(rgb: Uint8Array, width: number, height: number, channels = 3): WatermarkResult | null {
  const blocks = Math.floor((Math.floor(width / 4) * 2) / BLOCK) * Math.floor((Math.floor(height / 4) * 2) / BLOCK);
  if (blocks < MIN_BLOCKS || rgb.length < width * height * channels) return null;
  const plane = new Float32Array(width * height);
  let best: WatermarkResult | null = null;
  for (const reading of READINGS) {
    uPlane(rgb, width, height, channels, reading, plane);
    const bits = blockBits(plane, width, height);
    for (const mark of KNOWN_MARKS) {
      const decoded = messageBits(bits, mark.bits.length);
      const errors = decoded.reduce((count, bit, i) => count + (bit === mark.bits[i] ? 0 : 1), 0);
      // Closest relative to each message's own tolerance, so a long message does not always win.
      if (best === null || errors / (mark.maxErrors + 1) < best.bit_errors / (maxErrorsOf(best.message) + 1)) {
        best = {
          method: 'invisible-watermark dwtDct',
          message: mark.name,
          bits: decoded.join(''),
          bit_errors: errors,
          matched: errors <= mark.maxErrors,
          reading,
        };
      }
    }
    if (best?.bit_errors === 0) break;
  }
  return best;
}

function maxErrorsOf(name: KnownMark['name']): number {
  return KNOWN_MARKS.find((mark) => mark.name === name)!.maxErrors;
}
