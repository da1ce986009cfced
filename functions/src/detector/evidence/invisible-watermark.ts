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

/**
 * The Haar low-low band of U as OpenCV's BGR→YUV gives it, for the top-left (width & ~3) × (height & ~3)
 * pixels: LL = (a + b + c + d) / 2 over each 2×2 square (pywt's dwt2). 8-bit readings use OpenCV's
 * fixed-point arithmetic (Y and U rounded, U offset by 128 and saturated); floating-point readings
 * offset U by 0.5 and keep the fraction.
 */
function lowLowBand(rgb: Uint8Array, width: number, channels: number, llWidth: number, llHeight: number, reading: Reading, out: Float32Array): void {
  const swap = reading.startsWith('rgb');
  const integer = reading.endsWith('uint8');
  // Offsets of what the encoder took for blue and red within a pixel.
  const blueAt = swap ? 0 : 2;
  const redAt = swap ? 2 : 0;
  const u = (at: number): number => {
    const red = rgb[at + redAt]!;
    const green = rgb[at + 1]!;
    const blue = rgb[at + blueAt]!;
    if (integer) {
      const luma = (red * 4899 + green * 9617 + blue * 1868 + 8192) >> 14;
      const value = ((blue - luma) * 8061 + 2105344) >> 14; // 2105344 = (128 << 14) + 8192
      return value < 0 ? 0 : value > 255 ? 255 : value;
    }
    return (blue - (0.299 * red + 0.587 * green + 0.114 * blue)) * 0.492 + 0.5;
  };
  const row = width * channels;
  for (let y = 0, i = 0; y < llHeight; y += 1) {
    const top = 2 * y * row;
    for (let x = 0; x < llWidth; x += 1, i += 1) {
      const at = top + 2 * x * channels;
      out[i] = (u(at) + u(at + channels) + u(at + row) + u(at + row + channels)) / 2;
    }
  }
}

/** One bit per 4×4 block of the low-low band, row by row: the largest coefficient but the first, |value| mod 36 > 18. */
function blockBits(ll: Float32Array, llWidth: number, blocksAcross: number, blocksDown: number): Uint8Array {
  const bits = new Uint8Array(blocksAcross * blocksDown);
  for (let by = 0, n = 0; by < blocksDown; by += 1) {
    for (let bx = 0; bx < blocksAcross; bx += 1, n += 1) {
      const origin = by * BLOCK * llWidth + bx * BLOCK;
      // The first strictly largest, as numpy's argmax.
      let largest = -1;
      for (let k = 1; k < BLOCK * BLOCK; k += 1) largest = Math.max(largest, Math.abs(ll[origin + (k >> 2) * llWidth + (k & 3)]!));
      bits[n] = largest % SCALE > 0.5 * SCALE ? 1 : 0;
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
  const llWidth = Math.floor(width / 4) * 2;
  const llHeight = Math.floor(height / 4) * 2;
  const blocksAcross = Math.floor(llWidth / BLOCK);
  const blocksDown = Math.floor(llHeight / BLOCK);
  if (blocksAcross * blocksDown < MIN_BLOCKS || rgb.length < width * height * channels) return null;
  const ll = new Float32Array(llWidth * llHeight);
  let best: WatermarkResult | null = null;
  for (const reading of READINGS) {
    lowLowBand(rgb, width, channels, llWidth, llHeight, reading, ll);
    const bits = blockBits(ll, llWidth, blocksAcross, blocksDown);
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
