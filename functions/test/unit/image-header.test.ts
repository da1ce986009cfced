import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAppError } from '../../src/platform/errors';
import { IMAGE_FORMATS } from '../../src/detector/image/image-decoder';
import { describeContent, displayedSize, exifOrientation, type ImageLimits, readImageHeader } from '../../src/detector/image/image-header';
import { mulberry32 } from '../../src/platform/seeded-random';

const FIXTURES = join(__dirname, '..', 'fixtures', 'images');

interface Fixture {
  file: string;
  format: string;
  width?: number;
  height?: number;
  orientation?: number;
  animated?: boolean;
  headerError?: { status: number; code: string };
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { limits: ImageLimits; fixtures: Fixture[] };
const LIMITS: ImageLimits = manifest.limits;
const fixture = (file: string): Buffer => readFileSync(join(FIXTURES, file));

/** Runs readImageHeader and returns the AppError it throws (fails if it returns or throws anything else). */
function rejection(bytes: Buffer, limits: ImageLimits = LIMITS): { status: number; code: string; message: string } {
  try {
    readImageHeader(bytes, limits);
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { status: error.status, code: error.code, message: error.message };
  }
  throw new Error('readImageHeader accepted the bytes');
}

// ---- hand-built files -----------------------------------------------------------------------

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const u16be = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** An Exif APP1 body: "Exif\0\0" and a TIFF header with one IFD0 entry for Orientation. */
function exif(order: 'II' | 'MM', orientation: number, type = 3): Buffer {
  const le = order === 'II';
  const b = Buffer.alloc(6 + 8 + 2 + 12 + 4);
  b.write('Exif\0\0', 0, 'latin1');
  const t = 6;
  b.write(order, t, 'latin1');
  if (le) {
    b.writeUInt16LE(42, t + 2);
    b.writeUInt32LE(8, t + 4);
    b.writeUInt16LE(1, t + 8);
    b.writeUInt16LE(0x0112, t + 10);
    b.writeUInt16LE(type, t + 12);
    b.writeUInt32LE(1, t + 14);
    if (type === 4) b.writeUInt32LE(orientation, t + 18);
    else b.writeUInt16LE(orientation, t + 18);
  } else {
    b.writeUInt16BE(42, t + 2);
    b.writeUInt32BE(8, t + 4);
    b.writeUInt16BE(1, t + 8);
    b.writeUInt16BE(0x0112, t + 10);
    b.writeUInt16BE(type, t + 12);
    b.writeUInt32BE(1, t + 14);
    if (type === 4) b.writeUInt32BE(orientation, t + 18);
    else b.writeUInt16BE(orientation, t + 18);
  }
  return b;
}

const segment = (marker: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([0xff, marker]), u16be(body.length + 2), body]);

function jpeg(width: number, height: number, options: { exif?: Buffer; sof?: number; prefix?: Buffer[] } = {}): Buffer {
  const sof = Buffer.concat([Buffer.from([8]), u16be(height), u16be(width), Buffer.from([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, ascii('JFIF\0\x01\x01\0\0\x01\0\x01\0\0')),
    ...(options.exif ? [segment(0xe1, options.exif)] : []),
    ...(options.prefix ?? []),
    segment(0xdb, Buffer.alloc(65)),
    segment(options.sof ?? 0xc0, sof),
    segment(0xda, Buffer.from([3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3f, 0])),
    Buffer.from([0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd9]),
  ]);
}

const pngChunk = (type: string, data: Buffer): Buffer => Buffer.concat([u32be(data.length), ascii(type), data, Buffer.alloc(4)]);

function png(width: number, height: number, chunks: Buffer[] = []): Buffer {
  const ihdr = Buffer.concat([u32be(width), u32be(height), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...chunks,
    pngChunk('IDAT', Buffer.alloc(12)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const webpChunk = (type: string, data: Buffer): Buffer =>
  Buffer.concat([ascii(type), u32le(data.length), data, data.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
const riff = (...chunks: Buffer[]): Buffer => {
  const body = Buffer.concat([ascii('WEBP'), ...chunks]);
  return Buffer.concat([ascii('RIFF'), u32le(body.length), body]);
};
const vp8 = (width: number, height: number): Buffer => {
  const b = Buffer.alloc(20);
  b[0] = 0x10; // key frame (bit 0 clear), version 0, shown
  b[3] = 0x9d;
  b[4] = 0x01;
  b[5] = 0x2a;
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return webpChunk('VP8 ', b);
};
const vp8l = (width: number, height: number): Buffer => {
  const b = Buffer.alloc(10);
  b[0] = 0x2f;
  b.writeUInt32LE(((width - 1) | ((height - 1) << 14)) >>> 0, 1);
  return webpChunk('VP8L', b);
};
const vp8x = (flags: number, width: number, height: number): Buffer => {
  const b = Buffer.alloc(10);
  b[0] = flags;
  b.writeUIntLE(width - 1, 4, 3);
  b.writeUIntLE(height - 1, 7, 3);
  return webpChunk('VP8X', b);
};

const box = (type: string, ...payload: Buffer[]): Buffer => {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32be(8 + body.length), ascii(type), body]);
};
const fullBox = (type: string, version: number, flags: number, ...payload: Buffer[]): Buffer =>
  box(type, Buffer.from([version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff]), ...payload);
const ispe = (width: number, height: number): Buffer => fullBox('ispe', 0, 0, u32be(width), u32be(height));

/**
 * An AVIF skeleton: ftyp, meta with pitm (item 1), and iprp holding `properties` associated with
 * items as `associations` says (1-based property indices per item).
 */
function avif(brands: string[], properties: Buffer[], associations: Array<[number, number[]]> = [[1, properties.map((_, i) => i + 1)]]): Buffer {
  const ipmaEntries = associations.map(([item, list]) => Buffer.concat([u16be(item), Buffer.from([list.length, ...list])]));
  const meta = fullBox(
    'meta',
    0,
    0,
    fullBox('hdlr', 0, 0, Buffer.alloc(4), ascii('pict'), Buffer.alloc(13)),
    fullBox('pitm', 0, 0, u16be(1)),
    box('iprp', box('ipco', ...properties), fullBox('ipma', 0, 0, u32be(associations.length), ...ipmaEntries)),
  );
  const [major, ...compatible] = brands;
  return Buffer.concat([box('ftyp', ascii(major ?? 'avif'), u32be(0), ...compatible.map(ascii)), meta, box('mdat', Buffer.alloc(16))]);
}

// ---- the tests ------------------------------------------------------------------------------

describe('readImageHeader on the fixtures', () => {
  const accepted = manifest.fixtures.filter((f) => !f.headerError);
  const refused = manifest.fixtures.filter((f) => f.headerError);

  it.each(accepted.map((f) => [f.file, f] as const))('%s', (_file, f) => {
    const header = readImageHeader(fixture(f.file), LIMITS);
    expect(header.format).toBe(f.format);
    expect(displayedSize(header)).toEqual({ width: f.width, height: f.height });
    expect(header.orientation).toBe(f.orientation);
    expect(header.animated).toBe(f.animated);
  });

  it.each(refused.map((f) => [f.file, f] as const))('%s is refused', (_file, f) => {
    expect(rejection(fixture(f.file))).toMatchObject(f.headerError ?? {});
  });

  it('reads the stored size of an EXIF-rotated JPEG and swaps it for display', () => {
    const header = readImageHeader(fixture('exif-rotated.jpg'), LIMITS);
    expect(header).toMatchObject({ width: 240, height: 320, orientation: 6 });
    expect(displayedSize(header)).toEqual({ width: 320, height: 240 });
  });
});

describe('readImageHeader errors and their order', () => {
  it('0 bytes is 400 empty_image', () => {
    expect(rejection(Buffer.alloc(0))).toMatchObject({ status: 400, code: 'empty_image' });
  });

  it('one byte over the limit is 413 image_too_large, checked before the format', () => {
    const tenMiB = 10 * 1024 * 1024;
    const bytes = Buffer.alloc(tenMiB + 1);
    fixture('image.gif').copy(bytes);
    expect(rejection(bytes, { ...LIMITS, maxImageBytes: tenMiB })).toEqual({
      status: 413,
      code: 'image_too_large',
      message: 'the image is 10485761 bytes (10.01 MiB); the limit is 10 MiB (10485760 bytes, set by MAX_IMAGE_BYTES): send a smaller image',
    });
    expect(readImageHeader(jpeg(64, 64), { ...LIMITS, maxImageBytes: jpeg(64, 64).length }).format).toBe('jpeg');
  });

  it.each([
    ['GIF87a', Buffer.concat([ascii('GIF87a'), Buffer.alloc(20)]), 'GIF'],
    ['GIF89a', fixture('image.gif'), 'GIF'],
    ['BMP', fixture('image.bmp'), 'BMP'],
    ['little-endian TIFF', Buffer.concat([ascii('II*\0'), Buffer.alloc(20)]), 'TIFF'],
    ['big-endian TIFF', Buffer.concat([ascii('MM\0*'), Buffer.alloc(20)]), 'TIFF'],
    ['HEIC', box('ftyp', ascii('heic'), u32be(0), ascii('mif1'), ascii('heic')), 'HEIC/HEIF'],
    ['SVG', ascii('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'), 'SVG'],
    ['SVG with a byte-order mark and no prolog', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), ascii('  <svg viewBox="0 0 1 1"/>')]), 'SVG'],
    ['PDF', ascii('%PDF-1.7\n%âãÏÓ\n1 0 obj'), 'PDF'],
  ])('%s is 415 unsupported_format, naming the type and the accepted ones', (_name, bytes, type) => {
    expect(rejection(bytes)).toEqual({
      status: 415,
      code: 'unsupported_format',
      message: `${type} images are not supported; send a JPEG, PNG, WebP or AVIF image`,
    });
  });

  it('anything else is 415 unsupported_format, saying in words what the file seems to be', () => {
    expect(rejection(fixture('fake.jpg'))).toEqual({
      status: 415,
      code: 'unsupported_format',
      message: 'this is a text file, not a JPEG, PNG, WebP or AVIF image',
    });
    expect(rejection(Buffer.from([0x00, 0x01, 0x02, 0x9c]))).toMatchObject({
      code: 'unsupported_format',
      message: 'this file is in a format the service does not recognise, not a JPEG, PNG, WebP or AVIF image',
    });
    // A declared type counts for nothing: RIFF without WEBP is not WebP.
    expect(rejection(Buffer.concat([ascii('RIFF'), u32le(4), ascii('WAVE')]))).toMatchObject({ code: 'unsupported_format' });
  });

  it.each([
    ['a PNG signature alone', png(64, 64).subarray(0, 8), 'the IHDR chunk is cut short'],
    ['a PNG with 0×64 in IHDR', png(0, 64), 'IHDR says 0×64'],
    ['a JPEG cut before its frame header', jpeg(64, 64).subarray(0, 40), 'no frame header'],
    ['a JPEG whose frame header says 0 rows', jpeg(64, 0), 'the frame header says 64×0'],
    ['a JPEG with a segment length below 2', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01, 0x00]), 'length 1'],
    ['a WebP cut inside VP8', riff(vp8(64, 64)).subarray(0, 24), 'the VP8 chunk is cut short'],
    ['a WebP without the VP8 start code', riff(webpChunk('VP8 ', Buffer.alloc(20))), 'start code'],
    ['a WebP that starts with an unknown chunk', riff(webpChunk('ABCD', Buffer.alloc(4))), "unexpected first chunk 'ABCD'"],
    ['an AVIF without ispe', avif(['avif', 'mif1'], [fullBox('pixi', 0, 0, Buffer.from([3, 8, 8, 8]))]), 'no image spatial extent'],
  ])('%s is 400 undecodable_image', (_name, bytes, detail) => {
    const error = rejection(bytes);
    expect(error).toMatchObject({ status: 400, code: 'undecodable_image' });
    expect(error.message).toContain(detail);
  });

  it('too many pixels is 413 too_many_pixels, in megapixels', () => {
    expect(rejection(png(50000, 50000))).toEqual({
      status: 413,
      code: 'too_many_pixels',
      message: 'image is 50000×50000 pixels (2500.0 MP); the limit is 40.0 MP',
    });
    // The pixel limit is checked before the minimum side.
    expect(rejection(png(100_000_000, 1))).toMatchObject({ code: 'too_many_pixels' });
    expect(readImageHeader(png(8000, 5000), LIMITS)).toMatchObject({ width: 8000, height: 5000 });
  });

  it('a side under the minimum is 400 image_too_small', () => {
    expect(rejection(png(1, 1))).toEqual({
      status: 400,
      code: 'image_too_small',
      message: 'image is 1×1 pixels; both sides must be at least 16 pixels',
    });
    expect(rejection(png(16, 15))).toMatchObject({ code: 'image_too_small' });
    expect(readImageHeader(png(16, 16), LIMITS)).toMatchObject({ width: 16, height: 16 });
  });
});

describe('JPEG headers', () => {
  it.each([
    ['baseline', 0xc0],
    ['extended', 0xc1],
    ['progressive', 0xc2],
    ['lossless', 0xc3],
    ['arithmetic progressive', 0xca],
  ])('reads the size from a %s frame header', (_name, sof) => {
    expect(readImageHeader(jpeg(640, 480, { sof }), LIMITS)).toEqual({ format: 'jpeg', width: 640, height: 480, orientation: 1, animated: false });
  });

  it('does not take a Huffman table (FFC4) for a frame header', () => {
    const dht = segment(0xc4, Buffer.concat([Buffer.from([0x00]), u16be(9999), u16be(9999), Buffer.alloc(12)]));
    expect(readImageHeader(jpeg(320, 200, { prefix: [dht] }), LIMITS)).toMatchObject({ width: 320, height: 200 });
  });

  it('skips fill bytes before a marker', () => {
    const bytes = jpeg(320, 200);
    const withFill = Buffer.concat([bytes.subarray(0, 2), Buffer.from([0xff, 0xff]), bytes.subarray(2)]);
    expect(readImageHeader(withFill, LIMITS)).toMatchObject({ width: 320, height: 200 });
  });

  it.each([
    ['little-endian', 'II' as const, 6, 3],
    ['big-endian', 'MM' as const, 6, 3],
    ['little-endian, mirrored', 'II' as const, 2, 3],
    ['big-endian, transverse', 'MM' as const, 7, 3],
    ['big-endian, stored as LONG', 'MM' as const, 8, 4],
  ])('reads EXIF orientation (%s)', (_name, order, orientation, type) => {
    const header = readImageHeader(jpeg(320, 200, { exif: exif(order, orientation, type) }), LIMITS);
    expect(header.orientation).toBe(orientation);
    expect(displayedSize(header)).toEqual(orientation >= 5 ? { width: 200, height: 320 } : { width: 320, height: 200 });
  });

  it('treats an out-of-range or unreadable orientation as 1', () => {
    expect(readImageHeader(jpeg(320, 200, { exif: exif('II', 9) }), LIMITS).orientation).toBe(1);
    expect(readImageHeader(jpeg(320, 200, { exif: exif('MM', 6).subarray(0, 20) }), LIMITS).orientation).toBe(1);
    expect(readImageHeader(jpeg(320, 200, { exif: ascii('Exif\0\0XX*\0garbage') }), LIMITS).orientation).toBe(1);
  });

  it('exifOrientation accepts a TIFF block with or without the Exif prefix', () => {
    expect(exifOrientation(exif('MM', 5))).toBe(5);
    expect(exifOrientation(exif('II', 3).subarray(6))).toBe(3);
    expect(exifOrientation(Buffer.alloc(0))).toBe(1);
  });
});

describe('PNG headers', () => {
  it('flags APNG when acTL announces more than one frame', () => {
    const actl = (frames: number) => pngChunk('acTL', Buffer.concat([u32be(frames), u32be(0)]));
    expect(readImageHeader(png(64, 32, [actl(3)]), LIMITS)).toEqual({ format: 'png', width: 64, height: 32, orientation: 1, animated: true });
    expect(readImageHeader(png(64, 32, [actl(1)]), LIMITS).animated).toBe(false);
  });

  it('reads the orientation from an eXIf chunk', () => {
    expect(readImageHeader(png(64, 32, [pngChunk('eXIf', exif('MM', 6).subarray(6))]), LIMITS).orientation).toBe(6);
  });

  it('ignores chunks after the image data', () => {
    const bytes = png(64, 32);
    const late = Buffer.concat([
      bytes.subarray(0, bytes.length - 12),
      pngChunk('acTL', Buffer.concat([u32be(2), u32be(0)])),
      bytes.subarray(bytes.length - 12),
    ]);
    expect(readImageHeader(late, LIMITS).animated).toBe(false);
  });
});

describe('WebP headers', () => {
  it('reads lossy (VP8), lossless (VP8L) and extended (VP8X) sizes', () => {
    expect(readImageHeader(riff(vp8(640, 480)), LIMITS)).toEqual({ format: 'webp', width: 640, height: 480, orientation: 1, animated: false });
    expect(readImageHeader(riff(vp8l(16383, 20)), LIMITS)).toMatchObject({ width: 16383, height: 20 });
    expect(readImageHeader(riff(vp8x(0x10, 3000, 2000), vp8(3000, 2000)), LIMITS)).toMatchObject({ width: 3000, height: 2000, animated: false });
  });

  it('flags animation and reads the EXIF chunk of an extended file', () => {
    const bytes = riff(
      vp8x(0x02 | 0x08, 100, 50),
      webpChunk('ANIM', Buffer.alloc(6)),
      webpChunk('ANMF', Buffer.alloc(17)),
      webpChunk('EXIF', exif('II', 8).subarray(6)),
    );
    expect(readImageHeader(bytes, LIMITS)).toEqual({ format: 'webp', width: 100, height: 50, orientation: 8, animated: true });
  });

  it('rejects a VP8 inter frame as the first frame', () => {
    const bytes = riff(vp8(64, 64));
    bytes[20] = 0x11; // key frame bit set: not a key frame
    expect(rejection(bytes)).toMatchObject({ code: 'undecodable_image' });
  });
});

describe('AVIF headers', () => {
  it('reads the primary item extent', () => {
    expect(readImageHeader(avif(['avif', 'mif1', 'miaf'], [ispe(1920, 1080)]), LIMITS)).toEqual({
      format: 'avif',
      width: 1920,
      height: 1080,
      orientation: 1,
      animated: false,
    });
  });

  it('recognises the brand among the compatible ones', () => {
    expect(readImageHeader(avif(['mif1', 'avif'], [ispe(64, 64)]), LIMITS).format).toBe('avif');
  });

  it('uses the properties associated with the primary item, not a thumbnail', () => {
    const bytes = avif(
      ['avif'],
      [ispe(160, 120), ispe(4000, 3000)],
      [
        [2, [1]],
        [1, [2]],
      ],
    );
    expect(readImageHeader(bytes, LIMITS)).toMatchObject({ width: 4000, height: 3000 });
  });

  it('turns irot and imir into an EXIF orientation', () => {
    const irot = (turns: number) => box('irot', Buffer.from([turns]));
    const imir = (axis: number) => box('imir', Buffer.from([axis]));
    expect(readImageHeader(avif(['avif'], [ispe(400, 300), irot(1)]), LIMITS).orientation).toBe(8);
    expect(readImageHeader(avif(['avif'], [ispe(400, 300), irot(3)]), LIMITS).orientation).toBe(6);
    expect(readImageHeader(avif(['avif'], [ispe(400, 300), irot(2)]), LIMITS).orientation).toBe(3);
    expect(readImageHeader(avif(['avif'], [ispe(400, 300), imir(0)]), LIMITS).orientation).toBe(2);
    expect(readImageHeader(avif(['avif'], [ispe(400, 300), imir(1)]), LIMITS).orientation).toBe(4);
    // A quarter turn anticlockwise, then a left-right mirror: the top-right corner stays put and
    // the top-left goes to the bottom-right, which is the transverse (7).
    const header = readImageHeader(avif(['avif'], [ispe(400, 300), irot(1), imir(0)]), LIMITS);
    expect(header.orientation).toBe(7);
    expect(displayedSize(header)).toEqual({ width: 300, height: 400 });
  });

  it('flags image sequences (avis)', () => {
    expect(readImageHeader(avif(['avis', 'avif', 'msf1'], [ispe(64, 64)]), LIMITS).animated).toBe(true);
  });
});

describe('robustness: any bytes give a header or an AppError', () => {
  /** Seeded, so that a failure can be replayed. */
  const random = mulberry32;

  /** What is wrong with readImageHeader's answer to these bytes, or undefined when nothing is. */
  function problem(bytes: Buffer): string | undefined {
    let header;
    try {
      header = readImageHeader(bytes, LIMITS);
    } catch (error) {
      if (!isAppError(error)) return `threw a non-AppError: ${String(error)}`;
      return [400, 413, 415].includes(error.status) ? undefined : `status ${error.status}`;
    }
    const sides = [header.width, header.height];
    if (!IMAGE_FORMATS.includes(header.format)) return `format ${String(header.format)}`;
    if (!sides.every((n) => Number.isInteger(n) && n >= LIMITS.minImageSide)) return `size ${header.width}×${header.height}`;
    if (header.width * header.height > LIMITS.maxPixels) return `size ${header.width}×${header.height} passed the pixel limit`;
    if (!(header.orientation >= 1 && header.orientation <= 8)) return `orientation ${header.orientation}`;
    return undefined;
  }

  /** Collects the first problems (with what caused them) instead of stopping at the first. */
  function checker(): { check: (bytes: Buffer, label: string) => void; failures: string[] } {
    const failures: string[] = [];
    const check = (bytes: Buffer, label: string): void => {
      const found = problem(bytes);
      if (found !== undefined && failures.length < 20) failures.push(`${label}: ${found}`);
    };
    return { check, failures };
  }

  const samples: Array<[string, Buffer]> = [
    ...manifest.fixtures.map((f): [string, Buffer] => [f.file, fixture(f.file)]),
    ['jpeg+exif', jpeg(320, 200, { exif: exif('MM', 6) })],
    ['apng', png(64, 32, [pngChunk('acTL', Buffer.concat([u32be(2), u32be(0)])), pngChunk('eXIf', exif('II', 3).subarray(6))])],
    ['webp vp8x', riff(vp8x(0x0a, 100, 50), webpChunk('EXIF', exif('II', 8).subarray(6)))],
    ['avif irot', avif(['avif'], [ispe(400, 300), box('irot', Buffer.from([1]))])],
  ];

  it('survives every truncation of the fixtures and hand-built files', () => {
    const { check, failures } = checker();
    const rand = random(1);
    for (const [name, bytes] of samples) {
      const lengths = new Set<number>();
      for (let n = 0; n <= Math.min(bytes.length, 400); n++) lengths.add(n);
      for (let i = 0; i < 100; i++) lengths.add(Math.floor(rand() * bytes.length));
      for (const n of lengths) check(bytes.subarray(0, n), `${name} cut to ${n} bytes`);
    }
    expect(failures).toEqual([]);
  });

  it('survives random corruption of the first bytes', () => {
    const { check, failures } = checker();
    const rand = random(2);
    for (const [name, bytes] of samples) {
      for (let i = 0; i < 300; i++) {
        const copy = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 2048)));
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++) copy[Math.floor(rand() * Math.min(copy.length, 96))] = Math.floor(rand() * 256);
        check(copy, `${name} corrupted (case ${i})`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('survives random bytes behind every magic number', () => {
    const { check, failures } = checker();
    const rand = random(3);
    const magics = [
      Buffer.alloc(0),
      Buffer.from([0xff, 0xd8, 0xff]),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
      Buffer.concat([ascii('RIFF'), u32le(100), ascii('WEBPVP8X')]),
      Buffer.concat([ascii('RIFF'), u32le(100), ascii('WEBPVP8 ')]),
      Buffer.concat([ascii('RIFF'), u32le(100), ascii('WEBPVP8L')]),
      Buffer.concat([u32be(20), ascii('ftypavif'), u32be(0), ascii('mif1')]),
      Buffer.concat([u32be(1), ascii('ftypavis')]),
    ];
    for (const magic of magics) {
      for (let i = 0; i < 400; i++) {
        const tail = Buffer.alloc(Math.floor(rand() * 300));
        for (let k = 0; k < tail.length; k++) tail[k] = rand() < 0.3 ? 0 : Math.floor(rand() * 256);
        check(Buffer.concat([magic, tail]), `magic ${magic.toString('hex')} + ${tail.toString('hex')}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('describeContent', () => {
  it.each([
    ['%PDF-1.4\n', 'this is a PDF document'],
    ['PK\x03\x04rest', 'this is a ZIP archive (or an Office document)'],
    ['<!DOCTYPE html><html>', 'this is an HTML page'],
    ['<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', 'this is an SVG drawing (vector graphics, not pixels)'],
    ['<?xml version="1.0"?><catalogue/>', 'this is an XML document'],
    ['{"image": "x"}', 'this looks like JSON text'],
    ['Größe: 42, Farbe: blau\n', 'this is a text file'],
    ['\x00\x01\x02\x03\xff\xfe', 'this file is in a format the service does not recognise'],
  ])('%j → %s', (content, description) => {
    expect(describeContent(Buffer.from(content, content.startsWith('Gr') ? 'utf8' : 'latin1'))).toBe(description);
  });
});
