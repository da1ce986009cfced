/**
 * Runs the invisible-watermark decoder (invisible-watermark.ts) on an image's stored pixels, within
 * bounds: only images of at most MAX_WATERMARK_PIXELS (the marks' pipelines write 512 to 2048 px
 * sides), only where the decoder can give stored pixels. A bound reached or a decode failure is
 * named in `limits_hit` and gives null; it never fails the prediction.
 */
import type { ImageDecoder, ImageHeader } from '../image/image-decoder';
import { decodeInvisibleWatermark, type WatermarkResult } from './invisible-watermark';

/** 2048 × 2048: the largest side SDXL writes, squared. */
export const MAX_WATERMARK_PIXELS = 2048 * 2048;

export async function checkWatermark(bytes: Buffer, header: ImageHeader, decoder: ImageDecoder, limitsHit: string[]): Promise<WatermarkResult | null> {
  if (decoder.decodeStored === undefined) return null;
  if (header.width * header.height > MAX_WATERMARK_PIXELS) {
    limitsHit.push('watermark_pixels');
    return null;
  }
  try {
    const stored = await decoder.decodeStored(bytes, header);
    return decodeInvisibleWatermark(stored.pixels, stored.width, stored.height);
  } catch {
    limitsHit.push('watermark_undecodable');
    return null;
  }
}
