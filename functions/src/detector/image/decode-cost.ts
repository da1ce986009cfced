/**
 * What decoding an image will cost, estimated from its header alone. Pixel count is not enough:
 * an 800-byte 6000×6000 AVIF passes a 40 MP limit and takes 1.4 s of CPU to decode, thirty times a
 * JPEG of the same size. The per-format rates below were measured with sharp on one core of the
 * project's 2-core machine (`npm run bench -- --decode-cost`, flat colour images, which decode
 * fastest: real photos cost more, most of all JPEG) and rounded up:
 *
 * | format | measured ms per megapixel | used |
 * | --- | ---: | ---: |
 * | JPEG | 1.2–1.8 | 2.5 |
 * | PNG | 2.0–3.2 | 4 |
 * | WebP | 3.4–6.1 | 7 |
 * | AVIF | 37–43 | 45 |
 *
 * A request may spend `MAX_DECODE_MS` of estimated decode time: one image over it is refused, and a
 * batch's images are admitted in order until the budget is spent.
 */
import type { ImageFormat, ImageHeader } from './image-decoder';

export const DECODE_MS_PER_MEGAPIXEL: Readonly<Record<ImageFormat, number>> = Object.freeze({ jpeg: 2.5, png: 4, webp: 7, avif: 45 });

export function estimatedDecodeMs(header: Pick<ImageHeader, 'format' | 'width' | 'height'>): number {
  return ((header.width * header.height) / 1e6) * DECODE_MS_PER_MEGAPIXEL[header.format];
}

/** The most pixels of `format` that fit in `budgetMs`. */
export function pixelsWithin(format: ImageFormat, budgetMs: number): number {
  return Math.floor((budgetMs / DECODE_MS_PER_MEGAPIXEL[format]) * 1e6);
}
