/**
 * Writes the image fixtures that the decoder, header and preprocessing tests read, and their
 * manifest, into functions/test/fixtures/images/. Deterministic: the scene comes from a seeded
 * generator and the hand-built files (16-bit PNG, APNG, pixel bomb, BMP, ...) are assembled here
 * byte by byte, so rerunning it reproduces the committed files for a given sharp version.
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/make-image-fixtures.js [outDir]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { mulberry32 as seededRandom } from '../functions/src/core';

/** Limits the manifest's expectations assume (the service defaults). */
export const FIXTURE_LIMITS = { maxBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, minSide: 16 } as const;

export interface FixtureEntry {
  file: string;
  description: string;
  /** Detected format; for rejected formats, the type the header names (gif, bmp). */
  format: string;
  /** Displayed size (after EXIF orientation); absent where the header is rejected. */
  width?: number;
  height?: number;
  orientation?: number;
  animated?: boolean;
  /** What readImageHeader throws for this file, with FIXTURE_LIMITS. */
  headerError?: { status: number; code: string };
  /** What every decoder that supports the format throws after the header is accepted. */
  decodeError?: { status: number; code: string };
  /** Properties the conformance test checks on the decoded pixels. */
  traits?: Array<'grey' | 'alpha' | 'palette' | '16-bit' | 'cmyk' | 'exif-rotated' | 'photo'>;
  /** For the EXIF-rotated file: the fixture holding the same picture stored upright. */
  uprightOf?: string;
  /** A lossless fixture of the same picture, for checking that the colours come out right. */
  sameSceneAs?: string;
}

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/**
 * A photo-like RGB scene: a smooth two-axis gradient, a disc, a rectangle, a band of fine
 * stripes and mild noise. Returned as interleaved RGB bytes.
 */
function scene(width: number, height: number, noise: number, seed = 7): Buffer {
  const rand = seededRandom(seed);
  const out = Buffer.alloc(width * height * 3);
  const cx = width * 0.62;
  const cy = height * 0.45;
  const r = Math.min(width, height) * 0.28;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let red = 40 + (180 * x) / width;
      let green = 60 + (150 * y) / height;
      let blue = 150 - (100 * (x + y)) / (width + height);
      if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) {
        red = 235;
        green = 140;
        blue = 40;
      }
      if (x > width * 0.08 && x < width * 0.35 && y > height * 0.55 && y < height * 0.9) {
        red = 30;
        green = 45;
        blue = 120;
      }
      if (y > height * 0.12 && y < height * 0.3 && x > width * 0.1 && x < width * 0.45) {
        const on = Math.floor(x / 3) % 2 === 0;
        red = on ? 250 : 20;
        green = on ? 250 : 20;
        blue = on ? 250 : 20;
      }
      const n = noise * (rand() + rand() + rand() - 1.5);
      const i = (y * width + x) * 3;
      out[i] = clamp8(red + n);
      out[i + 1] = clamp8(green + n);
      out[i + 2] = clamp8(blue + n);
    }
  }
  return out;
}

const rawRgb = (pixels: Buffer, width: number, height: number) => sharp(pixels, { raw: { width, height, channels: 3 } });

// ---- hand-built PNG -------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number, bitDepth: number, colorType: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = bitDepth;
  data[9] = colorType;
  return pngChunk('IHDR', data);
}

/** Scanlines with filter type 0, deflated. `rows` holds the unfiltered bytes of every row. */
function idatData(rows: Buffer, height: number): Buffer {
  const stride = rows.length / height;
  const filtered = Buffer.alloc(rows.length + height);
  for (let y = 0; y < height; y++) rows.copy(filtered, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return deflateSync(filtered, { level: 9 });
}

function handPng(width: number, height: number, bitDepth: number, colorType: number, rows: Buffer, extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, bitDepth, colorType),
    ...extra,
    pngChunk('IDAT', idatData(rows, height)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** 16-bit RGB PNG: a gradient that uses the low byte too, so a decoder must drop it correctly. */
function sixteenBitPng(width: number, height: number): Buffer {
  const rows = Buffer.alloc(width * height * 6);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 6;
      rows.writeUInt16BE(Math.round((65535 * x) / (width - 1)), i);
      rows.writeUInt16BE(Math.round((65535 * y) / (height - 1)), i + 2);
      rows.writeUInt16BE(0x8000 + ((x * 37 + y * 11) % 256), i + 4);
    }
  }
  return handPng(width, height, 16, 2, rows);
}

/** APNG: two frames, the default image (red-ish) is the first frame. */
function apng(width: number, height: number): Buffer {
  const frame = (r: number, g: number, b: number): Buffer => {
    const rows = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      rows[i * 3] = r;
      rows[i * 3 + 1] = g;
      rows[i * 3 + 2] = b;
    }
    return rows;
  };
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(2, 0); // frames
  actl.writeUInt32BE(0, 4); // loop forever
  const fctl = (sequence: number): Buffer => {
    const data = Buffer.alloc(26);
    data.writeUInt32BE(sequence, 0);
    data.writeUInt32BE(width, 4);
    data.writeUInt32BE(height, 8);
    data.writeUInt16BE(1, 20); // delay 1/10 s
    data.writeUInt16BE(10, 22);
    return pngChunk('fcTL', data);
  };
  const second = idatData(frame(30, 60, 220), height);
  const fdat = Buffer.alloc(4 + second.length);
  fdat.writeUInt32BE(2, 0);
  second.copy(fdat, 4);
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, 8, 2),
    pngChunk('acTL', actl),
    fctl(0),
    pngChunk('IDAT', idatData(frame(220, 40, 30), height)),
    fctl(1),
    pngChunk('fdAT', fdat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid signature and IHDR that claim 60000×60000 RGB, followed by a token IDAT. */
function pixelBombPng(): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(60000, 60000, 8, 2),
    pngChunk('IDAT', deflateSync(Buffer.alloc(256), { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** 24-bit bottom-up BMP (BITMAPINFOHEADER, BI_RGB). */
function bmp(width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + stride * height;
  const out = Buffer.alloc(size);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(size, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 54 + (height - 1 - y) * stride + x * 3;
      out[i] = 200; // B
      out[i + 1] = (x * 8) & 0xff; // G
      out[i + 2] = (y * 8) & 0xff; // R
    }
  }
  return out;
}

// ---- EXIF orientations ----------------------------------------------------------------------

/** Quadrant colours of the upright orientation picture: top-left, top-right, bottom-left, bottom-right. */
export const QUADRANTS = [
  [220, 30, 30],
  [30, 200, 40],
  [30, 60, 220],
  [240, 220, 30],
] as const;

/**
 * orientation-1.jpg .. orientation-8.jpg: one 48×32 picture of four coloured quadrants, each stored
 * so that its EXIF orientation turns it back upright. The stored pixels are made with sharp's
 * rotate / flip / flop, and the script checks that sharp's own auto-orient restores the picture.
 */
async function writeOrientationFixtures(write: (entry: FixtureEntry, bytes: Buffer) => void): Promise<void> {
  const W = 48;
  const H = 32;
  const upright = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const q = QUADRANTS[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)] ?? QUADRANTS[0];
      upright.set(q, (y * W + x) * 3);
    }
  }
  // The inverse of each orientation's display transform, as sharp operations applied in turn.
  const storeSteps: Record<number, Array<(s: Sharp) => Sharp>> = {
    1: [],
    2: [(s) => s.flop()],
    3: [(s) => s.rotate(180)],
    4: [(s) => s.flip()],
    5: [(s) => s.rotate(90), (s) => s.flop()],
    6: [(s) => s.rotate(270)],
    7: [(s) => s.rotate(90), (s) => s.flip()],
    8: [(s) => s.rotate(90)],
  };
  for (let orientation = 1; orientation <= 8; orientation++) {
    let stored = { data: upright, width: W, height: H };
    for (const step of storeSteps[orientation] ?? []) {
      const { data, info } = await step(rawRgb(stored.data, stored.width, stored.height))
        .raw()
        .toBuffer({ resolveWithObject: true });
      stored = { data, width: info.width, height: info.height };
    }
    const jpeg = await rawRgb(stored.data, stored.width, stored.height)
      .withMetadata({ orientation })
      .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const check = await sharp(jpeg, { autoOrient: true }).raw().toBuffer({ resolveWithObject: true });
    let error = 0;
    for (let i = 0; i < upright.length; i++) error += Math.abs((check.data[i] ?? 0) - (upright[i] ?? 0));
    if (check.info.width !== W || check.info.height !== H || error / upright.length > 3) {
      throw new Error(`orientation ${orientation}: sharp does not restore the upright picture (mean error ${error / upright.length})`);
    }
    write(
      {
        file: `orientation-${orientation}.jpg`,
        description: `four coloured quadrants, stored ${stored.width}×${stored.height} with EXIF orientation ${orientation}`,
        format: 'jpeg',
        width: W,
        height: H,
        orientation,
        animated: false,
        traits: ['exif-rotated'],
      },
      jpeg,
    );
  }
}

// ---- the fixtures ---------------------------------------------------------------------------

export async function makeImageFixtures(outDir: string): Promise<FixtureEntry[]> {
  mkdirSync(outDir, { recursive: true });
  const entries: FixtureEntry[] = [];
  const write = (entry: FixtureEntry, bytes: Buffer): void => {
    writeFileSync(join(outDir, entry.file), bytes);
    entries.push(entry);
  };

  const W = 320;
  const H = 240;
  const photo = scene(W, H, 10);
  const photoJpeg = await rawRgb(photo, W, H).jpeg({ quality: 88, chromaSubsampling: '4:2:0' }).toBuffer();
  write(
    {
      file: 'photo.jpg',
      description: 'photo-like 320×240 baseline JPEG, 4:2:0',
      format: 'jpeg',
      width: W,
      height: H,
      orientation: 1,
      animated: false,
      traits: ['photo'],
    },
    photoJpeg,
  );

  // Noise does not compress: the PNG holds the scene at a smaller size and a lower noise level. It is
  // also the lossless reference for the grey, palette and CMYK files, which are made from it.
  const small = scene(160, 120, 3);
  write(
    {
      file: 'photo.png',
      description: '160×120 RGB PNG of the scene; grey, palette and CMYK files are made from it',
      format: 'png',
      width: 160,
      height: 120,
      orientation: 1,
      animated: false,
      traits: ['photo'],
    },
    await rawRgb(small, 160, 120).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer(),
  );
  write(
    { file: 'photo.webp', description: 'lossy 320×240 WebP (VP8)', format: 'webp', width: W, height: H, orientation: 1, animated: false, traits: ['photo'] },
    await rawRgb(photo, W, H).webp({ quality: 85 }).toBuffer(),
  );
  write(
    { file: 'lossless.webp', description: 'lossless 64×48 WebP (VP8L)', format: 'webp', width: 64, height: 48, orientation: 1, animated: false },
    await rawRgb(scene(64, 48, 0), 64, 48)
      .webp({ lossless: true })
      .toBuffer(),
  );

  const frameA = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 220, g: 40, b: 30 } } })
    .png()
    .toBuffer();
  const frameB = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 30, g: 60, b: 220 } } })
    .png()
    .toBuffer();
  write(
    {
      file: 'animated.webp',
      description: 'two-frame animated WebP (VP8X + ANIM); the first frame is red',
      format: 'webp',
      width: 64,
      height: 48,
      orientation: 1,
      animated: true,
    },
    await sharp([frameA, frameB], { join: { animated: true } })
      .webp({ loop: 0, delay: [100, 100], lossless: true })
      .toBuffer(),
  );
  write(
    {
      file: 'photo.avif',
      description: '320×240 AVIF of the same scene',
      format: 'avif',
      width: W,
      height: H,
      orientation: 1,
      animated: false,
      traits: ['photo'],
    },
    await rawRgb(photo, W, H).avif({ quality: 60, effort: 2 }).toBuffer(),
  );

  // Stored 240×320 (the scene turned a quarter anticlockwise); orientation 6 turns it back upright.
  write(
    {
      file: 'exif-rotated.jpg',
      description: 'the photo stored rotated, with EXIF orientation 6; displays as 320×240',
      format: 'jpeg',
      width: W,
      height: H,
      orientation: 6,
      animated: false,
      traits: ['exif-rotated', 'photo'],
      uprightOf: 'photo.jpg',
    },
    await rawRgb(await rawRgb(photo, W, H).rotate(270).raw().toBuffer(), H, W)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 88, chromaSubsampling: '4:2:0' })
      .toBuffer(),
  );

  const greyScene = await rawRgb(small, 160, 120).toColourspace('b-w').raw().toBuffer();
  const grey = () => sharp(greyScene, { raw: { width: 160, height: 120, channels: 1 } }).toColourspace('b-w');
  write(
    {
      file: 'grey.jpg',
      description: '160×120 single-channel JPEG of photo.png',
      format: 'jpeg',
      width: 160,
      height: 120,
      orientation: 1,
      animated: false,
      traits: ['grey'],
      sameSceneAs: 'photo.png',
    },
    await grey().jpeg({ quality: 90 }).toBuffer(),
  );
  write(
    {
      file: 'grey.png',
      description: '160×120 8-bit greyscale PNG of photo.png',
      format: 'png',
      width: 160,
      height: 120,
      orientation: 1,
      animated: false,
      traits: ['grey'],
      sameSceneAs: 'photo.png',
    },
    await grey().png({ compressionLevel: 9 }).toBuffer(),
  );

  // RGBA: a red disc, fully opaque inside and fully transparent outside, with a half-transparent band.
  const rgba = Buffer.alloc(64 * 64 * 4);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const i = (y * 64 + x) * 4;
      const inDisc = (x - 32) ** 2 + (y - 32) ** 2 < 20 ** 2;
      rgba[i] = 200;
      rgba[i + 1] = 30;
      rgba[i + 2] = 40;
      rgba[i + 3] = inDisc ? 255 : y < 6 ? 128 : 0;
    }
  }
  write(
    {
      file: 'rgba.png',
      description: '64×64 RGBA: opaque red disc on a transparent background',
      format: 'png',
      width: 64,
      height: 64,
      orientation: 1,
      animated: false,
      traits: ['alpha'],
    },
    await sharp(rgba, { raw: { width: 64, height: 64, channels: 4 } })
      .png({ compressionLevel: 9 })
      .toBuffer(),
  );
  write(
    {
      file: 'palette.png',
      description: '160×120 8-bit palette PNG (64 colours) of photo.png',
      format: 'png',
      width: 160,
      height: 120,
      orientation: 1,
      animated: false,
      traits: ['palette'],
      sameSceneAs: 'photo.png',
    },
    await rawRgb(small, 160, 120).png({ palette: true, colours: 64, dither: 0 }).toBuffer(),
  );
  write(
    {
      file: 'rgb16.png',
      description: '64×48 16-bit RGB PNG gradient',
      format: 'png',
      width: 64,
      height: 48,
      orientation: 1,
      animated: false,
      traits: ['16-bit'],
    },
    sixteenBitPng(64, 48),
  );
  write(
    {
      file: 'cmyk.jpg',
      description: '160×120 CMYK JPEG (Adobe, inverted) of photo.png',
      format: 'jpeg',
      width: 160,
      height: 120,
      orientation: 1,
      animated: false,
      traits: ['cmyk'],
      sameSceneAs: 'photo.png',
    },
    await rawRgb(small, 160, 120).toColourspace('cmyk').jpeg({ quality: 92 }).toBuffer(),
  );
  write(
    { file: 'apng.png', description: '32×32 two-frame APNG; the default image is red', format: 'png', width: 32, height: 32, orientation: 1, animated: true },
    apng(32, 32),
  );
  write(
    { file: 'exact-16x16.png', description: 'the smallest accepted size', format: 'png', width: 16, height: 16, orientation: 1, animated: false },
    await rawRgb(scene(16, 16, 0), 16, 16)
      .png()
      .toBuffer(),
  );

  await writeOrientationFixtures(write);

  const tooSmall = { status: 400, code: 'image_too_small' };
  write(
    { file: 'tiny-1x1.png', description: '1×1 PNG', format: 'png', width: 1, height: 1, orientation: 1, animated: false, headerError: tooSmall },
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  write(
    {
      file: 'wide-100000x1.png',
      description: '100000×1 PNG: few pixels, one side too short',
      format: 'png',
      width: 100000,
      height: 1,
      orientation: 1,
      animated: false,
      headerError: tooSmall,
    },
    await sharp({ create: { width: 100000, height: 1, channels: 3, background: '#808080' } })
      .png({ compressionLevel: 9 })
      .toBuffer(),
  );
  write(
    {
      file: 'pixel-bomb.png',
      description: 'valid signature and IHDR claiming 60000×60000, a few hundred bytes',
      format: 'png',
      width: 60000,
      height: 60000,
      orientation: 1,
      animated: false,
      headerError: { status: 413, code: 'too_many_pixels' },
    },
    pixelBombPng(),
  );
  write(
    {
      file: 'truncated.jpg',
      description: 'the first half of photo.jpg: the header is intact, the scan is cut',
      format: 'jpeg',
      width: W,
      height: H,
      orientation: 1,
      animated: false,
      decodeError: { status: 400, code: 'undecodable_image' },
    },
    photoJpeg.subarray(0, Math.floor(photoJpeg.length / 2)),
  );

  const unsupported = { status: 415, code: 'unsupported_format' };
  write(
    { file: 'fake.jpg', description: 'a text file named .jpg', format: 'unknown', headerError: unsupported },
    Buffer.from('This is not a picture, only text that pretends to be one.\n', 'utf8'),
  );
  write(
    { file: 'image.gif', description: '32×32 GIF', format: 'gif', headerError: unsupported },
    await rawRgb(scene(32, 32, 0), 32, 32)
      .gif()
      .toBuffer(),
  );
  write({ file: 'image.bmp', description: '32×32 24-bit BMP', format: 'bmp', headerError: unsupported }, bmp(32, 32));

  const manifest = {
    description: 'Image fixtures and what the header reader and the decoders should make of them. Written by scripts/make-image-fixtures.ts.',
    limits: FIXTURE_LIMITS,
    fixtures: entries,
  };
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return entries;
}

if (require.main === module) {
  const root = findRepoRoot(__dirname);
  const outDir = resolve(process.argv[2] ?? join(root, 'functions', 'test', 'fixtures', 'images'));
  makeImageFixtures(outDir).then(
    (entries) => console.log(`wrote ${entries.length} fixtures and manifest.json to ${outDir}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
