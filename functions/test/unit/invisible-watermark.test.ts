/** The dwtDct watermark decoder (evidence/invisible-watermark.ts) on marks written by the tests' own embedder. */
import { decodeInvisibleWatermark, KNOWN_MARKS, messageBits, READINGS } from '../../src/detector/evidence/invisible-watermark';
import { embedDwtDct, texturedPicture as picture } from '../support/watermark-encoder';

describe('decodeInvisibleWatermark', () => {
  const width = 512;
  const height = 384;
  const clean = picture(width, height);

  it.each(KNOWN_MARKS.flatMap((mark) => READINGS.map((reading) => [mark.name, reading, mark] as const)))('finds %s embedded as %s', (_name, reading, mark) => {
    const marked = embedDwtDct(clean, width, height, mark.bits, reading);
    const result = decodeInvisibleWatermark(marked, width, height);
    expect(result).toMatchObject({ method: 'invisible-watermark dwtDct', message: mark.name, matched: true });
    // The method is fragile by design: embedding can move which coefficient is largest, so a few bits may read wrong.
    expect(result!.bit_errors).toBeLessThanOrEqual(Math.floor(mark.maxErrors / 2));
  });

  it('finds nothing in the unmarked picture, and says which message it was closest to', () => {
    const result = decodeInvisibleWatermark(clean, width, height);
    expect(result?.matched).toBe(false);
    expect(result!.bit_errors).toBeGreaterThan(KNOWN_MARKS.find((mark) => mark.name === result!.message)!.maxErrors);
  });

  it.each([1, 2, 3, 4, 5])('finds nothing in unmarked noise (seed %i)', (seed) => {
    expect(decodeInvisibleWatermark(picture(320, 240, seed), 320, 240)?.matched).toBe(false);
  });

  it('loses the mark when the picture is shifted by one pixel (block alignment): absence proves nothing', () => {
    const sdxl = KNOWN_MARKS.find((mark) => mark.name === 'SDXL')!;
    const marked = embedDwtDct(clean, width, height, sdxl.bits);
    const shifted = new Uint8Array(marked.length);
    for (let y = 0; y < height; y += 1) shifted.set(marked.subarray((y * width + 1) * 3, (y + 1) * width * 3), y * width * 3);
    expect(decodeInvisibleWatermark(shifted, width, height)?.matched).toBe(false);
  });

  it('reads RGBA pixels too', () => {
    const sdxl = KNOWN_MARKS.find((mark) => mark.name === 'SDXL')!;
    const marked = embedDwtDct(clean, width, height, sdxl.bits);
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i += 1) rgba.set([marked[i * 3]!, marked[i * 3 + 1]!, marked[i * 3 + 2]!, 255], i * 4);
    expect(decodeInvisibleWatermark(rgba, width, height, 4)).toMatchObject({ message: 'SDXL', matched: true });
  });

  it('declines an image too small to carry the longer message', () => {
    expect(decodeInvisibleWatermark(picture(64, 64), 64, 64)).toBeNull();
  });

  it('averages each bit over its blocks as the library does (mean × 255 > 127)', () => {
    expect(messageBits(Uint8Array.from([1, 0, 1, 0, 0, 0]), 2)).toEqual([1, 0]);
    expect(messageBits(Uint8Array.from([1, 1, 0, 1]), 2)).toEqual([1, 1]);
  });
});
