/**
 * One table, run against both ImageDecoder adapters on the committed fixtures
 * (scripts/fixtures/make-image-fixtures.ts): sizes, orientation, colour handling, errors, and agreement
 * between the two, which must stay close enough for a model to score the same picture alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAppError } from '../../src/platform/errors';
import type { ImageDecoder, ImageFormat, ResizeSpec } from '../../src/detector/image/image-decoder';
import { readImageHeader, type ImageLimits } from '../../src/detector/image/image-header';
import { JimpDecoder } from '../../src/detector/image/jimp-decoder';
import { SharpDecoder } from '../../src/detector/image/sharp-decoder';

const FIXTURES = join(__dirname, '..', 'fixtures', 'images');

interface Fixture {
  file: string;
  format: string;
  width?: number;
  height?: number;
  traits?: string[];
  headerError?: { status: number; code: string };
  decodeError?: { status: number; code: string };
  uprightOf?: string;
  sameSceneAs?: string;
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { limits: ImageLimits; fixtures: Fixture[] };
const LIMITS = manifest.limits;
const bytesOf = (file: string): Buffer => readFileSync(join(FIXTURES, file));

const DECODERS: ImageDecoder[] = [new SharpDecoder({ maxPixels: LIMITS.maxPixels }), new JimpDecoder({ maxPixels: LIMITS.maxPixels })];

// The settings a Cloud Functions instance starts with.
beforeAll(() => SharpDecoder.configure({ concurrency: 1, cache: false }));

const target = (width: number, height: number, resize: ResizeSpec['resize']): ResizeSpec => ({ width, height, resize, interpolation: 'bilinear' });
const TARGETS: ResizeSpec[] = [target(32, 32, 'cover'), target(128, 128, 'cover'), target(32, 32, 'fill'), target(128, 128, 'fill'), target(48, 32, 'cover')];
const label = (t: ResizeSpec): string => `${t.width}×${t.height} ${t.resize}`;

const decodable = manifest.fixtures.filter((f) => !f.headerError && !f.decodeError);

async function decode(decoder: ImageDecoder, file: string, spec: ResizeSpec): Promise<Uint8Array> {
  const bytes = bytesOf(file);
  return (await decoder.decode(bytes, readImageHeader(bytes, LIMITS), spec)).pixels;
}

async function rejection(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { status: error.status, code: error.code, message: error.message };
  }
  throw new Error('the decoder accepted the bytes');
}

/** Mean and largest absolute difference of two equally long uint8 arrays. */
function difference(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

const pixel = (pixels: Uint8Array, width: number, x: number, y: number): number[] => Array.from(pixels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));

describe.each(DECODERS.map((d) => [d.name, d] as const))('%s decoder', (_name, decoder) => {
  const cases = decodable.flatMap((f) => TARGETS.map((t) => [f.file, label(t), f, t] as const));

  it.each(cases)('%s to %s: the target size, the displayed source size', async (_file, _label, f, spec) => {
    const bytes = bytesOf(f.file);
    const header = readImageHeader(bytes, LIMITS);
    if (!decoder.supports(header.format)) {
      expect(await rejection(decoder.decode(bytes, header, spec))).toEqual({
        status: 415,
        code: 'unsupported_format',
        message: `${header.format} images need the sharp decoder (IMAGE_DECODER=sharp)`,
      });
      return;
    }
    const image = await decoder.decode(bytes, header, spec);
    expect({ format: image.format, width: image.width, height: image.height }).toEqual({ format: f.format, width: f.width, height: f.height });
    expect({ pixelWidth: image.pixelWidth, pixelHeight: image.pixelHeight, bytes: image.pixels.length }).toEqual({
      pixelWidth: spec.width,
      pixelHeight: spec.height,
      bytes: spec.width * spec.height * 3,
    });
  });

  it('supports JPEG and PNG, and WebP and AVIF when it is sharp', () => {
    const expected: ImageFormat[] = decoder.name === 'sharp' ? ['jpeg', 'png', 'webp', 'avif'] : ['jpeg', 'png'];
    expect((['jpeg', 'png', 'webp', 'avif'] as const).filter((f) => decoder.supports(f))).toEqual(expected);
  });

  it('rejects a truncated JPEG as 400 undecodable_image with a short, safe message', async () => {
    const bytes = bytesOf('truncated.jpg');
    const error = await rejection(decoder.decode(bytes, readImageHeader(bytes, LIMITS), TARGETS[0] as ResizeSpec));
    expect(error).toMatchObject({ status: 400, code: 'undecodable_image' });
    expect(error.message).toMatch(/^the JPEG image could not be decoded: \S/);
    expect(error.message).not.toMatch(/\n|\bat \S+ \(|node_modules/);
  });

  it('rejects a PNG with damaged image data as 400 undecodable_image', async () => {
    const bytes = Buffer.from(bytesOf('photo.png'));
    for (let i = 200; i < 260; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
    const error = await rejection(decoder.decode(bytes, readImageHeader(bytes, LIMITS), TARGETS[0] as ResizeSpec));
    expect(error).toMatchObject({ status: 400, code: 'undecodable_image' });
  });

  it('shows the EXIF-rotated photo as the upright one', async () => {
    for (const spec of [target(128, 128, 'cover'), target(64, 48, 'fill')]) {
      const rotated = await decode(decoder, 'exif-rotated.jpg', spec);
      const upright = await decode(decoder, 'photo.jpg', spec);
      // Two separate JPEG encodings of one picture; measured 0.14..0.80 mean, max 11.
      const d = difference(rotated, upright);
      expect(d.mean).toBeLessThanOrEqual(1.5);
      expect(d.max).toBeLessThanOrEqual(24);
    }
  });

  // Red, green, blue and yellow quadrants, whatever the orientation they were stored in.
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('applies EXIF orientation %i', async (orientation) => {
    const pixels = await decode(decoder, `orientation-${orientation}.jpg`, target(48, 32, 'fill'));
    const centres = [pixel(pixels, 48, 12, 8), pixel(pixels, 48, 36, 8), pixel(pixels, 48, 12, 24), pixel(pixels, 48, 36, 24)];
    const expected = [
      [220, 30, 30],
      [30, 200, 40],
      [30, 60, 220],
      [240, 220, 30],
    ];
    centres.forEach((rgb, q) => rgb.forEach((v, c) => expect(Math.abs(v - (expected[q]?.[c] ?? 0))).toBeLessThanOrEqual(6)));
  });

  it.each(['grey.jpg', 'grey.png'])('decodes %s to R = G = B', async (file) => {
    for (const spec of [target(128, 128, 'cover'), target(32, 32, 'fill')]) {
      const pixels = await decode(decoder, file, spec);
      for (let i = 0; i < pixels.length; i += 3) {
        if (pixels[i] !== pixels[i + 1] || pixels[i] !== pixels[i + 2]) throw new Error(`${file}: pixel ${i / 3} is ${pixel(pixels, 1, i / 3, 0).join(',')}`);
      }
    }
  });

  it('flattens transparency onto white', async () => {
    // rgba.png: (200, 30, 40) everywhere; opaque disc, transparent outside, alpha 128 in rows 0..5.
    const pixels = await decode(decoder, 'rgba.png', target(64, 64, 'fill'));
    expect(pixel(pixels, 64, 32, 32)).toEqual([200, 30, 40]);
    expect(pixel(pixels, 64, 63, 63)).toEqual([255, 255, 255]);
    expect(pixel(pixels, 64, 0, 20)).toEqual([255, 255, 255]);
    // 255 - (255 - c) × 128 / 255, within rounding.
    pixel(pixels, 64, 0, 2).forEach((v, c) => expect(Math.abs(v - [227.4, 142.4, 147.4][c]!)).toBeLessThanOrEqual(1));
  });

  it('reduces a 16-bit PNG to its top byte', async () => {
    // R = 65535·x/63, G = 65535·y/47, B = 0x80xx.
    const pixels = await decode(decoder, 'rgb16.png', target(64, 48, 'fill'));
    let worst = 0;
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 64; x++) {
        const [r, g, b] = pixel(pixels, 64, x, y) as [number, number, number];
        worst = Math.max(worst, Math.abs(r - (x * 255) / 63), Math.abs(g - (y * 255) / 47), Math.abs(b - 128));
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('shows palette, grey and CMYK files with the colours of the picture they were made from', async () => {
    const spec = target(160, 120, 'fill');
    const reference = await decode(decoder, 'photo.png', spec);
    const luma = Uint8Array.from(reference, (_, i) => {
      const p = i - (i % 3);
      return Math.round(0.299 * (reference[p] as number) + 0.587 * (reference[p + 1] as number) + 0.114 * (reference[p + 2] as number));
    });
    // Measured: palette 1.44 mean (64-colour quantisation); grey 6.6..6.9 against Rec. 601 luma
    // (libvips made the grey files from linear-light luminance).
    expect(difference(await decode(decoder, 'palette.png', spec), reference).mean).toBeLessThanOrEqual(2.5);
    expect(difference(await decode(decoder, 'grey.png', spec), luma).mean).toBeLessThanOrEqual(9);
    expect(difference(await decode(decoder, 'grey.jpg', spec), luma).mean).toBeLessThanOrEqual(9);
    // CMYK: libvips converts through ICC profiles (measured 9.9 mean from the RGB original, an
    // sRGB → CMYK → sRGB round trip); jpeg-js, like Pillow in training, uses R = (255 - C)(255 - K) / 255
    // (measured 25.4). Both keep the picture recognisable; they do not agree with each other.
    const cmyk = difference(await decode(decoder, 'cmyk.jpg', spec), reference).mean;
    expect(cmyk).toBeLessThanOrEqual(decoder.name === 'sharp' ? 14 : 32);
  });

  it('takes the first frame of an animation', async () => {
    const first = [220, 40, 30];
    for (const file of ['apng.png', 'animated.webp']) {
      const bytes = bytesOf(file);
      const header = readImageHeader(bytes, LIMITS);
      expect(header.animated).toBe(true);
      if (!decoder.supports(header.format)) continue;
      const pixels = (await decoder.decode(bytes, header, target(16, 16, 'fill'))).pixels;
      pixel(pixels, 16, 8, 8).forEach((v, c) => expect(Math.abs(v - (first[c] as number))).toBeLessThanOrEqual(2));
    }
  });
});

describe('decoder construction', () => {
  it('validates its arguments, naming them', () => {
    expect(() => new SharpDecoder({ maxPixels: 0 })).toThrow('maxPixels must be a positive integer, got 0');
    expect(() => new JimpDecoder({ maxPixels: 1.5 })).toThrow('maxPixels must be a positive integer, got 1.5');
    expect(() => SharpDecoder.configure({ concurrency: -1 })).toThrow('concurrency must be a non-negative integer, got -1');
  });
});

describe('sharp and jimp agree', () => {
  const [sharp, jimp] = DECODERS as [ImageDecoder, ImageDecoder];
  const both = decodable.filter((f) => jimp.supports(f.format as ImageFormat) && !f.traits?.includes('cmyk'));
  const cases = both.flatMap((f) => TARGETS.map((t) => [f.file, label(t), f, t] as const));

  // Both decoders use Pillow's cover geometry and bilinear filter (sharp: libvips' linear kernel
  // when reducing, without JPEG shrink-on-load; otherwise the same Pillow-exact code as jimp).
  // Measured over this table: mean ≤ 0.62, max 16 (photo.jpg at 128: jpeg-js replicates chroma
  // where libjpeg interpolates it, which shows at sharp colour edges). Bounds: mean 1.5, max 24.
  // With fastShrinkOnLoad the worst case grows to mean 1.61, max 24, and this table fails.
  // CMYK files are left out: libvips converts through ICC profiles, jpeg-js with the naive formula.
  it.each(cases)('%s to %s', async (_file, _label, f, spec) => {
    const d = difference(await decode(sharp, f.file, spec), await decode(jimp, f.file, spec));
    expect(d.mean).toBeLessThanOrEqual(1.5);
    expect(d.max).toBeLessThanOrEqual(24);
  });
});
